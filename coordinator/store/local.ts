/**
 * LocalStore: the embedded-mode system of record, in one directory.
 *
 * Layout of the directory:
 *   journal.jsonl   one JSON document per line: a snapshot of the whole state (written at start
 *                   and whenever the journal has grown well past it), then appended records.
 *                   Documents (experiments, trials, workers) are full upserts,
 *                   except that an experiment's spec is written once, in its own `spec` record
 *                   (an update of its state or progress does not repeat it);
 *                   metrics and events are inserts; `pub` lines mark events published.
 *                   Replaying is idempotent, so a record may appear twice harmlessly.
 *   artifacts/      one file per artifact, written to a temporary name then renamed; its meta
 *                   in artifacts/meta/, written the same way after it (local-artifacts.ts).
 *   LOCK            the process that has the directory open (pid, start time, boot id, host:
 *                   local-lock.ts).
 *
 * Memory holds a bounded working set: experiments, workers, unfinished trials and unpublished
 * events. Finished trials, their sealed metric blocks and published events are read
 * back from the journal by offset (local-trials.ts, local-events.ts, local-cold.ts). Every
 * mutation is applied synchronously, a read of a finished trial included (a sync pread), so
 * compare-and-set is atomic within the process; its journal line is appended through one
 * serial writer that groups every line queued while the previous write was in flight into one
 * write. A call
 * resolves once its lines are written (and fsynced with `durable: true`). Start-up reads the
 * journal through local-scan.ts: a torn last line (process killed mid-write) is dropped with a
 * warning; anything else unreadable refuses to start (JournalCorruptError, naming file and line).
 *
 * This file holds the store's semantics; local-records.ts the state and its snapshots,
 * local-experiments.ts and local-artifacts.ts those parts; local-journal.ts moves the lines and
 * bytes (the lock, the journal writer, snapshots, artifact files).
 */
import type { TrellisEvent } from '../../shared/events.js';
import type { ExperimentStatus } from '../../shared/states.js';
import type { ArtifactMeta, ExperimentDoc, MetricDoc, TrialDoc, WorkerDoc } from '../../shared/types.js';
import type { Readable } from 'node:stream';
import type { ExpectedArtifact } from './artifact-stream.js';
import type {
  ExperimentExpect,
  ExperimentPageQuery,
  ExperimentSummary,
  ListedExperiment,
  Page,
  ReadCounter,
  Store,
  TrialCounts,
  TrialExpect,
} from './base.js';
import { assertOutboxEvent, checkPageLimit } from './base.js';
import { LocalArtifacts } from './local-artifacts.js';
import { LocalExperiments } from './local-experiments.js';
import { mergedPage } from './local-index.js';
import { encode, Journal } from './local-journal.js';
import { compareEvents, LocalState } from './local-records.js';
import { JournalCorruptError, scanJournal, type JournalScan } from './local-scan.js';
import { addRow, byStepLatestFirst, type Hot } from './local-trials.js';
import { applyPatch, clone, cloneMetric, matchesStatus } from './documents.js';

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
  /**
   * Told what start-up recovered without failing (a stale LOCK taken over, a torn final write
   * dropped). Default: a process warning on stderr, so it is never silent.
   */
  warn?: (message: string, fields: Record<string, unknown>) => void;
}

type State = 'new' | 'starting' | 'open' | 'closing' | 'closed';

export class LocalStore implements Store {
  readonly kind = 'local';
  readonly dir: string;
  private readonly journal: Journal;

  private state: State = 'new';
  private startPromise: Promise<void> | undefined;
  private closePromise: Promise<void> | undefined;

  private readonly data: LocalState;
  private readonly experiments: LocalExperiments;
  private readonly artifacts: LocalArtifacts;
  readonly reads: ReadCounter = { rows: 0 };
  private readonly visit = (): void => {
    this.reads.rows++;
  };

  private readonly warn: (message: string, fields: Record<string, unknown>) => void;

