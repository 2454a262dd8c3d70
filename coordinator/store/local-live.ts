/**
 * A LocalStore compaction's live lines (local-records.ts `snapshot`): every cold trial's current
 * journal line and every sealed metric block, sorted by offset, as columns of typed arrays. The
 * pass reads the old journal in order and asks, line by line, whether the line is live; what it
 * holds for the pass is a few bytes per trial, never an object per trial.
 */
import type { Slots } from './local-cold.js';

/** One experiment's trial slots (local-trials.ts): cold `offset * statusBits + code`, hot < 0. */
export interface ColdSlots {
  at: Slots;
  mStart: Slots;
  mEnd: Slots;
}

/**
 * A compaction's live lines, sorted by offset, as columns of typed arrays (about 21 bytes a cold
 * trial and 28 a block, no object per trial; an array of objects held ~145 MB more heap at the
 * peak of a compaction of 1,000,000 trials: bench/compaction-peak.ts). `trial(at)` and
 * `block(at)` are called with increasing offsets and return an index into the columns, or -1.
 */
export class LiveLines {
  private t = 0;
  private k = 0;
  constructor(
    /** The experiment ids the `exp` columns index. */
    readonly experimentIds: readonly string[],
    /** Cold trials: the offset of the current line, number, experiment, status code. */
    readonly trials: { at: Float64Array; number: Float64Array; exp: Uint32Array; code: Uint8Array },
    /** Sealed blocks: the byte range [start, end), trial number, experiment. */
    readonly blocks: { start: Float64Array; end: Float64Array; number: Float64Array; exp: Uint32Array },
  ) {}

  /** The cold trial whose current line is at `at`, or -1. */
  trial(at: number): number {
    const { at: offsets } = this.trials;
    while (this.t < offsets.length && offsets[this.t]! < at) this.t++;
    return offsets[this.t] === at ? this.t : -1;
  }

  /** The sealed block holding the line at `at`, or -1. */
  block(at: number): number {
    const { start, end } = this.blocks;
    while (this.k < end.length && end[this.k]! <= at) this.k++;
    return this.k < start.length && start[this.k]! <= at ? this.k : -1;
  }
}

/** Indexes of `keys` in increasing order of key (ties keep their order). */
function byOffset(keys: Float64Array): Uint32Array {
  const order = new Uint32Array(keys.length);
  for (let i = 0; i < order.length; i++) order[i] = i;
  return order.sort((a, b) => keys[a]! - keys[b]!);
}

/** `values` in `order` (a copy; the unsorted column becomes garbage). */
function permute<T extends Float64Array | Uint32Array | Uint8Array>(values: T, order: Uint32Array): T {
  const out = new (values.constructor as new (n: number) => T)(values.length);
  for (let i = 0; i < order.length; i++) out[i] = values[order[i]!]!;
  return out;
}

/** The live lines of `exps` (cold slots hold `offset * statusBits + code`; hot ones are < 0). */
export function liveLinesOf(exps: ReadonlyMap<string, ColdSlots>, statusBits: number): LiveLines {
  const experimentIds: string[] = [];
  let trials = 0;
  let blocks = 0;
  for (const x of exps.values()) {
    x.at.forEach((_, v) => {
      if (v >= 0) trials++;
    });
    x.mStart.forEach(() => blocks++);
  }
  const t = { at: new Float64Array(trials), number: new Float64Array(trials), exp: new Uint32Array(trials) };
  const code = new Uint8Array(trials);
  const b = {
    at: new Float64Array(blocks),
    end: new Float64Array(blocks),
    number: new Float64Array(blocks),
    exp: new Uint32Array(blocks),
  };
  let i = 0;
  let j = 0;
  for (const [experimentId, x] of exps) {
    const e = experimentIds.push(experimentId) - 1;
    x.at.forEach((number, v) => {
      if (v < 0) return;
      t.at[i] = Math.floor(v / statusBits);
      t.number[i] = number;
      t.exp[i] = e;
      code[i++] = v % statusBits;
    });
    x.mStart.forEach((number, start) => {
      b.at[j] = start;
      b.end[j] = x.mEnd.get(number);
      b.number[j] = number;
      b.exp[j++] = e;
    });
  }
  const trialOrder = byOffset(t.at);
  const blockOrder = byOffset(b.at);
  return new LiveLines(
    experimentIds,
    {
      at: permute(t.at, trialOrder),
      number: permute(t.number, trialOrder),
      exp: permute(t.exp, trialOrder),
      code: permute(code, trialOrder),
    },
    {
      start: permute(b.at, blockOrder),
      end: permute(b.end, blockOrder),
      number: permute(b.number, blockOrder),
      exp: permute(b.exp, blockOrder),
    },
  );
}
