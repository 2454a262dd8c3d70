/**
 * A worker killed outright takes its running programs with it (the reaper): the program must not
 * train on beside the attempt the coordinator hands out again.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TrellisClient } from '../../client/index.js';
import { exited, startCluster, waitForWorkers } from '../helpers/cluster.js';
import { processEnded, waitUntil } from '../helpers/services.js';

const SLEEPER = fileURLToPath(new URL('../../../test/fixtures/integration/sleeper.mjs', import.meta.url));

describe('a worker killed with SIGKILL', () => {
  it('takes its running program with it', async () => {
    const markers = mkdtempSync(join(tmpdir(), 'trellis-death-'));
    const cluster = await startCluster({ workers: 1 });
    const client = new TrellisClient(cluster.address);
    let pid: number | undefined;
    try {
      await waitForWorkers(cluster, 1);
      const { experiment } = await client.submit(
        JSON.stringify({
          apiVersion: 'trellis/v1',
          kind: 'Sweep',
          name: 'death',
          trial: {
            runtime: 'command',
            command: [process.execPath, SLEEPER],
            objective: { metric: 'score', mode: 'max' },
          },
          search: { algorithm: 'grid', space: { markers: { choice: [markers] } } },
          budget: { trials: 1, concurrency: 1 },
        }),
      );
      await cluster.waitForEvent((e) => e.type === 'trial.metric' && e.experimentId === experiment.id);
      pid = Number(
        readdirSync(markers)
          .find((f) => f.endsWith('.started'))!
          .split('.')[0],
      );
      assert.ok(!processEnded(pid), 'the program runs');
      const worker = cluster.workers[0]!;
      worker.kill('SIGKILL');
      await exited(worker);
      // The program would stay silent for two minutes: only the reaper ends it now.
      await waitUntil(() => processEnded(pid!), 10_000, `program ${pid} to end after its worker died`);
    } finally {
      if (pid !== undefined && !processEnded(pid)) process.kill(pid, 'SIGKILL');
      client.close();
      await cluster.stop();
      rmSync(markers, { recursive: true, force: true });
    }
  });
});