  constructor(dir: string, options: LocalStoreOptions = {}) {
    if (!dir) throw new TypeError('LocalStore: dir must be a non-empty path');
    this.dir = dir;
    this.warn =
      options.warn ??
      ((message, fields) => process.emitWarning(`LocalStore ${dir}: ${message} ${JSON.stringify(fields)}`));
    const compactAfterBytes = options.compactAfterBytes ?? 64 * 1024 * 1024;
    if (!(compactAfterBytes > 0))
      throw new TypeError(`LocalStore: compactAfterBytes is ${options.compactAfterBytes}, but must be > 0`);
    this.journal = new Journal(
      dir,
      { durable: options.durable ?? false, lock: options.lock ?? true, compactAfterBytes, warn: this.warn },
      (out, old) => this.data.snapshot(out, old),
    );
    this.data = new LocalState({
      source: () => this.journal.source,
      write: (lines, placed) => this.journal.write(lines, placed),
    });
    this.experiments = new LocalExperiments(this.journal, this.data, this.visit);
    this.artifacts = new LocalArtifacts(this.journal, () => this.assertOpen());
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
    try {
      // Any problem but a torn final write refuses the whole journal: never half a store.
      const bytes = await this.journal.open();
      let scan: JournalScan | undefined;
      this.data.replay(bytes, (apply) => {
        scan = scanJournal(bytes, this.journal.path, apply);
      });
      if (!scan) throw new Error('LocalStore: the journal was not scanned');
      if (scan.problems.length > 0) throw new JournalCorruptError(scan, this.dir);
      if (scan.torn) {
        this.warn('dropped a torn final write', {
          journal: this.journal.path,
          line: scan.torn.line,
          reason: scan.torn.reason,
        });
      }
      // Metas of an older journal's `artifact` records become files before the snapshot drops them.
      await this.artifacts.migrate(this.data.artifacts);
      await this.journal.rewrite();
      await this.data.replayed();
    } catch (err) {
      await this.journal.close();
      throw err;
    }
    this.state = 'open';
  }

  close(): Promise<void> {
    if (this.closePromise) return this.closePromise;
    this.closePromise = (async () => {
      if (this.startPromise) await this.startPromise.catch(() => undefined);
      this.state = 'closing';
      await this.journal.close();
      this.state = 'closed';
    })();
    return this.closePromise;
  }

  private assertOpen(): void {
    if (this.state !== 'open') {
      throw new Error(
        this.state === 'closing' || this.state === 'closed' ? 'LocalStore: closed' : 'LocalStore: not started',
      );
    }
    const failure = this.journal.failure;
    if (failure) throw new Error(`LocalStore: a journal write failed earlier: ${failure.message}`, { cause: failure });
  }

  // ---------------------------------------------------------------- experiments

  async createExperiment(doc: ExperimentDoc): Promise<{ experiment: ExperimentDoc; created: boolean }> {
    this.assertOpen();
    return this.experiments.create(doc);
  }

  async getExperiment(id: string): Promise<ExperimentDoc | undefined> {
    this.assertOpen();
    const doc = this.data.experiments.get(id);
    return doc && clone(doc);
  }

  async listExperiments(filter: { status?: ExperimentStatus[] } = {}): Promise<ExperimentDoc[]> {
    this.assertOpen();
    return this.experiments.list(filter);
  }

  async listExperimentsPage(query: ExperimentPageQuery): Promise<Page<ListedExperiment>> {
    this.assertOpen();
    return this.experiments.page(query);
  }

  async listExperimentSummaries(filter: { status?: ExperimentStatus[] } = {}): Promise<ExperimentSummary[]> {
    this.assertOpen();
    return this.experiments.summaries(filter);
  }

  async updateExperiment(
    id: string,
    expect: ExperimentExpect,
    patch: Partial<ExperimentDoc>,
  ): Promise<ExperimentDoc | undefined> {
    this.assertOpen();
    return this.experiments.update(id, expect, patch);
  }

  // ---------------------------------------------------------------- trials

  async insertTrial(doc: TrialDoc): Promise<boolean> {
    this.assertOpen();
    const trials = this.data.trials;
    if (trials.get(doc.id) || trials.has(doc.experimentId, doc.number)) {
      await this.journal.write([]);
      return false;
    }
    const stored = clone(doc);
    await this.writeTrial(trials.set(stored), stored);
    return true;
  }

