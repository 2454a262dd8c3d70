/**
 * LocalStore's records: the in-memory state with its indexes, what each journal record does to it
 * (replaying is idempotent, so a record may appear twice harmlessly), and the state written back
 * as a snapshot. No I/O here: local-journal.ts reads and writes the lines.
 */
import type { TrellisEvent } from '../../shared/events.js';
import type { ArtifactMeta, ExperimentDoc, MetricDoc, TrialDoc, WorkerDoc } from '../../shared/types.js';
import type { ExperimentStatus, TrialStatus } from '../../shared/states.js';
import type { ExperimentKey, TrialCounts } from './base.js';
import { SortedIndex } from './local-index.js';
import { encode } from './local-journal.js';
import type { JournalScan } from './local-scan.js';
import { FORMAT, FORMAT_VERSION, type RECORD_KINDS } from './local-schema.js';

export type Record_ =
  | { t: 'header'; format: string; version: number }
  | { t: 'exp'; d: ExperimentDoc | WithoutSpec }
  | { t: 'spec'; e: string; d: ExperimentDoc['spec'] }
  | { t: 'trial'; d: TrialDoc }
  | { t: 'worker'; d: WorkerDoc }
  | { t: 'artifact'; d: ArtifactMeta }
  | { t: 'metric'; d: MetricDoc }
  | { t: 'event'; d: TrellisEvent; p?: boolean }
  | { t: 'pub'; e: string; s: number[] };

/**
 * Every kind of record needs its schema in local-schema.ts (RECORD and RECORD_KINDS), or start-up
 * refuses it as unknown: this fails to compile when a kind here is missing there.
 */
type Unchecked = Exclude<Record_['t'], (typeof RECORD_KINDS)[number]>;
export const EVERY_KIND_CHECKED: [Unchecked] extends [never] ? true : Unchecked = true;
/** An experiment record as journaled after its spec record (v2). */
export type WithoutSpec = Omit<ExperimentDoc, 'spec'>;

/** The experiment without its spec, for its journal record (the spec has a record of its own). */
export function withoutSpec(doc: ExperimentDoc): WithoutSpec {
  const { spec: _spec, ...rest } = doc;
  return rest;
}

interface EventLog {
  bySeq: Map<number, TrellisEvent>;
  last: number;
}

export class LocalState {
  readonly experiments = new Map<string, ExperimentDoc>();
  readonly experimentByRequest = new Map<string, string>();
  /** Specs read from `spec` records whose experiment record has not been read yet (replay only). */
  private readonly specs = new Map<string, ExperimentDoc['spec']>();
  readonly trials = new Map<string, TrialDoc>();
  readonly trialByNumber = new Map<string, string>();
  /** Each experiment's trials by number (keyset pages of trials). */
  readonly trialsByExperiment = new Map<string, SortedIndex<TrialKey>>();
  /** Each experiment's trials counted by status (the dashboard's progress without reading trials). */
  readonly trialCounts = new Map<string, TrialCounts>();
  /** Experiments newest first, all of them and per status (keyset pages of experiments). */
  readonly experimentOrder = new SortedIndex<ExperimentKey>(newestFirst);
  readonly experimentsByStatus = new Map<ExperimentStatus, SortedIndex<ExperimentKey>>();
  readonly metrics = new Map<string, Map<string, MetricDoc>>();
  /** Each trial's rows per attempt, by step (keyset pages of metrics). */
  readonly metricsByAttempt = new Map<string, Map<number, SortedIndex<MetricDoc>>>();
  readonly events = new Map<string, EventLog>();
  /** Keyed `${experimentId}\0${seq}`. */
  readonly unpublished = new Map<string, TrellisEvent>();
  readonly workers = new Map<string, WorkerDoc>();
  readonly artifacts = new Map<string, ArtifactMeta>();

  /** Applies every record of a scanned journal (local-scan.ts); the caller refused its problems. */
  replay(scan: JournalScan): void {
    for (const { record } of scan.records) this.apply(record);
  }

