/**
 * Helpers for grpc-js server streams: the HTTP/2 stream under a call (to reset one that will not
 * finish), and waiting for 'drain' with a deadline.
 */
import { constants as http2, type ServerHttp2Stream } from 'node:http2';

/**
 * The HTTP/2 stream under a grpc-js server call. grpc-js does not expose it; its call objects
 * hold it at the end of a `call` / `nextCall` chain. Undefined if that ever changes.
 */
export function http2StreamOf(call: unknown): ServerHttp2Stream | undefined {
  let at = call as Record<string, unknown> | undefined;
  for (let depth = 0; at && depth < 8; depth++) {
    const stream = at['stream'] as ServerHttp2Stream | undefined;
    if (stream && typeof stream.close === 'function' && typeof stream.setTimeout === 'function') return stream;
    at = (at['call'] ?? at['nextCall']) as Record<string, unknown> | undefined;
  }
  return undefined;
}

/** Resets the call's HTTP/2 stream (frees what it buffers); a no-op once it is closed. */
export function resetStream(call: unknown): boolean {
  const stream = http2StreamOf(call);
  if (!stream || stream.destroyed || stream.closed) return false;
  stream.close(http2.NGHTTP2_CANCEL);
  return true;
}

/** Resolves true on 'drain', false after `ms` or when `signal` aborts. */
export function drained(
  emitter: { once(event: 'drain', fn: () => void): unknown; off(event: 'drain', fn: () => void): unknown },
  ms: number,
  signal: AbortSignal,
): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      emitter.off('drain', onDrain);
      signal.removeEventListener('abort', onAbort);
      resolve(ok);
    };
    const onDrain = (): void => done(true);
    const onAbort = (): void => done(false);
    const timer = setTimeout(() => done(false), ms);
    emitter.once('drain', onDrain);
    signal.addEventListener('abort', onAbort);
  });
}
