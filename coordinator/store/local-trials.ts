/**
 * LocalStore's trials and their metric rows, with a bounded working set.
 *
 * A trial is hot (its document in memory) while it is not finished, or while a journal line of
 * it is not yet written. Once finished and written it goes cold: memory keeps only its slot in
 * its experiment's `Slots` (8 bytes: the offset of its latest journal line and its status), and
 * reads parse that line back from the journal. A finished trial's metric rows are first written
 * again as one sealed block (consecutive `metric` lines sorted by step, then latest attempt, the
 * first carrying `b`: the block's row count); the block's byte range is two more slots, and a
 * page of rows is found in it by bisection. The interleaved lines written while the trial ran
 * are then garbage, dropped by the next compaction.
 *
 * A cold trial touched by a write (an update, a late metric row) becomes hot again (rows loaded
 * from its block only when rows are added) and goes cold again once written. Trial ids of the
 * coordinator's form `${experimentId}-t${number}` need no entry to be found; any other id keeps
 * one Map entry. Metric rows of a trial the store does not know stay in memory (`orphans`).
 */
import type { MetricDoc, TrialDoc } from '../../shared/types.js';
import { isTerminal, TRIAL_STATUSES, type TrialStatus } from '../../shared/states.js';
import type { TrialCounts } from './base.js';
import { lineAt, Slots, type ByteSource } from './local-cold.js';
import { encode, type Moved, type Placed } from './local-journal.js';
import { liveLinesOf, type LiveLines } from './local-live.js';
import { addRow, blockPage, byStepLatestFirst, newRows, parseLine, readBlock, type Rows } from './local-rows.js';

export { addRow, byStepLatestFirst, parseLine, type Rows } from './local-rows.js';
export { LiveLines } from './local-live.js';

export interface TrialHost {
  /** The journal's bytes (the file, or its bytes in memory while replaying). */
  source(): ByteSource;
  /** Appends lines (sealed blocks); the journal remembers a failure and refuses later calls. */
  write(lines: string[], placed?: Placed): Promise<void>;
}

export interface Hot {
  doc: TrialDoc;
  /** Offset of the journal line holding `doc` (NaN until it is written). */
  offset: number;
  /** Journal writes holding lines of this trial that are not yet written. */
  unplaced: number;
  /** Rows in memory; undefined while they are all in the sealed block. */
  rows?: Rows;
  /** Rows added since the block was written: sealed again before the trial goes cold. */
  dirty: boolean;
  version: number;
}

interface ExpTrials {
  /** By number: cold `offset * 16 + status`, hot `-(status + 1)`. */
  at: Slots;
  /** By number: the sealed metric block's byte range. */
  mStart: Slots;
  mEnd: Slots;
}

const CODE = new Map<TrialStatus, number>(TRIAL_STATUSES.map((s, i) => [s, i]));
const STATUS_BITS = 16;

export function trialKey(experimentId: string, number: number): string {
  return `${experimentId}\0${number}`;
}

export class TrialTable {
  private readonly exps = new Map<string, ExpTrials>();
  readonly hot = new Map<string, Hot>();
  private readonly hotByKey = new Map<string, Hot>();
  /** Ids not of the form `${experimentId}-t${number}`. */
  private readonly odd = new Map<string, { e: string; n: number }>();
  readonly orphans = new Map<string, Rows>();
  readonly counts = new Map<string, TrialCounts>();
  /** Replay only: sealed blocks read before their trial's line. */
  private readonly earlyBlocks = new Map<string, { start: number; end: number; rows: MetricDoc[] }>();
  /** While replaying at start-up nothing is written: finished trials go cold after the first snapshot. */
  replaying = false;

  constructor(private readonly host: TrialHost) {}

  // ------------------------------------------------------------ finding

  private exp(e: string): ExpTrials {
    let x = this.exps.get(e);
    if (!x) this.exps.set(e, (x = { at: new Slots(), mStart: new Slots(), mEnd: new Slots() }));
    return x;
  }

  /** Where a trial id would be: its odd-id entry, or the coordinator's id form. */
  private locate(id: string): { e: string; n: number } | undefined {
    const odd = this.odd.get(id);
    if (odd) return odd;
    const i = id.lastIndexOf('-t');
    if (i <= 0) return undefined;
    const e = id.slice(0, i);
    const n = Number(id.slice(i + 2));
    if (!this.exps.has(e) || `${e}-t${n}` !== id) return undefined;
    return { e, n };
  }

