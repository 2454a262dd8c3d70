import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { primaryObjective, type SweepSpec } from '../../shared/spec/schema.js';
import type { TrialDoc } from '../../shared/types.js';
import type { TrialStatus } from '../../shared/states.js';
import { BestTracker, computeBest } from '../../coordinator/sweeps/best.js';

function specOf(mode: 'max' | 'min', replicates: number): SweepSpec {
  return { trial: { objective: { metric: 'score', mode } }, search: { replicates } } as unknown as SweepSpec;
}

function trial(number: number, status: TrialStatus, score?: number): TrialDoc {
  return {
    id: `t${number}`,
    experimentId: 'e',
    number,
    status,
    params: { x: number },
    seed: number,
    attempts: [],
    metrics: score === undefined ? {} : { score },
    createdAt: 0,
    updatedAt: 0,
  };
}

describe('best trial', () => {
  it('prefers succeeded over pruned, the better value, and the lower number on ties', () => {
    const tracker = new BestTracker({ metric: 'score', mode: 'max' }, 1);
    tracker.observe(trial(0, 'pruned', 0.9));
    assert.equal(tracker.best()?.number, 0, 'a pruned trial is the best while nothing succeeded');
    tracker.observe(trial(2, 'succeeded', 0.5));
    assert.equal(tracker.best()?.number, 2);
    tracker.observe(trial(1, 'succeeded', 0.5));
    assert.equal(tracker.best()?.number, 1, 'a tie goes to the lower number');
    tracker.observe(trial(3, 'running', 0.99));
    tracker.observe(trial(4, 'succeeded', Number.NaN));
    assert.deepEqual(tracker.best(), { trialId: 't1', number: 1, params: { x: 1 }, metric: 'score', value: 0.5 });
  });

  it('with replicates, a best configuration whose new seed lowers its mean gives way', () => {
    const tracker = new BestTracker({ metric: 'score', mode: 'max' }, 2);
    tracker.observe(trial(0, 'succeeded', 0.9)); // config 0
    tracker.observe(trial(2, 'succeeded', 0.7)); // config 1
    assert.equal(tracker.best()?.number, 0);
    tracker.observe(trial(1, 'succeeded', 0.1)); // config 0's mean falls to 0.5
    const best = tracker.best()!;
    assert.equal(best.number, 2);
    assert.equal(best.value, 0.7);
    assert.equal(best.replicates, 1);
  });

  it('agrees with the from-scratch rule after every trial of random sweeps, in any order (property)', () => {
    const statuses: TrialStatus[] = ['running', 'succeeded', 'succeeded', 'pruned', 'failed'];
    fc.assert(
      fc.property(
        fc.constantFrom<'max' | 'min'>('max', 'min'),
        fc.integer({ min: 1, max: 3 }),
        fc.array(
          fc.record({
            status: fc.constantFrom(...statuses),
            // Few distinct values, so ties are common; sometimes no metric or a non-finite one.
            score: fc.oneof(
              fc.integer({ min: 0, max: 4 }).map((v) => v / 4),
              fc.constant(undefined),
              fc.constant(Number.NaN),
            ),
            // Trials end in any order, not by number.
            arrival: fc.double({ min: 0, max: 1, noNaN: true }),
          }),
          { maxLength: 40 },
        ),
        (mode, replicates, steps) => {
          const spec = specOf(mode, replicates);
          const tracker = new BestTracker(primaryObjective(spec.trial), replicates);
          const docs: TrialDoc[] = [];
          const arrivals = steps.map((step, number) => ({ ...step, number })).sort((a, b) => a.arrival - b.arrival);
          for (const step of arrivals) {
            const doc = trial(step.number, step.status, step.score);
            docs.push(doc);
            tracker.observe(doc);
            tracker.observe(doc); // a repeat changes nothing
            assert.deepEqual(tracker.best(), computeBest(docs, spec));
          }
        },
      ),
      { seed: 20261126, numRuns: 300 },
    );
  });
});
