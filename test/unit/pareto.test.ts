import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  crowdingDistance,
  dominates,
  hypervolume,
  nadir,
  nonDominatedRanks,
  paretoFront,
  selectByRankAndCrowding,
  toMinimise,
  type Point,
} from '../../shared/pareto.js';
import { computeFront } from '../../coordinator/sweeps/pareto-front.js';
import type { ParetoFront, TrialDoc } from '../../shared/types.js';
import type { ExperimentView } from '../../shared/convert.js';
import { objectiveOf, objectivesOfSpec } from '../../shared/dashboard.js';
import { frontReport } from '../../cli/pareto-render.js';

const FC = { seed: 20261130, numRuns: 200 };

/**
 * The hypervolume by inclusion–exclusion over every non-empty subset: the volume of a union of
 * boxes [p, r] is Σ (−1)^{|S|+1} vol(∩S), and ∩S = [max over S, r]. Exponential: small sets only.
 * An independent reference for the sweep and WFG code paths.
 */
function inclusionExclusion(points: readonly Point[], reference: Point): number {
  const inside = points.filter((p) => p.every((v, i) => v < reference[i]!));
  let total = 0;
  for (let mask = 1; mask < 1 << inside.length; mask++) {
    const corner = reference.map(() => -Infinity);
    let size = 0;
    inside.forEach((p, k) => {
      if (mask & (1 << k)) {
        size++;
        p.forEach((v, i) => (corner[i] = Math.max(corner[i]!, v)));
      }
    });
    const box = corner.reduce((prod, v, i) => prod * (reference[i]! - v), 1);
    total += (size % 2 === 1 ? 1 : -1) * box;
  }
  return total;
}

const close = (a: number, b: number, what: string): void =>
  assert.ok(Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b)), `${what}: ${a} vs ${b}`);

function points(dims: number, maxLength: number): fc.Arbitrary<number[][]> {
  // Small integers make ties and duplicates common, where dominance code goes wrong.
  return fc.array(fc.array(fc.integer({ min: 0, max: 6 }), { minLength: dims, maxLength: dims }), { maxLength });
}

describe('pareto: dominance and fronts', () => {
  it('dominates: no worse everywhere and better somewhere (minimisation)', () => {
    assert.equal(dominates([1, 2], [2, 2]), true);
    assert.equal(dominates([1, 2], [1, 2]), false);
    assert.equal(dominates([1, 3], [2, 2]), false);
    assert.deepEqual(toMinimise([0.9, 0.1], ['max', 'min']), [-0.9, 0.1]);
  });

  it('finds a hand-computed front and ranks', () => {
    //  a(1,5) b(2,3) c(4,1) are the front; d(3,4) is dominated by b; e(5,5) by all; f = b's twin.
    const pts = [
      [1, 5],
      [2, 3],
      [4, 1],
      [3, 4],
      [5, 5],
      [2, 3],
    ];
    assert.deepEqual(paretoFront(pts), [0, 1, 2, 5]);
    assert.deepEqual(nonDominatedRanks(pts), [0, 0, 0, 1, 2, 0]);
  });

  it('crowding distance: boundaries infinite, interior the normalised neighbour gaps', () => {
    const pts = [
      [0, 4],
      [1, 2],
      [2, 1],
      [4, 0],
    ];
    const d = crowdingDistance(pts, [0, 1, 2, 3]);
    assert.equal(d[0], Infinity);
    assert.equal(d[3], Infinity);
    // b: (2−0)/4 + (4−1)/4 = 1.25; c: (4−1)/4 + (2−0)/4 = 1.25
    close(d[1]!, 1.25, 'b');
    close(d[2]!, 1.25, 'c');
  });

  it('non-dominated sorting invariants (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 4 }).chain((m) => points(m, 25)),
        (pts) => {
          const ranks = nonDominatedRanks(pts);
          const front = new Set(paretoFront(pts));
          pts.forEach((p, i) => {
            // Rank 0 is exactly the front.
            assert.equal(ranks[i] === 0, front.has(i));
            pts.forEach((q, j) => {
              // A dominated point ranks strictly after its dominator; nothing dominates within a rank.
              if (dominates(q, p)) assert.ok(ranks[j]! < ranks[i]!);
            });
            // A point of rank r > 0 is dominated by some point of rank r − 1.
            if (ranks[i]! > 0) assert.ok(pts.some((q, j) => ranks[j] === ranks[i]! - 1 && dominates(q, p)));
          });
        },
      ),
      FC,
    );
  });

  it('selection keeps whole fronts, then the most crowded-apart of the boundary front', () => {
    fc.assert(
      fc.property(points(2, 30), fc.integer({ min: 0, max: 30 }), (pts, count) => {
        const chosen = selectByRankAndCrowding(pts, count);
        assert.equal(chosen.length, Math.min(count, pts.length));
        const ranks = nonDominatedRanks(pts);
        const worst = Math.max(-1, ...chosen.map((c) => c.rank));
        // Every point of a better rank than the worst chosen one is chosen.
        const picked = new Set(chosen.map((c) => c.index));
        pts.forEach((_, i) => {
          if (ranks[i]! < worst) assert.ok(picked.has(i));
        });
      }),
      FC,
    );
  });
});

