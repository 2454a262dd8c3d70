/**
 * The client side of the streamed artifact RPCs (coordinator/artifacts/streams.ts): a file is
 * uploaded from disk and downloaded to disk in chunks, with back-pressure (a chunk is written
 * only while grpc-js' write() says there is room, else after 'drain'; a download is read one
 * message at a time), a sha256 checked end to end, and a broken call resumed where the bytes
 * stopped: an upload asks GetArtifactUploadStatus how much the coordinator holds, a download
 * continues from the bytes already on disk. Nothing holds a whole artifact in memory.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { EventEmitter } from 'node:events';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';
import * as grpc from '@grpc/grpc-js';
import type { WorkerServiceClient } from './proto.js';
import type { GetArtifactStreamResponse__Output } from './generated/trellis/v1/GetArtifactStreamResponse.js';
import type { GetArtifactUploadStatusResponse__Output } from './generated/trellis/v1/GetArtifactUploadStatusResponse.js';
import { DataLossError } from './errors.js';

/** Bytes per chunk message (the server takes up to 4 MiB). */
export const CHUNK_BYTES = 1 << 20;
/** Calls one transfer may make before it gives up (each broken call is followed by a resume). */
const MAX_CALLS = 8;

/** Codes after which a transfer resumes (a broken connection, a restart, a busy coordinator). */
const RESUMABLE = new Set([
  grpc.status.UNAVAILABLE,
  grpc.status.CANCELLED,
  grpc.status.DEADLINE_EXCEEDED,
  grpc.status.ABORTED,
  grpc.status.FAILED_PRECONDITION,
  grpc.status.RESOURCE_EXHAUSTED,
  grpc.status.INTERNAL,
  grpc.status.UNKNOWN,
]);

export interface TransferOptions {
  /** Called before each resume, with the error that broke the call (for the log). */
  onResume?: (err: Error, offset: number) => void;
  /** Backoff bounds between calls (default 200 ms .. 5 s). */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** Stops the transfer (the call is cancelled). */
  signal?: AbortSignal;
}

export interface UploadRequest {
  attemptId: string;
  attemptToken: string;
  kind: string;
  step: number;
  /** The file to send (it must not change while it is sent). */
  path: string;
  size: number;
  sha256: string;
  /** The upload's id (default: a fresh one); the same id continues an upload the coordinator holds part of. */
  uploadId?: string;
}

/** Sends a file with PutArtifactStream, resuming after broken calls; the new artifact's id. */
export async function uploadFile(
  client: WorkerServiceClient,
  request: UploadRequest,
  options: TransferOptions = {},
): Promise<string> {
  const uploadId = request.uploadId ?? randomUUID();
  let offset = 0;
  for (let call = 1; ; call++) {
    try {
      return await sendFrom(client, request, uploadId, offset, options.signal);
    } catch (err) {
      if (!resumable(err) || call >= MAX_CALLS || options.signal?.aborted) throw err;
      await backoff(call, options);
      const status = await uploadStatus(client, request, uploadId).catch(() => undefined);
      if (status?.artifact_id) return status.artifact_id;
      offset = status ? Number(status.received_bytes) : offset;
      options.onResume?.(err as Error, offset);
    }
  }
}

function sendFrom(
  client: WorkerServiceClient,
  request: UploadRequest,
  uploadId: string,
  offset: number,
  signal: AbortSignal | undefined,
): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    let failed: Error | undefined;
    const call = client.PutArtifactStream((err, response) => {
      signal?.removeEventListener('abort', cancel);
      if (err || !response) reject(err ?? new Error('PutArtifactStream: no response'));
      else resolve(response.artifact_id);
    });
    const cancel = (): void => call.cancel();
    signal?.addEventListener('abort', cancel, { once: true });
    call.on('error', (err: Error) => (failed = err));
    call.write({
      header: {
        attempt_id: request.attemptId,
        attempt_token: request.attemptToken,
        kind: request.kind,
        step: request.step,
        upload_id: uploadId,
        total_size: request.size,
        sha256: request.sha256,
        offset,
      },
    });
    const pump = async (): Promise<void> => {
      const file = createReadStream(request.path, { start: offset, highWaterMark: CHUNK_BYTES });
      try {
        for await (const chunk of file as AsyncIterable<Buffer>) {
          if (failed) return;
          if (!call.write({ chunk })) {
            await drained(call, 'close', 'status');
          }
        }
        if (!failed) call.end();
      } finally {
        file.destroy();
      }
    };
    pump().catch((err: unknown) => {
      // The file could not be read: end the call (its callback reports CANCELLED) and say why.
      call.cancel();
      reject(err instanceof Error ? err : new Error(String(err)));
    });
  });
}

