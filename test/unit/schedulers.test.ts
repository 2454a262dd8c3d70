import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { messageOf } from '../helpers/errors.js';
import fc from 'fast-check';
import type { Params, Space } from '../../shared/spec/space.js';
import type { Scheduler, SchedulerDecision, SchedulerOptions } from '../../coordinator/schedulers/base.js';
import { createScheduler, schedulerNames } from '../../coordinator/schedulers/registry.js';
import { rungMilestones } from '../../coordinator/schedulers/asha.js';
import { HyperbandScheduler } from '../../coordinator/schedulers/hyperband.js';
import { quantile } from '../../coordinator/schedulers/decisions.js';
import { isValidConfig } from '../../coordinator/search/domains.js';

const FC = { seed: 31337, numRuns: 50 };

function make(type: string, settings: Record<string, unknown> = {}, extra: Partial<SchedulerOptions> = {}): Scheduler {
  return createScheduler(type, { settings, seed: 0, ...extra });
}

const trial = (number: number, params: Params = {}) => ({ number, params });

/**
 * Feeds learning curves step by step (all live trials report step 1, then step 2...) in
 * trial-number order; returns the step at which each trial was stopped (undefined: never).
 */
function run(scheduler: Scheduler, curves: number[][]): (number | undefined)[] {
  const stoppedAt: (number | undefined)[] = curves.map(() => undefined);
  curves.forEach((_, n) => scheduler.onTrialAdd(trial(n)));
  const steps = Math.max(...curves.map((c) => c.length));
  for (let step = 1; step <= steps; step++) {
    curves.forEach((curve, n) => {
      if (stoppedAt[n] !== undefined || step > curve.length) return;
      const decision = scheduler.onResult(trial(n), step, curve[step - 1]!);
      if (decision.action === 'stop') stoppedAt[n] = step;
    });
  }
  return stoppedAt;
}

describe('scheduler registry', () => {
  it('lists the schedulers', () => {
    assert.deepEqual(schedulerNames(), ['fifo', 'median', 'asha', 'hyperband', 'pbt']);
  });

  it('rejects an unknown scheduler with the allowed names', () => {
    assert.equal(
      messageOf(() => make('bohb')),
      'scheduler.type: unknown scheduler "bohb"; allowed: fifo, median, asha, hyperband, pbt',
    );
  });

  it('validates settings with messages naming the field', () => {
    assert.equal(
      messageOf(() => make('asha', { reduction: 1 })),
      'scheduler.reduction: must be >= 2, got 1',
    );
    assert.equal(
      messageOf(() => make('hyperband', { reduction: 1 })),
      'scheduler.reduction: must be >= 2, got 1',
    );
    assert.equal(
      messageOf(() => make('asha', { grace: 0 })),
      'scheduler.grace: must be an integer >= 1, got 0',
    );
    assert.equal(
      messageOf(() => make('asha', { grace: 5, max: 3 })),
      'scheduler.max: must be >= grace (5), got 3',
    );
    assert.equal(
      messageOf(() => make('median', { minTrials: 0 })),
      'scheduler.minTrials: must be an integer >= 1, got 0',
    );
    assert.equal(
      messageOf(() => make('fifo', { grace: 1 })),
      'scheduler.grace: unknown setting; allowed: (none)',
    );
    assert.equal(
      messageOf(() => make('asha', { eta: 3 })),
      'scheduler.eta: unknown setting; allowed: grace, max, reduction',
    );
    const space: Space = { lr: { kind: 'uniform', low: 0, high: 1 } };
    assert.equal(
      messageOf(() => make('pbt', { quantile: 0.75 }, { space })),
      'scheduler.quantile: must be > 0 and <= 0.5, got 0.75',
    );
    assert.equal(
      messageOf(() => make('pbt', { resample: 2 }, { space })),
      'scheduler.resample: must be >= 0 and <= 1, got 2',
    );
    assert.equal(
      messageOf(() => make('pbt', { perturb: [1.2] }, { space })),
      'scheduler.perturb: must be a pair [low, high] of numbers > 0 with low <= high, got [1.2]',
    );
    assert.equal(
      messageOf(() => make('pbt')),
      'scheduler.type: pbt needs the search space (search.space)',
    );
    assert.doesNotThrow(() => make('asha', { type: 'asha' }));
  });
});

