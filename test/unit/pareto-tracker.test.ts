/**
 * The sweep's incremental Pareto tracker (coordinator/sweeps/pareto-front.ts): below its limit
 * it answers exactly what the from-scratch `computeFront` answers for the same trials (with
 * replicates, failures and repeats); past it, it holds and shows at most `limit` final
 * configurations, still mutually non-dominated, keeps the extremes, and counts what it thinned.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { computeFront, ParetoTracker } from '../../coordinator/sweeps/pareto-front.js';
import { dominates, FRONT_LIMIT, toMinimise } from '../../shared/pareto.js';
import type { ParetoFront, TrialDoc } from '../../shared/types.js';
import { configOfTrial } from '../../coordinator/search/replicates.js';
import { noFrontLine } from '../../cli/pareto-render.js';

const FC = { seed: 20261130, numRuns: 150 };
const objectives = [
  { metric: 'acc', mode: 'max' as const },
  { metric: 'gap', mode: 'min' as const },
];
const modes = objectives.map((o) => o.mode);

function doc(number: number, status: string, acc: number, gap: number): TrialDoc {
  return {
    id: `t${number}`,
    experimentId: 'e',
    number,
    status,
    params: { n: number },
    metrics: status === 'succeeded' ? { acc, gap } : {},
    attempts: [],
  } as unknown as TrialDoc;
}

function mutuallyNonDominated(front: ParetoFront): boolean {
  const pts = front.points.map((p) => toMinimise(p.values, modes));
  return pts.every((a) => pts.every((b) => !dominates(a, b)));
}

describe('pareto tracker: incremental equals from scratch below the limit', () => {
  it('same front, hypervolume, nadir reference and count as computeFront (property)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(1, 2, 3),
        fc.array(
          fc.record({
            status: fc.constantFrom('succeeded', 'succeeded', 'succeeded', 'failed', 'running'),
            // Small integer grids make ties and duplicates common.
            acc: fc.integer({ min: 0, max: 8 }).map((v) => v / 8),
            gap: fc.integer({ min: 0, max: 8 }).map((v) => v / 8),
          }),
          { maxLength: 40 },
        ),
        fc.boolean(),
        (k, rows, withReference) => {
          const reference = withReference ? [0, 1.5] : undefined;
          const tracker = new ParetoTracker(objectives, k, reference);
          const trials = rows.map((r, n) => doc(n, r.status, r.acc, r.gap));
          for (const t of trials) {
            tracker.observe(t);
            tracker.observe(t); // a repeat changes nothing
          }
          const groups = new Map<number, TrialDoc[]>();
          for (const t of trials.filter((t) => t.status === 'succeeded')) {
            const c = configOfTrial(t.number, k);
            groups.set(c, [...(groups.get(c) ?? []), t]);
          }
          const expected = computeFront([...groups.values()], objectives, k, reference);
          assert.deepEqual(tracker.front(), expected);
        },
      ),
      FC,
    );
  });

  it('drops final dominated configurations and holds only open ones beside the front', () => {
    const tracker = new ParetoTracker(objectives, 2);
    // Configuration 0 (trials 0, 1): acc 0.9, gap 0.1. Then 200 configurations all dominated by it.
    tracker.observe(doc(0, 'succeeded', 0.9, 0.1));
    tracker.observe(doc(1, 'succeeded', 0.9, 0.1));
    for (let n = 2; n < 402; n++) tracker.observe(doc(n, 'succeeded', 0.5 + (n % 7) / 100, 0.3 + (n % 5) / 100));
    assert.equal(tracker.groupCount, 1);
    // One seed of a better configuration: open until its second trial ends (here: fails).
    tracker.observe(doc(402, 'succeeded', 0.95, 0.05));
    assert.equal(tracker.groupCount, 2);
    assert.deepEqual(
      tracker.front()!.points.map((p) => p.number),
      [402],
    );
    tracker.observe(doc(403, 'failed', 0, 0));
    assert.equal(tracker.groupCount, 1, 'configuration 0 is now dominated by a final one');
    const front = tracker.front()!;
    assert.equal(front.configurations, 202);
    assert.equal(front.points[0]!.replicates, 1);
    assert.equal(front.thinned, undefined);
  });
});

describe('pareto tracker: bounded past its limit', () => {
  it('keeps at most `limit` configurations, non-dominated, the extremes kept, the rest counted', () => {
    const limit = 8;
    const tracker = new ParetoTracker(objectives, 1, [0, 1], limit);
    // 300 points on the line acc = gap (mutually non-dominated): the two extremes first, then
    // the rest in a scrambled order; after each, a point (r, 1 + r) that the extreme (1, 1)
    // dominates (the extremes are never thinned, so each of these is refused).
    const accs = [
      299,
      0,
      ...Array.from({ length: 300 }, (_, i) => (i * 137) % 300).filter((v) => v !== 0 && v !== 299),
    ];
    const observed = new Map<number, [number, number]>();
    let number = 0;
    for (const a of accs) {
      const acc = a / 299;
      observed.set(number, [acc, acc]);
      tracker.observe(doc(number++, 'succeeded', acc, acc));
      observed.set(number, [acc, 1 + acc]);
      tracker.observe(doc(number++, 'succeeded', acc, 1 + acc));
      assert.ok(tracker.groupCount <= limit, `held ${tracker.groupCount} after ${number} trials`);
    }
    const front = tracker.front()!;
    assert.equal(front.points.length, limit);
    assert.equal(front.thinned, 300 - limit);
    assert.equal(front.configurations, 600);
    assert.ok(mutuallyNonDominated(front));
    for (const p of front.points)
      assert.deepEqual(p.values, observed.get(p.number), `point ${p.number} is as measured`);
    const kept = front.points.map((p) => p.values[0]!);
    assert.equal(Math.max(...kept), 1, 'the best-accuracy extreme stays');
    assert.equal(Math.min(...kept), 0, 'the best-gap extreme stays');
    for (const p of front.points) assert.equal(p.values[0], p.values[1], 'only line points are kept');
  });

  it('front size and held configurations never exceed the limit, members non-dominated (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 6 }),
        fc.array(fc.tuple(fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true })), {
          maxLength: 80,
        }),
        (limit, values) => {
          const tracker = new ParetoTracker(objectives, 1, undefined, limit);
          values.forEach(([acc, gap], n) => tracker.observe(doc(n, 'succeeded', acc, gap)));
          assert.ok(tracker.groupCount <= limit);
          const front = tracker.front();
          if (values.length === 0) return assert.equal(front, undefined);
          assert.ok(front!.points.length <= limit);
          assert.ok(mutuallyNonDominated(front!));
          assert.equal(front!.configurations, values.length);
        },
      ),
      FC,
    );
  });

  it('refuses a limit below 2, and the default limit is the documented one', () => {
    assert.throws(() => new ParetoTracker(objectives, 1, undefined, 1), /front limit must be an integer ≥ 2, got 1/);
    assert.equal(FRONT_LIMIT, 256);
  });
});

describe('pareto: a multi-objective leaderboard without a front says why', () => {
  it('names the objective no succeeded trial reported, or that none succeeded', () => {
    const trials: { status: string; metrics: Record<string, number> }[] = [
      { status: 'succeeded', metrics: { val_accuracy: 0.9 } },
      { status: 'failed', metrics: { val_accuracy: 0.8, val_group_gap: 0.1 } },
    ];
    const objectives = [{ metric: 'val_accuracy' }, { metric: 'val_group_gap' }];
    assert.equal(
      noFrontLine(objectives, trials),
      'Pareto front: none: no succeeded trial reported val_group_gap (of 1 succeeded)',
    );
    assert.equal(noFrontLine(objectives, [trials[1]!]), 'Pareto front: none yet (no trial has succeeded)');
  });
});
