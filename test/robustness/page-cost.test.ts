/**
 * A page costs the same at 100 stored metric rows as at 20,000 (issue 11, "paged reads"): the
 * work is counted, not timed — the rows the store read (documents its MongoDB cursors returned,
 * entries LocalStore's indexes visited: Store.reads) for the same ExportMetrics and ListTrials
 * pages, through the real gRPC API of an embedded coordinator, on LocalStore and on MongoStore
 * (FerretDB). The rows are written through the store directly (cheap); only the reads are probed.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { startEmbedded } from '../../cli/embedded.js';
import { LocalBus } from '../../coordinator/bus/local.js';
import type { Store } from '../../coordinator/store/base.js';
import { LocalStore } from '../../coordinator/store/local.js';
import { MongoStore } from '../../coordinator/store/mongo.js';
import { createLogger } from '../../shared/log.js';
import { loadProto, type ExperimentServiceClient } from '../../shared/proto.js';
import type { MetricDoc, SweepDoc, TrialDoc } from '../../shared/types.js';
import { mongoUri, uniqueName } from '../helpers/services.js';

const PAGE = 50;

/** Stores an experiment of `trials` trials with `steps` rows each (attempt 1, and attempt 2 for odd steps). */
async function fill(store: Store, id: string, trials: number, steps: number): Promise<void> {
  const now = Date.now();
  await store.createExperiment({
    id,
    name: id,
    kind: 'Sweep',
    status: 'succeeded',
    spec: { apiVersion: 'trellis/v1', kind: 'Sweep', name: id } as unknown as SweepDoc['spec'],
    requestId: id,
    createdAt: now,
    updatedAt: now,
    trialsCreated: trials,
  });
  for (let n = 0; n < trials; n++) {
    const trial: TrialDoc = {
      id: `${id}-t${n}`,
      experimentId: id,
      number: n,
      status: 'succeeded',
      params: { x: n },
      seed: n,
      attempts: [],
      metrics: {},
      createdAt: now,
      updatedAt: now,
    };
    await store.insertTrial(trial);
    const rows: MetricDoc[] = [];
    for (let step = 0; step < steps; step++) {
      rows.push({ experimentId: id, trialId: trial.id, attempt: 1, step, time: now, values: { loss: step } });
      if (step % 2 === 1)
        rows.push({ experimentId: id, trialId: trial.id, attempt: 2, step, time: now, values: { loss: -step } });
    }
    for (let i = 0; i < rows.length; i += 5000) await store.appendMetrics(rows.slice(i, i + 5000));
  }
}

async function probe(makeStore: () => Store, largeTrials: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'trellis-page-cost-'));
  const store = makeStore();
  const embedded = await startEmbedded({
    dir,
    workers: 0,
    log: createLogger('test', 'warn'),
    store,
    bus: new LocalBus(),
  });
  const { proto } = loadProto();
  const client = new proto.trellis.v1.ExperimentService(
    embedded.address,
    grpc.credentials.createInsecure(),
  ) as unknown as ExperimentServiceClient;
  const call = <T>(method: 'ExportMetrics' | 'ListTrials', req: object): Promise<T> =>
    new Promise((resolve, reject) =>
      (client[method] as unknown as (r: object, cb: (e: Error | null, v: T) => void) => void)(req, (e, v) =>
        e ? reject(e) : resolve(v),
      ),
    );
  /** Rows the store read for one call, and what the call answered. */
  const cost = async <T>(method: 'ExportMetrics' | 'ListTrials', req: object): Promise<{ rows: number; answer: T }> => {
    const before = store.reads.rows;
    const answer = await call<T>(method, req);
    return { rows: store.reads.rows - before, answer };
  };
  try {
    // 102 rows (2 trials x 34 steps, odd steps twice: a second attempt) against 501 per trial of
    // the large experiment (40 trials: 20,040 rows on LocalStore; 10 on FerretDB, where writing
    // 20,000 rows takes most of a minute on a loaded machine).
    const small = uniqueName('small');
    const large = uniqueName('large');
    await fill(store, small, 2, 34);
    await fill(store, large, largeTrials, 334);
    type Rows = { rows: { trial_number: number; step: string }[]; next_page_token: string };
    const costs: Record<string, number[]> = {};
    // Rows exported (one per step): 68 of the small experiment, 334 per trial of the large one.
    const exported: Record<string, number> = { [small]: 2 * 34, [large]: largeTrials * 334 };
    for (const id of [small, large]) {
      const first = await cost<Rows>('ExportMetrics', { experiment_id: id, page_size: PAGE });
      assert.equal(first.answer.rows.length, PAGE);
      assert.notEqual(first.answer.next_page_token, '');
      const second = await cost<Rows>('ExportMetrics', {
        experiment_id: id,
        page_size: PAGE,
        page_token: first.answer.next_page_token,
      });
      assert.equal(second.answer.rows.length, Math.min(PAGE, exported[id]! - PAGE));
      // One row per step, in order, across the two pages.
      const keys = [...first.answer.rows, ...second.answer.rows].map((r) => `${r.trial_number}/${Number(r.step)}`);
      assert.equal(new Set(keys).size, keys.length, 'no row twice');
      const trials = await cost<{ trials: unknown[]; next_page_token: string }>('ListTrials', {
        experiment_id: id,
        page_size: 1,
      });
      assert.equal(trials.answer.trials.length, 1);
      costs[id] = [first.rows, second.rows, trials.rows];
    }
    // Each ExportMetrics page reads its 50 rows, the older attempts' rows of the same steps (here
    // one in three), one extra row per store page, and trials in batches of at most the page size:
    // bounded by the page, the same bound at 100 and at 20,000 stored rows.
    const bound = 2 * PAGE + PAGE + 10;
    for (const id of [small, large]) {
      const [first, second, trials] = costs[id]!;
      assert.ok(first! <= bound && second! <= bound, `${id}: ${first} and ${second} rows read, at most ${bound}`);
      assert.ok(first! >= PAGE, `${id}: the first page read its ${PAGE} rows at least`);
      assert.equal(trials, 2, 'a ListTrials page of 1 reads its trial and the one that says more follow');
    }
    // For contrast, the whole list of one large trial reads every one of its rows.
    const before = store.reads.rows;
    await store.listMetrics(`${large}-t0`);
    assert.equal(store.reads.rows - before, 334 + 167);
  } finally {
    (client as unknown as grpc.Client).close();
    await embedded.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('robustness: a page costs the same at 100 and at 20,000 stored rows (work counted)', () => {
  it('on LocalStore: 102 against 20,040 rows', async () => {
    await probe(() => new LocalStore(join(mkdtempSync(join(tmpdir(), 'trellis-page-cost-store-')), 'store')), 40);
  });
  it('on MongoStore (FerretDB): 102 against 5,010 rows', async () => {
    await probe(() => new MongoStore({ uri: mongoUri(), db: uniqueName('trellis_page_cost') }), 10);
  });
});
