/**
 * Failure kinds end to end (coordinator + worker processes + real programs): each program fails
 * the way real training fails (test/fixtures/programs/fail_kinds.py raises the exceptions whose
 * tracebacks PyTorch and TensorFlow print), and each attempt is recorded with its kind and
 * evidence and handled by its `budget.retry` policy.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { TrellisClient } from '../../client/index.js';
import type { ExperimentView } from '../../shared/convert.js';
import { startCluster, waitForWorkers } from '../helpers/cluster.js';
import { within } from '../helpers/deadline.js';

const FAIL = fileURLToPath(new URL('../../../test/fixtures/programs/fail_kinds.py', import.meta.url));
const DRAINABLE = fileURLToPath(new URL('../../../test/fixtures/programs/drainable.mjs', import.meta.url));

function spec(
  name: string,
  command: string[],
  budget: Record<string, unknown>,
  space: Record<string, unknown> = { x: { choice: [1] } },
): string {
  return JSON.stringify({
    apiVersion: 'trellis/v1',
    kind: 'Sweep',
    name,
    trial: { runtime: 'command', command, objective: { metric: 'loss', mode: 'min' }, epochs: 1200 },
    search: { algorithm: 'grid', space },
    budget: { concurrency: 1, ...budget },
  });
}

describe('failure kinds from real programs', { timeout: 180_000 }, () => {
  it('oom (PyTorch, TensorFlow, SIGKILL), user_error (three in a row fail the experiment), diverged, timeout', async () => {
    const cluster = await startCluster({ workers: 2 });
    const client = new TrellisClient(cluster.address);
    try {
      await waitForWorkers(cluster, 2);
      const py = (mode: string): string[] => ['python3', FAIL, mode];
      const submit = async (text: string): Promise<string> => (await client.submit(text)).experiment.id;
      const ids = {
        torch: await submit(
          spec(
            'torch-oom',
            py('torch_oom'),
            { trials: 1, retry: { oom: { attempts: 1, then: 'halve batchSize' } } },
            {
              batchSize: { choice: [64] },
            },
          ),
        ),
        tf: await submit(spec('tf-oom', py('tf_oom'), { trials: 1, retry: { oom: { attempts: 1 } } })),
        kill: await submit(spec('sigkill', py('sigkill'), { trials: 1, retry: { oom: { attempts: 0 } } })),
        imports: await submit(
          spec('import-error', py('import_error'), { trials: 5 }, { x: { choice: [1, 2, 3, 4, 5] } }),
        ),
        nan: await submit(spec('nan', py('nan'), { trials: 1 })),
        timeout: await submit(
          spec(
            'timeout',
            [process.execPath, DRAINABLE],
            { trials: 1, trialTimeout: 2, maxAttempts: 3 },
            {
              more: { choice: [3] },
              delay: { choice: [100] },
            },
          ),
        ),
      };
      const done: Record<string, ExperimentView> = Object.fromEntries(
        await Promise.all(
          Object.entries(ids).map(
            async ([key, id]) => [key, await within(client.wait(id), 150_000, `${key} to end`)] as const,
          ),
        ),
      );
      const trials = async (key: keyof typeof ids) => client.trials(ids[key]);

      // PyTorch CUDA OOM at batch size 64: retried once with batchSize halved, which fits.
      const [torch] = await trials('torch');
      assert.equal(torch!.status, 'succeeded');
      assert.deepEqual(
        torch!.attemptHistory.map((a) => [a.status, a.failureKind]),
        [
          ['failed', 'oom'],
          ['succeeded', undefined],
        ],
      );
      assert.match(torch!.attemptHistory[0]!.failureEvidence!, /^torch\.OutOfMemoryError: CUDA out of memory\./);
      assert.match(torch!.attemptHistory[0]!.error!, /retrying with batchSize=32 \(halved after oom\)/);
      assert.equal(torch!.params.batchSize, 32);

      // TensorFlow OOM: one retry (retry.oom.attempts 1), then the trial fails with the evidence.
      const [tf] = await trials('tf');
      assert.equal(done.tf!.status, 'failed');
      assert.deepEqual(
        tf!.attemptHistory.map((a) => a.failureKind),
        ['oom', 'oom'],
      );
      assert.match(tf!.attemptHistory[1]!.failureEvidence!, /ResourceExhaustedError: .*OOM when allocating tensor/);

      // A SIGKILL nobody in Trellis sent: the OOM killer's signature; attempts 0 → no retry.
      const [killed] = await trials('kill');
      assert.equal(killed!.attemptHistory.length, 1);
      assert.equal(killed!.attemptHistory[0]!.failureKind, 'oom');
      assert.match(killed!.attemptHistory[0]!.failureEvidence!, /SIGKILL/);

      // ImportError before the first report: user_error, never retried; the third in a row fails
      // the experiment with the error shown, and trials 4 and 5 never run.
      assert.equal(done.imports!.status, 'failed');
      assert.match(done.imports!.error ?? '', /3 attempts in a row failed with a user error/);
      assert.match(done.imports!.error ?? '', /ModuleNotFoundError: No module named 'trellis_fixture_no_such_module'/);
      const imports = await trials('imports');
      const ran = imports.filter((t) => t.attemptHistory.length > 0);
      assert.equal(ran.length, 3);
      for (const t of ran) {
        assert.equal(t.status, 'failed');
        assert.deepEqual(
          t.attemptHistory.map((a) => a.failureKind),
          ['user_error'],
        );
      }
      assert.ok(
        imports.every((t) => t.attemptHistory.length > 0 || t.status === 'cancelled'),
        'no trial ran after the experiment failed',
      );

      // NaN objective: diverged, a bad observation, not retried.
      const [nan] = await trials('nan');
      assert.equal(nan!.status, 'failed');
      assert.deepEqual(
        nan!.attemptHistory.map((a) => a.failureKind),
        ['diverged'],
      );

      // budget.trialTimeout 2 s on a program that runs until stopped: each attempt is stopped
      // after 2 s and fails as timeout; one retry (retry.timeout.attempts 1), then the trial fails.
      const [slow] = await trials('timeout');
      assert.equal(slow!.status, 'failed');
      assert.deepEqual(
        slow!.attemptHistory.map((a) => [a.status, a.failureKind]),
        [
          ['failed', 'timeout'],
          ['failed', 'timeout'],
        ],
      );
      for (const a of slow!.attemptHistory)
        assert.ok(a.endedAt! - a.startedAt >= 2000, 'stopped after 2 s, not before');
      assert.match(slow!.error!, /budget\.trialTimeout \(2s\)/);
    } finally {
      client.close();
      await cluster.stop();
    }
  });
});
