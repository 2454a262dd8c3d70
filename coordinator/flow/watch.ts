/**
 * WatchEvents with back-pressure (NATS-style slow-consumer handling): events are written while
 * the call's buffer takes them (`call.write` returns false when it is full); then the writer
 * waits for 'drain', at most `watchDrainMs`. A watcher that has not read by then is disconnected
 * with RESOURCE_EXHAUSTED naming the resume point, `from_seq` (also in the
 * `trellis-resume-from-seq` trailer): the first event not written. A client resumes from its own
 * last received seq + 1 (events written but not yet read when the stream ended are gone with it);
 * the TS client and `trellis watch` do that by themselves. If the disconnected stream still has
 * not taken its status after RESET_GRACE_MS (or `watchDrainMs`, if longer), it is reset. Memory per watcher is bounded:
 * the call's buffer, plus at most `watchBufferedEvents` live events (coordinator/event-log.ts).
 */
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { ResourceExhaustedError, toGrpcError } from '../../shared/errors.js';
import type { TrellisEvent } from '../../shared/events.js';
import type { Coordinator } from '../coordinator.js';
import type { Callers } from './callers.js';
import { drained, resetStream } from './streams.js';

/** How long a disconnected watcher has to take its status before its stream is reset (at least). */
const RESET_GRACE_MS = 5000;

export interface WatchCall<Out> {
  write(message: Out): boolean;
  end(): void;
  emit(event: 'error', err: unknown): boolean;
  on(event: 'cancelled' | 'close', fn: () => void): unknown;
  once(event: 'drain', fn: () => void): unknown;
  off(event: 'drain', fn: () => void): unknown;
}

export async function serveWatch<Out>(
  call: WatchCall<Out>,
  request: { experimentId: string; fromSeq: number },
  deps: { coordinator: Coordinator; callers: Callers; log: Logger; toProto: (event: TrellisEvent) => Out },
  signal: AbortSignal,
): Promise<void> {
  const { coordinator, callers, log } = deps;
  const { watchDrainMs, watchBufferedEvents } = callers.limits;
  let next = request.fromSeq;
  try {
    for await (const event of coordinator.watch(request.experimentId, request.fromSeq, signal, watchBufferedEvents)) {
      const room = call.write(deps.toProto(event));
      next = event.seq + 1;
      if (room || (await drained(call, watchDrainMs, signal))) continue;
      if (signal.aborted) return;
      callers.stats.slowWatchers++;
      log.warn({ experimentId: request.experimentId, resumeFromSeq: next }, 'slow watcher disconnected');
      throw new ResourceExhaustedError(
        `WatchEvents: slow consumer: the stream was not read for ${watchDrainMs} ms (TRELLIS_WATCH_DRAIN_MS); ` +
          `resume with from_seq=${next} (or your last received seq + 1)`,
        next,
      );
    }
    call.end();
  } catch (err) {
    if (signal.aborted) return;
    // grpc-js sends a server stream's error status when the call emits 'error'.
    call.emit('error', toGrpcError(err));
    if ((toGrpcError(err).code ?? 0) === grpc.status.RESOURCE_EXHAUSTED) {
      const timer = setTimeout(() => resetStream(call), Math.max(watchDrainMs, RESET_GRACE_MS));
      timer.unref();
      signal.addEventListener('abort', () => clearTimeout(timer), { once: true });
    }
  }
}
