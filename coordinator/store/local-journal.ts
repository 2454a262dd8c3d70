/**
 * LocalStore's files (see local.ts for the layout): the LOCK file (local-lock.ts), the journal (read at start,
 * rewritten as a snapshot, appended to through one serial writer) and the artifact files. What
 * the journal's records mean is local.ts's business; this module only moves lines and bytes.
 *
 * The writer groups lines into one write: without `durable`, every line queued in one turn of
 * the event loop (one synchronous write at its end); with it, every line queued while the
 * previous write and its fsync were in flight. A `write` resolves once its lines are written
 * (and fsynced with `durable`). After a failed write the journal refuses every later one:
 * memory would be ahead of the disk. Compactions while running go on behind the writes
 * (compactBehind).
 */
import { createHash, randomBytes } from 'node:crypto';
import {
  closeSync,
  constants as fsConstants,
  createReadStream,
  createWriteStream,
  openSync,
  promises as fsp,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import type { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { BufferSource, FileSource, type ByteSource } from './local-cold.js';
import { takeLock } from './local-lock.js';

export const JOURNAL = 'journal.jsonl';
/** Artifacts up to this size, without fsync, are written synchronously (putFile). */
const SMALL_FILE_BYTES = 64 * 1024;
/**
 * Without fsync, a batch waits for the end of the event loop's turn at most this long while
 * more lines keep coming: then it is written once the current callback is done.
 */
const HURRY_MS = 2;

export interface JournalOptions {
  durable: boolean;
  lock: boolean;
  compactAfterBytes: number;
  /** How old a batch may grow in a long turn before it is hurried (default HURRY_MS; tests). */
  hurryMs?: number;
  /** Told what was recovered without an error: a stale LOCK taken over, a torn last line dropped. */
  warn: (message: string, fields: Record<string, unknown>) => void;
}

/** Told where a write's lines landed in the journal: each line's byte offset, in order. */
export type Placed = (offsets: number[]) => void;

/**
 * A snapshot being written: `line` appends one (returns its offset in the new file), `drain`
 * lets the bytes out once enough are buffered (the producer awaits it now and then).
 */
export class SnapshotOut {
  private parts: string[] = [];
  private buffered = 0;
  bytes = 0;
  constructor(private readonly fh: FileHandle) {}

  line(text: string): number {
    const at = this.bytes;
    const n = Buffer.byteLength(text) + 1;
    this.parts.push(text);
    this.bytes += n;
    this.buffered += n;
    return at;
  }

  async drain(): Promise<void> {
    if (this.buffered >= 1 << 20) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.parts.length === 0) return;
    const data = this.parts.join('\n') + '\n';
    this.parts = [];
    this.buffered = 0;
    await this.fh.write(data, null, 'utf8');
  }
}

/**
 * Where the lines written while a snapshot was being made went: each offset at or past `from`
 * (in the old journal) is now `by` bytes further (in the new file, after the snapshot).
 */
export interface Moved {
  from: number;
  by: number;
}

/**
 * Writes the whole state into `out` (reading what lives only on disk from `old`, the journal
 * as it was when the snapshot began) and returns what to do once the new file has replaced the
 * old one: the state's offsets then point into the new file. Lines may be appended to the old
 * journal meanwhile; they are copied after the snapshot, and `commit` moves their offsets.
 */
export type Snapshot = (out: SnapshotOut, old: ByteSource) => Promise<(moved: Moved) => void>;

/** A snapshot written to its temporary file, waiting to replace the journal. */
interface Built {
  tmp: string;
  fh: FileHandle;
  out: SnapshotOut;
  commit: (moved: Moved) => void;
  /** The journal's size when the snapshot began: lines from here on are copied after it. */
  from: number;
}

export class Journal {
  readonly path: string;
  private handle: FileHandle | undefined;
  private unlock: (() => Promise<void>) | undefined;
  /** A read-only descriptor of the journal as it is now (sync line reads by offset). */
  private readFd: number | undefined;
  /** Bytes written to the journal (its end; offsets of appended lines start here). */
  private size = 0;
  private pending: { lines: string[]; placed?: Placed }[] = [];
  private pendingWaiters: { resolve: () => void; reject: (err: Error) => void }[] = [];
  private flushScheduled = false;
  /** When the batch now pending began (performance.now()), and its early write, if asked. */
  private batchStartedAt = 0;
  private hurried = false;
  private writeNow: (() => void) | undefined;
  private chain: Promise<void> = Promise.resolve();
  private bytesSinceSnapshot = 0;
  private snapshotBytes = 0;
  /** A compaction while running (compactBehind): at most one. */
  private compaction: Promise<void> | undefined;
  /** Compactions that replaced the journal while running (not the one at start). */
  compactions = 0;
  /** The first failed write; every later write is refused with it. */
  failure: Error | undefined;

  constructor(
    private readonly dir: string,
    private readonly options: JournalOptions,
    /** Writes the whole state as journal lines (a header first), for a snapshot. */
    private readonly snapshot: Snapshot,
  ) {
    this.path = join(dir, JOURNAL);
  }

  /** Creates the directory, takes the LOCK and returns the journal's bytes (empty when there is none yet). */
  async open(): Promise<Buffer> {
    await fsp.mkdir(join(this.dir, 'artifacts', 'meta'), { recursive: true });
    if (this.options.lock) this.unlock = await takeLock(this.dir, this.options.warn);
    try {
      const data = await fsp.readFile(this.path);
      this.readFd = openSync(this.path, 'r');
      this.size = data.length;
      return data;
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
   * it for appending. At start, before anything else writes.
   */
  async rewrite(): Promise<void> {
    await this.install(await this.build());
  }

  /**
   * The compaction while running. The snapshot is made while writes go on to the old journal
   * (a rewrite that held them up stopped every store write for its whole length: seconds at a
   * million trials); then, in the writer chain, what was appended meanwhile is copied after it
   * and the new file replaces the journal. A failure before the replacement leaves the journal
   * as it was (and is told through `warn`); one after it refuses every later write.
   */
  private async compactBehind(): Promise<void> {
    let built: Built;
    try {
      built = await this.build();
    } catch (err) {
      this.options.warn('compaction failed; the journal stays as it is', { error: (err as Error).message });
      return;
    }
    const installed = this.chain.then(() => this.install(built));
    const done = installed.then(
      () => {
        this.compactions++;
      },
      (err: unknown) => {
        if (err instanceof NotReplaced) {
          this.options.warn('compaction failed; the journal stays as it is', { error: err.message });
          return;
        }
        // The new file is the journal, but the state's offsets could not follow it.
        this.failure ??= err instanceof Error ? err : new Error(String(err));
      },
    );
    this.chain = done;
    await done;
  }

  /** Resolves once the compaction running now, if any, has replaced the journal (or given up). */
  async compacted(): Promise<void> {
    await this.compaction;
  }

  /** Writes the snapshot into a temporary file (removed again if that fails). */
  private async build(): Promise<Built> {
    const from = this.size;
    const tmp = `${this.path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    const fh = await fsp.open(tmp, 'w');
    const out = new SnapshotOut(fh);
    try {
      const fd = this.readFd;
      // The journal as it is now: lines appended while the snapshot is made are not its business.
      const old = fd === undefined ? new BufferSource(Buffer.alloc(0)) : new FileSource(fd, () => from);
      const commit = await this.snapshot(out, old);
      await out.flush();
      // On disk before writes are held for the replacement: then only the tail is left to sync.
      await fh.sync();
      return { tmp, fh, out, commit, from };
    } catch (err) {
      await fh.close().catch(() => undefined);
      await fsp.rm(tmp, { force: true });
      throw err;
    }
  }

  /**
   * Copies what was appended since the snapshot began after it, makes the file the journal and
   * moves the state's offsets. Nothing may be written to the journal meanwhile (the writer chain).
   */
  private async install({ tmp, fh, out, commit, from }: Built): Promise<void> {
    const tail = this.size - from;
    try {
      // A write failed meanwhile: memory is ahead of the disk, and a snapshot of it must not
      // become the journal.
      if (this.failure) throw this.failure;
      if (tail > 0) {
        await copyRange(this.readFd!, from, tail, fh);
        await fh.sync();
      }
      await fh.close();
      await fsp.rename(tmp, this.path);
    } catch (err) {
      await fh.close().catch(() => undefined);
      await fsp.rm(tmp, { force: true });
      throw new NotReplaced((err as Error).message, { cause: err });
    }
    await syncDir(this.dir);
    const handle = await fsp.open(this.path, 'a');
    await this.handle?.close().catch(() => undefined);
    this.handle = handle;
    // Reads by offset switch to the new file in the same synchronous step as the offsets.
    const oldFd = this.readFd;
    this.readFd = openSync(this.path, 'r');
    if (oldFd !== undefined) closeSync(oldFd);
    this.size = out.bytes + tail;
    this.snapshotBytes = out.bytes;
    this.bytesSinceSnapshot = tail;
    commit({ from, by: out.bytes - from });
  }

  /** The journal's bytes as written so far, for sync reads by offset. */
  get source(): ByteSource {
    const fd = this.readFd;
    return fd === undefined ? new BufferSource(Buffer.alloc(0)) : new FileSource(fd, () => this.size);
  }

  /** Queues lines for the journal; resolves when they are written. An empty batch is a barrier. */
  write(lines: string[], placed?: Placed): Promise<void> {
    if (lines.length > 0) this.pending.push(placed ? { lines, placed } : { lines });
    return new Promise<void>((resolve, reject) => {
      this.pendingWaiters.push({ resolve, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        // Without fsync the write is one synchronous call at the end of this turn of the event
        // loop: every line queued in this turn goes in it, and the writers hear back in the same
        // turn, not after a thread-pool round trip and another turn.
        if (this.options.durable) this.chain = this.chain.then(() => this.flush());
        else {
          this.batchStartedAt = performance.now();
          this.chain = this.chain.then(() => this.endOfTurn()).then(() => this.flush());
        }
      } else if (
        !this.hurried &&
        !this.options.durable &&
        performance.now() - this.batchStartedAt > (this.options.hurryMs ?? HURRY_MS)
      ) {
        // A long turn (many I/O callbacks, a collection): its first writers would wait for all
        // of it. The batch goes out when this callback is done instead.
        this.hurried = true;
        process.nextTick(() => this.writeNow?.());
      }
    });
  }

  /** Waits for queued writes, closes the file and gives the LOCK back. */
  async close(): Promise<void> {
    await this.compaction;
    await this.chain.catch(() => undefined);
    // Lines queued after the chain settled (none can be, but be safe) are flushed too.
    if (this.pending.length > 0 || this.pendingWaiters.length > 0) await this.flush().catch(() => undefined);
    await this.handle?.close().catch(() => undefined);
    this.handle = undefined;
    if (this.readFd !== undefined) closeSync(this.readFd);
    this.readFd = undefined;
    const unlock = this.unlock;
    this.unlock = undefined;
    await unlock?.();
  }

  /**
   * Writes an artifact's bytes to a temporary name, then renames it into place. A small one
   * without fsync (an attempt's log, once per trial) is written with two direct system calls
   * on this thread: four hops through the thread pool cost about twice the CPU of the
   * calls themselves (bench/README.md, "dispatch").
   */
  async putFile(id: string, data: Buffer): Promise<void> {
    const path = this.artifactPath(id);
    const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
    if (!this.options.durable && data.length <= SMALL_FILE_BYTES) {
      try {
        writeFileSync(tmp, data, { flag: 'wx' });
        renameSync(tmp, path);
      } catch (err) {
        rmSync(tmp, { force: true });
        throw err;
      }
      return;
    }
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

  /**
   * An artifact's meta (JSON) in `artifacts/meta/`, beside its bytes: written after them (a
   * temporary name, then a rename), so it is what makes the artifact visible; read back with
   * one small synchronous read. Undefined when there is none.
   */
  readMeta(id: string): unknown {
    try {
      return JSON.parse(readFileSync(this.metaPath(id), 'utf8'), reviveNumbers) as unknown;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  async putMeta(id: string, meta: unknown): Promise<void> {
    const path = this.metaPath(id);
    const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
    try {
      writeFileSync(tmp, encode(meta), { flag: 'wx' });
      if (this.options.durable) {
        const fh = await fsp.open(tmp, 'r');
        await fh.sync().finally(() => fh.close());
      }
      renameSync(tmp, path);
    } catch (err) {
      rmSync(tmp, { force: true });
      throw err;
    }
    if (this.options.durable) {
      // The renames of the bytes and of the meta reach the disk before the put returns.
      await syncDir(join(this.dir, 'artifacts'));
      await syncDir(join(this.dir, 'artifacts', 'meta'));
    }
  }

  private metaPath(id: string): string {
    return join(this.dir, 'artifacts', 'meta', artifactName(id));
  }

  private artifactPath(id: string): string {
    return join(this.dir, 'artifacts', artifactName(id));
  }

  /** Resolves in the check phase of this turn (after its I/O callbacks), or earlier when hurried. */
  private endOfTurn(): Promise<void> {
    if (this.hurried) return Promise.resolve(); // hurried before the chain got here
    return new Promise<void>((resolve) => {
      const timer = setImmediate(resolve);
      this.writeNow = () => {
        clearImmediate(timer);
        resolve();
      };
    });
  }

  private async flush(): Promise<void> {
    this.flushScheduled = false;
    this.hurried = false;
    this.writeNow = undefined;
    const batch = this.pending;
    const waiters = this.pendingWaiters;
    this.pending = [];
    this.pendingWaiters = [];
    try {
      if (this.failure) throw this.failure;
      if (batch.length > 0) {
        // Each line's offset, for the writes that asked where their lines landed.
        let at = this.size;
        const offsets: number[][] = [];
        const lines: string[] = [];
        for (const { lines: some } of batch) {
          const mine: number[] = [];
          for (const l of some) {
            mine.push(at);
            at += Buffer.byteLength(l) + 1;
            lines.push(l);
          }
          offsets.push(mine);
        }
        const data = lines.join('\n') + '\n';
        if (!this.handle) throw new Error('LocalStore: journal is not open');
        if (this.options.durable) {
          await fsp.appendFile(this.handle, data, 'utf8');
          await this.handle.datasync();
        } else {
          writeAllSync(this.handle.fd, Buffer.from(data, 'utf8'));
        }
        if (this.readFd === undefined) this.readFd = openSync(this.path, 'r');
        this.size = at;
        this.bytesSinceSnapshot += at - (offsets[0]?.[0] ?? at);
        for (let i = 0; i < batch.length; i++) batch[i]!.placed?.(offsets[i]!);
        if (
          !this.compaction &&
          this.bytesSinceSnapshot > this.options.compactAfterBytes &&
          this.bytesSinceSnapshot > 2 * this.snapshotBytes
        ) {
          this.compaction = this.compactBehind().finally(() => (this.compaction = undefined));
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
  // A replacer is a call from JSON.stringify into JavaScript for every value: about half of the
  // cost. Most documents hold no non-finite number, which a plain walk finds out cheaper.
  return mayHoldNonFinite(value) ? JSON.stringify(value, tagNonFinite) : JSON.stringify(value);
}

function tagNonFinite(_key: string, v: unknown): unknown {
  return typeof v === 'number' && !Number.isFinite(v) ? { [NUM_TAG]: String(v) } : v;
}

/**
 * False only when `value` holds no NaN or ±Infinity that JSON.stringify would reach. Objects
 * with a toJSON (whose output the walk does not see) count as maybe.
 */
function mayHoldNonFinite(value: unknown): boolean {
  if (typeof value === 'number') return !Number.isFinite(value);
  if (value === null || typeof value !== 'object') return false;
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return true;
  if (Array.isArray(value)) {
    for (const item of value) if (mayHoldNonFinite(item)) return true;
    return false;
  }
  for (const key in value) if (mayHoldNonFinite((value as Record<string, unknown>)[key])) return true;
  return false;
}

/** The reviver for JSON.parse that undoes encode's tags. */
export function reviveNumbers(_key: string, v: unknown): unknown {
  if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
    const tagged = (v as Record<string, unknown>)[NUM_TAG];
    if (typeof tagged === 'string' && Object.keys(v).length === 1) return Number(tagged);
  }
  return v;
}

/** A snapshot that did not replace the journal: it is as it was (the temporary file is gone). */
class NotReplaced extends Error {}

/** Appends `length` bytes of the file `fd` from `position` to `out`, 1 MiB at a time. */
async function copyRange(fd: number, position: number, length: number, out: FileHandle): Promise<void> {
  const buf = Buffer.allocUnsafe(Math.min(length, 1 << 20));
  for (let done = 0; done < length;) {
    const n = readSync(fd, buf, 0, Math.min(buf.length, length - done), position + done);
    if (n === 0) throw new Error(`journal ended ${length - done} bytes early while copying its tail`);
    await out.write(buf, 0, n);
    done += n;
  }
}

/** writeSync until every byte is written (a regular file takes them all at once, but be sure). */
function writeAllSync(fd: number, data: Buffer): void {
  for (let at = 0; at < data.length;) at += writeSync(fd, data, at, data.length - at);
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

/** An artifact's file name: a prefix keeps '.' and '..' harmless; long ids become their hash. */
function artifactName(id: string): string {
  const encoded = encodeURIComponent(id);
  return encoded.length <= 200 ? `a-${encoded}` : `h-${createHash('sha256').update(id).digest('hex')}`;
}