function uploadStatus(
  client: WorkerServiceClient,
  request: UploadRequest,
  uploadId: string,
): Promise<GetArtifactUploadStatusResponse__Output> {
  return new Promise((resolve, reject) =>
    client.GetArtifactUploadStatus(
      { attempt_id: request.attemptId, attempt_token: request.attemptToken, upload_id: uploadId },
      { deadline: Date.now() + 30_000 },
      (err, response) => (err || !response ? reject(err ?? new Error('no response')) : resolve(response)),
    ),
  );
}

export interface DownloadRequest {
  artifactId: string;
  /** A worker's read for one of its attempts; empty for clients. */
  attemptId?: string;
  attemptToken?: string;
  /** Written from the start (created or truncated). */
  path: string;
}

export interface Downloaded {
  kind: string;
  size: number;
  sha256: string;
}

/** Reads an artifact into a file with GetArtifactStream, resuming after broken calls; checks its sha256. */
export async function downloadFile(
  client: WorkerServiceClient,
  request: DownloadRequest,
  options: TransferOptions = {},
): Promise<Downloaded> {
  const file = await open(request.path, 'w', 0o600);
  const hash = createHash('sha256');
  let have = 0;
  let header: Downloaded | undefined;
  try {
    for (let call = 1; ; call++) {
      try {
        const stream = client.GetArtifactStream({
          artifact_id: request.artifactId,
          attempt_id: request.attemptId ?? '',
          attempt_token: request.attemptToken ?? '',
          offset: have,
        });
        const cancel = (): void => stream.cancel();
        options.signal?.addEventListener('abort', cancel, { once: true });
        try {
          // One message at a time (the iterator pulls): grpc-js reads the next only when asked.
          for await (const message of stream as AsyncIterable<GetArtifactStreamResponse__Output>) {
            if (message.body === 'header' && message.header) {
              const next = {
                kind: message.header.kind,
                size: Number(message.header.size),
                sha256: message.header.sha256,
              };
              if (header && (header.size !== next.size || header.sha256 !== next.sha256)) {
                throw new DataLossError(`artifact ${request.artifactId} changed between two calls of one download`);
              }
              header = next;
            } else if (message.body === 'chunk' && message.chunk) {
              if (!header) throw new DataLossError(`artifact ${request.artifactId}: bytes before the header`);
              const chunk = message.chunk;
              if (have + chunk.length > header.size) {
                throw new DataLossError(`artifact ${request.artifactId}: more than its ${header.size} bytes`);
              }
              let written = 0;
              while (written < chunk.length) {
                const { bytesWritten } = await file.write(chunk, written, chunk.length - written, have + written);
                written += bytesWritten;
              }
              hash.update(chunk);
              have += chunk.length;
            }
          }
        } finally {
          options.signal?.removeEventListener('abort', cancel);
        }
        if (!header) throw new DataLossError(`artifact ${request.artifactId}: the stream ended without a header`);
        if (have !== header.size) {
          // Ended early without an error status: resume like a broken call.
          throw Object.assign(new Error(`artifact ${request.artifactId}: ${have} of ${header.size} bytes`), {
            code: grpc.status.UNAVAILABLE,
          });
        }
        const sha256 = hash.digest('hex');
        if (sha256 !== header.sha256) {
          throw new DataLossError(
            `artifact ${request.artifactId}: the bytes read have sha256 ${sha256}, the coordinator's is ${header.sha256}`,
          );
        }
        return header;
      } catch (err) {
        if (!resumable(err) || call >= MAX_CALLS || options.signal?.aborted) throw err;
        await backoff(call, options);
        options.onResume?.(err as Error, have);
      }
    }
  } finally {
    await file.close();
  }
}

/**
 * Resolves at the stream's next 'drain' or at any of `ends` (the call is over), removing all its
 * listeners again: a transfer waits for room thousands of times.
 */
export function drained(stream: EventEmitter, ...ends: string[]): Promise<void> {
  return new Promise((resolve) => {
    const names = ['drain', ...ends];
    const done = (): void => {
      for (const name of names) stream.off(name, done);
      resolve();
    };
    for (const name of names) stream.once(name, done);
  });
}

/** sha256 and size of a file, read in chunks. */
export async function hashFile(path: string): Promise<{ size: number; sha256: string }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: CHUNK_BYTES }) as AsyncIterable<Buffer>) {
    hash.update(chunk);
    size += chunk.length;
  }
  return { size, sha256: hash.digest('hex') };
}

function resumable(err: unknown): boolean {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'number' && RESUMABLE.has(code);
}

async function backoff(call: number, options: TransferOptions): Promise<void> {
  const min = options.minBackoffMs ?? 200;
  const max = options.maxBackoffMs ?? 5000;
  const wait = Math.min(max, min * 2 ** (call - 1));
  await delay(Math.round(wait * (0.5 + Math.random() / 2)));
}