  private coldDoc(e: string, n: number): TrialDoc | undefined {
    const v = this.exps.get(e)?.at.get(n);
    if (v === undefined || !(v >= 0)) return undefined;
    const rec = parseLine(lineAt(this.host.source(), Math.floor(v / STATUS_BITS)).text);
    return rec.d as TrialDoc;
  }

  /** The stored trial (not a copy: callers clone), from memory or the journal. */
  get(id: string): TrialDoc | undefined {
    const hot = this.hot.get(id);
    if (hot) return hot.doc;
    const at = this.locate(id);
    if (!at) return undefined;
    const doc = this.coldDoc(at.e, at.n);
    return doc?.id === id ? doc : undefined;
  }

  has(experimentId: string, number: number): boolean {
    return this.exps.get(experimentId)?.at.has(number) ?? false;
  }

  /** One experiment's trials by number after `afterNumber`, each read when reached. */
  *byNumber(experimentId: string, afterNumber?: number): IterableIterator<TrialDoc> {
    const x = this.exps.get(experimentId);
    if (!x) return;
    for (const n of x.at.keysAfter(afterNumber)) {
      const v = x.at.get(n);
      const doc = v < 0 ? this.hotByKey.get(trialKey(experimentId, n))?.doc : this.coldDoc(experimentId, n);
      if (doc) yield doc;
    }
  }

  // ------------------------------------------------------------ writing

  /** Stores a trial (new or changed) as hot; the caller writes its line and calls `placed`. */
  set(doc: TrialDoc): Hot {
    const x = this.exp(doc.experimentId);
    const before = x.at.get(doc.number);
    const counts = this.counts.get(doc.experimentId) ?? {};
    this.counts.set(doc.experimentId, counts);
    if (!Number.isNaN(before)) count(counts, statusOf(before), -1);
    count(counts, doc.status, 1);
    if (Number.isNaN(before) && doc.id !== `${doc.experimentId}-t${doc.number}`)
      this.odd.set(doc.id, { e: doc.experimentId, n: doc.number });
    x.at.set(doc.number, -(CODE.get(doc.status)! + 1));
    let hot = this.hot.get(doc.id);
    if (!hot) {
      hot = { doc, offset: NaN, unplaced: 0, dirty: false, version: 0 };
      const orphan = this.orphans.get(doc.id);
      if (orphan) {
        this.orphans.delete(doc.id);
        hot.rows = orphan;
        hot.dirty = orphan.byKey.size > 0;
      }
      this.hot.set(doc.id, hot);
      this.hotByKey.set(trialKey(doc.experimentId, doc.number), hot);
    }
    hot.doc = doc;
    hot.version++;
    return hot;
  }

  /** The rows of a known trial, loaded into memory to be added to (the trial becomes hot). */
  rowsToAdd(trialId: string): { hot?: Hot; rows: Rows } {
    let hot = this.hot.get(trialId);
    if (!hot) {
      const doc = this.get(trialId);
      if (!doc) {
        let rows = this.orphans.get(trialId);
        if (!rows) this.orphans.set(trialId, (rows = newRows()));
        return { rows };
      }
      const v = this.exps.get(doc.experimentId)!.at.get(doc.number);
      hot = this.set(doc);
      hot.offset = Math.floor(v / STATUS_BITS);
    }
    if (!hot.rows) {
      hot.rows = newRows();
      for (const row of this.blockRows(hot.doc)) addRow(hot.rows, row);
    }
    return { hot, rows: hot.rows };
  }

  /** A write of these trials' lines is queued: they stay hot until it is written. */
  queued(hots: Iterable<Hot>): void {
    for (const h of hots) h.unplaced++;
  }

  /** The write is done: `lines[i]` at `offsets[i]`; trials whose line is current learn its offset. */
  placed(hots: Iterable<Hot>, docs: (TrialDoc | undefined)[], offsets: number[]): void {
    for (let i = 0; i < docs.length; i++) {
      const doc = docs[i];
      if (!doc) continue;
      const hot = this.hot.get(doc.id);
      if (hot && hot.doc === doc) hot.offset = offsets[i]!;
    }
    for (const h of hots) {
      h.unplaced--;
      this.settle(h);
    }
  }

  /** A finished, written trial goes cold (sealing its rows first when they changed). */
  settle(h: Hot): void {
    if (this.replaying || h.unplaced > 0 || Number.isNaN(h.offset) || this.hot.get(h.doc.id) !== h) return;
    if (!isTerminal('trial', h.doc.status)) return;
    if (h.dirty && h.rows && h.rows.byKey.size > 0) {
      this.seal(h);
      return;
    }
    this.evict(h, h.offset);
  }