describe('pareto: hypervolume', () => {
  it('matches hand-computed volumes in 1, 2 and 3 objectives', () => {
    close(hypervolume([[2], [3]], [5]), 3, '1-d');
    // 2-d, reference (4,4): a(1,3) b(2,2) c(3,1): staircase 3·1 + 2·1 + 1·1 = 6.
    close(
      hypervolume(
        [
          [1, 3],
          [2, 2],
          [3, 1],
        ],
        [4, 4],
      ),
      6,
      '2-d staircase',
    );
    // A dominated point and a point outside the reference add nothing.
    close(
      hypervolume(
        [
          [1, 3],
          [2, 2],
          [3, 1],
          [3, 3],
          [0, 5],
        ],
        [4, 4],
      ),
      6,
      '2-d with dominated/outside',
    );
    // 3-d, reference (2,2,2): (1,0,0) box 1·2·2 = 4; (0,1,0) adds 1·1·2 = 2 beyond it... union of
    // [1,2]×[0,2]×[0,2] and [0,2]×[1,2]×[0,2] = 4 + 4 − 2 = 6; with (0,0,1): + 4 − (2 + 2) + 1 = 7.
    close(
      hypervolume(
        [
          [1, 0, 0],
          [0, 1, 0],
          [0, 0, 1],
        ],
        [2, 2, 2],
      ),
      7,
      '3-d corners',
    );
    // 4-d: one point, the box's volume.
    close(hypervolume([[0, 1, 2, 3]], [4, 4, 4, 4]), 4 * 3 * 2 * 1, '4-d box');
    assert.equal(hypervolume([], [1, 1]), 0);
    assert.deepEqual(
      nadir([
        [1, 5],
        [3, 2],
      ]),
      [3, 5],
    );
  });

  it('equals inclusion–exclusion for 2 to 4 objectives (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 4 }).chain((m) => fc.tuple(points(m, 9), fc.constant(Array<number>(m).fill(7)))),
        ([pts, ref]) => close(hypervolume(pts, ref), inclusionExclusion(pts, ref), `${JSON.stringify(pts)}`),
      ),
      FC,
    );
  });

  it('is monotone under adding a point, and a dominated point adds nothing (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 4 }).chain((m) => fc.tuple(points(m, 12), points(m, 1), fc.constant(m))),
        ([pts, [extra], m]) => {
          const ref = Array<number>(m).fill(7);
          const before = hypervolume(pts, ref);
          if (extra) {
            const after = hypervolume([...pts, extra], ref);
            assert.ok(after >= before - 1e-9, `${after} < ${before}`);
            if (pts.some((p) => dominates(p, extra))) close(after, before, 'dominated point');
          }
          // Only the front matters.
          close(
            hypervolume(
              paretoFront(pts).map((i) => pts[i]!),
              ref,
            ),
            before,
            'front only',
          );
        },
      ),
      FC,
    );
  });

  it('stays fast: 4 objectives, 150 points on a front', () => {
    // Points on the simplex x1+x2+x3+x4 = 1 are mutually non-dominated.
    let s = 7;
    const rand = (): number => (s = (s * 48271) % 2147483647) / 2147483647;
    const pts = Array.from({ length: 150 }, () => {
      const raw = [rand(), rand(), rand(), rand()];
      const sum = raw.reduce((a, b) => a + b, 0);
      return raw.map((v) => v / sum);
    });
    const t0 = performance.now();
    const v = hypervolume(pts, [1, 1, 1, 1]);
    assert.ok(v > 0 && v < 1);
    // A bound of gross regressions (exponential blow-ups), not a speed claim.
    assert.ok(performance.now() - t0 < 10_000);
  });
});

