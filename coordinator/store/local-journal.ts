/**
 * LocalStore's files (see local.ts for the layout): the LOCK file (local-lock.ts), the journal (read at start,
 * rewritten as a snapshot, appended to through one serial writer) and the artifact files. What
 * the journal's records mean is local.ts's business; this module only moves lines and bytes.
 *
 * The writer groups every line queued while the previous write was in flight into one write; a
 * `write` resolves once its lines are written (and fsynced with `durable`). After a failed write
 * the journal refuses every later one: memory would be ahead of the disk.
 */
import { createHash, randomBytes } from 'node:crypto';
import { constants as fsConstants, createReadStream, createWriteStream, promises as fsp } from 'node:fs';
import type { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { takeLock } from './local-lock.js';

export const JOURNAL = 'journal.jsonl';

export interface JournalOptions {
  durable: boolean;
  lock: boolean;
  compactAfterBytes: number;
  /** Told what was recovered without an error: a stale LOCK taken over, a torn last line dropped. */
  warn: (message: string, fields: Record<string, unknown>) => void;
}

export class Journal {
  readonly path: string;
  private handle: FileHandle | undefined;
  private unlock: (() => Promise<void>) | undefined;
  private pendingLines: string[] = [];
  private pendingWaiters: { resolve: () => void; reject: (err: Error) => void }[] = [];
  private flushScheduled = false;
  private chain: Promise<void> = Promise.resolve();
  private bytesSinceSnapshot = 0;
  private snapshotBytes = 0;
  /** The first failed write; every later write is refused with it. */
  failure: Error | undefined;

  constructor(
    private readonly dir: string,
    private readonly options: JournalOptions,
    /** The whole state as journal lines (a header first), for a snapshot. */
    private readonly snapshot: () => string[],
  ) {
    this.path = join(dir, JOURNAL);
  }

  /** Creates the directory, takes the LOCK and returns the journal's bytes (empty when there is none yet). */
  async open(): Promise<Buffer> {
    await fsp.mkdir(join(this.dir, 'artifacts'), { recursive: true });
    if (this.options.lock) this.unlock = await takeLock(this.dir, this.options.warn);
    try {
      return await fsp.readFile(this.path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        await this.close();
        throw err;
      }
      return Buffer.alloc(0);
    }
  }

  /**
   * Rewrites the journal as a snapshot of the state (temporary file, fsync, rename) and reopens
   * it for appending. Runs at start and inside the writer chain.
   */
  async rewrite(): Promise<void> {
    const tmp = `${this.path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    const body = this.snapshot().join('\n') + '\n';
    const fh = await fsp.open(tmp, 'w');
    try {
      await fh.writeFile(body, 'utf8');
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fsp.rename(tmp, this.path);
    await syncDir(this.dir);
    await this.handle?.close().catch(() => undefined);
    this.handle = await fsp.open(this.path, 'a');
    this.snapshotBytes = Buffer.byteLength(body);
    this.bytesSinceSnapshot = 0;
  }

  /** Queues lines for the journal; resolves when they are written. An empty batch is a barrier. */
  write(lines: string[]): Promise<void> {
    for (const l of lines) this.pendingLines.push(l);
    return new Promise<void>((resolve, reject) => {
      this.pendingWaiters.push({ resolve, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        this.chain = this.chain.then(() => this.flush());
      }
    });
  }

  /** Waits for queued writes, closes the file and gives the LOCK back. */
  async close(): Promise<void> {
    await this.chain.catch(() => undefined);
    // Lines queued after the chain settled (none can be, but be safe) are flushed too.
    if (this.pendingLines.length > 0 || this.pendingWaiters.length > 0) await this.flush().catch(() => undefined);
    await this.handle?.close().catch(() => undefined);
    this.handle = undefined;
    const unlock = this.unlock;
    this.unlock = undefined;
    await unlock?.();
  }

  /** Writes an artifact's bytes to a temporary name, then renames it into place. */
  async putFile(id: string, data: Buffer): Promise<void> {
    const path = this.artifactPath(id);
    const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
    const fh = await fsp.open(tmp, 'w');
    try {
      await fh.writeFile(data);
      if (this.options.durable) await fh.sync();
    } finally {
      await fh.close();
    }
    await fsp.rename(tmp, path);
  }

  /**
   * Streams an artifact's bytes through `verify` into a temporary name, then renames it into
   * place: a failed or wrong stream leaves nothing under the artifact's name.
   */
  async putFileFrom(id: string, source: Readable, verify: Transform): Promise<void> {
    const path = this.artifactPath(id);
    const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
    try {
      await pipeline(source, verify, createWriteStream(tmp, { flags: 'wx' }));
      if (this.options.durable) {
        const fh = await fsp.open(tmp, 'r');
        await fh.sync().finally(() => fh.close());
      }
      await fsp.rename(tmp, path);
    } catch (err) {
      await fsp.rm(tmp, { force: true });
      throw err;
    }
  }

  /** An artifact's bytes from `offset`, read in 1 MiB chunks. */
  openFile(id: string, offset = 0): Readable {
    return createReadStream(this.artifactPath(id), { start: offset, highWaterMark: 1 << 20 });
  }

  readFile(id: string): Promise<Buffer> {
    return fsp.readFile(this.artifactPath(id));
  }

  private artifactPath(id: string): string {
    // A prefix keeps '.' and '..' harmless; long ids become their hash.
    const encoded = encodeURIComponent(id);
    const name = encoded.length <= 200 ? `a-${encoded}` : `h-${createHash('sha256').update(id).digest('hex')}`;
    return join(this.dir, 'artifacts', name);
  }

  private async flush(): Promise<void> {
    this.flushScheduled = false;
    const lines = this.pendingLines;
    const waiters = this.pendingWaiters;
    this.pendingLines = [];
    this.pendingWaiters = [];
    try {
      if (this.failure) throw this.failure;
      if (lines.length > 0) {
        const data = lines.join('\n') + '\n';
        if (!this.handle) throw new Error('LocalStore: journal is not open');
        await fsp.appendFile(this.handle, data, 'utf8');
        if (this.options.durable) await this.handle.datasync();
        this.bytesSinceSnapshot += Buffer.byteLength(data);
        if (
          this.bytesSinceSnapshot > this.options.compactAfterBytes &&
          this.bytesSinceSnapshot > 2 * this.snapshotBytes
        ) {
          await this.rewrite();
        }
      }
      for (const w of waiters) w.resolve();
    } catch (err) {
      const e = err instanceof Error ? err : new Error(String(err));
      // Memory is now ahead of the disk: refuse further writes rather than diverge silently.
      this.failure ??= e;
      for (const w of waiters) w.reject(e);
    }
  }
}

/** JSON has no NaN or ±Infinity: they are written as {"$trellis:num": "NaN"} and read back. */
const NUM_TAG = '$trellis:num';

export function encode(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    typeof v === 'number' && !Number.isFinite(v) ? { [NUM_TAG]: String(v) } : v,
  );
}

/** The reviver for JSON.parse that undoes encode's tags. */
export function reviveNumbers(_key: string, v: unknown): unknown {
  if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
    const tagged = (v as Record<string, unknown>)[NUM_TAG];
    if (typeof tagged === 'string' && Object.keys(v).length === 1) return Number(tagged);
  }
  return v;
}

async function syncDir(dir: string): Promise<void> {
  let fh: FileHandle | undefined;
  try {
    fh = await fsp.open(dir, fsConstants.O_RDONLY);
    await fh.sync();
  } catch {
    // Directory fsync is not supported everywhere (Windows); the rename is still atomic.
  } finally {
    await fh?.close().catch(() => undefined);
  }
}
