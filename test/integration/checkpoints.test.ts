/**
 * Checkpoints through the coordinator: a tfjs trial whose worker is SIGKILLed mid-training is
 * requeued and resumes on the other worker from its last checkpoint (an artifact in the store),
 * and its metric history has each epoch once.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TrellisClient } from '../../client/index.js';
import { exited, startCluster, waitForWorkers } from '../helpers/cluster.js';
import { WAIT_MS } from '../helpers/deadline.js';

describe('checkpoints through the coordinator', () => {
  it('a tfjs trial resumes from its last checkpoint after its worker is killed', async () => {
    const cluster = await startCluster({ workers: 2, leaseMs: 3000 });
    const client = new TrellisClient(cluster.address);
    try {
      await waitForWorkers(cluster, 2);
      const spec = {
        apiVersion: 'trellis/v1',
        kind: 'Sweep',
        name: 'resume',
        trial: {
          runtime: 'tfjs',
          task: 'classify',
          dataset: 'optdigits',
          model: { type: 'mlp', hidden: [32] },
          epochs: 6,
          checkpointEvery: 1,
        },
        budget: { trials: 1, concurrency: 1 },
      };
      const { experiment } = await client.submit(JSON.stringify(spec));
      // A checkpoint of epoch 2 exists once epoch 3 is reported (reports come before saves).
      const metric = await cluster.waitForEvent(
        (e) => e.type === 'trial.metric' && e.experimentId === experiment.id && Number(e.payload.step) >= 3,
      );
      const [running] = await client.trials(experiment.id);
      const victim = cluster.workers.find((w) => w.spawnargs.includes(running!.worker))!;
      victim.kill('SIGKILL');
      await exited(victim);

      const final = await client.wait(experiment.id, undefined, { timeoutMs: WAIT_MS });
      assert.equal(final.status, 'succeeded');
      const [trial] = await client.trials(experiment.id);
      assert.equal(trial!.attempts, 2);
      assert.deepEqual(
        trial!.attemptHistory.map((a) => a.status),
        ['lost', 'succeeded'],
      );
      const resumedFrom = Number(trial!.info?.resumedFromEpoch);
      assert.ok(
        resumedFrom >= 2 && resumedFrom < 6,
        `resumed from epoch ${resumedFrom} (killed after epoch ${metric.type === 'trial.metric' ? metric.payload.step : '?'})`,
      );
      const steps = (await client.exportMetrics(experiment.id)).map((m) => m.step);
      assert.deepEqual(steps, [1, 2, 3, 4, 5, 6], 'each epoch once');
      assert.ok(trial!.metrics.test_accuracy! > 0.8);
    } finally {
      client.close();
      await cluster.stop();
    }
  });
});
