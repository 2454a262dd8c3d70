/**
 * The streamed artifact RPCs (WorkerService.PutArtifactStream, GetArtifactUploadStatus,
 * GetArtifactStream): artifacts of any size move in chunks, with back-pressure both ways, and
 * neither side ever holds one whole.
 *
 * Upload: a header (attempt, token, upload id, kind, step, total size, sha256, offset), then
 * chunks of at most 4 MiB. The bytes go to the staging area (staging.ts) as they arrive; the
 * call is read one message at a time (the stream is paused while a chunk is written), so HTTP/2
 * flow control holds the sender back. When the last byte is in and the sha256 matches, the store
 * streams the staged file in (store.putArtifactFrom) and the artifact id is returned. A call that
 * breaks, idles past TRELLIS_UPLOAD_IDLE_MS or runs past TRELLIS_UPLOAD_DEADLINE_MS leaves its
 * bytes staged: a new call with offset = GetArtifactUploadStatus' received_bytes continues.
 * Access: as PutArtifact (a running attempt bound to the caller, shown with its attempt token).
 *
 * Download: as GetArtifact's access rules; a header (kind, size, sha256 of the whole artifact,
 * offset), then chunks from the store's stream, written only while grpc-js' write() says there is
 * room (else after 'drain').
 */
import { createReadStream } from 'node:fs';
import { randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import {
  DataLossError,
  DeadlineExceededError,
  FailedPreconditionError,
  InvalidArgumentError,
} from '../../shared/errors.js';
import type { PutArtifactStreamRequest__Output } from '../../shared/generated/trellis/v1/PutArtifactStreamRequest.js';
import type { PutArtifactResponse } from '../../shared/generated/trellis/v1/PutArtifactResponse.js';
import type { GetArtifactStreamRequest__Output } from '../../shared/generated/trellis/v1/GetArtifactStreamRequest.js';
import type { GetArtifactStreamResponse } from '../../shared/generated/trellis/v1/GetArtifactStreamResponse.js';
import type { GetArtifactUploadStatusRequest__Output } from '../../shared/generated/trellis/v1/GetArtifactUploadStatusRequest.js';
import type { GetArtifactUploadStatusResponse } from '../../shared/generated/trellis/v1/GetArtifactUploadStatusResponse.js';
import { assertAttemptNeeds, assertClientMayRead, attemptOfCaller, notFound } from '../auth/artifacts.js';
import type { Identity } from '../auth/policy.js';
import type { LeaseTable } from '../dispatch/leases.js';
import type { Store } from '../store/base.js';
import type { FlowLimits } from '../flow/limits.js';
import { drained } from '../../shared/artifact-transfer.js';
import { UploadStaging, type StagedUpload, type UploadHeader } from './staging.js';

/** Largest chunk a streamed call carries, either way. */
export const MAX_CHUNK_BYTES = 4 * 1024 * 1024;

const UPLOAD_ID = /^[A-Za-z0-9_-]{1,128}$/;
const KIND = /^[A-Za-z0-9._-]{1,64}$/;
const SHA256 = /^[0-9a-f]{64}$/;

export interface ArtifactStreamDeps {
  leases: LeaseTable;
  store: Store;
  limits: FlowLimits;
  log: Logger;
  /** Admission (token, role, caller limits) of a call; throws to refuse. */
  admit(call: { metadata: grpc.Metadata; getPeer(): string }, method: string): Identity;
  /** The one mapping of errors onto gRPC statuses (with the audit of denials). */
  failed(who: Identity | undefined, method: string, peer: string, err: unknown): grpc.ServiceError;
}

export class ArtifactStreams {
  readonly staging: UploadStaging;

  constructor(private readonly deps: ArtifactStreamDeps) {
    this.staging = new UploadStaging({
      ...(deps.limits.stagingDir ? { dir: deps.limits.stagingDir } : {}),
      maxBytes: deps.limits.stagingMaxBytes,
      ttlMs: deps.limits.stagingTtlMs,
      log: deps.log,
    });
  }

  status(req: GetArtifactUploadStatusRequest__Output, who: Identity): GetArtifactUploadStatusResponse {
    attemptOfCaller(this.deps.leases, who, req.attempt_id, req.attempt_token);
    const { received, total, artifactId } = this.staging.status(who.name, req.attempt_id, req.upload_id);
    return { received_bytes: received, total_size: total, artifact_id: artifactId ?? '' };
  }

  readonly put: grpc.handleClientStreamingCall<PutArtifactStreamRequest__Output, PutArtifactResponse> = (
    call,
    callback,
  ) => {
    const method = 'WorkerService.PutArtifactStream';
    const peer = call.getPeer();
    let who: Identity | undefined;
    let upload: StagedUpload | undefined;
    let token = '';
    let settled = false;
    let chain: Promise<void> = Promise.resolve();
    const timers: NodeJS.Timeout[] = [];
    const finish = (err: unknown, artifactId?: string): void => {
      if (settled) return;
      settled = true;
      for (const timer of timers) clearTimeout(timer);
      call.removeAllListeners('data');
      call.pause();
      const staged = upload;
      // The bytes stay staged (resumable) unless they were published or proved wrong.
      void chain
        .catch(() => undefined)
        .then(() => staged && this.staging.release(staged))
        .finally(() => {
          if (err === undefined) callback(null, { artifact_id: artifactId ?? '' });
          else callback(this.deps.failed(who, method, peer, err));
        });
    };
    try {
      who = this.deps.admit(call, method);
    } catch (err) {
      finish(err);
      return;
    }
    const caller = who;
    const idle = (): NodeJS.Timeout =>
      setTimeout(
        () =>
          finish(
            new DeadlineExceededError(
              `PutArtifactStream: sent nothing for ${this.deps.limits.uploadIdleMs} ms (TRELLIS_UPLOAD_IDLE_MS); ` +
                `the bytes received are kept: resume with GetArtifactUploadStatus`,
            ),
          ),
        this.deps.limits.uploadIdleMs,
      );
    timers.push(
      setTimeout(
        () =>
          finish(
            new DeadlineExceededError(
              `PutArtifactStream: call not finished within ${this.deps.limits.uploadDeadlineMs} ms ` +
                `(TRELLIS_UPLOAD_DEADLINE_MS); the bytes received are kept: resume in a new call`,
            ),
          ),
        this.deps.limits.uploadDeadlineMs,
      ),
      idle(),
    );
    const step = (work: () => Promise<void>): void => {
      // One message at a time: the stream stays paused while it is handled (back-pressure).
      call.pause();
      chain = chain.then(work).then(
        () => {
          if (!settled) call.resume();
        },
        (err: unknown) => finish(err),
      );
    };
    call.on('data', (message: PutArtifactStreamRequest__Output) => {
      clearTimeout(timers[1]);
      timers[1] = idle();
      step(async () => {
        if (settled) return;
        if (!upload) {
          if (message.body !== 'header' || !message.header) {
            throw new InvalidArgumentError(['header: the first message of PutArtifactStream must be a header']);
          }
          const header = readHeader(message.header, this.deps.limits.artifactMaxBytes);
          token = message.header.attempt_token;
          attemptOfCaller(this.deps.leases, caller, header.attemptId, token);
          upload = await this.staging.begin(caller.name, header);
          return;
        }
        if (message.body !== 'chunk' || !message.chunk) {
          throw new InvalidArgumentError(['chunk: after the header, only chunks may follow']);
        }
        const chunk = message.chunk;
        if (chunk.length > MAX_CHUNK_BYTES) {
          throw new InvalidArgumentError([`chunk: ${chunk.length} bytes; at most ${MAX_CHUNK_BYTES} per message`]);
        }
        if (upload.received + chunk.length > upload.totalSize) {
          await this.staging.discard(upload);
          throw new DataLossError(
            `upload ${upload.uploadId}: more bytes than the announced total_size ${upload.totalSize}; the upload was discarded`,
          );
        }
        await this.staging.write(upload, Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length));
      });
    });
    call.on('end', () => {
      step(async () => {
        if (settled) return;
        if (!upload) throw new InvalidArgumentError(['header: PutArtifactStream ended before its header']);
        finish(undefined, await this.publish(upload, caller, token));
      });
    });
    // The client went away (or the connection broke): the bytes stay staged for a resume.
    call.on('cancelled', () => finish(new FailedPreconditionError('PutArtifactStream: cancelled by the client')));
    call.on('error', (err) => finish(err));
  };

  /** All bytes in: checks the running sha256, then streams the staged file into the store. */
  private async publish(upload: StagedUpload, who: Identity, token: string): Promise<string> {
    if (upload.received < upload.totalSize) {
      throw new FailedPreconditionError(
        `upload ${upload.uploadId}: ${upload.received} of ${upload.totalSize} bytes received; resume from offset ${upload.received}`,
      );
    }
    const sha256 = this.staging.digest(upload);
    if (sha256 !== upload.sha256) {
      await this.staging.discard(upload);
      throw new DataLossError(
        `upload ${upload.uploadId}: the bytes received have sha256 ${sha256}, the header announced ${upload.sha256}; the upload was discarded, send it again`,
      );
    }
    // The attempt must still be the caller's when its artifact is published.
    const lease = attemptOfCaller(this.deps.leases, who, upload.attemptId, token);
    const meta = await this.deps.store.putArtifactFrom(
      {
        id: `${upload.attemptId}-${upload.kind}-${upload.step}-${randomUUID().slice(0, 6)}`,
        experimentId: lease.experimentId,
        trialId: lease.trialId,
        kind: upload.kind,
        meta: { step: upload.step, attemptId: upload.attemptId },
      },
      () => createReadStream(upload.path, { highWaterMark: 1 << 20 }),
      { size: upload.totalSize, sha256: upload.sha256 },
    );
    await this.staging.markPublished(upload, meta.id);
    return meta.id;
  }

  readonly get: grpc.handleServerStreamingCall<GetArtifactStreamRequest__Output, GetArtifactStreamResponse> = (
    call,
  ) => {
    const method = 'WorkerService.GetArtifactStream';
    const peer = call.getPeer();
    let who: Identity | undefined;
    const fail = (err: unknown): void => {
      if (call.cancelled || call.destroyed) return;
      call.emit('error', this.deps.failed(who, method, peer, err));
    };
    try {
      who = this.deps.admit(call, method);
    } catch (err) {
      fail(err);
      return;
    }
    this.send(call, who).catch(fail);
  };

  private async send(
    call: grpc.ServerWritableStream<GetArtifactStreamRequest__Output, GetArtifactStreamResponse>,
    who: Identity,
  ): Promise<void> {
    const req = call.request;
    const id = req.artifact_id;
    if (!id) throw new InvalidArgumentError(['artifact_id: required']);
    const offset = Number(req.offset || 0);
    if (!Number.isSafeInteger(offset) || offset < 0) {
      throw new InvalidArgumentError([`offset: must be a whole number >= 0, got ${req.offset}`]);
    }
    if (req.attempt_id) {
      assertAttemptNeeds(attemptOfCaller(this.deps.leases, who, req.attempt_id, req.attempt_token), id);
    }
    const opened = await this.deps.store.openArtifact(id, offset);
    if (!req.attempt_id) await assertClientMayRead(this.deps.store, who, id, opened?.meta);
    if (!opened) throw notFound(id);
    const { meta, stream } = opened;
    const closed = (): void => void stream.destroy();
    call.once('cancelled', closed);
    call.once('close', closed);
    try {
      if (offset > meta.size) {
        throw new InvalidArgumentError([`offset: ${offset} is past the artifact's ${meta.size} bytes`]);
      }
      call.write({ header: { kind: meta.kind, size: meta.size, sha256: meta.sha256, offset } });
      for await (const piece of stream as AsyncIterable<Buffer>) {
        if (call.cancelled) return;
        for (let at = 0; at < piece.length; at += MAX_CHUNK_BYTES) {
          // write() false: grpc-js holds enough; wait for 'drain' (or the end of the call).
          if (!call.write({ chunk: piece.subarray(at, at + MAX_CHUNK_BYTES) })) {
            await drained(call, 'close', 'cancelled');
            if (call.cancelled) return;
          }
        }
      }
      call.end();
    } finally {
      stream.destroy();
      call.off('cancelled', closed);
      call.off('close', closed);
    }
  }

  close(): Promise<void> {
    return this.staging.close();
  }
}

