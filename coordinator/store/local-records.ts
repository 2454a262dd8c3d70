/**
 * LocalStore's records: the state with its indexes, what each journal record does to it
 * (replaying is idempotent, so a record may appear twice harmlessly), and the state written back
 * as a snapshot. Experiments and workers live in memory (artifact metas of an older journal's
 * `artifact` records only until start migrates them to files); trials and metric rows
 * (local-trials.ts) and events (local-events.ts) keep a bounded working set and read the rest
 * back from the journal by offset. local-journal.ts moves the lines.
 */
import type { TrellisEvent } from '../../shared/events.js';
import type { ArtifactMeta, ExperimentDoc, MetricDoc, TrialDoc, WorkerDoc } from '../../shared/types.js';
import type { ExperimentStatus } from '../../shared/states.js';
import type { ExperimentKey } from './base.js';
import { BufferSource, linesIn, type ByteSource } from './local-cold.js';
import { EventTable } from './local-events.js';
import { SortedIndex } from './local-index.js';
import { encode, type Moved, type Placed, type SnapshotOut } from './local-journal.js';
import { FORMAT, FORMAT_VERSION, type RECORD_KINDS } from './local-schema.js';
import { TrialTable } from './local-trials.js';

export { byStepLatestFirst, trialKey } from './local-trials.js';
export { eventKey } from './local-events.js';

export type Record_ =
  | { t: 'header'; format: string; version: number }
  | { t: 'exp'; d: ExperimentDoc | WithoutSpec }
  | { t: 'spec'; e: string; d: ExperimentDoc['spec'] }
  | { t: 'trial'; d: TrialDoc }
  | { t: 'worker'; d: WorkerDoc }
  | { t: 'artifact'; d: ArtifactMeta }
  | { t: 'metric'; d: MetricDoc; b?: number }
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

/** What the state needs of the journal: its bytes for reads by offset, and appends. */
export interface StateHost {
  source(): ByteSource;
  write(lines: string[], placed?: Placed): Promise<void>;
}

const NO_JOURNAL: StateHost = {
  source: () => new BufferSource(Buffer.alloc(0)),
  write: () => Promise.reject(new Error('LocalStore: this state has no journal')),
};

export class LocalState {
  readonly experiments = new Map<string, ExperimentDoc>();
  readonly experimentByRequest = new Map<string, string>();
  /** Specs read from `spec` records whose experiment record has not been read yet (replay only). */
  private readonly specs = new Map<string, ExperimentDoc['spec']>();
  /** Experiments newest first, all of them and per status (keyset pages of experiments). */
  readonly experimentOrder = new SortedIndex<ExperimentKey>(newestFirst);
  readonly experimentsByStatus = new Map<ExperimentStatus, SortedIndex<ExperimentKey>>();
  readonly trials: TrialTable;
  readonly events: EventTable;
  readonly workers = new Map<string, WorkerDoc>();
  readonly artifacts = new Map<string, ArtifactMeta>();
  /** At start-up, the journal's bytes in memory (reads by offset go there until the first snapshot). */
  private replaySource: ByteSource | undefined;

  constructor(private readonly host: StateHost = NO_JOURNAL) {
    const source = (): ByteSource => this.replaySource ?? host.source();
    this.trials = new TrialTable({ source, write: (lines, placed) => host.write(lines, placed) });
    this.events = new EventTable(source);
  }

  /**
   * Applies every record of a journal's bytes, as `feed` hands them over (local-scan.ts), each
   * at its offset in `data`. Finished trials stay hot until `replayed` (nothing is written while replaying).
   */
  replay(data: Buffer, feed: (apply: (entry: { record: Record_; raw: Buffer }) => void) => void): void {
    this.trials.replaying = true;
    this.replaySource = new BufferSource(data);
    const base = data.byteOffset;
    let block: { trialId: string; rows: MetricDoc[]; start: number; end: number; left: number } | undefined;
    const abandon = (): void => {
      // A block cut short (a torn end): its rows are plain rows.
      for (const r of block?.rows ?? []) this.trials.replayRow(r);
      block = undefined;
    };
    feed(({ record: rec, raw }) => {
      const at = raw.byteOffset - base;
      const end = at + raw.length + 1;
      if (block && !(rec.t === 'metric' && rec.b === undefined && rec.d.trialId === block.trialId)) abandon();
      if (rec.t !== 'metric') {
        this.apply(rec, at);
        return;
      }
      if (rec.b !== undefined) block = { trialId: rec.d.trialId, rows: [], start: at, end, left: rec.b };
      if (!block) {
        this.trials.replayRow(rec.d);
        return;
      }
      block.rows.push(rec.d);
      block.end = end;
      if (--block.left === 0) {
        this.trials.replayBlock(block.trialId, block.rows, block.start, block.end);
        block = undefined;
      }
    });
    abandon();
    this.trials.replayEnd();
    this.replaySource = undefined;
  }

