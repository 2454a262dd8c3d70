/**
 * GPU packing end to end with a real coordinator, a real worker process and real programs, on
 * the test-only fake GPU inventory (TRELLIS_FAKE_GPUS: two 16 GiB GPUs; no GPU is touched).
 * Trials declaring 6 GiB run two per GPU, four at once; a family without a declaration runs
 * its first trial on a whole GPU, is measured, and the next asks for the measured peak with the
 * margin; 20 GiB fits no GPU and says so in pending_reason.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TrellisClient } from '../../client/index.js';
import { startCluster, waitForWorkers } from '../helpers/cluster.js';
import { shareOf } from '../../coordinator/sweeps/gpu-packing.js';
import { spawnSync } from 'node:child_process';
import { CLI_PATH } from '../../cli/embedded.js';

const PROGRAM = fileURLToPath(new URL('../../../test/fixtures/programs/gpu_share.mjs', import.meta.url));
const GiB = 2 ** 30;

interface Logged {
  n: number;
  experiment: string;
  gpus: string;
  cuda: string;
  share: number;
  running: number;
}

describe('GPU packing (fake inventory, real worker process)', { timeout: 120_000 }, () => {
  it('packs declared shares two per GPU, learns a family share, and explains a request no GPU fits', async () => {
    const procs = mkdtempSync(join(tmpdir(), 'fake-gpu-procs-'));
    const cluster = await startCluster({
      workers: 1,
      cpusPerWorker: 8,
      workerEnv: { TRELLIS_FAKE_GPUS: '[{"total":"16Gi"},{"total":"16Gi"}]', TRELLIS_FAKE_GPU_PROCS: procs },
    });
    const client = new TrellisClient(cluster.address);
    try {
      const share = join(cluster.dir, 'share');
      mkdirSync(share);
      await waitForWorkers(cluster, 1);
      const spec = (name: string, resources: object, trials: number, concurrency: number, env: object) =>
        JSON.stringify({
          apiVersion: 'trellis/v1',
          kind: 'Sweep',
          name,
          trial: {
            runtime: 'command',
            command: [process.execPath, PROGRAM],
            objective: { metric: 'score', mode: 'max' },
            env: { SHARE_DIR: share, EXPERIMENT: name, ...env },
            stopGraceSeconds: 1,
          },
          resources: { cpus: 1, ...resources },
          search: { algorithm: 'grid', space: { batchSize: { choice: Array.from({ length: trials }, () => 32) } } },
          budget: { trials, concurrency, maxAttempts: 1 },
        });
      const packed = (
        await client.submit(
          spec('packed', { gpuMemory: '6Gi' }, 6, 6, { USE_BYTES: String(5 * GiB), WAIT_FOR: '4', HOLD_MS: '200' }),
        )
      ).experiment.id;
      const final = await client.wait(packed);
      assert.equal(final.status, 'succeeded', JSON.stringify(final));
      const log = readFileSync(join(share, 'log'), 'utf8')
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as Logged);
      const ofPacked = log.filter((l) => l.experiment === 'packed');
      assert.equal(ofPacked.length, 6);
      for (const l of ofPacked) {
        assert.ok(l.running <= 4, `never more than 4 at once: ${JSON.stringify(l)}`);
        assert.equal(l.share, 6 * GiB, 'TRELLIS_GPU_MEMORY is the declared share');
        assert.equal(l.cuda, l.gpus, 'CUDA_VISIBLE_DEVICES and TRELLIS_GPU name the same GPU');
        assert.match(l.gpus, /^[01]$/, 'one GPU each');
      }
      // Trials 0-3 each waited until four ran at once (or they would have failed).
      const firstFour = ofPacked.filter((l) => l.n < 4).map((l) => l.gpus);
      assert.deepEqual(firstFour.sort(), ['0', '0', '1', '1'], 'two per 16 GiB GPU');

      // Not declared: the family's first trial runs on a whole GPU and is measured (3 GiB).
      const learned = (
        await client.submit(spec('learned', { gpus: 1 }, 2, 1, { USE_BYTES: String(3 * GiB), HOLD_UNTIL_SEEN: '1' }))
      ).experiment.id;
      assert.equal((await client.wait(learned)).status, 'succeeded');
      const ofLearned = readFileSync(join(share, 'log'), 'utf8')
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as Logged)
        .filter((l) => l.experiment === 'learned')
        .sort((a, b) => a.n - b.n);
      assert.deepEqual(
        ofLearned.map((l) => l.share),
        [0, shareOf(3 * GiB)],
        'whole GPU first, then the measured peak x1.1 + 512 MiB',
      );

      // 20 GiB fits neither 16 GiB GPU: the trial waits and says why.
      const huge = (await client.submit(spec('huge', { gpuMemory: '20Gi' }, 1, 1, { USE_BYTES: '1' }))).experiment.id;
      await cluster.waitForEvent(
        (e) =>
          e.experimentId === huge &&
          e.type === 'trial.state' &&
          /gpuMemory 21474836480 bytes/.test(String(e.payload.pendingReason)),
        30_000,
      );
      const waiting = (await client.trials(huge)).filter((t) => t.pendingReason);
      assert.match(waiting[0]!.pendingReason!, /largest GPU on a worker: 17179869184 bytes/);
      await client.cancel(huge);
    } finally {
      client.close();
      await cluster.stop();
      rmSync(procs, { recursive: true, force: true });
    }
  });

  it('trellis worker --list-gpus shows the fake inventory with memory; a bad one exits 2 naming the variable', () => {
    const run = (fake: string) =>
      spawnSync(process.execPath, [CLI_PATH, 'worker', '--list-gpus'], {
        env: { ...process.env, TRELLIS_FAKE_GPUS: fake },
        encoding: 'utf8',
        timeout: 30_000,
      });
    const ok = run('[{"total":"16Gi","name":"fake-a"},{"total":"512Mi"}]');
    assert.equal(ok.status, 0, ok.stderr);
    assert.deepEqual(JSON.parse(ok.stdout), {
      gpus: [
        { id: '0', name: 'fake-a', memoryBytes: 16 * GiB },
        { id: '1', name: 'fake-gpu', memoryBytes: 512 * 2 ** 20 },
      ],
      source: 'fake',
    });
    const bad = run('[{"total":"huge"}]');
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /TRELLIS_FAKE_GPUS/);
  });
});
