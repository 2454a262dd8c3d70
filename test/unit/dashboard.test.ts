/** What the dashboard derives from trials (shared/dashboard*.ts): pure, so checked here directly. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { curvesOf, progressOf } from '../../shared/dashboard.js';
import { foldReplicates, groupMetrics, history, importance, rankRows } from '../../web/src/stats.js';
import type { TrialDoc } from '../../shared/types.js';
import type { TrialStatus } from '../../shared/states.js';

function trial(
  number: number,
  params: TrialDoc['params'],
  metrics: Record<string, number>,
  status: TrialStatus = 'succeeded',
): TrialDoc {
  return {
    id: `t${number}`,
    experimentId: 'e',
    number,
    status,
    params,
    seed: number,
    attempts: [],
    metrics,
    createdAt: 0,
    updatedAt: 0,
  };
}

describe('dashboard numbers', () => {
  it('folds replicates into mean ± Student-t 95% CI and ranks configurations', () => {
    const trials = [
      trial(0, { lr: 1 }, { acc: 0.5 }),
      trial(1, { lr: 1 }, { acc: 0.7 }),
      trial(2, { lr: 2 }, { acc: 0.9 }),
      trial(3, { lr: 2 }, { acc: 0.8 }, 'running'),
      trial(4, { lr: 3 }, {}, 'pending'),
    ];
    const rows = rankRows(foldReplicates(trials, 2, 'acc'), 'max');
    assert.deepEqual(
      rows.map((r) => [r.config, r.status, r.trials.length]),
      [
        [1, 'running', 2],
        [0, 'succeeded', 2],
        [2, 'pending', 1],
      ],
    );
    // config 0: values 0.5, 0.7: mean 0.6, sd 0.1414, t(0.975, 1) = 12.706.
    assert.ok(Math.abs(rows[1]!.value! - 0.6) < 1e-12);
    assert.ok(Math.abs(rows[1]!.ci! - (12.706204736 * Math.sqrt(0.02)) / Math.sqrt(2)) < 1e-9);
    assert.equal(rows[2]!.value, undefined);
    assert.equal(rankRows(foldReplicates(trials, 2, 'acc'), 'min')[0]!.config, 0, 'min ranks the lower mean first');
  });

  it('gives the best-so-far history of finished trials only', () => {
    const trials = [
      trial(2, {}, { loss: 3 }),
      trial(0, {}, { loss: 5 }),
      trial(1, {}, { loss: 1 }, 'running'),
      trial(3, {}, { loss: 4 }, 'pruned'),
    ];
    assert.deepEqual(history(trials, { metric: 'loss', mode: 'min' }), {
      numbers: [0, 2, 3],
      values: [5, 3, 4],
      best: [5, 3, 3],
    });
  });

  it('attributes the variance to the param that drives the objective', () => {
    const trials = Array.from({ length: 40 }, (_, i) => {
      const x = i / 40;
      const noise = ((i * 7919) % 13) / 1300; // small, deterministic
      return trial(i, { x, loss: i % 2 === 0 ? 'a' : 'b' }, { acc: x * x + noise });
    });
    const ranked = importance(trials, 'acc');
    assert.deepEqual(
      ranked.map((r) => r.param),
      ['x', 'loss'],
    );
    assert.ok(ranked[0]!.importance > 0.9, `x explains most (${ranked[0]!.importance})`);
    assert.ok(Math.abs(ranked.reduce((s, r) => s + r.importance, 0) - 1) < 1e-12);
    assert.deepEqual(importance(trials.slice(0, 2), 'acc'), [], 'needs three finished trials');
  });

  it('keeps the latest attempt of a step in the curves and counts progress', () => {
    const doc = (trialId: string, attempt: number, step: number, values: Record<string, number>) => ({
      experimentId: 'e',
      trialId,
      attempt,
      step,
      time: 0,
      values,
    });
    const curves = curvesOf([
      { trialNumber: 0, doc: doc('t0', 1, 2, { loss: 2, acc: 0.1 }) },
      { trialNumber: 0, doc: doc('t0', 1, 1, { loss: 3 }) },
      { trialNumber: 0, doc: doc('t0', 2, 2, { loss: 1.5 }) },
      { trialNumber: 1, doc: doc('t1', 1, 1, { loss: 4 }) },
    ]);
    assert.deepEqual(curves.metrics, ['acc', 'loss']);
    assert.deepEqual(curves.steps, { 0: [1, 2], 1: [1] });
    assert.deepEqual(curves.values.loss, { 0: [3, 1.5], 1: [4] });
    assert.deepEqual(curves.values.acc, { 0: [null, null], 1: [null] });
    assert.deepEqual(
      Object.keys(curvesOf([{ trialNumber: 0, doc: doc('t0', 1, 1, { loss: 1, acc: 1 }) }], ['acc']).values),
      ['acc'],
    );
    const p = progressOf([trial(0, {}, {}, 'running'), trial(1, {}, {}, 'pruned'), trial(2, {}, {}, 'failed')], 5);
    assert.deepEqual(p, { total: 5, done: 2, running: 1, pending: 0, succeeded: 0, pruned: 1, failed: 1 });
  });

  it('finds group metrics by their names', () => {
    const trials = [
      trial(0, {}, { val_worst_group_accuracy: 0.5, val_group_gap: 0.2, 'val_group_accuracy.0': 0.7, val_accuracy: 1 }),
    ];
    assert.deepEqual(groupMetrics(trials), {
      perGroup: ['val_group_accuracy.0'],
      summary: ['val_group_gap', 'val_worst_group_accuracy'],
    });
  });
});