  /** After the first snapshot: finished trials go cold (sealing rows where needed); resolves when written. */
  async replayed(): Promise<void> {
    this.trials.replaying = false;
    for (const h of [...this.trials.hot.values()]) this.trials.settle(h);
    await this.host.write([]);
  }

  /** Applies one journal record (not a metric row: replay handles those) at `offset` (idempotent). */
  private apply(rec: Exclude<Record_, { t: 'metric' }>, offset: number): void {
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
        this.trials.replayTrial(rec.d, offset);
        return;
      case 'worker':
        this.workers.set(rec.d.id, rec.d);
        return;
      case 'artifact':
        this.artifacts.set(rec.d.id, rec.d);
        return;
      case 'event':
        this.events.replay(rec.d, offset, rec.p === true);
        return;
      case 'pub':
        this.events.publish(rec.e, rec.s);
        return;
      default:
        throw new Error(`LocalStore: unknown journal record ${JSON.stringify((rec as { t: unknown }).t)}`);
    }
  }

  /**
   * Writes the whole state into `out`: what memory holds, and the live lines of `old` (finished
   * trials' current lines, sealed metric blocks, events) copied in their order, so that blocks
   * stay whole. Yields to the event loop as it goes; the returned function swaps in the offsets.
   */
  async snapshot(out: SnapshotOut, old: ByteSource): Promise<(moved: Moved) => void> {
    out.line(encode({ t: 'header', format: FORMAT, version: FORMAT_VERSION }));
    for (const d of this.experiments.values()) {
      out.line(encode({ t: 'spec', e: d.id, d: d.spec }));
      out.line(encode({ t: 'exp', d: withoutSpec(d) }));
    }
    for (const d of this.workers.values()) out.line(encode({ t: 'worker', d }));
    for (const d of this.artifacts.values()) out.line(encode({ t: 'artifact', d }));
    const trials = this.trials.relocation();
    const events = this.events.relocation();
    const live = this.trials.liveLines();
    // Hot trials are not among the live lines: those still hot at the end are written from
    // memory, and those that went cold meanwhile (writes go on during a compaction) as well,
    // since their latest line may be before the point the copied tail starts from.
    const hotAtStart = [...this.trials.hot.values()];
    let blockStart = NaN;
    let sinceYield = 0;
    for (const { text, at, next } of linesIn(old, 0, old.size)) {
      if (++sinceYield >= 1000) {
        sinceYield = 0;
        await out.drain();
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
      if (text.startsWith('{"t":"trial"')) {
        const i = live.trial(at);
        if (i >= 0) {
          const t = live.trials;
          trials.trial(live.experimentIds[t.exp[i]!]!, t.number[i]!, out.line(text), t.code[i]!);
        }
      } else if (text.startsWith('{"t":"metric"')) {
        const k = live.block(at);
        if (k < 0) continue;
        const b = live.blocks;
        const written = out.line(text);
        if (at === b.start[k]) blockStart = written;
        if (next === b.end[k]) trials.block(live.experimentIds[b.exp[k]!]!, b.number[k]!, blockStart, out.bytes);
      } else if (text.startsWith('{"t":"event"')) {
        // seq and experimentId only: a plain parse (no reviver) is enough and several times faster.
        const event = (JSON.parse(text) as { d: TrellisEvent }).d;
        events.event(event, out.line(this.events.snapshotLine(event, text)));
      }
    }
    for (const h of this.trials.hot.values()) {
      trials.hot(h, out.line(encode({ t: 'trial', d: h.doc })));
      for (const d of h.rows?.byKey.values() ?? []) out.line(encode({ t: 'metric', d }));
    }
    for (const h of hotAtStart) {
      if (!this.trials.wentCold(h)) continue;
      trials.cold(h, out.line(encode({ t: 'trial', d: h.doc })));
    }
    for (const rows of this.trials.orphans.values())
      for (const d of rows.byKey.values()) out.line(encode({ t: 'metric', d }));
    return (moved) => {
      trials.commit(moved);
      events.commit(moved);
    };
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
}

/** Newest first: createdAt descending, then id descending (base.ts listExperiments). */
export function newestFirst(a: ExperimentKey, b: ExperimentKey): number {
  return b.createdAt - a.createdAt || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);
}

export function compareEvents(a: TrellisEvent, b: TrellisEvent): number {
  const ea = a.experimentId ?? '';
  const eb = b.experimentId ?? '';
  return ea < eb ? -1 : ea > eb ? 1 : a.seq - b.seq;
}
