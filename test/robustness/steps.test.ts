/**
 * 64-bit steps end to end and bad steps refused with a counted warning, through a real worker
 * process running a real program: step 3e9 is stored and exported as 3000000000; a non-integer,
 * a negative, a too-large and a decreasing step are refused, counted on the trial with the
 * latest reason, and shown by `trellis trials`. Also: a resource request larger than any
 * connected worker is flagged as the trial's pending reason instead of waiting silently.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { TrellisClient } from '../../client/index.js';
import { startCluster, waitForWorkers, type Cluster } from '../helpers/cluster.js';
import { trellis } from '../helpers/cli.js';
import { WAIT_MS } from '../helpers/deadline.js';

const STEPS = fileURLToPath(new URL('../../../test/fixtures/programs/steps.mjs', import.meta.url));

const spec = (name: string, resources?: Record<string, unknown>): string =>
  JSON.stringify({
    apiVersion: 'trellis/v1',
    kind: 'Sweep',
    name,
    trial: {
      runtime: 'command',
      command: [process.execPath, STEPS],
      objective: { metric: 'score', mode: 'max' },
      stopGraceSeconds: 2,
    },
    search: { algorithm: 'random', space: { x: { uniform: [0, 1] } } },
    budget: { trials: 1, concurrency: 1, maxAttempts: 1 },
    ...(resources ? { resources } : {}),
  });

describe('64-bit steps and refused steps (real worker process)', () => {
  let cluster: Cluster;
  let client: TrellisClient;

  before(async () => {
    cluster = await startCluster({ workers: 1, cpusPerWorker: 1 });
    client = new TrellisClient(cluster.address);
    await waitForWorkers(cluster, 1);
  });

  after(async () => {
    await cluster.stop();
  });

  it('stores step 3e9 as 3000000000 and counts each refused step on the trial', async () => {
    const { experiment } = await client.submit(spec('steps'));
    const final = await client.wait(experiment.id, undefined, { timeoutMs: WAIT_MS });
    assert.equal(final.status, 'succeeded', final.error);

    const rows = await client.exportMetrics(experiment.id);
    assert.deepEqual(
      rows.map((r) => r.step),
      [1, 3_000_000_000, 3_000_000_001],
    );
    assert.deepEqual(
      rows.map((r) => r.values.score),
      [0.1, 0.5, 0.7],
    );
    const [trial] = await client.trials(experiment.id);
    assert.equal(trial!.lastStep, 3_000_000_001);
    assert.deepEqual(trial!.stepWarnings, {
      count: 4,
      last: 'step 7 is before the last step reported (3000000000)',
    });

    const shown = await trellis(['trials', experiment.id, '--coordinator', cluster.address], cluster.dir, {
      timeoutMs: 60_000,
    });
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(
      shown.stdout,
      /trial 0: 4 reports refused for their step \(latest: step 7 is before the last step reported \(3000000000\)\)/,
    );
    const json = await trellis(['trials', experiment.id, '--json', '--coordinator', cluster.address], cluster.dir, {
      timeoutMs: 60_000,
    });
    const doc = JSON.parse(json.stdout) as { trials: { stepWarnings?: { count: number } }[] };
    assert.equal(doc.trials[0]!.stepWarnings?.count, 4);
  });

  it('flags a request larger than any connected worker as the pending reason', async () => {
    const { experiment } = await client.submit(spec('too-big', { cpus: 8 }));
    const event = await cluster.waitForEvent(
      (e) =>
        e.experimentId === experiment.id && e.type === 'trial.state' && typeof e.payload.pendingReason === 'string',
      30_000,
    );
    assert.match(
      String((event.payload as { pendingReason?: string }).pendingReason),
      /needs cpus 8 \(most on a worker: 1\)/,
    );
    const [trial] = await client.trials(experiment.id);
    assert.match(trial!.pendingReason ?? '', /needs cpus 8 \(most on a worker: 1\)/);
    await client.cancel(experiment.id);
  });
});
