/**
 * Every gRPC message is bounded before it is decoded (and before its body has arrived): a server
 * interceptor reads the 5-byte gRPC frame headers (compressed flag, 4-byte length) off the HTTP/2
 * stream as the bytes come, and a header that announces more than the method's limit ends the call
 * with RESOURCE_EXHAUSTED naming the limit; the stream is then closed, which frees the part already
 * buffered. grpc-js itself would buffer the whole message (up to the server-wide limit, which
 * uploads need high) and decode it first.
 *
 * Limits: worker stream messages (WorkerService.Connect: hello, heartbeats, reports, output) are
 * held to `workerMessageMaxBytes`; uploads (PutArtifact) to the upload guard's bounds
 * (uploads.ts, which this interceptor hands them to); every other request to `messageMaxBytes`.
 */
import * as grpc from '@grpc/grpc-js';
import { constants as http2 } from 'node:http2';
import type { Logger } from 'pino';
import type { Callers } from './callers.js';
import { http2StreamOf } from './streams.js';
import { UPLOAD_PATH, type UploadGuard } from './uploads.js';

export const CONNECT_PATH = '/trellis.v1.WorkerService/Connect';

/** Reads gRPC frame headers out of a byte stream; `feed` returns the first length over `max`. */
export class FrameHeaders {
  private readonly header = Buffer.alloc(5);
  private have = 0;
  private bodyLeft = 0;

  constructor(private readonly max: number) {}

  feed(chunk: Buffer): number | undefined {
    let i = 0;
    while (i < chunk.length) {
      if (this.bodyLeft > 0) {
        const n = Math.min(this.bodyLeft, chunk.length - i);
        this.bodyLeft -= n;
        i += n;
        continue;
      }
      const n = Math.min(5 - this.have, chunk.length - i);
      chunk.copy(this.header, this.have, i, i + n);
      this.have += n;
      i += n;
      if (this.have < 5) continue;
      this.have = 0;
      const length = this.header.readUInt32BE(1);
      if (length > this.max) return length;
      this.bodyLeft = length;
    }
    return undefined;
  }
}

export interface MessageLimits {
  messageMaxBytes: number;
  workerMessageMaxBytes: number;
}

export class MessageGuard {
  constructor(
    private readonly limits: MessageLimits,
    private readonly uploads: UploadGuard,
    private readonly callers: Callers,
    private readonly log: Logger,
  ) {}

  readonly interceptor: grpc.ServerInterceptor = (method, call) => {
    if (method.path === UPLOAD_PATH) return this.uploads.interceptor(method, call);
    const stream = http2StreamOf(call);
    if (!stream) {
      // grpc-js changed its internals: fail loudly rather than decode messages of any size.
      throw new Error('message guard: the gRPC call does not expose its HTTP/2 stream (grpc-js internals changed)');
    }
    const worker = method.path === CONNECT_PATH;
    const max = worker ? this.limits.workerMessageMaxBytes : this.limits.messageMaxBytes;
    const setting = worker ? 'TRELLIS_WORKER_MESSAGE_MAX_BYTES' : 'TRELLIS_MESSAGE_MAX_BYTES';
    const frames = new FrameHeaders(max);
    let ended = false;
    const guarded = new grpc.ServerInterceptingCall(call, {
      sendStatus: (status, next) => {
        finish();
        next(status);
      },
    });
    const onData = (chunk: Buffer): void => {
      const length = frames.feed(chunk);
      if (length === undefined || ended) return;
      this.callers.stats.messagesRefused++;
      const name = method.path.split('/').pop();
      const details = `${name}: a message of ${length} bytes is over the limit of ${max} bytes (${setting})`;
      this.log.warn({ peer: call.getPeer(), method: method.path, bytes: length, limit: max }, 'message refused');
      guarded.sendStatus({ code: grpc.status.RESOURCE_EXHAUSTED, details, metadata: null });
      finish();
      // After the status is on its way: reset the stream so the part received is freed and the
      // sender stops. A raw HTTP/2 client reads the status first; grpc-js, while it is still
      // writing the message, reports the reset as CANCELLED (with NO_ERROR instead it waits for
      // its write forever), so the coordinator's log names the limit too.
      setImmediate(() => {
        if (!stream.destroyed) stream.close(http2.NGHTTP2_CANCEL);
      });
    };
    const finish = (): void => {
      if (ended) return;
      ended = true;
      stream.off('data', onData);
    };
    stream.on('data', onData);
    stream.once('close', finish);
    return guarded;
  };
}