  /** Applies one journal record to the in-memory state (idempotent). */
  private apply(rec: Record_): void {
    switch (rec.t) {
      case 'header': // checked by local-schema.ts
        return;
      case 'exp': {
        // v2 records carry no spec: it is the one its `spec` record gave (before or after).
        const spec = 'spec' in rec.d ? rec.d.spec : (this.experiments.get(rec.d.id)?.spec ?? this.specs.get(rec.d.id));
        this.setExperiment({ ...rec.d, spec } as ExperimentDoc);
        this.experimentByRequest.set(rec.d.requestId, rec.d.id);
        return;
      }
      case 'spec': {
        this.specs.set(rec.e, rec.d);
        const doc = this.experiments.get(rec.e);
        if (doc) doc.spec = rec.d;
        return;
      }
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

  /** The whole state as journal lines, the header first. */
  snapshotLines(): string[] {
    const out: string[] = [encode({ t: 'header', format: FORMAT, version: FORMAT_VERSION })];
    for (const d of this.experiments.values()) {
      out.push(encode({ t: 'spec', e: d.id, d: d.spec }));
      out.push(encode({ t: 'exp', d: withoutSpec(d) }));
    }
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

  /** Stores an experiment (new or updated) and keeps its place in the status indexes. */
  setExperiment(doc: ExperimentDoc): void {
    const before = this.experiments.get(doc.id);
    this.experiments.set(doc.id, doc);
    const key: ExperimentKey = { createdAt: doc.createdAt, id: doc.id };
    if (before) {
      if (before.status === doc.status && before.createdAt === doc.createdAt) return;
      const old: ExperimentKey = { createdAt: before.createdAt, id: before.id };
      this.experimentOrder.remove(old);
      this.experimentsByStatus.get(before.status)?.remove(old);
    }
    this.experimentOrder.upsert(key);
    let byStatus = this.experimentsByStatus.get(doc.status);
    if (!byStatus) this.experimentsByStatus.set(doc.status, (byStatus = new SortedIndex(newestFirst)));
    byStatus.upsert(key);
  }

  /** Stores a trial (new or updated): its number and status indexes follow. */
  indexTrial(doc: TrialDoc): void {
    const before = this.trials.get(doc.id);
    this.trials.set(doc.id, doc);
    let counts = this.trialCounts.get(doc.experimentId);
    if (!counts) this.trialCounts.set(doc.experimentId, (counts = {}));
    if (before) {
      if (before.status === doc.status) return;
      count(this.trialCounts.get(before.experimentId), before.status, -1);
      count(counts, doc.status, 1);
      return;
    }
    count(counts, doc.status, 1);
    this.trialByNumber.set(trialKey(doc.experimentId, doc.number), doc.id);
    let index = this.trialsByExperiment.get(doc.experimentId);
    if (!index) this.trialsByExperiment.set(doc.experimentId, (index = new SortedIndex(byNumber)));
    index.upsert({ number: doc.number, id: doc.id });
  }

  insertMetric(doc: MetricDoc): boolean {
    let byKey = this.metrics.get(doc.trialId);
    if (!byKey) this.metrics.set(doc.trialId, (byKey = new Map<string, MetricDoc>()));
    const key = `${doc.attempt}:${doc.step}`;
    if (byKey.has(key)) return false;
    byKey.set(key, doc);
    let attempts = this.metricsByAttempt.get(doc.trialId);
    if (!attempts) this.metricsByAttempt.set(doc.trialId, (attempts = new Map<number, SortedIndex<MetricDoc>>()));
    let steps = attempts.get(doc.attempt);
    if (!steps) attempts.set(doc.attempt, (steps = new SortedIndex<MetricDoc>(byStepLatestFirst)));
    steps.upsert(doc);
    return true;
  }

  insertEvent(event: TrellisEvent): boolean {
    const exp = event.experimentId!;
    let log = this.events.get(exp);
    if (!log) this.events.set(exp, (log = { bySeq: new Map(), last: 0 }));
    if (log.bySeq.has(event.seq)) return false;
    log.bySeq.set(event.seq, event);
    if (event.seq > log.last) log.last = event.seq;
    this.unpublished.set(eventKey(exp, event.seq), event);
    return true;
  }
}

export interface TrialKey {
  number: number;
  id: string;
}

function byNumber(a: TrialKey, b: TrialKey): number {
  return a.number - b.number;
}

/** Newest first: createdAt descending, then id descending (base.ts listExperiments). */
export function newestFirst(a: ExperimentKey, b: ExperimentKey): number {
  return b.createdAt - a.createdAt || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);
}

/** Step ascending, then the latest attempt first (base.ts listMetricsPage). */
export function byStepLatestFirst(a: { step: number; attempt: number }, b: { step: number; attempt: number }): number {
  return a.step - b.step || b.attempt - a.attempt;
}

function count(counts: TrialCounts | undefined, status: TrialStatus, by: number): void {
  if (!counts) return;
  const n = (counts[status] ?? 0) + by;
  if (n > 0) counts[status] = n;
  else delete counts[status];
}

export function trialKey(experimentId: string, number: number): string {
  return `${experimentId}\0${number}`;
}

export function eventKey(experimentId: string, seq: number): string {
  return `${experimentId}\0${seq}`;
}

export function compareEvents(a: TrellisEvent, b: TrellisEvent): number {
  const ea = a.experimentId ?? '';
  const eb = b.experimentId ?? '';
  return ea < eb ? -1 : ea > eb ? 1 : a.seq - b.seq;
}
