/**
 * A two-objective sweep through the real embedded path (`trellis run` as a child process:
 * embedded coordinator + 2 worker processes): accuracy against the group gap on a grouped
 * dataset (test/fixtures/groups.csv, group column A/B), over the fairness losses (ce, fairreg
 * with its λ, groupdro, worstgroup), searched by nsga2 with a population of 4 (so generation 1
 * is bred from generation 0's results). Asserted: the experiment's `pareto` is non-empty, its
 * members are mutually non-dominated, each is a real succeeded trial whose metrics are the
 * point's values, no succeeded trial dominates a front member, every trial off the front is
 * dominated by one on it, and the hypervolume equals one recomputed here from the trials.
 * About 15-30 s.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { trellis } from '../helpers/cli.js';
import { dominates, hypervolume } from '../../shared/pareto.js';
import type { ParetoFront } from '../../shared/types.js';

const DATA = resolve('test/fixtures/groups.csv');

const SPEC = `apiVersion: trellis/v1
kind: Sweep
name: fairness-front
trial:
  runtime: tfjs
  task: classify
  dataset: { path: groups.csv, label: label, group: group }
  model: { type: mlp, hidden: [8] }
  epochs: 4
  batchSize: 32
  loss: ce
  objective:
    - { metric: test_accuracy, mode: max }
    - { metric: test_group_gap, mode: min }
  objectiveReference: [0, 1]
  checkpointEvery: 0
resources: { cpus: 1 }
search:
  algorithm: nsga2
  population: 4
  seed: 3
  space:
    loss: { choice: [ce, fairreg, groupdro, worstgroup] }
    loss.lambda: { uniform: [0, 5], when: { loss: fairreg } }
    lr: { loguniform: [1.0e-3, 1.0e-1] }
budget: { trials: 8, concurrency: 2, maxAttempts: 1 }
`;

interface Trial {
  id: string;
  number: number;
  status: string;
  params: Record<string, unknown>;
  metrics: Record<string, number>;
}

describe('multi-objective sweep over the fairness losses (trellis run, embedded)', () => {
  it(
    'returns a Pareto front of real, mutually non-dominated trials with its hypervolume',
    { timeout: 120_000 },
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'trellis-pareto-'));
      try {
        writeFileSync(join(dir, 'front.yaml'), SPEC);
        // The run's directory is a data root of its workers; the fixture is copied there.
        copyFileSync(DATA, join(dir, 'groups.csv'));
        const state = join(dir, 'state');
        const result = await trellis(['run', 'front.yaml', '--workers', '2', '--json', '--dir', state], dir, {
          timeoutMs: 110_000,
        });
        assert.equal(result.code, 0, result.stderr.slice(-2000));
        const doc = JSON.parse(result.stdout) as {
          experiment: { id: string; status: string };
          trials: Trial[];
          best: { trialId: string; metric: string; value: number } | null;
          pareto?: ParetoFront;
        };
        assert.equal(doc.experiment.status, 'succeeded');
        assert.equal(doc.trials.length, 8);
        const front = doc.pareto;
        assert.ok(front, 'the experiment has a Pareto front');
        assert.deepEqual(front.metrics, ['test_accuracy', 'test_group_gap']);
        assert.deepEqual(front.modes, ['max', 'min']);
        assert.ok(front.points.length > 0);

        const succeeded = doc.trials.filter((t) => t.status === 'succeeded');
        const point = (t: Trial): number[] => [-t.metrics.test_accuracy!, t.metrics.test_group_gap!];
        const measured = succeeded.filter((t) => point(t).every(Number.isFinite));
        assert.equal(front.configurations, measured.length);
        const byId = new Map(measured.map((t) => [t.id, t]));
        for (const p of front.points) {
          const trial = byId.get(p.trialId);
          assert.ok(trial, `front member ${p.trialId} is a succeeded trial`);
          assert.deepEqual(p.values, [trial.metrics.test_accuracy, trial.metrics.test_group_gap]);
          assert.deepEqual(p.params, trial.params);
          for (const t of measured)
            assert.ok(!dominates(point(t), point(trial)), `trial ${t.number} dominates ${p.number}`);
        }
        const onFront = new Set(front.points.map((p) => p.trialId));
        for (const t of measured) {
          if (onFront.has(t.id)) continue;
          assert.ok(
            front.points.some((p) => dominates(point(byId.get(p.trialId)!), point(t))),
            `trial ${t.number} is off the front but dominated by none of it`,
          );
        }
        assert.equal(front.referenceSource, 'spec');
        const expected = hypervolume(measured.map(point), [0, 1]);
        assert.ok(Math.abs(front.hypervolume - expected) < 1e-12, `${front.hypervolume} vs ${expected}`);
        // `best` (older clients): the front's member best on the first objective.
        assert.equal(doc.best?.trialId, front.points[0]!.trialId);
        assert.equal(doc.best?.metric, 'test_accuracy');
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});
