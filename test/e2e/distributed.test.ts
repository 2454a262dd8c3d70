/**
 * Distributed end to end with real processes: a `trellis coordinator` process on MongoDB
 * (FerretDB) and NATS JetStream, two `trellis worker` processes, and the client library.
 * The coordinator is SIGKILLed mid-sweep and restarted; NATS is restarted mid-sweep; MongoDB is
 * stopped and started again.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { TrellisClient } from '../../client/index.js';
import { CLI_PATH, stopChild } from '../../cli/embedded.js';
import { WAIT_MS, within } from '../helpers/deadline.js';
import { mongoUri, natsUrl, uniqueName } from '../helpers/services.js';
import { exited, sweepSpec } from '../helpers/cluster.js';
import { projectRoot } from '../../shared/paths.js';
import type { TrellisEvent } from '../../shared/events.js';

interface ServicesModule {
  restart(which: 'nats' | 'mongo'): Promise<void>;
  stop(which: 'nats' | 'mongo'): Promise<void>;
  start(which: 'nats' | 'mongo'): Promise<void>;
}

async function services(): Promise<ServicesModule> {
  return (await import(pathToFileURL(join(projectRoot(), 'scripts', 'services.mjs')).href)) as ServicesModule;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
}

interface Deployment {
  address: string;
  env: NodeJS.ProcessEnv;
  coordinator: ChildProcess;
  workers: ChildProcess[];
  dir: string;
  startCoordinator(): Promise<ChildProcess>;
  close(): Promise<void>;
}

async function deploy(leaseMs = 3000): Promise<Deployment> {
  const port = await freePort();
  const address = `127.0.0.1:${port}`;
  const dir = mkdtempSync(join(tmpdir(), 'trellis-dist-'));
  const env = {
    ...process.env,
    MONGODB_URI: mongoUri(),
    NATS_URL: natsUrl(),
    TRELLIS_DB: uniqueName('trellis_e2e'),
    TRELLIS_LEASE_MS: String(leaseMs),
    TRELLIS_LOG_LEVEL: 'info',
  };
  const startCoordinator = async (): Promise<ChildProcess> => {
    const child = spawn(process.execPath, [CLI_PATH, 'coordinator', '--listen', address, '--dir', dir], {
      env,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let log = '';
    await within(
      new Promise<void>((resolve, reject) => {
        child.stderr!.on('data', (d: Buffer) => {
          log += d.toString();
          if (log.includes('coordinator serving')) resolve();
        });
        child.once('exit', (code) => reject(new Error(`coordinator exited ${code}: ${log.slice(-2000)}`)));
      }),
      30_000,
      "the coordinator's 'coordinator serving' log line",
    );
    child.stderr!.resume();
    return child;
  };
  const coordinator = await startCoordinator();
  const workers = [0, 1].map((n) =>
    spawn(
      process.execPath,
      [CLI_PATH, 'worker', '--coordinator', address, '--cpus', '1', '--id', `dist-worker-${n}`, '--allow-command'],
      {
        env: { ...env, MONGODB_URI: '', NATS_URL: '' }, // workers hold no database or NATS credentials
        stdio: 'ignore',
      },
    ),
  );
  const deployment: Deployment = {
    address,
    env,
    coordinator,
    workers,
    dir,
    startCoordinator,
    close: async () => {
      await Promise.all(workers.map((w) => stopChild(w, 5000)));
      await stopChild(deployment.coordinator, 5000);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return deployment;
}

/** `trellis watch ID --from-start --json` as a user runs it; returns the events it printed. */
function watchFromStart(id: string, env: NodeJS.ProcessEnv, address: string): Promise<TrellisEvent[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI_PATH, 'watch', id, '--from-start', '--json', '--coordinator', address], {
      env,
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`watch exited ${code}: ${err.slice(-2000)}`));
      resolve(
        out
          .trim()
          .split('\n')
          .filter(Boolean)
          .map((line) => JSON.parse(line) as TrellisEvent),
      );
    });
  });
}

function assertContiguous(events: TrellisEvent[]): void {
  assert.ok(events.length > 0);
  events.forEach((e, i) => assert.equal(e.seq, i + 1, `seq ${e.seq} at position ${i}`));
}