function readHeader(h: NonNullable<PutArtifactStreamRequest__Output['header']>, maxBytes: number): UploadHeader {
  const problems: string[] = [];
  const whole = (field: string, value: string, min: number, max = Number.MAX_SAFE_INTEGER): number => {
    const n = Number(value || 0);
    if (!Number.isSafeInteger(n) || n < min || n > max)
      problems.push(`header.${field}: must be a whole number in ${min}..${max}, got ${value}`);
    return n;
  };
  if (!h.attempt_id) problems.push('header.attempt_id: required');
  if (!UPLOAD_ID.test(h.upload_id)) problems.push('header.upload_id: must be 1-128 letters, digits, "_" or "-"');
  if (!KIND.test(h.kind)) problems.push('header.kind: must be 1-64 letters, digits, ".", "_" or "-"');
  if (!SHA256.test(h.sha256))
    problems.push('header.sha256: must be 64 lowercase hex digits (the sha256 of the whole artifact)');
  const totalSize = whole('total_size', h.total_size, 0);
  if (totalSize > maxBytes) problems.push(`header.total_size: at most ${maxBytes} bytes (TRELLIS_ARTIFACT_MAX_BYTES)`);
  const header: UploadHeader = {
    attemptId: h.attempt_id,
    uploadId: h.upload_id,
    kind: h.kind,
    step: whole('step', h.step, 0),
    totalSize,
    sha256: h.sha256,
    offset: whole('offset', h.offset, 0, totalSize),
  };
  if (problems.length > 0) throw new InvalidArgumentError(problems);
  return header;
}
