/**
 * Results are never silent, end to end (coordinator + worker processes + the command runtime):
 * a program that never reports the objective fails its trial with the metric named and the
 * output quoted; a NaN objective fails the attempt as diverged; the nested report shape counts.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { TrellisClient } from '../../client/index.js';
import { startCluster, waitForWorkers } from '../helpers/cluster.js';

const LOUD = fileURLToPath(new URL('../../../test/fixtures/programs/loud.mjs', import.meta.url));

function spec(name: string, mode: string, metric: string): string {
  return JSON.stringify({
    apiVersion: 'trellis/v1',
    kind: 'Sweep',
    name,
    trial: {
      runtime: 'command',
      command: [process.execPath, LOUD, mode],
      objective: { metric, mode: 'min' },
      stopGraceSeconds: 5,
    },
    search: { algorithm: 'grid', space: { x: { choice: [1] } } },
    budget: { trials: 1, concurrency: 1, maxAttempts: 3 },
  });
}

describe('loud failures through a real cluster', () => {
  it('missing objective and NaN objective fail (the latter as diverged); the nested shape succeeds', async () => {
    const cluster = await startCluster({ workers: 1 });
    const client = new TrellisClient(cluster.address);
    try {
      await waitForWorkers(cluster, 1);

      const missing = (await client.submit(spec('missing', 'missing', 'val_loss'))).experiment;
      assert.equal((await client.wait(missing.id)).status, 'failed');
      const [m] = await client.trials(missing.id);
      assert.equal(m!.status, 'failed');
      assert.equal(m!.attemptHistory.length, 1, 'not retried: a retry cannot help');
      assert.match(m!.error ?? '', /never reported the objective metric "val_loss"/);
      assert.match(m!.error ?? '', /training finished/);

      const nan = (await client.submit(spec('nan', 'nan', 'loss'))).experiment;
      await client.wait(nan.id);
      const [n] = await client.trials(nan.id);
      assert.equal(n!.status, 'failed');
      assert.equal(n!.attemptHistory.length, 1);
      assert.equal(n!.attemptHistory[0]!.failureKind, 'diverged');
      assert.match(n!.error ?? '', /training diverged: the objective loss is not finite/);

      const nested = (await client.submit(spec('nested', 'nested', 'loss'))).experiment;
      const done = await client.wait(nested.id);
      assert.equal(done.status, 'succeeded');
      const [t] = await client.trials(nested.id);
      assert.equal(t!.status, 'succeeded');
      assert.equal(t!.metrics.loss, 1 / 3);
    } finally {
      client.close();
      await cluster.stop();
    }
  });
});
