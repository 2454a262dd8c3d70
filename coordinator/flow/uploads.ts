/**
 * Bounds on artifact uploads (WorkerService.PutArtifact), as a gRPC server interceptor: a
 * stalled upload cannot hold a stream and its partial message forever, and uploads cannot take
 * the coordinator's memory.
 *
 * - idle deadline: nothing received (or sent) for `uploadIdleMs` ends the upload;
 * - total deadline: `uploadDeadlineMs` from its start;
 * - bytes: one upload over `uploadMaxBytes`, or all uploads in flight together over
 *   `uploadsMaxBytes`, is refused (RESOURCE_EXHAUSTED) as soon as its bytes arrive, before the
 *   message is complete.
 *
 * The bytes arrive on the HTTP/2 stream before grpc-js hands over the decoded message, so the
 * interceptor watches that stream (grpc-js gives the first interceptor its own call object,
 * which holds it). An ended upload gets its status, then the stream is reset, which frees the
 * buffered part and tells the sender to stop.
 */
import * as grpc from '@grpc/grpc-js';
import { constants as http2 } from 'node:http2';
import { http2StreamOf } from './streams.js';
import type { Logger } from 'pino';
import type { Callers } from './callers.js';
import type { FlowLimits } from './limits.js';

export const UPLOAD_PATH = '/trellis.v1.WorkerService/PutArtifact';

export class UploadGuard {
  /** Bytes received by uploads still in flight (all together). */
  inFlightBytes = 0;

  constructor(
    private readonly limits: FlowLimits,
    private readonly callers: Callers,
    private readonly log: Logger,
  ) {}

  readonly interceptor: grpc.ServerInterceptor = (method, call) => {
    // Other methods pass through (a ServerInterceptor must return a ServerInterceptingCall).
    if (method.path !== UPLOAD_PATH) return new grpc.ServerInterceptingCall(call);
    const stream = http2StreamOf(call);
    if (!stream) {
      // grpc-js changed its internals: fail loudly rather than run uploads unbounded.
      throw new Error('upload guard: the gRPC call does not expose its HTTP/2 stream (grpc-js internals changed)');
    }
    let received = 0;
    let ended = false;
    const guarded = new grpc.ServerInterceptingCall(call, {
      start: (next) =>
        next(
          new grpc.ServerListenerBuilder()
            // Everything arrived: the store write that follows is not idleness.
            .withOnReceiveHalfClose((halfClose) => {
              stream.setTimeout(0);
              halfClose();
            })
            .build(),
        ),
      sendStatus: (status, next) => {
        finish();
        next(status);
      },
    });
    const end = (code: grpc.status, details: string): void => {
      if (ended) return;
      this.callers.stats.uploadsRefused++;
      this.log.warn({ peer: call.getPeer(), received, details }, 'upload ended');
      guarded.sendStatus({ code, details, metadata: null });
      finish();
      // After the status is on its way: reset the stream so the partial message is freed.
      setImmediate(() => {
        if (!stream.destroyed) stream.close(http2.NGHTTP2_CANCEL);
      });
    };
    const onData = (chunk: Buffer): void => {
      received += chunk.length;
      this.inFlightBytes += chunk.length;
      if (received > this.limits.uploadMaxBytes) {
        end(
          grpc.status.RESOURCE_EXHAUSTED,
          `PutArtifact: upload is over ${this.limits.uploadMaxBytes} bytes (TRELLIS_UPLOAD_MAX_BYTES)`,
        );
      } else if (this.inFlightBytes > this.limits.uploadsMaxBytes) {
        end(
          grpc.status.RESOURCE_EXHAUSTED,
          `PutArtifact: uploads in flight hold over ${this.limits.uploadsMaxBytes} bytes ` +
            `(TRELLIS_UPLOADS_MAX_BYTES); retry later`,
        );
      }
    };
    const total = setTimeout(
      () =>
        end(
          grpc.status.DEADLINE_EXCEEDED,
          `PutArtifact: upload not finished within ${this.limits.uploadDeadlineMs} ms (TRELLIS_UPLOAD_DEADLINE_MS)`,
        ),
      this.limits.uploadDeadlineMs,
    );
    const onIdle = (): void =>
      end(
        grpc.status.DEADLINE_EXCEEDED,
        `PutArtifact: upload sent nothing for ${this.limits.uploadIdleMs} ms (TRELLIS_UPLOAD_IDLE_MS)`,
      );
    stream.setTimeout(this.limits.uploadIdleMs, onIdle);
    stream.on('data', onData);
    // Whatever ends the stream (status sent, client gone, reset) returns its bytes to the budget.
    const finish = (): void => {
      if (ended) return;
      ended = true;
      clearTimeout(total);
      stream.setTimeout(0);
      stream.off('data', onData);
      this.inFlightBytes -= received;
    };
    stream.once('close', finish);
    return guarded;
  };
}