describe('fifo', () => {
  it('never stops anything (property)', () => {
    const fifo = make('fifo');
    fc.assert(
      fc.property(
        fc.nat({ max: 100 }),
        fc.integer({ min: 0, max: 1000 }),
        fc.double({ noNaN: true }),
        (n, step, value) => {
          assert.deepEqual(fifo.onResult(trial(n), step, value), { action: 'continue' });
        },
      ),
      FC,
    );
  });
});

describe('median stopping rule', () => {
  it('stops a trial whose best is below the median of the others at the same step, not one above', () => {
    const median = make('median');
    // Three trials report steps 1-2.
    const curves = [
      [0.5, 0.6],
      [0.4, 0.8],
      [0.7, 0.7],
    ];
    curves.forEach((curve, n) =>
      curve.forEach((v, i) => assert.equal(median.onResult(trial(n), i + 1, v).action, 'continue')),
    );
    // Running means at step 2: 0.55, 0.6, 0.7 → median 0.6.
    const low = median.onResult(trial(3), 1, 0.58);
    // At step 1 the others' values are 0.5, 0.4, 0.7 → median 0.5; 0.58 is above.
    assert.equal(low.action, 'continue');
    const stop = median.onResult(trial(3), 2, 0.3);
    // best by step 2 is 0.58 < 0.6.
    assert.equal(stop.action, 'stop');
    assert.match((stop as { reason: string }).reason, /best 0\.58.* < median 0\.6/);
    // Trial 4 with best 0.61 > 0.6 continues (trial 3 now also counts: means 0.55, 0.6, 0.7, 0.44 → median 0.575).
    median.onResult(trial(4), 1, 0.2);
    assert.equal(median.onResult(trial(4), 2, 0.61).action, 'continue');
    // A replayed report gets the same answer even though the population changed.
    assert.deepEqual(median.onResult(trial(3), 2, 0.3), stop);
  });

  it('waits for minTrials others at that step and for the grace period', () => {
    const median = make('median', { grace: 2, minTrials: 2 });
    median.onResult(trial(0), 1, 0.9);
    median.onResult(trial(0), 2, 0.9);
    // Only one other trial has reached step 2.
    assert.equal(median.onResult(trial(1), 1, 0.1).action, 'continue'); // step 1 < grace
    assert.equal(median.onResult(trial(1), 2, 0.1).action, 'continue'); // 1 other < minTrials
    median.onResult(trial(2), 1, 0.8);
    median.onResult(trial(2), 2, 0.8);
    // Trial 3 at step 2: others 0 (0.9), 1 (0.1), 2 (0.8) → median 0.8.
    assert.equal(median.onResult(trial(3), 1, 0.1).action, 'continue'); // grace
    assert.equal(median.onResult(trial(3), 2, 0.75).action, 'stop');
    // A trial that has not reached step 2 does not count at step 2.
    const fresh = make('median', { minTrials: 2 });
    fresh.onResult(trial(0), 1, 0.9);
    fresh.onResult(trial(1), 1, 0.9);
    assert.equal(fresh.onResult(trial(2), 2, 0.1).action, 'continue');
  });
});

