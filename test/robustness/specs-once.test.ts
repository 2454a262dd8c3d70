/**
 * Specs are stored once (issue 11): an experiment's state, progress and best updates do not
 * rewrite its spec. LocalStore on disk: a 2 MB spec with 20 trials (each trial: its insert and
 * two experiment updates, as the sweep runner does) grows the journal by about 2 MB, not 40 ×
 * 2 MB; after a restart (which rewrites the snapshot) and a second replay the spec and the
 * latest state are both there. MongoStore updates with $set of the changed fields
 * (coordinator/store/mongo-cas.ts), which the store contract covers.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalStore } from '../../coordinator/store/local.js';
import type { ExperimentDoc, TrialDoc } from '../../shared/types.js';

const MB = 1024 * 1024;

function bigExperiment(): ExperimentDoc {
  const spec = {
    apiVersion: 'trellis/v1',
    kind: 'Sweep',
    name: 'big',
    description: 'x'.repeat(2 * MB),
  } as unknown as Extract<ExperimentDoc, { kind: 'Sweep' }>['spec'];
  return {
    id: 'big-0001',
    name: 'big',
    kind: 'Sweep',
    status: 'running',
    requestId: 'req-big',
    createdAt: 1,
    updatedAt: 1,
    trialsCreated: 0,
    spec,
  };
}

function trial(number: number): TrialDoc {
  return {
    id: `big-0001-t${number}`,
    experimentId: 'big-0001',
    number,
    status: 'pending',
    params: { x: number / 20 },
    seed: number,
    attempts: [],
    metrics: {},
    createdAt: 1,
    updatedAt: 1,
  };
}

describe('robustness: specs stored once', () => {
  it('LocalStore: a 2 MB spec and 20 trials grow the journal by about 2 MB, and replay whole', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'trellis-specs-'));
    try {
      const store = new LocalStore(dir);
      await store.start();
      const journal = join(dir, 'journal.jsonl');
      const before = statSync(journal).size;
      await store.createExperiment(bigExperiment());
      for (let n = 0; n < 20; n++) {
        assert.equal(await store.insertTrial(trial(n)), true);
        assert.ok(await store.updateExperiment('big-0001', { trialsCreated: n }, { trialsCreated: n + 1 }));
        assert.ok(
          await store.updateExperiment(
            'big-0001',
            { status: 'running' },
            {
              best: { trialId: `big-0001-t${n}`, number: n, value: n, metric: 'val_score', params: { x: n / 20 } },
              updatedAt: 2 + n,
            },
          ),
        );
      }
      const growth = statSync(journal).size - before;
      assert.ok(growth > 2 * MB, `the spec is in the journal (${growth} bytes)`);
      assert.ok(growth < 2.2 * MB, `grew by ${(growth / MB).toFixed(2)} MB: the spec was written again`);
      const seen = await store.getExperiment('big-0001');
      assert.equal((seen!.spec as unknown as { description: string }).description.length, 2 * MB);
      await store.close();

      // Twice: the first start replays the records and rewrites the snapshot; the second reads the snapshot.
      for (let round = 0; round < 2; round++) {
        const again = new LocalStore(dir);
        await again.start();
        const doc = await again.getExperiment('big-0001');
        assert.equal(doc?.trialsCreated, 20);
        assert.equal(doc?.best?.number, 19);
        assert.equal((doc!.spec as unknown as { description: string }).description.length, 2 * MB);
        assert.equal((await again.listTrials('big-0001')).length, 20);
        await again.close();
      }
      assert.ok(statSync(journal).size < 2.2 * MB, 'the snapshot holds the spec once');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
