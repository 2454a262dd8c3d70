/**
 * Early stopping and replicates through the runner, with real worker processes.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TrellisClient } from '../../client/index.js';
import { startCluster, waitForWorkers } from '../helpers/cluster.js';
import { summarise } from '../../coordinator/search/replicates.js';
import { WAIT_MS } from '../helpers/deadline.js';
import { processEnded } from '../helpers/services.js';

const TRAINER = fileURLToPath(new URL('../../../test/fixtures/integration/pbt-trainer.mjs', import.meta.url));

function spec(overrides: Record<string, unknown>): string {
  return JSON.stringify({
    apiVersion: 'trellis/v1',
    kind: 'Sweep',
    name: 'sched',
    trial: {
      runtime: 'command',
      command: [process.execPath, TRAINER],
      epochs: 8,
      objective: { metric: 'score', mode: 'max' },
      stopGraceSeconds: 3,
    },
    ...overrides,
  });
}

describe('schedulers and replicates in the runner', () => {
  it('ASHA prunes a trial below the rung cut; the pruned trial keeps its metrics and frees its slot at once', async () => {
    const markers = mkdtempSync(join(tmpdir(), 'trellis-prune-'));
    const cluster = await startCluster({ workers: 1, cpusPerWorker: 1 });
    const client = new TrellisClient(cluster.address);
    try {
      await waitForWorkers(cluster, 1);
      const { experiment } = await client.submit(
        spec({
          // The pruned program ignores SIGTERM and the grace is long: it stays alive until the
          // test kills it, so trial 2 can only have started on a slot freed at the prune.
          trial: {
            runtime: 'command',
            command: [process.execPath, TRAINER],
            epochs: 8,
            objective: { metric: 'score', mode: 'max' },
            stopGraceSeconds: 120,
          },
          search: {
            algorithm: 'grid',
            space: {
              rate: { choice: [0.5, 0.1, 0.6] },
              ignoreTerm: { choice: [true] },
              markers: { choice: [markers] },
            },
          },
          scheduler: { type: 'asha', grace: 1, reduction: 2, max: 8 },
          budget: { trials: 3, concurrency: 3 },
        }),
      );
      const pruned = await cluster.waitForEvent(
        (e) => e.experimentId === experiment.id && e.type === 'trial.state' && e.payload.status === 'pruned',
      );
      assert.equal(pruned.trialNumber, 1, 'the slow learner (rate 0.1) is cut at the first rung');
      // With one slot, the next trial runs while the pruned program is still alive.
      const { readdirSync, readFileSync } = await import('node:fs');
      const pidOf = (trialNumber: number): number | undefined =>
        readdirSync(markers)
          .filter((f) => f.endsWith('.started'))
          .map((f) => ({ pid: Number(f.split('.')[0]), trial: readFileSync(join(markers, f), 'utf8') }))
          .find((m) => m.trial.endsWith(`-t${trialNumber}`))?.pid;
      await cluster.waitForEvent(
        (e) =>
          e.experimentId === experiment.id &&
          e.type === 'trial.state' &&
          e.trialNumber === 2 &&
          e.payload.status === 'running',
      );
      const prunedPid = pidOf(1)!;
      assert.ok(!processEnded(prunedPid), 'trial 2 started while the pruned program was still stopping');
      process.kill(prunedPid, 'SIGKILL');
      const final = await client.wait(experiment.id, undefined, { timeoutMs: WAIT_MS });
      assert.equal(final.status, 'succeeded');
      const trials = await client.trials(experiment.id);
      assert.deepEqual(
        trials.map((t) => t.status),
        ['succeeded', 'pruned', 'succeeded'],
      );
      assert.equal(trials[1]!.metrics.score !== undefined, true, 'a pruned trial keeps its metrics');
      assert.equal(final.best?.number, 2);
    } finally {
      client.close();
      await cluster.stop();
      rmSync(markers, { recursive: true, force: true });
    }
  });

  it('replicates: k seeds per configuration, ranked by the mean with a 95% CI', async () => {
    const cluster = await startCluster({ workers: 2, cpusPerWorker: 2 });
    const client = new TrellisClient(cluster.address);
    try {
      const { experiment } = await client.submit(
        spec({
          trial: {
            runtime: 'command',
            command: [process.execPath, TRAINER],
            objective: { metric: 'final_score', mode: 'max' },
          },
          search: {
            algorithm: 'grid',
            replicates: 3,
            space: { rate: { choice: [0.1, 0.3] }, steps: { choice: [2] }, delay: { choice: [5] } },
          },
          budget: { trials: 6, concurrency: 4 },
        }),
      );
      const final = await client.wait(experiment.id, undefined, { timeoutMs: WAIT_MS });
      assert.equal(final.status, 'succeeded');
      const trials = await client.trials(experiment.id);
      assert.deepEqual(
        trials.map((t) => t.params.rate),
        [0.1, 0.1, 0.1, 0.3, 0.3, 0.3],
        'each configuration runs k times',
      );
      assert.equal(new Set(trials.map((t) => t.seed)).size, 6, 'with k different seeds');
      const best = trials.slice(3).map((t) => t.metrics.final_score!);
      const stats = summarise(best);
      assert.equal(final.best?.number, 3, 'the better configuration (by mean) wins');
      assert.equal(final.best?.replicates, 3);
      assert.ok(Math.abs(final.best!.value - best.reduce((a, b) => a + b, 0) / 3) < 1e-12);
      const sd = Math.sqrt(best.reduce((a, v) => a + (v - stats.mean) ** 2, 0) / 2);
      assert.ok(Math.abs(final.best!.ci! - (4.302652729911275 * sd) / Math.sqrt(3)) < 1e-9, `ci ${final.best!.ci}`);
    } finally {
      client.close();
      await cluster.stop();
    }
  });

  it("PBT: a bottom trial continues from a top trial's checkpoint with perturbed params, and records its lineage", async () => {
    const cluster = await startCluster({ workers: 2, cpusPerWorker: 2 });
    const client = new TrellisClient(cluster.address);
    // The four trainers start stepping together (a marker-file barrier), so the population PBT
    // compares exists however slowly a loaded machine brings the workers up.
    const markers = mkdtempSync(join(tmpdir(), 'trellis-pbt-'));
    try {
      const { experiment } = await client.submit(
        spec({
          trial: {
            runtime: 'command',
            command: [process.execPath, TRAINER],
            epochs: 10,
            checkpointEvery: 1,
            objective: { metric: 'score', mode: 'max' },
          },
          search: {
            algorithm: 'grid',
            space: {
              rate: { choice: [0.05, 0.5, 0.06, 0.45] },
              steps: { choice: [10] },
              delay: { choice: [120] },
              markers: { choice: [markers] },
              barrier: { choice: [4] },
            },
          },
          scheduler: { type: 'pbt', interval: 3, quantile: 0.25, perturb: [0.8, 1.2], resample: 0 },
          budget: { trials: 4, concurrency: 4 },
        }),
      );
      const final = await client.wait(experiment.id, undefined, { timeoutMs: WAIT_MS });
      assert.equal(final.status, 'succeeded');
      const trials = await client.trials(experiment.id);
      const exploited = trials.filter((t) => (t.lineage?.length ?? 0) > 0);
      const rows = await client.exportMetrics(experiment.id);
      assert.ok(exploited.length >= 1, 'some trial exploited another');
      for (const t of exploited) {
        const step = t.lineage![0] as { fromTrial: number; step: number; params: { rate: number } };
        const donor = trials.find((d) => d.number === step.fromTrial)!;
        assert.ok(
          [0.5, 0.45].includes(donor.params.rate as number) || donor.lineage,
          `copied from a top trial (${step.fromTrial})`,
        );
        const rate = t.params.rate as number;
        assert.ok(rate >= 0.05 && rate <= 0.5, `perturbed within the domain: ${rate}`);
        assert.ok(
          t.attemptHistory.some((a) => a.status === 'handed_back'),
          'the exploited attempt was restarted',
        );
        // Continued from the donor's state, not restarted: the exploited attempt's first report is
        // not step 1, and its score is the donor's score at the step before plus one step at the
        // new rate (seed noise differs by < 0.007). From scratch it would report step 1, score ≈ rate.
        const handedBack = Math.max(...t.attemptHistory.filter((a) => a.status === 'handed_back').map((a) => a.n));
        const after = rows.filter((r) => r.trialNumber === t.number && r.attempt > handedBack && 'score' in r.values);
        const first = after.reduce((a, b) => (b.step < a.step ? b : a));
        assert.ok(first.step > 1, `trial ${t.number} resumed at step ${first.step}, not from scratch`);
        const last = t.lineage![t.lineage!.length - 1] as { fromTrial: number };
        const donorBefore = rows.find(
          (r) => r.trialNumber === last.fromTrial && r.step === first.step - 1 && 'score' in r.values,
        );
        assert.ok(donorBefore, `the donor reported step ${first.step - 1}`);
        const expected = donorBefore.values.score! + rate;
        assert.ok(
          Math.abs(first.values.score! - expected) < 0.01,
          `trial ${t.number} step ${first.step}: score ${first.values.score}, donor's state gives ${expected}`,
        );
      }
    } finally {
      client.close();
      await cluster.stop();
      rmSync(markers, { recursive: true, force: true });
    }
  });
});
