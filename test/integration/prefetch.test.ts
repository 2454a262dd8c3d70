/**
 * Prefetch (budget.prefetch, issue 15 §5) with real worker processes: the next attempt is queued
 * behind a running one on its worker, prepared there while that one runs, and started the moment
 * that one's program exits; a worker killed with an attempt queued on it gets it run once
 * elsewhere at no attempt's cost; a cancel or a drain drops it unrun, and what was prepared for
 * it is removed.
 *
 * The program (fixtures/integration/gated.mjs) runs until the test creates its `.go` file, so a
 * running attempt is held as long as the test needs. That the worker holds the queued one is
 * seen through its lease: only a worker that holds it names it in its heartbeats, which renews it.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TrellisClient } from '../../client/index.js';
import { exited, startCluster, type Cluster } from '../helpers/cluster.js';
import { waitUntil } from '../helpers/services.js';
import type { TrialDoc } from '../../shared/types.js';

const GATED = fileURLToPath(new URL('../../../test/fixtures/integration/gated.mjs', import.meta.url));
const WAIT = 30_000;

function spec(markers: string, trials: number, maxAttempts = 3): string {
  return JSON.stringify({
    apiVersion: 'trellis/v1',
    kind: 'Sweep',
    name: 'prefetch',
    trial: {
      runtime: 'command',
      command: [process.execPath, GATED],
      objective: { metric: 'score', mode: 'max' },
      stopGraceSeconds: 1,
    },
    search: { algorithm: 'random', space: { markers: { choice: [markers] } } },
    budget: { trials, concurrency: 1, maxAttempts, prefetch: true },
  });
}

async function trials(cluster: Cluster, experimentId: string): Promise<TrialDoc[]> {
  return (await cluster.coordinator.store.listTrials(experimentId)).sort((a, b) => a.number - b.number);
}

/**
 * Waits until trial `number`'s first attempt is queued behind another on its worker, and that
 * worker holds it (its heartbeat renewed the lease). Returns the attempt's id and worker.
 */
async function heldQueued(
  cluster: Cluster,
  experimentId: string,
  number: number,
): Promise<{ attemptId: string; workerId: string }> {
  const { coordinator } = cluster;
  const attempt = await waitUntil(
    async () => {
      const attempt = (await trials(cluster, experimentId))[number]?.attempts[0];
      return attempt && coordinator.leases.get(attempt.id) && attempt;
    },
    WAIT,
    `trial ${number}'s first attempt`,
  );
  assert.ok(coordinator.dispatcher.isQueued(attempt.id), 'queued behind the running attempt');
  const granted = coordinator.leases.get(attempt.id)!.expiresAt;
  await waitUntil(
    () => (coordinator.leases.get(attempt.id)?.expiresAt ?? 0) > granted,
    WAIT,
    'the worker to name the queued attempt in a heartbeat',
  );
  return { attemptId: attempt.id, workerId: attempt.workerId };
}

/**
 * Waits until the worker logged that the held attempt is prepared: its temp directory made, its
 * program's request built on the spawner it had then, waiting at its slot.
 */
async function preparedOn(cluster: Cluster, workerLog: number, attemptId: string): Promise<void> {
  const log = join(cluster.dir, 'logs', `worker-${workerLog}.log`);
  await waitUntil(
    () =>
      existsSync(log) &&
      readFileSync(log, 'utf8')
        .split('\n')
        .some((line) => line.includes(attemptId) && line.includes('attempt prepared')),
    WAIT,
    `the worker to prepare ${attemptId}`,
  );
}

/** The temp directories a worker made for an attempt (command/workspace.ts names them after it). */
const workspacesOf = (tmp: string, attemptId: string): string[] =>
  readdirSync(tmp).filter((name) =>
    name.startsWith(`trellis-${attemptId.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 40)}-`),
  );

/** The worker's spawner (its Perl child, worker/runtimes/command/spawner.ts). */
function spawnerOf(workerPid: number): number {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // pid (comm) state ppid ...
      const [comm, rest] = [
        stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')),
        stat.slice(stat.lastIndexOf(')') + 2),
      ];
      if (comm === 'perl' && Number(rest.split(' ')[1]) === workerPid) return Number(entry);
    } catch {
      // gone meanwhile
    }
  }
  throw new Error(`worker ${workerPid} has no spawner`);
}

const startsOf = (markers: string, n: number): number =>
  existsSync(join(markers, `${n}.started`))
    ? readFileSync(join(markers, `${n}.started`), 'utf8')
        .trim()
        .split('\n').length
    : 0;

/**
 * Runs `body` on a cluster with no worker yet (each test spawns its own), with a client, a folder
 * for the program's markers and the workers' own temp directory (their TMPDIR: the workspaces
 * of the attempts they prepare are seen there); removes all of them afterwards.
 */
