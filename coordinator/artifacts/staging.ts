/**
 * The staging area of streamed uploads (PutArtifactStream): each upload's bytes go to its own
 * file here as they arrive, with a running sha256, so a call that breaks keeps what arrived and
 * the uploader resumes from there (GetArtifactUploadStatus) instead of starting over. Only a
 * complete upload whose sha256 matches is published to the store.
 *
 * Bounded: an upload reserves its announced total size up front, and all uploads together may
 * reserve at most `maxBytes` (RESOURCE_EXHAUSTED beyond, naming TRELLIS_ARTIFACT_STAGING_MAX_BYTES).
 * An upload untouched for `ttlMs` is deleted. Staging lives in memory and in files of this
 * process: a restarted coordinator starts with an empty area (uploads then start again from 0).
 */
import { createHash, randomBytes, type Hash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { open, rm, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { AbortedError, FailedPreconditionError, ResourceExhaustedError } from '../../shared/errors.js';

export interface UploadHeader {
  attemptId: string;
  uploadId: string;
  kind: string;
  step: number;
  totalSize: number;
  sha256: string;
  offset: number;
}

export interface StagedUpload extends Omit<UploadHeader, 'offset'> {
  readonly key: string;
  /** The identity that started it: only it may continue it. */
  readonly owner: string;
  readonly path: string;
  received: number;
  touched: number;
  /** A call is writing to it (a second call is refused with ABORTED). */
  active: boolean;
  hash: Hash;
  handle: FileHandle | undefined;
}

export interface StagingOptions {
  /** Folder for partial uploads (created); undefined: a fresh folder under the OS temp dir, removed at close. */
  dir?: string;
  maxBytes: number;
  ttlMs: number;
  log: Logger;
}

export class UploadStaging {
  private readonly uploads = new Map<string, StagedUpload>();
  /** Uploads already published, for a status asked after the final answer was lost: key -> artifact id. */
  private readonly published = new Map<string, { artifactId: string; at: number; owner: string }>();
  private readonly dir: string;
  private readonly ownDir: boolean;
  private readonly sweeper: NodeJS.Timeout;
  /** Bytes reserved by the uploads staged now (their announced sizes). */
  reservedBytes = 0;

  constructor(private readonly options: StagingOptions) {
    if (options.dir) {
      mkdirSync(options.dir, { recursive: true, mode: 0o700 });
      // A previous process's partial uploads are unknown to this one: their bytes are garbage.
      const stale = join(options.dir, 'trellis-staging');
      rmSync(stale, { recursive: true, force: true });
      mkdirSync(stale, { mode: 0o700 });
      this.dir = stale;
      this.ownDir = false;
    } else {
      this.dir = mkdtempSync(join(tmpdir(), 'trellis-staging-'));
      this.ownDir = true;
    }
    this.sweeper = setInterval(() => void this.sweep(), Math.max(250, Math.min(60_000, options.ttlMs / 4)));
    this.sweeper.unref();
  }

  /** Bytes the upload holds (0: none staged), or the artifact id when it was published. */
  status(owner: string, attemptId: string, uploadId: string): { received: number; total: number; artifactId?: string } {
    const key = keyOf(attemptId, uploadId);
    const done = this.published.get(key);
    if (done && done.owner === owner) return { received: 0, total: 0, artifactId: done.artifactId };
    const upload = this.uploads.get(key);
    if (!upload || upload.owner !== owner) return { received: 0, total: 0 };
    return { received: upload.received, total: upload.totalSize };
  }

  /** Starts an upload (offset 0) or continues one (offset = the bytes staged); the call owns it until release. */
  async begin(owner: string, header: UploadHeader): Promise<StagedUpload> {
    const key = keyOf(header.attemptId, header.uploadId);
    let upload = this.uploads.get(key);
    if (upload && (upload.owner !== owner || !sameUpload(upload, header))) {
      throw new FailedPreconditionError(
        `upload ${header.uploadId} of attempt ${header.attemptId} is staged with another kind, step, total_size or sha256; use a new upload_id`,
      );
    }
    if (upload?.active) {
      throw new AbortedError(
        `upload ${header.uploadId}: another call is sending it now; retry when that call has ended`,
      );
    }
    const staged = upload?.received ?? 0;
    if (header.offset !== staged) {
      throw new FailedPreconditionError(
        `header.offset: the coordinator holds ${staged} bytes of upload ${header.uploadId}; resume from offset ${staged}`,
      );
    }
    if (!upload) {
      if (this.reservedBytes + header.totalSize > this.options.maxBytes) {
        throw new ResourceExhaustedError(
          `staging area full: ${this.reservedBytes} bytes reserved, ${header.totalSize} more would pass ` +
            `${this.options.maxBytes} (TRELLIS_ARTIFACT_STAGING_MAX_BYTES); retry later`,
        );
      }
      const { offset: _offset, ...rest } = header;
      upload = {
        ...rest,
        key,
        owner,
        path: join(this.dir, `upload-${randomBytes(8).toString('hex')}`),
        received: 0,
        touched: Date.now(),
        active: false,
        hash: createHash('sha256'),
        handle: undefined,
      };
      this.uploads.set(key, upload);
      this.reservedBytes += header.totalSize;
    }
    upload.active = true;
    upload.touched = Date.now();
    try {
      upload.handle = await open(upload.path, upload.received === 0 ? 'w' : 'r+', 0o600);
      // A write that failed half-way may have left bytes past `received`: they are not counted.
      await upload.handle.truncate(upload.received);
    } catch (err) {
      upload.active = false;
      throw err;
    }
    return upload;
  }

  /** Appends a chunk (in order; the caller awaits each before the next). */
  async write(upload: StagedUpload, chunk: Buffer): Promise<void> {
    const handle = upload.handle;
    if (!handle) throw new Error(`upload ${upload.uploadId}: not open for writing`);
    let written = 0;
    while (written < chunk.length) {
      const { bytesWritten } = await handle.write(chunk, written, chunk.length - written, upload.received + written);
      written += bytesWritten;
    }
    upload.hash.update(chunk);
    upload.received += chunk.length;
    upload.touched = Date.now();
  }

  /** The call on the upload has ended (whatever way): its file is closed, the bytes stay staged. */
  async release(upload: StagedUpload): Promise<void> {
    const handle = upload.handle;
    upload.handle = undefined;
    upload.active = false;
    upload.touched = Date.now();
    await handle?.close().catch(() => undefined);
  }

  /** The sha256 of the bytes staged (the running hash is copied: more bytes may follow). */
  digest(upload: StagedUpload): string {
    return upload.hash.copy().digest('hex');
  }

  /** Published: the staged file is deleted; the artifact id is remembered for a late status. */
  async markPublished(upload: StagedUpload, artifactId: string): Promise<void> {
    this.published.set(upload.key, { artifactId, at: Date.now(), owner: upload.owner });
    await this.discard(upload);
  }

  /** Deletes the upload and frees its reservation. */
  async discard(upload: StagedUpload): Promise<void> {
    if (this.uploads.get(upload.key) !== upload) return;
    this.uploads.delete(upload.key);
    this.reservedBytes -= upload.totalSize;
    await this.release(upload);
    await rm(upload.path, { force: true });
  }

  /** Deletes uploads (not being sent) untouched for ttlMs, and old published records. */
  async sweep(now = Date.now()): Promise<void> {
    for (const upload of [...this.uploads.values()]) {
      if (!upload.active && now - upload.touched > this.options.ttlMs) {
        this.options.log.info(
          { attemptId: upload.attemptId, uploadId: upload.uploadId, received: upload.received },
          'partial upload expired (TRELLIS_ARTIFACT_STAGING_TTL_MS)',
        );
        await this.discard(upload);
      }
    }
    for (const [key, done] of this.published) if (now - done.at > this.options.ttlMs) this.published.delete(key);
  }

  /** Number of uploads staged now. */
  get size(): number {
    return this.uploads.size;
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
    for (const upload of [...this.uploads.values()]) await this.discard(upload);
    if (this.ownDir) await rm(this.dir, { recursive: true, force: true });
  }
}

function keyOf(attemptId: string, uploadId: string): string {
  return `${attemptId}\0${uploadId}`;
}

function sameUpload(upload: StagedUpload, header: UploadHeader): boolean {
  return (
    upload.kind === header.kind &&
    upload.step === header.step &&
    upload.totalSize === header.totalSize &&
    upload.sha256 === header.sha256
  );
}