describe('asha', () => {
  it('places rungs at grace·η^k below max', () => {
    assert.deepEqual(rungMilestones(1, 3, 10), [1, 3, 9]);
    assert.deepEqual(rungMilestones(1, 3, 9), [1, 3]);
    assert.deepEqual(rungMilestones(2, 2, 20), [2, 4, 8, 16]);
    assert.equal(quantile([0.21, 0.51, 0.91], 2 / 3), 0.51 + (1 / 3) * 0.4);
  });

  it('promotes the top 1/η at each rung, computed by hand', () => {
    // value = level + 0.01·step; trials report step by step in number order.
    const levels = [0.5, 0.9, 0.2, 0.7, 0.4, 0.8];
    const curves = levels.map((level) => Array.from({ length: 5 }, (_, i) => level + 0.01 * (i + 1)));
    const asha = make('asha', { grace: 1, reduction: 3 }, { maxSteps: 10 });
    // Rung 1 (step 1), in arrival order:
    //  t0 0.51, t1 0.91: fewer than 3 recorded → continue
    //  t2 0.21: cut of [0.21, 0.51, 0.91] at 2/3 = 0.51 + ⅓·0.40 = 0.643 → stop
    //  t3 0.71: [0.21, 0.51, 0.71, 0.91] → cut 0.71 → 0.71 >= cut → continue
    //  t4 0.41: [.21 .41 .51 .71 .91] → cut 0.51 + ⅔·0.20 = 0.643 → stop
    //  t5 0.81: [.21 .41 .51 .71 .81 .91] → cut 0.71 + ⅓·0.10 = 0.743 → continue
    // Step 2: no new rung. Rung 3 (step 3), survivors 0, 1, 3, 5:
    //  t0 0.53, t1 0.93 → continue (fewer than 3)
    //  t3 0.73: [0.53, 0.73, 0.93] → cut 0.797 → stop
    //  t5 0.83: [.53 .73 .83 .93] → cut 0.83 → continue
    assert.deepEqual(run(asha, curves), [undefined, undefined, 1, 3, 1, undefined]);
  });

  it('records a trial once per rung and answers a replay the same way', () => {
    const asha = make('asha', { grace: 2, reduction: 2 }, { maxSteps: 16 });
    assert.equal(asha.onResult(trial(0), 2, 0.9).action, 'continue');
    assert.equal(asha.onResult(trial(1), 2, 0.1).action, 'stop'); // [0.1, 0.9], cut 0.5
    // A report that skips past rungs lands in the highest one reached (8), alone there.
    assert.equal(asha.onResult(trial(2), 9, 0.05).action, 'continue');
    assert.equal(asha.onResult(trial(0), 3, 0.0).action, 'continue'); // already in rung 2
    assert.deepEqual(asha.onResult(trial(1), 2, 0.1).action, 'stop');
  });
});

describe('hyperband', () => {
  it('assigns brackets round-robin, each an ASHA with a later grace', () => {
    const hb = make('hyperband', { grace: 1, reduction: 3, max: 9 }) as HyperbandScheduler;
    assert.deepEqual(
      hb.brackets.map((b) => b.milestones),
      [[1, 3], [3], []],
    );
    assert.deepEqual(
      [0, 1, 2, 3, 4, 5, 6].map((n) => hb.bracketOf(n)),
      [0, 1, 2, 0, 1, 2, 0],
    );
    // Bracket 0 = trials 0, 3, 6; bracket 1 = 1, 4, 7; bracket 2 = 2, 5, 8.
    const levels = [0.5, 0.3, 0.1, 0.9, 0.6, 0.05, 0.2, 0.1, 0.0];
    const curves = levels.map((level) => Array.from({ length: 9 }, () => level));
    // Bracket 0, rung 1: t0 0.5, t3 0.9 continue; t6 0.2 < cut(0.5 + ⅓·0.4) → stop at 1.
    //   rung 3: t0 0.5, t3 0.9 → fewer than 3 → continue.
    // Bracket 1, first rung at 3: t1 0.3, t4 0.6 continue; t7 0.1 < cut 0.4 → stop at 3.
    // Bracket 2 has no rung below max: never stops.
    assert.deepEqual(run(hb, curves), [
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
      1,
      3,
      undefined,
    ]);
  });
});

