/**
 * The Store contract's keyset pages (coordinator/store/base.ts `list*Page`, `trialCounts`), on
 * LocalStore and MongoStore on FerretDB and mongo-java-server (test/helpers/store-backends.ts):
 * order, limit, no item twice, none skipped while rows are added between pages, the last page says
 * nothing follows, and a page reads about `limit` rows whatever is stored.
 */
import { describe, it, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';

import type { ListedExperiment, Page, Store } from '../../coordinator/store/base.js';
import type { SweepSpec } from '../../shared/spec/schema.js';
import type { ExperimentStatus } from '../../shared/states.js';
import type { ExperimentDoc, MetricDoc, TrialDoc } from '../../shared/types.js';
import { uniqueName } from '../helpers/services.js';
import { localBackend, mongoBackend, type Backend, type Harness } from '../helpers/store-backends.js';

function experiment(createdAt: number, status: ExperimentStatus, id = uniqueName('exp')): ExperimentDoc {
  return {
    id,
    name: `exp ${id}`,
    kind: 'Sweep',
    status,
    spec: {
      apiVersion: 'trellis/v1',
      budget: { trials: 40, concurrency: 2 },
      search: { space: { 'model.hidden': { choice: [64, 128] } } },
    } as unknown as SweepSpec,
    requestId: `req-${id}`,
    createdAt,
    updatedAt: createdAt,
    trialsCreated: 0,
  };
}

function trial(experimentId: string, number: number, status: TrialDoc['status'] = 'pending'): TrialDoc {
  return {
    id: `${experimentId}-t${number}`,
    experimentId,
    number,
    status,
    params: { lr: number / 100 },
    seed: number,
    attempts: [],
    metrics: {},
    createdAt: 1_700_000_000_000 + number,
    updatedAt: 1_700_000_000_000 + number,
  };
}

function metric(trialId: string, attempt: number, step: number): MetricDoc {
  return {
    experimentId: 'exp',
    trialId,
    attempt,
    step,
    time: 1_700_000_002_000 + step,
    values: { loss: attempt + step / 1000 },
  };
}

/** Every page from the start, calling `between` after each page but the last. */
async function allPages<T, K>(
  read: (after: K | undefined) => Promise<Page<T>>,
  keyOf: (item: T) => K,
  limit: number,
  between: (pageNumber: number) => Promise<void> = async () => undefined,
): Promise<T[]> {
  const out: T[] = [];
  let after: K | undefined;
  for (let n = 0; ; n++) {
    assert.ok(n < 1000, 'pages end');
    const page = await read(after);
    assert.ok(page.items.length <= limit, `a page holds at most ${limit} items, got ${page.items.length}`);
    out.push(...page.items);
    if (!page.more) return out;
    assert.equal(page.items.length, limit, 'a page that is not the last is full');
    after = keyOf(page.items.at(-1)!);
    await between(n);
  }
}

function pagesContract(backend: Backend): void {
  describe(`Store pages: ${backend.name}`, () => {
    let h: Harness;
    let store: Store;
    beforeEach(async () => {
      h = await backend.open();
      store = h.store;
    });
    afterEach(async () => {
      await h.dispose();
    });

    it('trials: by number, limit honoured, none twice, none skipped while trials are added between pages', async () => {
      const exp = experiment(1_700_000_000_000, 'running');
      await store.createExperiment(exp);
      // Inserted out of order; another experiment's trials never show.
      for (const n of [5, 0, 9, 3, 1, 8, 2, 7, 6, 4, 11, 10]) assert.ok(await store.insertTrial(trial(exp.id, n)));
      await store.insertTrial(trial('other', 1));
      let next = 12;
      const got = await allPages<TrialDoc, number>(
        (after) => store.listTrialsPage(exp.id, { ...(after === undefined ? {} : { afterNumber: after }), limit: 5 }),
        (t) => t.number,
        5,
        async () => {
          for (let i = 0; i < 2; i++) await store.insertTrial(trial(exp.id, next++));
        },
      );
      assert.deepEqual(
        got.map((t) => t.number),
        Array.from({ length: next }, (_, i) => i),
      );
      assert.deepEqual(got[3], trial(exp.id, 3), 'whole documents');
      // A last page that ends exactly at the end says so; an unknown experiment has an empty page.
      assert.deepEqual((await store.listTrialsPage(exp.id, { afterNumber: next - 4, limit: 3 })).more, false);
      assert.deepEqual(await store.listTrialsPage('missing', { limit: 3 }), { items: [], more: false });
      await assert.rejects(() => store.listTrialsPage(exp.id, { limit: 0 }), /page limit is 0/);
    });

    it('metrics: by step then latest attempt first, limit honoured, steps added between pages are read', async () => {
      const t = 'exp-t0';
      const rows: MetricDoc[] = [];
      for (let step = 0; step < 10; step++) rows.push(metric(t, 1, step));
      for (let step = 5; step < 12; step++) rows.push(metric(t, 2, step));
      // Written in a shuffled order and in two calls.
      const shuffled = [...rows].sort((a, b) => ((a.step * 7 + a.attempt) % 5) - ((b.step * 7 + b.attempt) % 5));
      await store.appendMetrics(shuffled.slice(0, 9));
      await store.appendMetrics(shuffled.slice(9));
      await store.appendMetrics([metric('exp-t1', 1, 0)]);
      let nextStep = 12;
      const added: MetricDoc[] = [];
      const got = await allPages<MetricDoc, number>(
        (after) => store.listMetricsPage(t, { ...(after === undefined ? {} : { afterStep: after }), limit: 4 }),
        (m) => m.step,
        4,
        async () => {
          const m = metric(t, 2, nextStep++);
          added.push(m);
          await store.appendMetrics([m]);
        },
      );
      // A page's key is its last step: a step split across two pages loses its older attempts' rows
      // in the next page, so the expected list is computed the same way from the full order.
      const order = [...rows, ...added].sort((a, b) => a.step - b.step || b.attempt - a.attempt);
      const keys = got.map((m) => `${m.step}/${m.attempt}`);
      assert.equal(new Set(keys).size, keys.length, 'no row twice');
      assert.deepEqual(
        [...new Set(got.map((m) => m.step))],
        [...new Set(order.map((m) => m.step))],
        'every step, in order, the added ones included',
      );
      for (let i = 1; i < got.length; i++) {
        const [a, b] = [got[i - 1]!, got[i]!];
        assert.ok(a.step < b.step || (a.step === b.step && a.attempt > b.attempt), `${keys[i - 1]} before ${keys[i]}`);
      }
      // The first row of each step is the latest attempt's.
      for (const step of [5, 9, 11]) assert.equal(got.find((m) => m.step === step)?.attempt, 2);
      assert.deepEqual(
        got.find((m) => m.step === 3),
        metric(t, 1, 3),
      );
      const one = await store.listMetricsPage(t, { afterStep: 6, limit: 3 });
      assert.deepEqual(
        one.items.map((m) => `${m.step}/${m.attempt}`),
        ['7/2', '7/1', '8/2'],
      );
      assert.equal(one.more, true);
      assert.deepEqual(await store.listMetricsPage('missing', { limit: 3 }), { items: [], more: false });
    });

    it('experiments: newest first, by status, spec none/budget/full, none skipped while newer ones arrive', async () => {
      const statuses: ExperimentStatus[] = ['pending', 'running', 'succeeded', 'failed'];
      const stored: ExperimentDoc[] = [];
      for (let i = 0; i < 14; i++) {
        // Ties on createdAt are ordered by id, descending.
        const doc = experiment(1_700_000_000_000 + Math.floor(i / 3), statuses[i % 4]!, `exp-${uniqueName('')}-${i}`);
        stored.push(doc);
        await store.createExperiment(doc);
      }
      const newestFirst = (a: { createdAt: number; id: string }, b: { createdAt: number; id: string }): number =>
        b.createdAt - a.createdAt || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);
      let later = 0;
      const read = (status?: ExperimentStatus[], spec?: 'none' | 'budget' | 'full') =>
        allPages<ListedExperiment, { createdAt: number; id: string }>(
          (after) =>
            store.listExperimentsPage({
              ...(status ? { status } : {}),
              ...(after ? { after } : {}),
              limit: 4,
              ...(spec ? { spec } : {}),
            }),
          (e) => ({ createdAt: e.createdAt, id: e.id }),
          4,
          async () => {
            await store.createExperiment(experiment(1_800_000_000_000 + later++, 'pending'));
          },
        );
      const all = await read();
      assert.deepEqual(
        all.map((e) => e.id),
        [...stored].sort(newestFirst).map((e) => e.id),
        'newest first; newer experiments created between pages come before the key, so not in this listing',
      );
      assert.equal(all[0]!.spec, undefined, 'no spec unless asked for');
      const running = await read(['running', 'failed'], 'budget');
      assert.deepEqual(
        running.map((e) => e.id),
        stored
          .filter((e) => e.status === 'running' || e.status === 'failed')
          .sort(newestFirst)
          .map((e) => e.id),
      );
      assert.deepEqual(running[0]!.spec, { budget: { trials: 40, concurrency: 2 } });
      const full = await store.listExperimentsPage({ limit: 1, spec: 'full', status: ['succeeded'] });
      const expected = stored.filter((e) => e.status === 'succeeded').sort(newestFirst)[0]!;
      const { requestId: _r, ...summary } = full.items[0]!;
      void _r;
      assert.deepEqual({ ...summary, requestId: expected.requestId }, expected);
      // A status change moves the experiment to its new status's pages.
      await store.updateExperiment(expected.id, { status: 'succeeded' }, { status: 'cancelled' });
      const cancelled = await store.listExperimentsPage({ limit: 10, status: ['cancelled'] });
      assert.deepEqual(
        cancelled.items.map((e) => e.id),
        [expected.id],
      );
      assert.equal(cancelled.more, false);
      assert.ok(
        !(await store.listExperimentsPage({ limit: 50, status: ['succeeded'] })).items.some(
          (e) => e.id === expected.id,
        ),
      );
    });

    it('trialCounts: by status, following updates, and after a restart', async () => {
      const a = experiment(1_700_000_000_000, 'running');
      const b = experiment(1_700_000_000_001, 'running');
      await store.createExperiment(a);
      await store.createExperiment(b);
      for (let n = 0; n < 5; n++) await store.insertTrial(trial(a.id, n));
      await store.insertTrial(trial(b.id, 0, 'running'));
      await store.updateTrial(`${a.id}-t0`, { status: 'pending' }, { status: 'running' });
      await store.updateTrial(`${a.id}-t1`, { status: 'pending' }, { status: 'running' });
      await store.updateTrial(`${a.id}-t1`, { status: 'running' }, { status: 'succeeded' });
      const expected = new Map([
        [a.id, { pending: 3, running: 1, succeeded: 1 }],
        [b.id, { running: 1 }],
        ['missing', {}],
      ]);
      assert.deepEqual(await store.trialCounts([a.id, b.id, 'missing']), expected);
      store = await h.reopen();
      assert.deepEqual(await store.trialCounts([a.id, b.id, 'missing']), expected);
    });

    it('a page reads about its limit in rows, however many are stored', async () => {
      const exp = experiment(1_700_000_000_000, 'running');
      await store.createExperiment(exp);
      const cost = async (read: () => Promise<unknown>): Promise<number> => {
        const before = store.reads.rows;
        await read();
        return store.reads.rows - before;
      };
      for (let n = 0; n < 60; n++) await store.insertTrial(trial(exp.id, n));
      const rows: MetricDoc[] = [];
      for (let step = 0; step < 400; step++) rows.push(metric(`${exp.id}-t0`, 1, step));
      await store.appendMetrics(rows);
      // limit + 1 rows at most: the one after the page only says that more follow.
      assert.ok((await cost(() => store.listTrialsPage(exp.id, { afterNumber: 30, limit: 10 }))) <= 11);
      assert.ok((await cost(() => store.listMetricsPage(`${exp.id}-t0`, { afterStep: 300, limit: 10 }))) <= 11);
      assert.ok((await cost(() => store.listExperimentsPage({ limit: 10 }))) <= 11);
      // The whole lists, for contrast, read everything.
      assert.equal(await cost(() => store.listTrials(exp.id)), 60);
      assert.equal(await cost(() => store.listMetrics(`${exp.id}-t0`)), 400);
    });
  });
}

pagesContract(localBackend);
pagesContract(mongoBackend('FerretDB', 'claims'));
pagesContract(mongoBackend('mongo-java-server', 'native'));