async function onCluster(
  workerEnv: Record<string, string>,
  body: (c: { cluster: Cluster; client: TrellisClient; markers: string; workerTmp: string }) => Promise<void>,
): Promise<void> {
  const markers = mkdtempSync(join(tmpdir(), 'trellis-prefetch-'));
  const workerTmp = mkdtempSync(join(tmpdir(), 'trellis-prefetch-tmp-'));
  const cluster = await startCluster({ workers: 0, leaseMs: 1500, workerEnv: { TMPDIR: workerTmp, ...workerEnv } });
  const client = new TrellisClient(cluster.address);
  try {
    await body({ cluster, client, markers, workerTmp });
  } finally {
    client.close();
    await cluster.stop();
    rmSync(markers, { recursive: true, force: true });
    rmSync(workerTmp, { recursive: true, force: true });
  }
}

describe('prefetch: an attempt queued behind a running one', () => {
  it('is held on its worker and starts there when the running one ends, never beside it', async () => {
    await onCluster({ TRELLIS_DISPATCH_TRACE: '1' }, async ({ cluster, client, markers }) => {
      cluster.spawnWorker('pf-1');
      const { experiment } = await client.submit(spec(markers, 3));
      const held = await heldQueued(cluster, experiment.id, 1);
      await preparedOn(cluster, 0, held.attemptId);
      // One slot: the queued attempt's program has not started while the first one runs.
      assert.equal(startsOf(markers, 1), 0);
      for (const n of [0, 1, 2]) writeFileSync(join(markers, `${n}.go`), '');
      await cluster.waitForEvent(
        (e) => e.type === 'experiment.state' && e.experimentId === experiment.id && e.payload.status === 'succeeded',
        WAIT,
      );
      const done = await trials(cluster, experiment.id);
      assert.deepEqual(
        done.map((t) => t.attempts.map((a) => a.status)),
        [['succeeded'], ['succeeded'], ['succeeded']],
      );
      for (const n of [1, 2]) {
        const trace = done[n]!.info?.trace as Record<string, number> | undefined;
        assert.ok(trace?.queued !== undefined, `trial ${n} was held on its worker (trace: ${JSON.stringify(trace)})`);
        assert.ok(trace.started! >= trace.queued!, 'started after it was held');
        // The slot never ran two programs at once: each started after the one before it ended.
        const started = Number(readFileSync(join(markers, `${n}.started`), 'utf8').split(' ')[1]);
        assert.ok(started >= Number(readFileSync(join(markers, `${n - 1}.ended`), 'utf8')));
        assert.equal(startsOf(markers, n), 1);
      }
      // Trial 1 was prepared while trial 0 ran, and its program was asked for in the step that
      // saw trial 0's program exit: before trial 0's outcome went out.
      const [ahead, next] = [done[0]!.info?.trace, done[1]!.info?.trace] as Record<string, number>[];
      assert.ok(
        next!.workspace! < ahead!.exited!,
        `prepared while the one ahead ran (${JSON.stringify({ ahead, next })})`,
      );
      assert.ok(next!.started! >= ahead!.exited!, 'started after the one ahead exited');
      assert.ok(
        next!.spawn_asked! <= ahead!.result_sent!,
        "its program asked for before the one ahead's result went out",
      );
    });
  });

  it("starts on a fresh spawner when the worker's spawner died while it waited", async () => {
    await onCluster({}, async ({ cluster, client, markers }) => {
      const worker = cluster.spawnWorker('pf-s');
      const { experiment } = await client.submit(spec(markers, 2, 2));
      const held = await heldQueued(cluster, experiment.id, 1);
      await preparedOn(cluster, 0, held.attemptId);
      // The running program dies with the spawner; the prepared one was made ready with it.
      process.kill(spawnerOf(worker.pid!), 'SIGKILL');
      await waitUntil(() => startsOf(markers, 1) === 1, WAIT, 'the held attempt to start');
      for (const n of [0, 1]) writeFileSync(join(markers, `${n}.go`), '');
      await cluster.waitForEvent(
        (e) => e.type === 'experiment.state' && e.experimentId === experiment.id && e.payload.status === 'succeeded',
        WAIT,
      );
      const done = await trials(cluster, experiment.id);
      assert.deepEqual(
        done[1]!.attempts.map((a) => [a.id, a.status]),
        [[held.attemptId, 'succeeded']],
        'the held attempt ran on the new spawner, first time',
      );
      assert.equal(done[0]!.attempts[0]!.status, 'failed', 'the running one was lost with the spawner');
      assert.match(done[0]!.attempts[0]!.error ?? '', /spawner/);
      assert.equal(done[0]!.status, 'succeeded');
    });
  });

  it('runs once elsewhere when its worker is killed, costing no attempt', async () => {
    await onCluster({}, async ({ cluster, client, markers }) => {
      const workers = new Map(
        [cluster.spawnWorker('pf-a'), cluster.spawnWorker('pf-b')].map((w, i) => [['pf-a', 'pf-b'][i]!, w]),
      );
      await waitUntil(() => cluster.coordinator.dispatcher.workerCounts().connected === 2, WAIT, 'two workers');
      // maxAttempts 1: a queued attempt lost with its worker must not use up the trial's attempts.
      const { experiment } = await client.submit(spec(markers, 2, 1));
      const queued = await heldQueued(cluster, experiment.id, 1);
      const victim = workers.get(queued.workerId)!;
      victim.kill('SIGKILL');
      await exited(victim);
      // Nothing of trial 1 ran on the killed worker; let both run to their end on the other one.
      assert.equal(startsOf(markers, 1), 0);
      for (const n of [0, 1]) writeFileSync(join(markers, `${n}.go`), '');
      await cluster.waitForEvent(
        (e) => e.type === 'experiment.state' && e.experimentId === experiment.id && e.payload.status === 'succeeded',
        WAIT,
      );
      const done = await trials(cluster, experiment.id);
      const second = done[1]!;
      assert.equal(second.status, 'succeeded');
      assert.deepEqual(
        second.attempts.map((a) => a.status),
        ['handed_back', 'succeeded'],
      );
      assert.equal(second.attempts[0]!.workerId, queued.workerId);
      assert.notEqual(second.attempts[1]!.workerId, queued.workerId);
      assert.match(second.attempts[0]!.error ?? '', /queued there and had not started/);
      // Its program ran exactly once, on the surviving worker.
      assert.equal(startsOf(markers, 1), 1);
      assert.equal(done[0]!.status, 'succeeded');
    });
  });

  it('goes back unstarted when its worker is drained, and runs once elsewhere', async () => {
    await onCluster({}, async ({ cluster, client, markers, workerTmp }) => {
      cluster.spawnWorker('pf-d');
      cluster.spawnWorker('pf-e');
      await waitUntil(() => cluster.coordinator.dispatcher.workerCounts().connected === 2, WAIT, 'two workers');
      const { experiment } = await client.submit(spec(markers, 2, 1));
      const queued = await heldQueued(cluster, experiment.id, 1);
      await preparedOn(cluster, queued.workerId === 'pf-d' ? 0 : 1, queued.attemptId);
      assert.equal(workspacesOf(workerTmp, queued.attemptId).length, 1, 'its workspace was made ahead of its turn');
      const named = await client.drainWorker(queued.workerId);
      assert.ok(named.includes(queued.attemptId), 'the drain names the queued attempt');
      for (const n of [0, 1]) writeFileSync(join(markers, `${n}.go`), '');
      await cluster.waitForEvent(
        (e) => e.type === 'experiment.state' && e.experimentId === experiment.id && e.payload.status === 'succeeded',
        WAIT,
      );
      const second = (await trials(cluster, experiment.id))[1]!;
      assert.deepEqual(
        second.attempts.map((a) => [a.status, a.workerId === queued.workerId]),
        [
          ['handed_back', true],
          ['succeeded', false],
        ],
      );
      assert.equal(startsOf(markers, 1), 1, 'its program ran once, on the other worker');
      // What the drained worker prepared for it is gone (the second attempt's own was removed
      // after its result).
      await waitUntil(
        () => workspacesOf(workerTmp, queued.attemptId).length === 0,
        WAIT,
        "the handed-back attempt's workspace to be removed",
      );
    });
  });

  it('is dropped unrun when the sweep is cancelled', async () => {
    await onCluster({}, async ({ cluster, client, markers, workerTmp }) => {
      cluster.spawnWorker('pf-c');
      const { experiment } = await client.submit(spec(markers, 2));
      const queued = await heldQueued(cluster, experiment.id, 1);
      await preparedOn(cluster, 0, queued.attemptId);
      assert.equal(workspacesOf(workerTmp, queued.attemptId).length, 1, 'its workspace was made ahead of its turn');
      await client.cancel(experiment.id);
      // The worker says so in its log when it drops a held assignment (it never starts it then).
      const log = join(cluster.dir, 'logs', 'worker-0.log');
      await waitUntil(
        () => existsSync(log) && readFileSync(log, 'utf8').includes('dropping a held attempt before it started'),
        WAIT,
        'the worker to drop the queued attempt',
      );
      const done = await trials(cluster, experiment.id);
      assert.deepEqual(
        done[1]!.attempts.map((a) => [a.id, a.status]),
        [[queued.attemptId, 'cancelled']],
      );
      assert.equal(startsOf(markers, 1), 0);
      assert.equal(cluster.coordinator.dispatcher.isQueued(queued.attemptId), false);
      await waitUntil(
        () => workspacesOf(workerTmp, queued.attemptId).length === 0,
        WAIT,
        "the dropped attempt's workspace to be removed",
      );
    });
  });
});
