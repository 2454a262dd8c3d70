/**
 * Integration over real gRPC on loopback: an in-process coordinator and worker processes.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TrellisClient } from '../../client/index.js';
import { exited, startCluster, sweepSpec, waitForWorkers } from '../helpers/cluster.js';
import { WAIT_MS } from '../helpers/deadline.js';

describe('a sweep on a coordinator with two worker processes', () => {
  it('runs every trial to the end, spread over both workers', async () => {
    const cluster = await startCluster({ workers: 2 });
    const client = new TrellisClient(cluster.address);
    try {
      await waitForWorkers(cluster, 2);
      const { experiment } = await client.submit(sweepSpec({ trials: 6, concurrency: 2, delay: 10 }));
      const final = await client.wait(experiment.id, undefined, { timeoutMs: WAIT_MS });
      assert.equal(final.status, 'succeeded');
      const trials = await client.trials(experiment.id);
      assert.deepEqual(
        trials.map((t) => t.number),
        [0, 1, 2, 3, 4, 5],
      );
      for (const t of trials) {
        assert.equal(t.status, 'succeeded');
        assert.equal(t.attempts, 1);
        assert.equal(typeof t.metrics.val_score, 'number');
      }
      assert.equal(new Set(trials.map((t) => t.worker)).size, 2, 'both workers ran trials');
      const best = trials.reduce((a, b) => (a.metrics.val_score! >= b.metrics.val_score! ? a : b));
      assert.equal(final.best?.trialId, best.id);
    } finally {
      client.close();
      await cluster.stop();
    }
  });

  it('requeues the trial of a worker killed with SIGKILL; it completes on the other worker and counts once', async () => {
    const cluster = await startCluster({ workers: 2, leaseMs: 3000 });
    const client = new TrellisClient(cluster.address);
    try {
      const [first] = await waitForWorkers(cluster, 2);
      const { experiment } = await client.submit(sweepSpec({ trials: 2, concurrency: 2, steps: 6, delay: 150 }));
      // Kill a worker as soon as one of its trials has reported a step.
      const metric = await cluster.waitForEvent((e) => e.type === 'trial.metric' && e.experimentId === experiment.id);
      const running = await client.trials(experiment.id);
      const victimId = running.find((t) => t.number === metric.trialNumber)!.worker;
      const victim = cluster.workers.find((w) => w.spawnargs.includes(victimId))!;
      assert.ok(victim, `worker ${victimId} is one of ours (${first})`);
      victim.kill('SIGKILL');
      await exited(victim);

      const final = await client.wait(experiment.id, undefined, { timeoutMs: WAIT_MS });
      assert.equal(final.status, 'succeeded');
      const trials = await client.trials(experiment.id);
      assert.equal(trials.length, 2, 'exactly the budgeted trials');
      const killed = trials.find((t) => t.number === metric.trialNumber)!;
      assert.equal(killed.status, 'succeeded');
      assert.equal(killed.attempts, 2);
      assert.equal(killed.attemptHistory[0]!.status, 'lost');
      assert.equal(killed.attemptHistory[0]!.workerId, victimId);
      assert.equal(killed.attemptHistory[1]!.status, 'succeeded');
      assert.notEqual(killed.attemptHistory[1]!.workerId, victimId);
      // Counted once: one succeeded attempt per trial, and one terminal state event per trial.
      const terminal = cluster.seen.filter(
        (e) => e.experimentId === experiment.id && e.type === 'trial.state' && e.payload.status === 'succeeded',
      );
      assert.deepEqual(terminal.map((e) => e.trialNumber).sort(), [0, 1]);
    } finally {
      client.close();
      await cluster.stop();
    }
  });

  it('keeps the attempt of a worker that loses its connection and comes back; no duplicate is handed out', async () => {
    const cluster = await startCluster({ workers: 0, leaseMs: 4000 });
    // A TCP proxy between the worker and the coordinator that the test can cut.
    const [host, port] = [cluster.address.split(':')[0]!, Number(cluster.address.split(':')[1])];
    const sockets = new Set<net.Socket>();
    const proxy = net.createServer((inbound) => {
      const outbound = net.connect(port, host);
      for (const s of [inbound, outbound]) {
        sockets.add(s);
        s.on('close', () => sockets.delete(s));
        s.on('error', () => s.destroy());
      }
      inbound.pipe(outbound).pipe(inbound);
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const proxyAddress = `127.0.0.1:${(proxy.address() as net.AddressInfo).port}`;
    const client = new TrellisClient(cluster.address);
    try {
      cluster.spawnWorker('flaky-worker', { address: proxyAddress });
      await waitForWorkers(cluster, 1);
      const { experiment } = await client.submit(sweepSpec({ trials: 1, concurrency: 1, steps: 8, delay: 150 }));
      await cluster.waitForEvent((e) => e.type === 'trial.metric' && e.experimentId === experiment.id);
      const connectedBefore = cluster.seen.filter(
        (e) => e.type === 'worker.state' && e.payload.status === 'connected',
      ).length;
      for (const s of sockets) s.destroy();
      // The worker notices, reconnects through the proxy, and says which attempt it still runs.
      await cluster.waitForEvent(
        (e) =>
          e.type === 'worker.state' &&
          e.payload.status === 'connected' &&
          cluster.seen.filter((x) => x.type === 'worker.state' && x.payload.status === 'connected').length >
            connectedBefore,
      );
      const final = await client.wait(experiment.id, undefined, { timeoutMs: WAIT_MS });
      assert.equal(final.status, 'succeeded');
      const [trial] = await client.trials(experiment.id);
      assert.equal(trial!.attempts, 1, 'the reconnecting worker kept its attempt; nothing was handed out twice');
      assert.equal(trial!.status, 'succeeded');
      const assigned = cluster.seen.filter(
        (e) => e.type === 'trial.state' && e.payload.status === 'running' && e.experimentId === experiment.id,
      );
      assert.equal(assigned.length, 1);
    } finally {
      client.close();
      for (const s of sockets) s.destroy();
      proxy.close();
      await cluster.stop();
    }
  });

  it('cancelling an experiment stops its running trials and starts no new ones', async () => {
    const markers = mkdtempSync(join(tmpdir(), 'trellis-markers-'));
    const cluster = await startCluster({ workers: 2, workerEnv: { TRELLIS_MARKER_DIR: markers } });
    const client = new TrellisClient(cluster.address);
    try {
      await waitForWorkers(cluster, 2);
      const { experiment } = await client.submit(sweepSpec({ trials: 6, concurrency: 2, steps: 200, delay: 100 }));
      await cluster.waitForEvent((e) => e.type === 'trial.metric' && e.experimentId === experiment.id);
      const cancelled = await client.cancel(experiment.id);
      assert.equal(cancelled.status, 'cancelled');
      await cluster.waitForEvent(
        (e) => e.type === 'experiment.state' && e.experimentId === experiment.id && e.payload.status === 'cancelled',
      );
      const trials = await client.trials(experiment.id);
      assert.ok(trials.length <= 2, `no trial beyond the running ones was created (${trials.length})`);
      for (const t of trials) assert.equal(t.status, 'cancelled');
      // Each program that started was told to stop (SIGTERM) by its worker.
      const started = await eventually(
        () => readdirSync(markers).filter((f) => f.endsWith('.started')),
        (list) => list.length > 0,
      );
      await eventually(
        () => readdirSync(markers).filter((f) => f.endsWith('.stopped')),
        (stopped) => stopped.length === started.length,
      );
      await assert.rejects(client.cancel(experiment.id), { name: 'FailedPreconditionError' });
    } finally {
      client.close();
      await cluster.stop();
    }
  });

  it('answers NOT_FOUND for an unknown experiment and INVALID_ARGUMENT naming the field for a bad spec', async () => {
    const cluster = await startCluster({ workers: 0 });
    const client = new TrellisClient(cluster.address);
    try {
      await assert.rejects(client.get('nope-123'), { name: 'NotFoundError' });
      const bad = JSON.parse(sweepSpec({})) as { search: { space: Record<string, unknown> } };
      bad.search.space.lr = { loguniform: [0, 1] };
      await assert.rejects(client.submit(JSON.stringify(bad)), (err: Error) => {
        assert.equal(err.name, 'InvalidArgumentError');
        assert.match(err.message, /search\.space\.lr\.loguniform: low must be > 0/);
        return true;
      });
      assert.deepEqual(await client.list(), [], 'a rejected spec stores nothing');
    } finally {
      client.close();
      await cluster.stop();
    }
  });
});

/** Polls `read` until `done` holds (files written by other processes have no event to wait on). */
async function eventually<T>(read: () => T, done: (value: T) => boolean, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
