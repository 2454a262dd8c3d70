/**
 * The dashboard's curves cache (coordinator/http/curves-cache.ts) on a real LocalStore: read
 * once, then kept equal to a fresh read of the store from the `trial.metric` events stored after
 * it, under the store's rules (first report of an attempt wins, a later attempt replaces).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalStore } from '../../coordinator/store/local.js';
import { CurvesCache } from '../../coordinator/http/curves-cache.js';
import { curvesOf } from '../../shared/dashboard.js';
import { decodeCurves } from '../../shared/curves-codec.js';
import type { TrellisEvent } from '../../shared/events.js';

const EXP = 'cc';

describe('dashboard curves cache', () => {
  let dir: string;
  let store: LocalStore;
  let seq = 0;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'trellis-curves-cache-'));
    store = new LocalStore(join(dir, 'store'));
    await store.start();
    for (let n = 0; n < 3; n++) {
      await store.insertTrial({
        id: `${EXP}-${n}`,
        experimentId: EXP,
        number: n,
        status: 'running',
        params: {},
        seed: n,
        attempts: [],
        metrics: {},
        createdAt: 1,
        updatedAt: 1,
      });
    }
  });
  after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Stores a report and then its event, as the coordinator's trial writer does. */
  const report = async (n: number, attempt: number, step: number, values: Record<string, number>): Promise<void> => {
    await store.appendMetrics([{ experimentId: EXP, trialId: `${EXP}-${n}`, attempt, step, time: 1, values }]);
    const event = {
      type: 'trial.metric',
      experimentId: EXP,
      trialId: `${EXP}-${n}`,
      trialNumber: n,
      seq: ++seq,
      time: 1,
      payload: { step, attempt, values },
    } as TrellisEvent;
    await store.appendEvents([event]);
  };

  /** What a fresh read of the store gives. */
  const fromStore = async () => {
    const rows = [];
    for (const t of await store.listTrials(EXP)) {
      for (const doc of await store.listMetrics(t.id)) rows.push({ trialNumber: t.number, doc });
    }
    return curvesOf(rows);
  };

  it('follows the events after its read and agrees with a fresh read of the store', async () => {
    for (let s = 1; s <= 5; s++) await report(0, 1, s, { loss: 1 / s, acc: s / 10 });
    await report(1, 1, 1, { loss: 2 });
    const cache = new CurvesCache(store);
    assert.deepEqual(await cache.curves(EXP), await fromStore());
    assert.equal(cache.reads, 1);

    await report(1, 1, 2, { loss: 1.5, extra: 7 }); // a metric trial 1 did not report before
    await report(2, 1, 3, { loss: 3 }); // a trial with no points yet
    await report(0, 1, 6, { loss: 0.1 });
    await report(0, 1, 2, { loss: 99 }); // a replay of an (attempt, step): the first report stays
    await report(1, 2, 1, { loss: 0.5 }); // attempt 2 replaces attempt 1's step 1
    await report(1, 1, 1, { loss: 42 }); // a late report of attempt 1 does not undo it
    const followed = await cache.curves(EXP);
    assert.equal(cache.reads, 1, 'kept up to date from the events, not read again');
    assert.deepEqual(followed, await fromStore());
    assert.deepEqual(followed.values.loss![1], [0.5, 1.5]);
    assert.deepEqual(followed.metrics, ['acc', 'extra', 'loss']);

    const answer = await cache.binary(EXP, ['loss']);
    assert.equal(answer.seq, await store.lastEventSeq(EXP), 'says the seq it reflects');
    const binary = decodeCurves(answer.bytes.slice().buffer);
    assert.deepEqual(binary.steps, followed.steps);
    assert.deepEqual(Object.keys(binary.values), ['loss']);
    assert.deepEqual(
      binary.values.loss![0],
      followed.values.loss![0]!.map((y) => (y === null ? null : Math.fround(y))),
    );
    assert.deepEqual(await new CurvesCache(store).curves(EXP), followed, 'a cold read gives the same');
  });

  it('answers a metric nothing reported yet with nulls, and a later point re-encodes', async () => {
    const cache = new CurvesCache(store);
    const before = decodeCurves((await cache.binary(EXP, ['later'])).bytes.slice().buffer);
    assert.ok(before.values.later![0]!.every((y) => y === null));
    await report(0, 1, 7, { later: 5 });
    const after = decodeCurves((await cache.binary(EXP, ['later'])).bytes.slice().buffer);
    assert.equal(after.values.later![0]!.at(-1), 5);
    assert.equal(cache.reads, 1);
  });
});
