/**
 * List answers come in pages: a 2,000-trial experiment whose metrics encode to far more than
 * 4 MB exports completely to a client that accepts no message over gRPC's default 4 MB.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TrellisClient, InvalidArgumentError } from '../../client/index.js';
import { startEmbedded } from '../../cli/embedded.js';
import { LocalStore } from '../../coordinator/store/local.js';
import { LocalBus } from '../../coordinator/bus/local.js';
import { createLogger } from '../../shared/log.js';
import type { MetricDoc, SweepDoc, TrialDoc } from '../../shared/types.js';

const TRIALS = 2000;
const STEPS = 5;
const VALUES = 40;
const FOUR_MB = 4 * 1024 * 1024;

describe('paged list answers', () => {
  it('ListTrials and ExportMetrics of a 2,000-trial experiment fit a client limited to 4 MB per message', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'trellis-paging-'));
    const store = new LocalStore(join(dir, 'store'));
    const embedded = await startEmbedded({
      dir,
      workers: 0,
      log: createLogger('test', 'warn'),
      store,
      bus: new LocalBus(),
    });
    const client = new TrellisClient(embedded.address, { maxReceiveBytes: FOUR_MB, timeoutMs: 120_000 });
    try {
      const now = Date.now();
      const id = 'paging-exp';
      // Stored directly (a finished experiment): running 2,000 trials would test the runner, not paging.
      await store.createExperiment({
        id,
        name: 'paging',
        kind: 'Sweep',
        status: 'succeeded',
        // Only trials and metrics matter here; the spec is never run.
        spec: { apiVersion: 'trellis/v1', kind: 'Sweep', name: 'paging' } as unknown as SweepDoc['spec'],
        requestId: 'paging',
        createdAt: now,
        updatedAt: now,
        trialsCreated: TRIALS,
      });
      const names = Array.from({ length: VALUES }, (_, i) => `metric_${String(i).padStart(3, '0')}`);
      for (let n = 0; n < TRIALS; n++) {
        const trial: TrialDoc = {
          id: `${id}-t${n}`,
          experimentId: id,
          number: n,
          status: 'succeeded',
          params: { lr: n / TRIALS, layers: n % 7, optimizer: n % 2 ? 'adam' : 'sgd' },
          seed: n,
          attempts: [],
          metrics: Object.fromEntries(names.map((k, i) => [k, n + i / 100])),
          createdAt: now,
          updatedAt: now,
        };
        await store.insertTrial(trial);
        const rows: MetricDoc[] = [];
        for (let step = 1; step <= STEPS; step++) {
          rows.push({
            experimentId: id,
            trialId: trial.id,
            attempt: 1,
            step,
            time: now + step,
            values: Object.fromEntries(names.map((k, i) => [k, n * step + i / 7])),
          });
        }
        await store.appendMetrics(rows);
      }
      // Each value is at least a map entry of key + 8-byte double + 3 bytes of tags and lengths.
      const lowerBound = TRIALS * STEPS * names.reduce((sum, k) => sum + k.length + 11, 0);
      assert.ok(lowerBound > 2 * FOUR_MB, `the unpaged export would be at least ${lowerBound} bytes`);

      const trials = await client.trials(id);
      assert.equal(trials.length, TRIALS);
      assert.deepEqual(
        trials.map((t) => t.number),
        Array.from({ length: TRIALS }, (_, i) => i),
      );
      const rows = await client.exportMetrics(id);
      assert.equal(rows.length, TRIALS * STEPS);
      const last = rows.at(-1)!;
      assert.equal(last.trialNumber, TRIALS - 1);
      assert.equal(last.values.metric_039, (TRIALS - 1) * STEPS + 39 / 7);
      assert.equal(new Set(rows.map((r) => `${r.trialId}/${r.step}`)).size, TRIALS * STEPS, 'no row twice');

      await assert.rejects(
        () => client.exportMetrics('paging-exp-missing'),
        (err: Error) => err.name === 'NotFoundError',
      );
    } finally {
      client.close();
      await embedded.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a page token from elsewhere, edited or damaged is INVALID_ARGUMENT naming page_token', async () => {
    const { answer, decodeToken, isTrialKey, pageSize } = await import('../../coordinator/paging.js');
    const items = [{ number: 0 }, { number: 1 }, { number: 2 }];
    const first = answer(
      { items: items.slice(0, 2), more: true },
      'a',
      (x) => x,
      (t) => ({ n: t.number }),
    );
    assert.deepEqual(first.page, items.slice(0, 2));
    assert.deepEqual(decodeToken('a', first.next_page_token, isTrialKey), { n: 1 });
    assert.equal(
      answer(
        { items, more: false },
        'a',
        (x) => x,
        (t) => ({ n: t.number }),
      ).next_page_token,
      '',
    );
    const refused = (err: Error): boolean => err instanceof InvalidArgumentError && /^page_token:/.test(err.message);
    assert.throws(() => decodeToken('b', first.next_page_token, isTrialKey), refused);
    const [payload, check] = first.next_page_token.split('.');
    const edited = Buffer.from(JSON.stringify({ w: 'a', k: { n: 7 } })).toString('base64url');
    assert.throws(() => decodeToken('a', `${edited}.${check}`, isTrialKey), refused);
    assert.throws(() => decodeToken('a', `${payload}.x${check!.slice(1)}`, isTrialKey), refused);
    assert.throws(() => decodeToken('a', 'garbage', isTrialKey), refused);
    assert.throws(
      () => pageSize({ page_size: 11 }, { defaultSize: 10, maxSize: 10, what: 'a' }),
      (err: Error) => err instanceof InvalidArgumentError && /^page_size:/.test(err.message),
    );
  });
});
