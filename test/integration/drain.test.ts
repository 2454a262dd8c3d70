/**
 * Drain and preemption with real processes: a worker told to stop (SIGTERM, or an operator's
 * `trellis worker drain ID` through the DrainWorker RPC) takes no new work, asks its running
 * program to checkpoint (SIGTERM; the program saves its step), hands the attempt back as
 * `preempted` and exits within its grace time. The coordinator requeues the trial at once (the
 * lease here is a minute long: nothing waits for it) on the other worker, which resumes from
 * the checkpoint; the preemption does not count against maxAttempts (1 here).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import type { ChildProcess } from 'node:child_process';
import { TrellisClient } from '../../client/index.js';
import { exited, startCluster, type Cluster } from '../helpers/cluster.js';
import { trellis } from '../helpers/cli.js';
import { within } from '../helpers/deadline.js';

const DRAINABLE = fileURLToPath(new URL('../../../test/fixtures/programs/drainable.mjs', import.meta.url));
const GRACE_S = 8;
const LEASE_MS = 60_000;

function spec(name: string): string {
  return JSON.stringify({
    apiVersion: 'trellis/v1',
    kind: 'Sweep',
    name,
    trial: {
      runtime: 'command',
      command: [process.execPath, DRAINABLE],
      objective: { metric: 'loss', mode: 'min' },
      epochs: 1200,
      stopGraceSeconds: 5,
    },
    search: { algorithm: 'grid', space: { more: { choice: [5] }, delay: { choice: [100] } } },
    budget: { trials: 1, concurrency: 1, maxAttempts: 1 },
  });
}

/** Starts a worker and waits for its welcome. */
async function worker(cluster: Cluster, id: string): Promise<ChildProcess> {
  const child = cluster.spawnWorker(id, { args: ['--grace', String(GRACE_S)] });
  await cluster.waitForEvent((e) => e.type === 'worker.state' && e.workerId === id && e.payload.status === 'connected');
  return child;
}

/**
 * Runs one sweep on worker `first` (the only one connected), drains it with `drain` once the
 * program has reported step 2, and checks the preempted attempt, the resume on `second` (started
 * then; returned) from the checkpoint, and the exit.
 */
async function drainScenario(
  cluster: Cluster,
  client: TrellisClient,
  [first, a]: [string, ChildProcess],
  second: string,
  drain: (child: ChildProcess) => Promise<void>,
): Promise<ChildProcess> {
  const { experiment } = await client.submit(spec(`drain-${first}`));
  await cluster.waitForEvent(
    (e) => e.type === 'trial.metric' && e.experimentId === experiment.id && Number(e.payload.step) >= 2,
  );
  const b = await worker(cluster, second);

  const drainedAt = Date.now();
  await drain(a);
  const code = await within(exited(a), (GRACE_S + 5) * 1000, `worker ${first} to exit after the drain`);
  const exitMs = Date.now() - drainedAt;
  assert.equal(code, 0, `worker ${first} exits 0 after a drain`);
  assert.ok(exitMs < GRACE_S * 1000, `worker exited within its grace time (${exitMs} ms)`);

  const done = await within(client.wait(experiment.id), 60_000, 'the sweep to finish');
  assert.equal(done.status, 'succeeded');
  const [trial] = await client.trials(experiment.id);
  assert.equal(trial!.status, 'succeeded');
  const [preempted, resumed] = trial!.attemptHistory;
  assert.equal(trial!.attemptHistory.length, 2, 'one preempted attempt, one that finished (maxAttempts is 1)');
  assert.equal(preempted!.status, 'preempted');
  assert.equal(preempted!.workerId, first);
  assert.equal(preempted!.failureKind, 'preempted');
  assert.match(preempted!.failureEvidence ?? '', new RegExp(`${first} was drained`));
  assert.equal(resumed!.status, 'succeeded');
  assert.equal(resumed!.workerId, second);
  // Requeued at once: the next attempt started long before the preempted one's lease could expire.
  assert.ok(
    resumed!.startedAt - preempted!.endedAt! < LEASE_MS / 4,
    `requeued ${resumed!.startedAt - preempted!.endedAt!} ms after the preemption`,
  );

  // Resumed from the checkpoint written on SIGTERM: the first attempt's last step.
  const rows = await client.exportMetrics(experiment.id);
  const steps = (attempt: number): number[] => rows.filter((r) => r.attempt === attempt).map((r) => r.step);
  const checkpointed = Math.max(...steps(1));
  assert.ok(checkpointed >= 2, `first attempt reached step ${checkpointed}`);
  assert.equal(trial!.info?.resumedFromStep, checkpointed);
  assert.equal(Math.min(...steps(2)), checkpointed + 1, 'the resumed attempt continues after the checkpoint');
  assert.equal(Math.max(...steps(2)), checkpointed + 5);
  return b;
}

describe('drain and preemption', { timeout: 240_000 }, () => {
  it('SIGTERM, then `trellis worker drain`: attempts preempted, resumed elsewhere from the checkpoint, not counted', async () => {
    const cluster = await startCluster({ workers: 0, leaseMs: LEASE_MS });
    const client = new TrellisClient(cluster.address);
    try {
      const a = await worker(cluster, 'drain-a');
      const b = await drainScenario(cluster, client, ['drain-a', a], 'drain-b', async (child) => {
        child.kill('SIGTERM');
      });

      await drainScenario(cluster, client, ['drain-b', b], 'drain-c', async () => {
        const cli = await trellis(
          ['worker', 'drain', 'drain-b', '--coordinator', cluster.address, '--json'],
          cluster.dir,
          {
            timeoutMs: 30_000,
          },
        );
        assert.equal(cli.code, 0, cli.stderr);
        const out = JSON.parse(cli.stdout) as { workerId: string; runningAttemptIds: string[] };
        assert.equal(out.workerId, 'drain-b');
        assert.equal(out.runningAttemptIds.length, 1);
        assert.match(out.runningAttemptIds[0]!, /-t0-a1$/);
      });

      const workers = await client.workers();
      assert.equal(workers.find((w) => w.id === 'drain-b')?.draining, true, 'a drained worker stays marked draining');

      // Unknown or gone workers: NOT_FOUND, exit 2 with the reason.
      const gone = await trellis(['worker', 'drain', 'drain-a', '--coordinator', cluster.address], cluster.dir, {
        timeoutMs: 30_000,
      });
      assert.equal(gone.code, 2);
      assert.match(gone.stderr, /worker drain-a is not connected/);
    } finally {
      client.close();
      await cluster.stop();
    }
  });
});