  private evict(h: Hot, offset: number): void {
    const { doc } = h;
    this.exp(doc.experimentId).at.set(doc.number, offset * STATUS_BITS + CODE.get(doc.status)!);
    this.hot.delete(doc.id);
    this.hotByKey.delete(trialKey(doc.experimentId, doc.number));
  }

  private seal(h: Hot): void {
    const rows = [...h.rows!.byKey.values()].sort(byStepLatestFirst);
    const lines = rows.map((d, i) => encode(i === 0 ? { t: 'metric', d, b: rows.length } : { t: 'metric', d }));
    const version = h.version;
    const last = lines.at(-1)!;
    h.unplaced++;
    // A failed write is remembered by the journal and refuses every later store call.
    this.host
      .write(lines, (offsets) => {
        h.unplaced--;
        if (h.version === version) {
          this.setBlock(h.doc, offsets[0]!, offsets.at(-1)! + Buffer.byteLength(last) + 1);
          h.rows = undefined;
          h.dirty = false;
        }
        this.settle(h);
      })
      .catch(() => undefined);
  }

  setBlock(doc: TrialRef, start: number, end: number): void {
    const x = this.exp(doc.experimentId);
    x.mStart.set(doc.number, start);
    x.mEnd.set(doc.number, end);
  }

  // ------------------------------------------------------------ metric rows

  /** A trial's rows in memory, or undefined when they are (only) in its sealed block. */
  memoryRows(trialId: string): Rows | undefined {
    const hot = this.hot.get(trialId);
    return hot ? hot.rows : this.orphans.get(trialId);
  }

  private block(doc: TrialRef): { start: number; end: number } | undefined {
    const x = this.exps.get(doc.experimentId);
    const start = x?.mStart.get(doc.number) ?? NaN;
    if (Number.isNaN(start)) return undefined;
    return { start, end: x!.mEnd.get(doc.number) };
  }

  /** Every row of a trial's sealed block, in block order. */
  blockRows(doc: TrialDoc, visit: () => void = () => undefined): MetricDoc[] {
    const b = this.block(doc);
    return b ? readBlock(this.host.source(), b, visit) : [];
  }

  /** A page of a trial's sealed rows after `afterStep` (local-rows.ts). */
  blockPage(
    doc: TrialDoc,
    afterStep: number | undefined,
    limit: number,
    visit: () => void,
  ): { items: MetricDoc[]; more: boolean } {
    const b = this.block(doc);
    return b ? blockPage(this.host.source(), b, afterStep, limit, visit) : { items: [], more: false };
  }

  // ------------------------------------------------------------ replay and snapshots

  /** A trial line read at start-up (at `offset`). */
  replayTrial(doc: TrialDoc, offset: number): void {
    const early = this.earlyBlocks.get(doc.id);
    this.earlyBlocks.delete(doc.id);
    const h = this.set(doc);
    h.offset = offset;
    if (early) this.setBlock(doc, early.start, early.end);
    if (isTerminal('trial', doc.status) && !h.dirty && h.rows === undefined) this.evict(h, offset);
  }

  /** A complete sealed block read at start-up: the trial's rows are its rows. */
  replayBlock(trialId: string, rows: MetricDoc[], start: number, end: number): void {
    const doc = this.get(trialId);
    if (!doc) {
      // A trial updated after its rows were sealed has its latest line after the block.
      this.earlyBlocks.set(trialId, { start, end, rows });
      return;
    }
    this.setBlock(doc, start, end);
    const h = this.hot.get(trialId);
    if (!h) return;
    h.rows = undefined;
    h.dirty = false;
    if (isTerminal('trial', h.doc.status)) this.evict(h, h.offset);
  }

  /** The end of a replay: blocks of trials that never came are rows of unknown trials. */
  replayEnd(): void {
    for (const { rows } of this.earlyBlocks.values()) for (const r of rows) this.replayRow(r);
    this.earlyBlocks.clear();
  }

  /** A row read at start-up outside a sealed block. */
  replayRow(row: MetricDoc): void {
    const { hot, rows } = this.rowsToAdd(row.trialId);
    if (addRow(rows, row) && hot) hot.dirty = true;
  }

