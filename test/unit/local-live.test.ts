/**
 * A LocalStore compaction's live lines (coordinator/store/local-live.ts): columns of typed arrays,
 * one entry per cold trial and per sealed block and no object per trial (counted: the columns'
 * types and lengths), sorted by offset, each entry pointing back at the slot it came from; and a
 * compaction that uses them keeps every live line with right offsets (reads unchanged, a second
 * compaction of the compacted journal writes the same bytes, one line per trial: its latest).
 */
import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Slots } from '../../coordinator/store/local-cold.js';
import { liveLinesOf, type ColdSlots } from '../../coordinator/store/local-live.js';
import type { Journal } from '../../coordinator/store/local-journal.js';
import { LocalStore } from '../../coordinator/store/local.js';
import type { ExperimentDoc, MetricDoc, TrialDoc } from '../../shared/types.js';
import { tempDir } from '../helpers/services.js';

const BITS = 16;

/** A fixed permutation of 0..n-1 (multiplication by a unit mod n): offsets out of number order. */
function shuffled(n: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push((i * 7919) % n);
  return out;
}

describe('LocalStore compaction: live lines', () => {
  it('holds typed-array columns of one entry per cold trial and block, sorted by offset, pointing back at their slots', () => {
    const N = 3000; // per experiment (N is prime to 7919)
    const exps = new Map<string, ColdSlots>();
    const order = shuffled(2 * N);
    let cold = 0;
    let blocks = 0;
    for (const [e, name] of ['exp-a', 'exp-b'].entries()) {
      const x: ColdSlots = { at: new Slots(), mStart: new Slots(), mEnd: new Slots() };
      for (let n = 0; n < N; n++) {
        const offset = 1000 * order[e * N + n]!;
        if (n % 10 === 3)
          x.at.set(n, -(n % 7) - 1); // hot: not a live line of the pass
        else {
          x.at.set(n, offset * BITS + (n % 7));
          cold++;
        }
        if (n % 4 === 0) {
          x.mStart.set(n, offset + 100);
          x.mEnd.set(n, offset + 500);
          blocks++;
        }
      }
      exps.set(name, x);
    }
    const live = liveLinesOf(exps, BITS);
    const t = live.trials;
    assert.ok(t.at instanceof Float64Array && t.number instanceof Float64Array);
    assert.ok(t.exp instanceof Uint32Array && t.code instanceof Uint8Array);
    for (const col of [t.at, t.number, t.exp, t.code]) assert.equal(col.length, cold);
    const b = live.blocks;
    assert.ok(b.start instanceof Float64Array && b.end instanceof Float64Array && b.exp instanceof Uint32Array);
    for (const col of [b.start, b.end, b.number, b.exp]) assert.equal(col.length, blocks);
    assert.equal(cold, 2 * (N - N / 10));
    assert.deepEqual(live.experimentIds, ['exp-a', 'exp-b']);
    for (let i = 1; i < cold; i++) assert.ok(t.at[i - 1]! < t.at[i]!, `trial offsets sorted at ${i}`);
    for (let i = 1; i < blocks; i++) assert.ok(b.start[i - 1]! < b.start[i]!, `block starts sorted at ${i}`);
    for (let i = 0; i < cold; i++) {
      const slot = exps.get(live.experimentIds[t.exp[i]!]!)!.at.get(t.number[i]!);
      assert.equal(slot, t.at[i]! * BITS + t.code[i]!);
    }
    for (let k = 0; k < blocks; k++) {
      const x: ColdSlots = exps.get(live.experimentIds[b.exp[k]!]!)!;
      assert.equal(x.mStart.get(b.number[k]!), b.start[k]);
      assert.equal(x.mEnd.get(b.number[k]!), b.end[k]);
    }
    // The pass asks in increasing offset order, live or not: it finds exactly the live ones.
    let foundTrials = 0;
    let inBlocks = 0;
    for (let at = 0; at < 2000 * N; at += 50) {
      const i = live.trial(at);
      if (i >= 0) {
        assert.equal(t.at[i], at);
        foundTrials++;
      }
      const k = live.block(at);
      if (k >= 0) {
        assert.ok(b.start[k]! <= at && at < b.end[k]!);
        inBlocks++;
      }
    }
    assert.equal(foundTrials, cold);
    assert.equal(inBlocks, blocks * 8); // [offset + 100, offset + 500) holds 8 multiples of 50
  });

  describe('a compaction', () => {
    let tmp: ReturnType<typeof tempDir>;
    beforeEach(() => {
      tmp = tempDir('trellis-live-');
    });
    afterEach(() => tmp.remove());

    it('keeps every live line: reads unchanged, a second compaction writes the same bytes', async () => {
      const EXP = 'live-exp';
      // No compaction but the ones called below.
      const store = new LocalStore(tmp.dir, { compactAfterBytes: 2 ** 40 });
      await store.start();
      await store.createExperiment({
        id: EXP,
        name: 'live',
        kind: 'Sweep',
        status: 'running',
        spec: { apiVersion: 'trellis/v1' },
        requestId: 'req-live',
        createdAt: 1,
        updatedAt: 1,
        trialsCreated: 0,
      } as unknown as ExperimentDoc);
      const doc = (n: number): TrialDoc => ({
        id: `${EXP}-t${n}`,
        experimentId: EXP,
        number: n,
        status: 'running',
        params: { x: n },
        seed: n,
        attempts: [],
        metrics: {},
        createdAt: n,
        updatedAt: n,
      });
      const rows = (n: number): MetricDoc[] =>
        [3, 1, 2].map((step) => ({
          experimentId: EXP,
          trialId: `${EXP}-t${n}`,
          attempt: 1,
          step,
          time: step,
          values: { l: n },
        }));
      const TRIALS = 400;
      for (let n = 0; n < TRIALS; n++) {
        assert.equal(await store.insertTrial(doc(n)), true);
        if (n % 3 !== 0) await store.appendMetrics(rows(n));
        // Every fifth stays running (hot); the rest finish (cold, their rows sealed into a block).
        if (n % 5 !== 0) assert.ok(await store.updateTrial(doc(n).id, { status: 'running' }, { status: 'succeeded' }));
      }
      // A finished trial updated after its block was sealed: its latest line comes after the block.
      assert.ok(await store.updateTrial(`${EXP}-t7`, { status: 'succeeded' }, { error: 'later' }));
      await store.appendMetrics([]);
      await store.appendMetrics([]);
      const read = async (s: LocalStore) => ({
        trials: await s.listTrials(EXP),
        rows: await Promise.all([1, 2, 5, 7, 398, 399].map((n) => s.listMetrics(`${EXP}-t${n}`))),
        counts: await s.trialCounts([EXP]),
      });
      const before = await read(store);
      assert.equal(before.trials.length, TRIALS);
      assert.equal(before.rows[0]!.length, 3);
      const journal = (store as unknown as { journal: Journal }).journal;
      const path = join(tmp.dir, 'journal.jsonl');
      await journal.rewrite();
      assert.deepEqual(await read(store), before);
      const once = readFileSync(path);
      await journal.rewrite();
      assert.deepEqual(readFileSync(path), once);
      assert.deepEqual(await read(store), before);
      const trialLines = once
        .toString('utf8')
        .split('\n')
        .filter((l) => l.startsWith('{"t":"trial"'))
        .map((l) => (JSON.parse(l) as { d: TrialDoc }).d);
      assert.equal(trialLines.length, TRIALS);
      assert.equal(trialLines.find((d) => d.number === 7)?.error, 'later');
      await store.close();
      const again = new LocalStore(tmp.dir);
      await again.start();
      assert.deepEqual(await read(again), before);
      await again.close();
    });
  });
});
