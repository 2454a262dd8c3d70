/**
 * LocalStore: the embedded-mode system of record, in one directory.
 *
 * Layout of the directory:
 *   journal.jsonl   one JSON document per line: a snapshot of the whole state (written at start
 *                   and whenever the journal has grown well past it), then appended records.
 *                   Documents (experiments, trials, workers, artifact metas) are full upserts;
 *                   metrics and events are inserts; `pub` lines mark events published.
 *                   Replaying is idempotent, so a record may appear twice harmlessly.
 *   artifacts/      one file per artifact, written to a temporary name then renamed.
 *   LOCK            the pid of the process that has the directory open.
 *
 * The state lives in memory; every mutation is applied there synchronously (so compare-and-set
 * is atomic within the process) and its journal line is appended through one serial writer that
 * groups every line queued while the previous write was in flight into one write. A call
 * resolves once its lines are written (and fsynced with `durable: true`). A torn last line
 * (process killed mid-write) is dropped on replay.
 */
import { createHash, randomBytes } from 'node:crypto';
import { constants as fsConstants, promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';

import type { TrellisEvent } from '../../shared/events.js';
import type { ExperimentStatus } from '../../shared/states.js';
import type { ArtifactMeta, ExperimentDoc, MetricDoc, TrialDoc, WorkerDoc } from '../../shared/types.js';
import type { ExperimentExpect, Store, TrialExpect } from './base.js';
import { assertOutboxEvent } from './base.js';

export interface LocalStoreOptions {
  /** fsync the journal after every write (and artifacts before their rename). Default false. */
  durable?: boolean;
  /**
   * Take the directory's LOCK file so that two live processes cannot write the same journal.
   * A lock left by a dead process is taken over. Default true.
   */
  lock?: boolean;
  /**
   * Rewrite the snapshot while running once the journal has grown by this many bytes and to
   * more than twice the last snapshot. Default 64 MiB.
   */
  compactAfterBytes?: number;
}

const JOURNAL = 'journal.jsonl';
const FORMAT = 'trellis-local-store';
const FORMAT_VERSION = 1;

type Record_ =
  | { t: 'header'; format: string; version: number }
  | { t: 'exp'; d: ExperimentDoc }
  | { t: 'trial'; d: TrialDoc }
  | { t: 'worker'; d: WorkerDoc }
  | { t: 'artifact'; d: ArtifactMeta }
  | { t: 'metric'; d: MetricDoc }
  | { t: 'event'; d: TrellisEvent; p?: boolean }
  | { t: 'pub'; e: string; s: number[] };

interface EventLog {
  bySeq: Map<number, TrellisEvent>;
  last: number;
}

type State = 'new' | 'starting' | 'open' | 'closing' | 'closed';

export class LocalStore implements Store {
  readonly kind = 'local';
  readonly dir: string;
  private readonly durable: boolean;
  private readonly useLock: boolean;
  private readonly compactAfterBytes: number;

  private state: State = 'new';
  private startPromise: Promise<void> | undefined;
  private closePromise: Promise<void> | undefined;
  private failure: Error | undefined;

  private experiments = new Map<string, ExperimentDoc>();
  private experimentByRequest = new Map<string, string>();
  private trials = new Map<string, TrialDoc>();
  private trialByNumber = new Map<string, string>();
  private trialsByExperiment = new Map<string, Set<string>>();
  private metrics = new Map<string, Map<string, MetricDoc>>();
  private events = new Map<string, EventLog>();
  /** Keyed `${experimentId}\0${seq}`. */
  private unpublished = new Map<string, TrellisEvent>();
  private workers = new Map<string, WorkerDoc>();
  private artifacts = new Map<string, ArtifactMeta>();

  // The journal writer.
  private handle: FileHandle | undefined;
  private pendingLines: string[] = [];
  private pendingWaiters: { resolve: () => void; reject: (err: Error) => void }[] = [];
  private flushScheduled = false;
  private chain: Promise<void> = Promise.resolve();
  private bytesSinceSnapshot = 0;
  private snapshotBytes = 0;

  constructor(dir: string, options: LocalStoreOptions = {}) {
    if (!dir) throw new TypeError('LocalStore: dir must be a non-empty path');
    this.dir = dir;
    this.durable = options.durable ?? false;
    this.useLock = options.lock ?? true;
    this.compactAfterBytes = options.compactAfterBytes ?? 64 * 1024 * 1024;
    if (!(this.compactAfterBytes > 0))
      throw new TypeError(`LocalStore: compactAfterBytes is ${options.compactAfterBytes}, but must be > 0`);
  }

  // ---------------------------------------------------------------- lifecycle

  start(): Promise<void> {
    if (this.state === 'closing' || this.state === 'closed')
      return Promise.reject(new Error('LocalStore: already closed'));
    this.startPromise ??= this.doStart().catch((err: unknown) => {
      this.state = 'closed';
      throw err;
    });
    return this.startPromise;
  }

  private async doStart(): Promise<void> {
    this.state = 'starting';
    await fsp.mkdir(join(this.dir, 'artifacts'), { recursive: true });
    if (this.useLock) await this.takeLock();
    const path = join(this.dir, JOURNAL);
    let text = '';
    try {
      text = await fsp.readFile(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    this.replay(text);
    await this.writeSnapshot();
    this.state = 'open';
  }

  close(): Promise<void> {
    if (this.closePromise) return this.closePromise;
    this.closePromise = (async () => {
      if (this.startPromise) await this.startPromise.catch(() => undefined);
      this.state = 'closing';
      await this.chain.catch(() => undefined);
      // Lines queued after the chain settled (none can be, but be safe) are flushed too.
      if (this.pendingLines.length > 0 || this.pendingWaiters.length > 0) await this.flush().catch(() => undefined);
      await this.handle?.close().catch(() => undefined);
      this.handle = undefined;
      if (this.useLock && this.startPromise) await fsp.rm(join(this.dir, 'LOCK'), { force: true });
      this.state = 'closed';
    })();
    return this.closePromise;
  }

  private async takeLock(): Promise<void> {
    const lockPath = join(this.dir, 'LOCK');
    for (let tries = 0; tries < 3; tries++) {
      try {
        await fsp.writeFile(lockPath, String(process.pid), { flag: 'wx' });
        return;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const owner = Number.parseInt(await fsp.readFile(lockPath, 'utf8').catch(() => ''), 10);
      if (Number.isInteger(owner) && owner > 0 && isAlive(owner)) {
        const who = owner === process.pid ? 'another LocalStore in this process (close it first)' : `process ${owner}`;
        throw new Error(`LocalStore: ${this.dir} is in use by ${who}`);
      }
      await fsp.rm(lockPath, { force: true });
    }
    throw new Error(`LocalStore: cannot take the lock ${lockPath}`);
  }

  private assertOpen(): void {
    if (this.state !== 'open') {
      throw new Error(
        this.state === 'closing' || this.state === 'closed' ? 'LocalStore: closed' : 'LocalStore: not started',
      );
    }
    if (this.failure)
      throw new Error(`LocalStore: a journal write failed earlier: ${this.failure.message}`, { cause: this.failure });
  }

  // ---------------------------------------------------------------- journal

  private replay(text: string): void {
    const lines = text.split('\n');
    // The last element is '' when the file ends with a newline; otherwise it may be torn.
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!;
      if (line.length === 0) continue;
      let rec: Record_;
      try {
        rec = JSON.parse(line, reviveNumbers) as Record_;
      } catch (err) {
        const isLast = lines.slice(i + 1).every((l) => l.length === 0);
        if (isLast) break; // torn write from a killed process: it was never acknowledged
        throw new Error(`LocalStore: ${join(this.dir, JOURNAL)} line ${i + 1} is corrupt: ${(err as Error).message}`);
      }
      this.apply(rec);
    }
  }

  /** Applies one journal record to the in-memory state (idempotent). */
  private apply(rec: Record_): void {
    switch (rec.t) {
      case 'header':
        if (rec.format !== FORMAT || rec.version > FORMAT_VERSION) {
          throw new Error(
            `LocalStore: ${join(this.dir, JOURNAL)} has format ${rec.format} v${rec.version}; this build reads ${FORMAT} v${FORMAT_VERSION}`,
          );
        }
        return;
      case 'exp':
        this.experiments.set(rec.d.id, rec.d);
        this.experimentByRequest.set(rec.d.requestId, rec.d.id);
        return;
      case 'trial':
        this.indexTrial(rec.d);
        return;
      case 'worker':
        this.workers.set(rec.d.id, rec.d);
        return;
      case 'artifact':
        this.artifacts.set(rec.d.id, rec.d);
        return;
      case 'metric':
        this.insertMetric(rec.d);
        return;
      case 'event':
        if (this.insertEvent(rec.d) && rec.p) this.unpublished.delete(eventKey(rec.d.experimentId!, rec.d.seq));
        return;
      case 'pub':
        for (const s of rec.s) this.unpublished.delete(eventKey(rec.e, s));
        return;
      default:
        throw new Error(`LocalStore: unknown journal record ${JSON.stringify((rec as { t: unknown }).t)}`);
    }
  }

  private snapshotLines(): string[] {
    const out: string[] = [encode({ t: 'header', format: FORMAT, version: FORMAT_VERSION })];
    for (const d of this.experiments.values()) out.push(encode({ t: 'exp', d }));
    for (const d of this.trials.values()) out.push(encode({ t: 'trial', d }));
    for (const d of this.workers.values()) out.push(encode({ t: 'worker', d }));
    for (const d of this.artifacts.values()) out.push(encode({ t: 'artifact', d }));
    for (const byKey of this.metrics.values()) for (const d of byKey.values()) out.push(encode({ t: 'metric', d }));
    for (const [exp, log] of this.events) {
      for (const seq of [...log.bySeq.keys()].sort((a, b) => a - b)) {
        const d = log.bySeq.get(seq)!;
        out.push(encode(this.unpublished.has(eventKey(exp, seq)) ? { t: 'event', d } : { t: 'event', d, p: true }));
      }
    }
    return out;
  }

  /**
   * Rewrites the journal as a snapshot of the in-memory state (temporary file, fsync, rename)
   * and reopens it for appending. Runs at start and inside the writer chain.
   */
  private async writeSnapshot(): Promise<void> {
    const path = join(this.dir, JOURNAL);
    const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    const body = this.snapshotLines().join('\n') + '\n';
    const fh = await fsp.open(tmp, 'w');
    try {
      await fh.writeFile(body, 'utf8');
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fsp.rename(tmp, path);
    await syncDir(this.dir);
    await this.handle?.close().catch(() => undefined);
    this.handle = await fsp.open(path, 'a');
    this.snapshotBytes = Buffer.byteLength(body);
    this.bytesSinceSnapshot = 0;
  }

  /** Queues lines for the journal; resolves when they are written. An empty batch is a barrier. */
  private write(lines: string[]): Promise<void> {
    for (const l of lines) this.pendingLines.push(l);
    return new Promise<void>((resolve, reject) => {
      this.pendingWaiters.push({ resolve, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        this.chain = this.chain.then(() => this.flush());
      }
    });
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
        if (this.durable) await this.handle.datasync();
        this.bytesSinceSnapshot += Buffer.byteLength(data);
        if (this.bytesSinceSnapshot > this.compactAfterBytes && this.bytesSinceSnapshot > 2 * this.snapshotBytes) {
          await this.writeSnapshot();
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

  // ---------------------------------------------------------------- in-memory indexes

  private indexTrial(doc: TrialDoc): void {
    this.trials.set(doc.id, doc);
    this.trialByNumber.set(trialKey(doc.experimentId, doc.number), doc.id);
    let set = this.trialsByExperiment.get(doc.experimentId);
    if (!set) this.trialsByExperiment.set(doc.experimentId, (set = new Set()));
    set.add(doc.id);
  }

  private insertMetric(doc: MetricDoc): boolean {
    let byKey = this.metrics.get(doc.trialId);
    if (!byKey) this.metrics.set(doc.trialId, (byKey = new Map<string, MetricDoc>()));
    const key = `${doc.attempt}:${doc.step}`;
    if (byKey.has(key)) return false;
    byKey.set(key, doc);
    return true;
  }

  private insertEvent(event: TrellisEvent): boolean {
    const exp = event.experimentId!;
    let log = this.events.get(exp);
    if (!log) this.events.set(exp, (log = { bySeq: new Map(), last: 0 }));
    if (log.bySeq.has(event.seq)) return false;
    log.bySeq.set(event.seq, event);
    if (event.seq > log.last) log.last = event.seq;
    this.unpublished.set(eventKey(exp, event.seq), event);
    return true;
  }

  // ---------------------------------------------------------------- experiments

  async createExperiment(doc: ExperimentDoc): Promise<{ experiment: ExperimentDoc; created: boolean }> {
    this.assertOpen();
    const existingId = this.experimentByRequest.get(doc.requestId);
    if (existingId !== undefined) {
      await this.write([]);
      return { experiment: clone(this.experiments.get(existingId)!), created: false };
    }
    if (this.experiments.has(doc.id)) throw new Error(`experiment id ${doc.id} already exists with another requestId`);
    const stored = clone(doc);
    this.experiments.set(stored.id, stored);
    this.experimentByRequest.set(stored.requestId, stored.id);
    await this.write([encode({ t: 'exp', d: stored })]);
    return { experiment: clone(stored), created: true };
  }

  async getExperiment(id: string): Promise<ExperimentDoc | undefined> {
    this.assertOpen();
    const doc = this.experiments.get(id);
    return doc && clone(doc);
  }

  async listExperiments(filter: { status?: ExperimentStatus[] } = {}): Promise<ExperimentDoc[]> {
    this.assertOpen();
    const statuses = filter.status;
    const out: ExperimentDoc[] = [];
    for (const doc of this.experiments.values()) if (!statuses || statuses.includes(doc.status)) out.push(clone(doc));
    return out.sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
  }

  async updateExperiment(
    id: string,
    expect: ExperimentExpect,
    patch: Partial<ExperimentDoc>,
  ): Promise<ExperimentDoc | undefined> {
    this.assertOpen();
    const doc = this.experiments.get(id);
    if (!doc || !matchesStatus(doc.status, expect.status)) return undefined;
    if (expect.trialsCreated !== undefined && doc.trialsCreated !== expect.trialsCreated) return undefined;
    const next = applyPatch(doc, patch);
    this.experiments.set(id, next);
    if (next.requestId !== doc.requestId) {
      this.experimentByRequest.delete(doc.requestId);
      this.experimentByRequest.set(next.requestId, id);
    }
    await this.write([encode({ t: 'exp', d: next })]);
    return clone(next);
  }

  // ---------------------------------------------------------------- trials

  async insertTrial(doc: TrialDoc): Promise<boolean> {
    this.assertOpen();
    if (this.trials.has(doc.id) || this.trialByNumber.has(trialKey(doc.experimentId, doc.number))) {
      await this.write([]);
      return false;
    }
    const stored = clone(doc);
    this.indexTrial(stored);
    await this.write([encode({ t: 'trial', d: stored })]);
    return true;
  }

  async getTrial(id: string): Promise<TrialDoc | undefined> {
    this.assertOpen();
    const doc = this.trials.get(id);
    return doc && clone(doc);
  }

  async listTrials(experimentId: string): Promise<TrialDoc[]> {
    this.assertOpen();
    const ids = this.trialsByExperiment.get(experimentId);
    if (!ids) return [];
    return [...ids].map((id) => clone(this.trials.get(id)!)).sort((a, b) => a.number - b.number);
  }

  async updateTrial(id: string, expect: TrialExpect, patch: Partial<TrialDoc>): Promise<TrialDoc | undefined> {
    this.assertOpen();
    const doc = this.trials.get(id);
    if (!doc || !matchesStatus(doc.status, expect.status)) return undefined;
    if (expect.attemptCount !== undefined && doc.attempts.length !== expect.attemptCount) return undefined;
    // experimentId and number are the trial's identity: a patch may repeat them, not change them.
    if (patch.experimentId !== undefined && patch.experimentId !== doc.experimentId) return undefined;
    if (patch.number !== undefined && patch.number !== doc.number) return undefined;
    const next = applyPatch(doc, patch);
    this.trials.set(id, next);
    await this.write([encode({ t: 'trial', d: next })]);
    return clone(next);
  }

  // ---------------------------------------------------------------- metrics

  async appendMetrics(docs: MetricDoc[]): Promise<number> {
    this.assertOpen();
    const lines: string[] = [];
    for (const doc of docs) {
      const stored = clone(doc);
      if (this.insertMetric(stored)) lines.push(encode({ t: 'metric', d: stored }));
    }
    await this.write(lines);
    return lines.length;
  }

  async listMetrics(trialId: string): Promise<MetricDoc[]> {
    this.assertOpen();
    const byKey = this.metrics.get(trialId);
    if (!byKey) return [];
    return [...byKey.values()].map(clone).sort((a, b) => a.attempt - b.attempt || a.step - b.step);
  }

  // ---------------------------------------------------------------- events

  async appendEvents(events: TrellisEvent[]): Promise<void> {
    this.assertOpen();
    for (const e of events) assertOutboxEvent(e);
    const lines: string[] = [];
    for (const e of events) {
      const stored = clone(e);
      if (this.insertEvent(stored)) lines.push(encode({ t: 'event', d: stored }));
    }
    await this.write(lines);
  }

  async listEvents(experimentId: string, fromSeq = 1): Promise<TrellisEvent[]> {
    this.assertOpen();
    const log = this.events.get(experimentId);
    if (!log) return [];
    const out: TrellisEvent[] = [];
    for (const [seq, e] of log.bySeq) if (seq >= fromSeq) out.push(e);
    return out.sort((a, b) => a.seq - b.seq).map(clone);
  }

  async lastEventSeq(experimentId: string): Promise<number> {
    this.assertOpen();
    return this.events.get(experimentId)?.last ?? 0;
  }

  async unpublishedEvents(limit = 1000): Promise<TrellisEvent[]> {
    this.assertOpen();
    const all = [...this.unpublished.values()].sort(compareEvents);
    return all.slice(0, Math.max(0, limit)).map(clone);
  }

  async markPublished(experimentId: string, seqs: number[]): Promise<void> {
    this.assertOpen();
    const done: number[] = [];
    for (const s of seqs) if (this.unpublished.delete(eventKey(experimentId, s))) done.push(s);
    await this.write(done.length > 0 ? [encode({ t: 'pub', e: experimentId, s: done })] : []);
  }

  // ---------------------------------------------------------------- workers

  async upsertWorker(doc: WorkerDoc): Promise<void> {
    this.assertOpen();
    const stored = clone(doc);
    this.workers.set(stored.id, stored);
    await this.write([encode({ t: 'worker', d: stored })]);
  }

  async listWorkers(): Promise<WorkerDoc[]> {
    this.assertOpen();
    return [...this.workers.values()].map(clone).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  // ---------------------------------------------------------------- artifacts

  async putArtifact(meta: Omit<ArtifactMeta, 'size' | 'sha256' | 'createdAt'>, data: Buffer): Promise<ArtifactMeta> {
    this.assertOpen();
    if (!meta.id) throw new TypeError('putArtifact: id must be a non-empty string');
    const sha256 = createHash('sha256').update(data).digest('hex');
    const existing = this.artifacts.get(meta.id);
    if (existing) {
      if (existing.sha256 !== sha256) throw new Error(`artifact ${meta.id} already exists with other content`);
      await this.write([]);
      return clone(existing);
    }
    const path = this.artifactPath(meta.id);
    const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
    const fh = await fsp.open(tmp, 'w');
    try {
      await fh.writeFile(data);
      if (this.durable) await fh.sync();
    } finally {
      await fh.close();
    }
    await fsp.rename(tmp, path);
    this.assertOpen();
    // A concurrent put of the same id may have won while the file was written.
    const raced = this.artifacts.get(meta.id);
    if (raced) {
      if (raced.sha256 !== sha256) throw new Error(`artifact ${meta.id} already exists with other content`);
      await this.write([]);
      return clone(raced);
    }
    const stored: ArtifactMeta = { ...clone(meta), size: data.length, sha256, createdAt: Date.now() };
    this.artifacts.set(stored.id, stored);
    await this.write([encode({ t: 'artifact', d: stored })]);
    return clone(stored);
  }

  async getArtifact(id: string): Promise<{ meta: ArtifactMeta; data: Buffer } | undefined> {
    this.assertOpen();
    const meta = this.artifacts.get(id);
    if (!meta) return undefined;
    const data = await fsp.readFile(this.artifactPath(id));
    return { meta: clone(meta), data };
  }

  private artifactPath(id: string): string {
    // A prefix keeps '.' and '..' harmless; long ids become their hash.
    const encoded = encodeURIComponent(id);
    const name = encoded.length <= 200 ? `a-${encoded}` : `h-${createHash('sha256').update(id).digest('hex')}`;
    return join(this.dir, 'artifacts', name);
  }
}

// ------------------------------------------------------------------ helpers

/** JSON has no NaN or ±Infinity: they are written as {"$trellis:num": "NaN"} and read back. */
const NUM_TAG = '$trellis:num';

function encode(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    typeof v === 'number' && !Number.isFinite(v) ? { [NUM_TAG]: String(v) } : v,
  );
}

function reviveNumbers(_key: string, v: unknown): unknown {
  if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
    const tagged = (v as Record<string, unknown>)[NUM_TAG];
    if (typeof tagged === 'string' && Object.keys(v).length === 1) return Number(tagged);
  }
  return v;
}

function clone<T>(value: T): T {
  return structuredClone(value);
}

function trialKey(experimentId: string, number: number): string {
  return `${experimentId}\0${number}`;
}

function eventKey(experimentId: string, seq: number): string {
  return `${experimentId}\0${seq}`;
}

function compareEvents(a: TrellisEvent, b: TrellisEvent): number {
  const ea = a.experimentId ?? '';
  const eb = b.experimentId ?? '';
  return ea < eb ? -1 : ea > eb ? 1 : a.seq - b.seq;
}

function matchesStatus<S extends string>(status: S, expected: S | S[] | undefined): boolean {
  if (expected === undefined) return true;
  return Array.isArray(expected) ? expected.includes(status) : status === expected;
}

/** Shallow merge: `undefined` removes a field; `id` is kept. */
function applyPatch<T extends { id: string }>(doc: T, patch: Partial<T>): T {
  const next = { ...doc } as Record<string, unknown>;
  for (const [key, value] of Object.entries(patch)) {
    if (key === 'id' || key === '_id') continue;
    if (value === undefined) delete next[key];
    else next[key] = clone(value);
  }
  return next as T;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
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
