/**
 * The pipeline engine over the real path: stages run as child sweeps on worker processes
 * (command runtime, test/fixtures/integration/stage.mjs), outputs flow through references.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TrellisClient } from '../../client/index.js';
import { CLI_PATH, stopChild } from '../../cli/embedded.js';
import { exited, startCluster, waitForWorkers } from '../helpers/cluster.js';
import { WAIT_MS, within } from '../helpers/deadline.js';
import { waitUntil } from '../helpers/services.js';
import type { StageState } from '../../shared/types.js';

const STAGE = fileURLToPath(new URL('../../../test/fixtures/integration/stage.mjs', import.meta.url));

function stage(
  name: string,
  needs: string[],
  markers: string,
  options: Record<string, unknown> = {},
): Record<string, unknown> {
  return { name, needs, command: [process.execPath, STAGE], params: { options: { name, markers, ...options } } };
}

function pipelineSpec(name: string, stages: unknown[], extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ apiVersion: 'trellis/v1', kind: 'Pipeline', name, stages, ...extra });
}

function runs(markers: string, name: string): number {
  const file = join(markers, `${name}.runs`);
  return existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n').length : 0;
}

function time(markers: string, name: string, what: 'started' | 'ended'): number {
  return Number(readFileSync(join(markers, `${name}.${what}`), 'utf8'));
}

function stagesOf(experiment: { stages?: Record<string, unknown> }): Record<string, StageState> {
  return (experiment.stages ?? {}) as Record<string, StageState>;
}

describe('pipelines', () => {
  it('runs a diamond DAG: the branches in parallel, outputs flowing through references', async () => {
    const markers = mkdtempSync(join(tmpdir(), 'trellis-stages-'));
    const cluster = await startCluster({ workers: 2 });
    const client = new TrellisClient(cluster.address);
    try {
      await waitForWorkers(cluster, 2);
      const { experiment } = await client.submit(
        pipelineSpec('diamond', [
          stage('a', [], markers, { value: 1 }),
          // Each branch holds until the other has started (or 30 s pass): run one after the
          // other, the first would end before the second started.
          stage('b', ['a'], markers, {
            value: 10,
            inputs: ['${stages.a.outputs.value}'],
            waitFor: ['c'],
            holdMs: 30_000,
          }),
          stage('c', ['a'], markers, {
            value: 100,
            inputs: ['${stages.a.outputs.value}'],
            waitFor: ['b'],
            holdMs: 30_000,
          }),
          stage('d', ['b', 'c'], markers, {
            value: 1000,
            inputs: ['${stages.b.outputs.value}', '${stages.c.outputs.value}'],
          }),
        ]),
      );
      const final = await client.wait(experiment.id, undefined, { timeoutMs: WAIT_MS });
      assert.equal(final.status, 'succeeded', final.error);
      const stages = stagesOf(final);
      assert.deepEqual(Object.fromEntries(Object.entries(stages).map(([k, s]) => [k, s.status])), {
        a: 'succeeded',
        b: 'succeeded',
        c: 'succeeded',
        d: 'succeeded',
      });
      assert.equal(stages.b!.outputs!.value, 11);
      assert.equal(stages.c!.outputs!.value, 101);
      assert.equal(stages.d!.outputs!.value, 1000 + 11 + 101);
      assert.equal(stages.d!.metrics!.test_value, 1112);
      assert.deepEqual(stages.d!.inputs, { options: { name: 'd', markers, value: 1000, inputs: [11, 101] } });
      // b and c overlapped in time: independent branches ran in parallel.
      assert.ok(
        time(markers, 'b', 'started') < time(markers, 'c', 'ended') &&
          time(markers, 'c', 'started') < time(markers, 'b', 'ended'),
      );
      // d started only after both ended.
      assert.ok(time(markers, 'd', 'started') >= Math.max(time(markers, 'b', 'ended'), time(markers, 'c', 'ended')));
      for (const name of ['a', 'b', 'c', 'd']) assert.equal(runs(markers, name), 1);
      const stageEvents = cluster.seen.filter((e) => e.experimentId === experiment.id && e.type === 'stage.state');
      assert.deepEqual(
        stageEvents
          .filter((e) => e.type === 'stage.state' && e.payload.status === 'succeeded')
          .map((e) => e.stage)
          .sort(),
        ['a', 'b', 'c', 'd'],
      );
    } finally {
      client.close();
      await cluster.stop();
      rmSync(markers, { recursive: true, force: true });
    }
  });

  it('retries a failed stage per its retry policy without rerunning the finished ones', async () => {
    const markers = mkdtempSync(join(tmpdir(), 'trellis-stages-'));
    const cluster = await startCluster({ workers: 1 });
    const client = new TrellisClient(cluster.address);
    try {
      const retried = {
        ...stage('flaky', ['first'], markers, { value: 2, failUntil: 2, inputs: ['${stages.first.outputs.value}'] }),
        retry: { attempts: 2 },
      };
      const { experiment } = await client.submit(
        pipelineSpec('retry', [stage('first', [], markers, { value: 5 }), retried]),
      );
      const final = await client.wait(experiment.id, undefined, { timeoutMs: WAIT_MS });
      assert.equal(final.status, 'succeeded', final.error);
      assert.equal(stagesOf(final).flaky!.outputs!.value, 7);
      assert.equal(runs(markers, 'flaky'), 2, 'failed once, retried once');
      assert.equal(runs(markers, 'first'), 1, 'the finished stage did not run again');
      const [trial] = await client.trials(stagesOf(final).flaky!.childId!);
      assert.deepEqual(
        trial!.attemptHistory.map((a) => a.status),
        ['failed', 'succeeded'],
      );

      // A stage that keeps failing fails the pipeline; stages after it are skipped.
      const { experiment: doomed } = await client.submit(
        pipelineSpec('doomed', [
          { ...stage('bad', [], markers, { failUntil: 99 }), retry: { attempts: 2 } },
          stage('after', ['bad'], markers),
        ]),
      );
      const failed = await client.wait(doomed.id, undefined, { timeoutMs: WAIT_MS });
      assert.equal(failed.status, 'failed');
      assert.equal(stagesOf(failed).bad!.status, 'failed');
      assert.equal(stagesOf(failed).after!.status, 'skipped');
      assert.match(failed.error ?? '', /stage bad failed/);
      assert.equal(runs(markers, 'bad'), 2);
    } finally {
      client.close();
      await cluster.stop();
      rmSync(markers, { recursive: true, force: true });
    }
  });

  it('reuses a finished stage with the same resolved inputs (cache hit), not a changed one (miss), and never with cache off', async () => {
    const markers = mkdtempSync(join(tmpdir(), 'trellis-stages-'));
    const cluster = await startCluster({ workers: 1 });
    const client = new TrellisClient(cluster.address);
    try {
      const spec = (value: number, extra: Record<string, unknown> = {}) =>
        pipelineSpec(
          'cache',
          [stage('a', [], markers, { value }), stage('b', ['a'], markers, { inputs: ['${stages.a.outputs.value}'] })],
          extra,
        );
      const first = await client.wait((await client.submit(spec(1))).experiment.id, undefined, { timeoutMs: WAIT_MS });
      assert.equal(first.status, 'succeeded');
      assert.equal(runs(markers, 'a'), 1);

      const second = await client.wait((await client.submit(spec(1))).experiment.id, undefined, { timeoutMs: WAIT_MS });
      assert.equal(second.status, 'succeeded');
      assert.equal(stagesOf(second).a!.cached, true);
      assert.equal(stagesOf(second).b!.cached, true);
      assert.equal(stagesOf(second).b!.outputs!.value, 1);
      assert.equal(runs(markers, 'a'), 1, 'served from the cache: nothing ran');
      assert.equal(runs(markers, 'b'), 1);

      const changed = await client.wait((await client.submit(spec(2))).experiment.id, undefined, {
        timeoutMs: WAIT_MS,
      });
      assert.equal(stagesOf(changed).a!.cached, false);
      assert.equal(stagesOf(changed).b!.cached, false, 'its input changed, so b is a miss too');
      assert.equal(stagesOf(changed).b!.outputs!.value, 2);
      assert.equal(runs(markers, 'a'), 2);

      const { experiment } = await client.submit(spec(1), { noCache: true });
      const uncached = await client.wait(experiment.id, undefined, { timeoutMs: WAIT_MS });
      assert.equal(stagesOf(uncached).a!.cached, false);
      assert.equal(runs(markers, 'a'), 3);

      // Another owner submitting the same spec is never served someone else's stage results.
      const foreign = await cluster.coordinator.submit(spec(1), undefined, { owner: 'mallory' });
      const theirs = await client.wait(foreign.experiment.id, undefined, { timeoutMs: WAIT_MS });
      assert.equal(stagesOf(theirs).a!.cached, false, "another owner's pipeline does not reuse the cache");
      assert.equal(runs(markers, 'a'), 4);
    } finally {
      client.close();
      await cluster.stop();
      rmSync(markers, { recursive: true, force: true });
    }
  });

  it('survives a coordinator killed mid-pipeline without rerunning finished stages', async () => {
    const markers = mkdtempSync(join(tmpdir(), 'trellis-stages-'));
    const dir = mkdtempSync(join(tmpdir(), 'trellis-coord-'));
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const address = `127.0.0.1:${port}`;
    const env = { ...process.env, MONGODB_URI: '', NATS_URL: '', TRELLIS_LEASE_MS: '3000', TRELLIS_LOG_LEVEL: 'info' };
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
          child.once('exit', (code) => reject(new Error(`coordinator exited ${code}: ${log.slice(-1500)}`)));
        }),
        30_000,
        "the coordinator's 'coordinator serving' log line",
      );
      return child;
    };
    let coordinator = await startCoordinator();
    const worker = spawn(
      process.execPath,
      [CLI_PATH, 'worker', '--coordinator', address, '--cpus', '2', '--id', 'pipeline-worker', '--allow-command'],
      { env, stdio: 'ignore' },
    );
    const client = new TrellisClient(address, { timeoutMs: 5000 });
    try {
      const { experiment } = await client.submit(
        pipelineSpec('restart', [
          stage('a', [], markers, { value: 1 }),
          stage('b', ['a'], markers, { value: 2, inputs: ['${stages.a.outputs.value}'], holdMs: 2500 }),
          stage('c', ['b'], markers, { inputs: ['${stages.b.outputs.value}'] }),
        ]),
      );
      // Kill the coordinator while b is running (a has finished).
      // The marker file is the stage program's only sign of life visible from here: polled, bounded.
      await waitUntil(() => existsSync(join(markers, 'b.started')), 60_000, "stage b's program to start (b.started)");
      coordinator.kill('SIGKILL');
      await exited(coordinator);
      coordinator = await startCoordinator();

      const final = await client.wait(experiment.id, undefined, { timeoutMs: WAIT_MS });
      assert.equal(final.status, 'succeeded', final.error);
      const stages = stagesOf(final);
      assert.equal(stages.c!.outputs!.value, 3);
      assert.equal(runs(markers, 'a'), 1, 'a finished before the kill and was not rerun');
      assert.equal(runs(markers, 'c'), 1);
      assert.ok(runs(markers, 'b') >= 1);
      assert.equal(
        (await client.list()).filter((e) => e.name === 'restart.b').length,
        1,
        'one child sweep for b, found again after the restart',
      );
    } finally {
      client.close();
      await stopChild(worker, 5000);
      await stopChild(coordinator, 5000);
      rmSync(markers, { recursive: true, force: true });
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