  /** The trial `h` held is no longer hot but cold (finished, its line written), not gone. */
  wentCold(h: Hot): boolean {
    if (this.hot.get(h.doc.id) === h) return false;
    return (this.exps.get(h.doc.experimentId)?.at.get(h.doc.number) ?? NaN) >= 0;
  }

  /**
   * The live lines of the journal as it is now, in offset order, for a compaction's pass: each
   * cold trial's current line and each sealed block. Taken once at the start of the pass; trials
   * that go cold while it runs (writes go on) are the snapshot's to catch (LocalState.snapshot
   * and the relocation's `cold` and `commit`). No line is parsed to decide.
   */
  liveLines(): LiveLines {
    return liveLinesOf(this.exps, STATUS_BITS);
  }

  /** A fresh set of slots for the new file; `commit` swaps them in (hot trials stay hot). */
  relocation(): Relocation {
    const next = new Map<string, ExpTrials>();
    const exp = (e: string): ExpTrials => {
      let x = next.get(e);
      if (!x) next.set(e, (x = { at: new Slots(), mStart: new Slots(), mEnd: new Slots() }));
      return x;
    };
    const hotAt = new Map<Hot, { doc: TrialDoc; offset: number }>();
    return {
      trial: (experimentId, number, offset, code) => exp(experimentId).at.set(number, offset * STATUS_BITS + code),
      block: (experimentId, number, start, end) => {
        const x = exp(experimentId);
        x.mStart.set(number, start);
        x.mEnd.set(number, end);
      },
      hot: (h, offset) => hotAt.set(h, { doc: h.doc, offset }),
      cold: (h, offset) => exp(h.doc.experimentId).at.set(h.doc.number, offset * STATUS_BITS + CODE.get(h.doc.status)!),
      commit: ({ from, by }) => {
        for (const [e, x] of this.exps) {
          const n = exp(e);
          x.at.forEach((k, v) => {
            // Trials that turned hot while the snapshot was written keep their hot slot; those
            // written while it was made have their line copied after it.
            if (v < 0) n.at.set(k, v);
            else if (v >= from * STATUS_BITS) n.at.set(k, v + by * STATUS_BITS);
          });
          x.mStart.forEach((k, start) => {
            if (start < from) return;
            n.mStart.set(k, start + by);
            n.mEnd.set(k, x.mEnd.get(k) + by);
          });
        }
        // Trials the snapshot wrote as hot that went cold after it, at a line before the copied
        // tail: the snapshot's line of that same document is theirs now.
        for (const [h, at] of hotAt) {
          if (this.hot.get(h.doc.id) === h || at.doc !== h.doc) continue;
          const v = this.exps.get(h.doc.experimentId)?.at.get(h.doc.number) ?? NaN;
          if (v >= 0 && v < from * STATUS_BITS)
            exp(h.doc.experimentId).at.set(h.doc.number, at.offset * STATUS_BITS + CODE.get(h.doc.status)!);
        }
        this.exps.clear();
        for (const [e, x] of next) this.exps.set(e, x);
        for (const h of this.hot.values()) {
          if (h.offset >= from) {
            h.offset += by;
            continue;
          }
          const at = hotAt.get(h);
          h.offset = at && at.doc === h.doc ? at.offset : NaN;
        }
      },
    };
  }

  /** Slots held over all experiments (the bounded-memory tests count them). */
  footprint(): { slots: number; hot: number; oddIds: number; orphanTrials: number } {
    let slots = 0;
    for (const x of this.exps.values()) slots += x.at.footprint + x.mStart.footprint + x.mEnd.footprint;
    return { slots, hot: this.hot.size, oddIds: this.odd.size, orphanTrials: this.orphans.size };
  }
}

/** Where a trial is: its experiment and number. */
export interface TrialRef {
  experimentId: string;
  number: number;
}

export interface Relocation {
  trial(experimentId: string, number: number, offset: number, code: number): void;
  block(experimentId: string, number: number, start: number, end: number): void;
  hot(h: Hot, offset: number): void;
  /** A trial hot when the snapshot began and gone cold since: its latest line is at `offset`. */
  cold(h: Hot, offset: number): void;
  commit(moved: Moved): void;
}

function statusOf(slot: number): TrialStatus {
  const code = slot < 0 ? -slot - 1 : slot % STATUS_BITS;
  return TRIAL_STATUSES[code]!;
}

function count(counts: TrialCounts, status: TrialStatus, by: number): void {
  const n = (counts[status] ?? 0) + by;
  if (n > 0) counts[status] = n;
  else delete counts[status];
}