describe('pbt', () => {
  const SPACE: Space = {
    lr: { kind: 'loguniform', low: 1e-4, high: 1e-1 },
    batch: { kind: 'int', low: 16, high: 256 },
    dropout: { kind: 'uniform', low: 0, high: 0.5 },
    optimizer: { kind: 'choice', values: ['adam', 'sgd', 'rmsprop'] },
    momentum: { kind: 'uniform', low: 0, high: 0.99, when: { optimizer: 'sgd' } },
  };

  /** Eight trials with distinct params; trial n's value is fixed by `order`. */
  function population(seed: number, settings: Record<string, unknown>, values: number[]) {
    const pbt = make('pbt', settings, { space: SPACE, seed });
    const params: Params[] = values.map((_, n) => ({
      lr: 1e-4 * 1.8 ** n,
      batch: 16 + 30 * n,
      dropout: 0.06 * n,
      optimizer: (['adam', 'sgd', 'rmsprop'] as const)[n % 3]!,
      ...(n % 3 === 1 ? { momentum: 0.1 * n } : {}),
    }));
    params.forEach((p, n) => pbt.onTrialAdd(trial(n, p)));
    // Steps 1-4: no checks (interval 5). Step 5: every trial is checked against the population.
    const decisions: SchedulerDecision[] = [];
    for (let step = 1; step <= 5; step++) {
      values.forEach((v, n) => {
        const d = pbt.onResult(trial(n, params[n]!), step, v);
        if (step === 5) decisions.push(d);
        else assert.equal(d.action, 'continue');
      });
    }
    return { pbt, params, decisions };
  }

  it('tells the bottom quantile to exploit a top trial, with params perturbed within bounds (property)', () => {
    fc.assert(
      fc.property(
        fc.nat({ max: 1_000_000 }),
        fc.uniqueArray(fc.integer({ min: 0, max: 1000 }), { minLength: 8, maxLength: 8 }),
        (seed, raw) => {
          const values = raw.map((v) => v / 1000);
          const { params, decisions } = population(seed, { resample: 0 }, values);
          const ranked = values
            .map((v, n) => [v, n] as const)
            .sort((a, b) => a[0] - b[0])
            .map(([, n]) => n);
          // q = ceil(8 · 0.25) = 2 bottom and 2 top trials.
          const bottom = new Set(ranked.slice(0, 2));
          const top = new Set(ranked.slice(6));
          decisions.forEach((decision, n) => {
            if (!bottom.has(n)) {
              assert.equal(decision.action, 'continue');
              return;
            }
            assert.equal(decision.action, 'exploit');
            if (decision.action !== 'exploit') return;
            assert.ok(top.has(decision.checkpointOf), `donor ${decision.checkpointOf} not in the top`);
            const donor = params[decision.checkpointOf]!;
            const next = decision.params;
            assert.ok(isValidConfig(SPACE, next), JSON.stringify(next));
            // Numeric params: donor × 0.8 or × 1.2, clipped (ints rounded).
            const perturbed = (name: string, low: number, high: number, round = false): number[] =>
              [0.8, 1.2].map((f) => {
                const v = Math.min(high, Math.max(low, (donor[name] as number) * f));
                return round ? Math.min(high, Math.max(low, Math.round(v))) : v;
              });
            assert.ok(perturbed('lr', 1e-4, 1e-1).includes(next.lr as number));
            assert.ok(perturbed('batch', 16, 256, true).includes(next.batch as number));
            assert.ok(perturbed('dropout', 0, 0.5).includes(next.dropout as number));
            // Choice: a neighbour of the donor's (clamped at the ends).
            const choices = ['adam', 'sgd', 'rmsprop'];
            const i = choices.indexOf(donor.optimizer as string);
            const neighbours = [choices[Math.max(0, i - 1)], choices[Math.min(2, i + 1)]];
            assert.ok(neighbours.includes(next.optimizer as string));
            assert.equal('momentum' in next, next.optimizer === 'sgd');
          });
        },
      ),
      { ...FC, numRuns: 40 },
    );
  });

  it('stays within bounds with resampling, is seeded, and replays decisions', () => {
    const values = [0.1, 0.9, 0.5, 0.3, 0.7, 0.2, 0.8, 0.6];
    fc.assert(
      fc.property(fc.nat({ max: 1_000_000 }), (seed) => {
        const { decisions } = population(seed, { resample: 0.5, perturb: [0.5, 3] }, values);
        for (const d of decisions)
          if (d.action === 'exploit') assert.ok(isValidConfig(SPACE, d.params), JSON.stringify(d.params));
        assert.deepEqual(population(seed, { resample: 0.5, perturb: [0.5, 3] }, values).decisions, decisions);
      }),
      { ...FC, numRuns: 30 },
    );
    const { pbt, params, decisions } = population(7, {}, values);
    // Trials 0 (0.1) and 5 (0.2) are the bottom two; the top two are 1 (0.9) and 6 (0.8).
    assert.deepEqual(
      decisions.map((d) => d.action),
      ['exploit', 'continue', 'continue', 'continue', 'continue', 'exploit', 'continue', 'continue'],
    );
    assert.deepEqual(pbt.onResult(trial(0, params[0]!), 5, 0.1), decisions[0]);
    // Checked again only `interval` steps later.
    assert.equal(pbt.onResult(trial(0, params[0]!), 9, 0.0).action, 'continue');
    assert.equal(pbt.onResult(trial(0, params[0]!), 10, 0.0).action, 'exploit');
  });
});