async function waitFor<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read().catch(() => undefined);
    if (value !== undefined && done(value)) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('distributed: coordinator + 2 workers + MongoDB + NATS JetStream', () => {
  it('survives a SIGKILLed coordinator: exactly the budgeted trials, each counted once, contiguous seq', async () => {
    const d = await deploy();
    const client = new TrellisClient(d.address, { timeoutMs: 5000 });
    try {
      const { experiment } = await client.submit(
        sweepSpec({ name: 'kill-coordinator', trials: 6, concurrency: 2, steps: 5, delay: 120 }),
      );
      // Mid-sweep: at least one trial done, others still to come.
      await waitFor(
        () => client.trials(experiment.id),
        (ts) => ts.some((t) => t.status === 'succeeded') && ts.length < 6,
      );
      d.coordinator.kill('SIGKILL');
      await exited(d.coordinator);
      d.coordinator = await d.startCoordinator();

      const final = await client.wait(experiment.id, undefined, { timeoutMs: WAIT_MS });
      assert.equal(final.status, 'succeeded');
      const trials = await client.trials(experiment.id);
      assert.deepEqual(
        trials.map((t) => t.number),
        [0, 1, 2, 3, 4, 5],
        'no number reused or skipped',
      );
      for (const t of trials) {
        assert.equal(t.status, 'succeeded');
        assert.equal(
          t.attemptHistory.filter((a) => a.status === 'succeeded').length,
          1,
          `trial ${t.number} counted once`,
        );
      }
      const viaNats = await watchFromStart(experiment.id, d.env, d.address);
      assertContiguous(viaNats);
      const viaCoordinator = await watchFromStart(experiment.id, { ...d.env, NATS_URL: '' }, d.address);
      assert.deepEqual(
        viaCoordinator.map((e) => [e.seq, e.type]),
        viaNats.map((e) => [e.seq, e.type]),
        'the same events with the same seq',
      );
      const succeeded = viaNats
        .filter((e) => e.type === 'trial.state' && e.payload.status === 'succeeded')
        .map((e) => e.trialNumber);
      assert.deepEqual(succeeded.sort(), [0, 1, 2, 3, 4, 5]);
    } finally {
      client.close();
      await d.close();
    }
  });

  it('keeps going when NATS restarts mid-sweep, and the replay misses no event', async () => {
    const d = await deploy();
    const client = new TrellisClient(d.address, { timeoutMs: 5000 });
    try {
      const { experiment } = await client.submit(
        sweepSpec({ name: 'restart-nats', trials: 4, concurrency: 2, steps: 5, delay: 120 }),
      );
      await waitFor(
        () => client.trials(experiment.id),
        (ts) => ts.some((t) => Object.keys(t.metrics).length > 0),
      );
      await (await services()).restart('nats');
      const final = await client.wait(experiment.id, undefined, { timeoutMs: WAIT_MS });
      assert.equal(final.status, 'succeeded');
      const viaNats = await watchFromStart(experiment.id, d.env, d.address);
      assertContiguous(viaNats);
      // Everything the coordinator stored reached the stream.
      const viaCoordinator = await watchFromStart(experiment.id, { ...d.env, NATS_URL: '' }, d.address);
      assert.equal(viaNats.length, viaCoordinator.length);
    } finally {
      client.close();
      await d.close();
    }
  });

  it('answers UNAVAILABLE while MongoDB is unreachable, and finishes intact when it is back', async () => {
    const d = await deploy();
    const client = new TrellisClient(d.address, { timeoutMs: 10_000 });
    const svc = await services();
    let mongoStopped = false;
    try {
      const { experiment } = await client.submit(
        sweepSpec({ name: 'mongo-outage', trials: 4, concurrency: 2, steps: 4, delay: 150 }),
      );
      await waitFor(
        () => client.trials(experiment.id),
        (ts) => ts.some((t) => t.status === 'running'),
      );
      await svc.stop('mongo');
      mongoStopped = true;
      await assert.rejects(client.get(experiment.id), { name: 'UnavailableError' });
      await svc.start('mongo');
      mongoStopped = false;
      const final = await client.wait(experiment.id, undefined, { timeoutMs: WAIT_MS });
      assert.equal(final.status, 'succeeded');
      const trials = await client.trials(experiment.id);
      assert.deepEqual(
        trials.map((t) => t.number),
        [0, 1, 2, 3],
      );
      for (const t of trials) assert.equal(t.status, 'succeeded');
      assertContiguous(await watchFromStart(experiment.id, { ...d.env, NATS_URL: '' }, d.address));
    } finally {
      if (mongoStopped) await svc.start('mongo');
      client.close();
      await d.close();
    }
  });

  it('NOT_FOUND for an unknown experiment, FAILED_PRECONDITION for cancelling a finished one', async () => {
    const d = await deploy();
    const client = new TrellisClient(d.address, { timeoutMs: 5000 });
    try {
      await assert.rejects(client.get('no-such-experiment'), { name: 'NotFoundError' });
      const { experiment } = await client.submit(
        sweepSpec({ name: 'finished', trials: 1, concurrency: 1, steps: 1, delay: 1 }),
      );
      assert.equal((await client.wait(experiment.id, undefined, { timeoutMs: WAIT_MS })).status, 'succeeded');
      await assert.rejects(client.cancel(experiment.id), (err: Error) => {
        assert.equal(err.name, 'FailedPreconditionError');
        assert.match(err.message, /already succeeded/);
        return true;
      });
      assert.equal((await client.get(experiment.id)).status, 'succeeded', 'the refused cancel changed nothing');
    } finally {
      client.close();
      await d.close();
    }
  });
});