  /** Journals a trial's new document; it stays hot until the line is written. */
  private writeTrial(hot: Hot, doc: TrialDoc): Promise<void> {
    const trials = this.data.trials;
    trials.queued([hot]);
    return this.journal.write([encode({ t: 'trial', d: doc })], (offsets) => trials.placed([hot], [doc], offsets));
  }

  async getTrial(id: string): Promise<TrialDoc | undefined> {
    this.assertOpen();
    const doc = this.data.trials.get(id);
    return doc && clone(doc);
  }

  async listTrials(experimentId: string): Promise<TrialDoc[]> {
    this.assertOpen();
    const out: TrialDoc[] = [];
    for (const doc of this.data.trials.byNumber(experimentId)) {
      this.reads.rows++;
      out.push(clone(doc));
    }
    return out;
  }

  async listTrialsPage(experimentId: string, query: { afterNumber?: number; limit: number }): Promise<Page<TrialDoc>> {
    this.assertOpen();
    checkPageLimit(query.limit);
    const items: TrialDoc[] = [];
    for (const doc of this.data.trials.byNumber(experimentId, query.afterNumber)) {
      this.visit();
      if (items.length === query.limit) return { items, more: true };
      items.push(clone(doc));
    }
    return { items, more: false };
  }

  async trialCounts(experimentIds: string[]): Promise<Map<string, TrialCounts>> {
    this.assertOpen();
    return new Map(experimentIds.map((id) => [id, { ...this.data.trials.counts.get(id) }]));
  }

  async updateTrial(id: string, expect: TrialExpect, patch: Partial<TrialDoc>): Promise<TrialDoc | undefined> {
    this.assertOpen();
    // Read (from memory or, for a finished trial, the journal), checked and applied in one
    // synchronous step: the compare-and-set is atomic within the process.
    const doc = this.data.trials.get(id);
    if (!doc || !matchesStatus(doc.status, expect.status)) return undefined;
    if (expect.attemptCount !== undefined && doc.attempts.length !== expect.attemptCount) return undefined;
    // experimentId and number are the trial's identity: a patch may repeat them, not change them.
    if (patch.experimentId !== undefined && patch.experimentId !== doc.experimentId) return undefined;
    if (patch.number !== undefined && patch.number !== doc.number) return undefined;
    const next = applyPatch(doc, patch);
    await this.writeTrial(this.data.trials.set(next), next);
    return clone(next);
  }

  // ---------------------------------------------------------------- metrics

  async appendMetrics(docs: MetricDoc[]): Promise<number> {
    this.assertOpen();
    const trials = this.data.trials;
    const lines: string[] = [];
    const touched = new Set<Hot>();
    for (const doc of docs) {
      const { hot, rows } = trials.rowsToAdd(doc.trialId);
      const stored = cloneMetric(doc);
      if (!addRow(rows, stored)) continue;
      lines.push(encode({ t: 'metric', d: stored }));
      if (hot) {
        hot.dirty = true;
        hot.version++;
        touched.add(hot);
      }
    }
    trials.queued(touched);
    await this.journal.write(lines, (offsets) => trials.placed(touched, [], offsets));
    return lines.length;
  }

  async listMetrics(trialId: string): Promise<MetricDoc[]> {
    this.assertOpen();
    const trials = this.data.trials;
    const rows = trials.memoryRows(trialId);
    let out: MetricDoc[];
    if (rows) {
      this.reads.rows += rows.byKey.size;
      out = [...rows.byKey.values()].map(cloneMetric);
    } else {
      const doc = trials.get(trialId);
      out = doc ? trials.blockRows(doc, this.visit) : [];
    }
    return out.sort((a, b) => a.attempt - b.attempt || a.step - b.step);
  }