describe('pareto: the sweep leaderboard', () => {
  const doc = (number: number, acc: number, gap: number): TrialDoc =>
    ({
      id: `t${number}`,
      experimentId: 'e',
      number,
      status: 'succeeded',
      params: { x: number },
      metrics: { acc, gap },
      attempts: [],
    }) as unknown as TrialDoc;
  const objectives = [
    { metric: 'acc', mode: 'max' as const },
    { metric: 'gap', mode: 'min' as const },
  ];

  it('fronts configuration means with CIs and reports the hypervolume against the reference', () => {
    // Configurations (k = 2): 0 → acc 0.8, gap 0.2 (means); 1 → 0.9, 0.4; 2 → 0.7, 0.3 (dominated by 0).
    const groups = [
      [doc(0, 0.7, 0.1), doc(1, 0.9, 0.3)],
      [doc(2, 0.9, 0.4), doc(3, 0.9, 0.4)],
      [doc(4, 0.7, 0.3), doc(5, 0.7, 0.3)],
    ];
    const front = computeFront(groups, objectives, 2, [0.5, 0.5])!;
    assert.deepEqual(
      front.points.map((p) => p.number),
      [2, 0],
    );
    close(front.points[1]!.values[0]!, 0.8, 'mean acc');
    close(front.points[1]!.values[1]!, 0.2, 'mean gap');
    // Two seeds 0.7 and 0.9: sd 0.1414, t(0.975, 1) = 12.706 → half-width 12.706 · 0.1414 / √2 = 1.2706.
    assert.ok(Math.abs(front.points[1]!.ci![0]! - 1.27062) < 1e-4, `ci ${front.points[1]!.ci![0]}`);
    assert.deepEqual(front.points[0]!.ci, [0, 0]);
    // Minimised: (−0.9, 0.4), (−0.8, 0.2); reference (−0.5, 0.5):
    // boxes 0.4·0.1 and 0.3·0.3, overlapping in 0.3·0.1: 0.04 + 0.09 − 0.03 = 0.10.
    close(front.hypervolume, 0.1, 'hypervolume');
    assert.equal(front.referenceSource, 'spec');
    assert.equal(front.configurations, 3);
    // Default reference: the nadir of all three configurations (acc 0.7, gap 0.4).
    const byNadir = computeFront(groups, objectives, 2)!;
    assert.deepEqual(byNadir.reference, [0.7, 0.4]);
    // (−0.9, 0.4) is not inside; (−0.8, 0.2) against (−0.7, 0.4): 0.1 · 0.2.
    close(byNadir.hypervolume, 0.02, 'nadir hypervolume');
  });
});

describe('pareto: views of a multi-objective spec and front', () => {
  it('dashboards rank by the first objective of a list; the CLI report shows the front', () => {
    const spec = {
      trial: {
        objective: [
          { metric: 'test_accuracy', mode: 'max' },
          { metric: 'test_group_gap', mode: 'min' },
        ],
      },
    };
    assert.deepEqual(objectiveOf(spec), { metric: 'test_accuracy', mode: 'max' });
    assert.equal(objectivesOfSpec(spec).length, 2);
    assert.deepEqual(objectivesOfSpec({ trial: {} }), [{ metric: 'val_accuracy', mode: 'max' }]);
    const front: ParetoFront = {
      metrics: ['test_accuracy', 'test_group_gap'],
      modes: ['max', 'min'],
      points: [
        { trialId: 't3', number: 3, params: { loss: 'ce' }, values: [0.9, 0.25], ci: [0.01, 0.02], replicates: 3 },
      ],
      reference: [0, 1],
      referenceSource: 'spec',
      hypervolume: 0.675,
      configurations: 5,
    };
    const experiment = { id: 'e1', name: 'fair', status: 'succeeded' } as ExperimentView;
    const text = frontReport(experiment, front, false);
    assert.match(
      text,
      /Pareto front: 1 of 5 configurations; hypervolume 0\.6750 \(reference 0, 1, trial\.objectiveReference\)/,
    );
    assert.match(text, /^3 +0\.9000 ± 0\.0100 +0\.2500 ± 0\.0200 +loss="ce"$/m);
    const md = frontReport(experiment, front, true);
    assert.match(md, /^\| trial \| test_accuracy \(max\) \| test_group_gap \(min\) \| params \|$/m);
  });
});
