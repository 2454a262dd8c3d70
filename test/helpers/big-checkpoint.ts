/**
 * The big-checkpoint scenario of issue 15, sized by the caller (64 MiB in `npm test`, 1 GiB in
 * `npm run test:scale`): a `command` trial writes a checkpoint of that size, its worker is
 * SIGKILLed once the checkpoint is stored, and the retry on the other worker resumes from a
 * byte-identical checkpoint (sha256 computed by the program on both sides). Meanwhile the
 * coordinator's (this process) and each worker's RSS is sampled from /proc/PID/status every
 * 50 ms; the peak over the transfer must stay within `rssSlackBytes` of the idle RSS measured
 * before the trial.
 */
import assert from 'node:assert/strict';
import { readFileSync, statfsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TrellisClient } from '../../client/index.js';
import { exited, startCluster, waitForWorkers } from './cluster.js';
import { waitUntil } from './services.js';

const PROGRAM = fileURLToPath(new URL('../../../test/fixtures/programs/big-checkpoint.mjs', import.meta.url));
const MiB = 1024 * 1024;

/** VmRSS of a process in bytes (0 when it is gone). */
export function rssOf(pid: number | 'self'): number {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

export interface BigCheckpointResult {
  sizeBytes: number;
  sha256: string;
  seconds: number;
  /** Idle and peak RSS per process (the coordinator is this process). */
  rss: { name: string; idle: number; peak: number }[];
}

export async function bigCheckpointScenario(sizeMiB: number, rssSlackBytes = 150 * 1e6): Promise<BigCheckpointResult> {
  // The bytes live up to six times on this disk at once (program, archive, staging, store,
  // download, unpacked): refuse to start rather than fill it.
  const { bavail, bsize } = statfsSync(tmpdir());
  const free = bavail * bsize;
  assert.ok(
    free > 7 * sizeMiB * MiB,
    `${tmpdir()} has ${Math.round(free / MiB)} MiB free; this test needs ${7 * sizeMiB} MiB`,
  );

  const cluster = await startCluster({ workers: 2, leaseMs: 3000 });
  const client = new TrellisClient(cluster.address);
  const samples = new Map<string, { pid: number | 'self'; idle: number; peak: number }>();
  let sampler: NodeJS.Timeout | undefined;
  try {
    await waitForWorkers(cluster, 2);
    const processes: [string, number | 'self'][] = [
      ['coordinator', 'self'],
      ...cluster.workers.map((w, i): [string, number] => [`worker-${i}`, w.pid!]),
    ];
    // Idle: the highest of ten samples 50 ms apart, with every process up and connected.
    for (const [name, pid] of processes) samples.set(name, { pid, idle: 0, peak: 0 });
    for (let i = 0; i < 10; i++) {
      for (const s of samples.values()) s.idle = Math.max(s.idle, rssOf(s.pid));
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    sampler = setInterval(() => {
      for (const s of samples.values()) s.peak = Math.max(s.peak, rssOf(s.pid));
    }, 50);

    const started = Date.now();
    const reports = cluster.dir;
    const { experiment } = await client.submit(
      JSON.stringify({
        apiVersion: 'trellis/v1',
        kind: 'Sweep',
        name: `checkpoint-${sizeMiB}mib`,
        trial: {
          runtime: 'command',
          command: [process.execPath, PROGRAM, String(sizeMiB), reports],
          objective: { metric: 'score', mode: 'max' },
          checkpointEvery: 1,
        },
        budget: { trials: 1, concurrency: 1, maxAttempts: 3 },
      }),
    );
    // The checkpoint is stored (the trial names it) while the first attempt still runs.
    const stored = await waitUntil(
      async () => (await cluster.coordinator.store.listTrials(experiment.id))[0]?.checkpoint,
      600_000,
      'the checkpoint stored',
    );
    const [running] = await client.trials(experiment.id);
    const victim = cluster.workers.find((w) => w.spawnargs.includes(running!.worker))!;
    assert.ok(victim, `the worker of the first attempt (${running!.worker})`);
    victim.kill('SIGKILL');
    await exited(victim);

    const final = await client.wait(experiment.id, undefined, { timeoutMs: 600_000 });
    clearInterval(sampler);
    sampler = undefined;
    assert.equal(final.status, 'succeeded');
    const [trial] = await client.trials(experiment.id);
    assert.deepEqual(
      trial!.attemptHistory.map((a) => a.status),
      ['lost', 'succeeded'],
    );
    assert.notEqual(trial!.attemptHistory[1]!.workerId, running!.worker, 'the retry ran on the other worker');
    const first = JSON.parse(readFileSync(join(reports, 'attempt-1.json'), 'utf8')) as { sha256: string; size: number };
    const second = JSON.parse(readFileSync(join(reports, 'attempt-2.json'), 'utf8')) as {
      resumedStep: number;
      expected: string;
      sha256: string;
      size: number;
    };
    assert.equal(first.size, sizeMiB * MiB);
    assert.equal(second.resumedStep, 1);
    assert.equal(second.size, first.size, 'the resumed checkpoint has every byte');
    assert.equal(second.sha256, first.sha256, 'the resumed checkpoint is byte-identical');
    assert.equal(second.expected, first.sha256);
    const artifact = await cluster.coordinator.store.openArtifact(stored.artifactId);
    assert.ok(artifact && artifact.meta.size > first.size, 'the stored archive holds the weights');
    artifact.stream.destroy();

    const rss = [...samples.entries()].map(([name, s]) => ({ name, idle: s.idle, peak: s.peak }));
    for (const { name, idle, peak } of rss) {
      // The killed worker's samples end at its death (0 after): its peak is before.
      assert.ok(
        peak - idle <= rssSlackBytes,
        `${name}: RSS peaked at ${(peak / 1e6).toFixed(1)} MB, ${((peak - idle) / 1e6).toFixed(1)} MB over its idle ${(idle / 1e6).toFixed(1)} MB (bound ${rssSlackBytes / 1e6} MB)`,
      );
    }
    return { sizeBytes: first.size, sha256: first.sha256, seconds: (Date.now() - started) / 1000, rss };
  } finally {
    if (sampler) clearInterval(sampler);
    client.close();
    await cluster.stop();
  }
}