  async listMetricsPage(trialId: string, query: { afterStep?: number; limit: number }): Promise<Page<MetricDoc>> {
    this.assertOpen();
    checkPageLimit(query.limit);
    const trials = this.data.trials;
    const rows = trials.memoryRows(trialId);
    if (!rows) {
      const doc = trials.get(trialId);
      return doc ? trials.blockPage(doc, query.afterStep, query.limit, this.visit) : { items: [], more: false };
    }
    // After every attempt's rows of `afterStep`: the lowest attempt sorts last within a step.
    const after = query.afterStep === undefined ? undefined : { step: query.afterStep, attempt: -Infinity };
    const page = mergedPage(
      [...rows.byAttempt.values()],
      byStepLatestFirst,
      after as MetricDoc | undefined,
      query.limit,
      this.visit,
    );
    return { items: page.items.map(cloneMetric), more: page.more };
  }

  // ---------------------------------------------------------------- events

  async appendEvents(events: TrellisEvent[]): Promise<void> {
    this.assertOpen();
    for (const e of events) assertOutboxEvent(e);
    const lines: string[] = [];
    const stored: TrellisEvent[] = [];
    for (const e of events) {
      const copy = clone(e);
      if (!this.data.events.insert(copy)) continue;
      stored.push(copy);
      lines.push(encode({ t: 'event', d: copy }));
    }
    await this.journal.write(lines, (offsets) => this.data.events.placed(stored, offsets));
  }

  async listEvents(experimentId: string, fromSeq = 1): Promise<TrellisEvent[]> {
    this.assertOpen();
    return this.data.events.list(experimentId, fromSeq, this.visit).map(clone);
  }

  async lastEventSeq(experimentId: string): Promise<number> {
    this.assertOpen();
    return this.data.events.last(experimentId);
  }

  async unpublishedEvents(limit = 1000): Promise<TrellisEvent[]> {
    this.assertOpen();
    const all = [...this.data.events.unpublished.values()].sort(compareEvents);
    return all.slice(0, Math.max(0, limit)).map(clone);
  }

  async markPublished(experimentId: string, seqs: number[]): Promise<void> {
    this.assertOpen();
    const done = this.data.events.publish(experimentId, seqs);
    await this.journal.write(done.length > 0 ? [encode({ t: 'pub', e: experimentId, s: done })] : []);
  }

  /** Resolves once a compaction of the journal running now, if any, is done (tests, benches). */
  compacted(): Promise<void> {
    return this.journal.compacted();
  }

  /** What memory holds per kind of record (the bounded-memory tests and the million bench read it). */
  memory(): Record<string, number> {
    const trials = this.data.trials.footprint();
    const events = this.data.events.footprint();
    return {
      hot_trials: trials.hot,
      trial_slots: trials.slots,
      odd_trial_ids: trials.oddIds,
      orphan_metric_trials: trials.orphanTrials,
      events_held: events.held,
      event_block_slots: events.blockSlots,
      experiments: this.data.experiments.size,
      workers: this.data.workers.size,
      artifacts: this.data.artifacts.size,
      journal_compactions: this.journal.compactions,
    };
  }

  // ---------------------------------------------------------------- workers

  async upsertWorker(doc: WorkerDoc): Promise<void> {
    this.assertOpen();
    const stored = clone(doc);
    this.data.workers.set(stored.id, stored);
    await this.journal.write([encode({ t: 'worker', d: stored })]);
  }

  async listWorkers(): Promise<WorkerDoc[]> {
    this.assertOpen();
    return [...this.data.workers.values()].map(clone).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  // ---------------------------------------------------------------- artifacts

  putArtifact(meta: Omit<ArtifactMeta, 'size' | 'sha256' | 'createdAt'>, data: Buffer): Promise<ArtifactMeta> {
    this.assertOpen();
    return this.artifacts.put(meta, data);
  }

  putArtifactFrom(
    meta: Omit<ArtifactMeta, 'size' | 'sha256' | 'createdAt'>,
    open: () => Readable,
    expected: ExpectedArtifact,
  ): Promise<ArtifactMeta> {
    this.assertOpen();
    return this.artifacts.putFrom(meta, open, expected);
  }

  async openArtifact(id: string, offset = 0): Promise<{ meta: ArtifactMeta; stream: Readable } | undefined> {
    this.assertOpen();
    return this.artifacts.open(id, offset);
  }

  getArtifact(id: string): Promise<{ meta: ArtifactMeta; data: Buffer } | undefined> {
    this.assertOpen();
    return this.artifacts.get(id);
  }
}
