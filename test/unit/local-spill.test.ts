/**
 * LocalStore keeps a bounded working set (issue 15 §4): after N finished trials, each with
 * metric rows and published events, memory holds only the unfinished trials and unpublished
 * events, plus 8-byte slots; counted after N and 2N trials (never timed). Reads of finished
 * trials, their rows (pages found by bisection in the sealed block) and events come back from
 * the journal unchanged, through compactions and restarts, and a finished trial can still be
 * updated by compare-and-set or given a late row.
 */
import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LocalStore } from '../../coordinator/store/local.js';
import type { TrellisEvent } from '../../shared/events.js';
import type { AttemptDoc, ExperimentDoc, MetricDoc, TrialDoc } from '../../shared/types.js';
import { tempDir } from '../helpers/services.js';

const EXP = 'spill-exp';
const STEPS = 5;

function experiment(): ExperimentDoc {
  return {
    id: EXP,
    name: 'spill',
    kind: 'Sweep',
    status: 'running',
    spec: { apiVersion: 'trellis/v1' },
    requestId: 'req-spill',
    createdAt: 1_700_000_000_000,
    updatedAt: 1_700_000_000_000,
    trialsCreated: 0,
  } as unknown as ExperimentDoc;
}

function row(n: number, attempt: number, step: number): MetricDoc {
  return { experimentId: EXP, trialId: `${EXP}-t${n}`, attempt, step, time: step, values: { loss: n + step / 10 } };
}

function event(seq: number, n: number): TrellisEvent {
  return {
    seq,
    type: 'trial.state',
    time: seq,
    experimentId: EXP,
    trialNumber: n,
    payload: { status: 'running', attempt: 1, workerId: 'w' },
  } as TrellisEvent;
}

/** One trial's life as the coordinator drives it: created, claimed, rows, events, finished. */
async function live(store: LocalStore, n: number): Promise<void> {
  const id = `${EXP}-t${n}`;
  const doc: TrialDoc = {
    id,
    experimentId: EXP,
    number: n,
    status: 'pending',
    params: { x: n },
    seed: n,
    attempts: [],
    metrics: {},
    createdAt: n,
    updatedAt: n,
  };
  assert.equal(await store.insertTrial(doc), true);
  const attempt: AttemptDoc = {
    n: 1,
    id: `${id}-a1`,
    workerId: 'w',
    status: 'running',
    startedAt: n,
    leaseExpiresAt: n,
  };
  assert.ok(await store.updateTrial(id, { status: 'pending' }, { status: 'running', attempts: [attempt] }));
  const rows: MetricDoc[] = [];
  for (let step = 1; step <= STEPS; step++) rows.push(row(n, 1, step));
  rows.push(row(n, 2, 2)); // a second attempt's row at step 2
  await store.appendMetrics(rows.slice(0, 3));
  await store.appendMetrics(rows.slice(3));
  const seqs = [3 * n + 1, 3 * n + 2, 3 * n + 3];
  await store.appendEvents(seqs.map((s) => event(s, n)));
  await store.markPublished(EXP, seqs);
  assert.ok(
    await store.updateTrial(id, { status: 'running' }, {
      status: 'succeeded',
      metrics: { loss: n },
    } as Partial<TrialDoc>),
  );
}

async function runTrials(store: LocalStore, from: number, to: number): Promise<void> {
  for (let n = from; n < to; n += 16) {
    const lanes: Promise<void>[] = [];
    for (let k = n; k < Math.min(to, n + 16); k++) lanes.push(live(store, k));
    await Promise.all(lanes);
  }
  // Seals are written after the trials' last lines: a barrier write waits for them.
  await store.appendMetrics([]);
  await store.appendMetrics([]);
}

function expectedRows(n: number): MetricDoc[] {
  const out: MetricDoc[] = [];
  for (let step = 1; step <= STEPS; step++) out.push(row(n, 1, step));
  out.push(row(n, 2, 2));
  return out.sort((a, b) => a.attempt - b.attempt || a.step - b.step);
}

describe('LocalStore: bounded working set', () => {
  let tmp: ReturnType<typeof tempDir>;
  beforeEach(() => {
    tmp = tempDir('trellis-spill-');
  });
  afterEach(() => tmp.remove());

  it('holds no finished trial or published event in memory: the same counts after 1,500 and 3,000 trials', async () => {
    const store = new LocalStore(tmp.dir);
    await store.start();
    await store.createExperiment(experiment());
    await runTrials(store, 0, 1500);
    const half = store.memory();
    await runTrials(store, 1500, 3000);
    const full = store.memory();
    for (const m of [half, full]) {
      assert.equal(m.hot_trials, 0, JSON.stringify(m));
      assert.equal(m.events_held, 0, JSON.stringify(m));
      assert.equal(m.orphan_metric_trials, 0);
      assert.equal(m.odd_trial_ids, 0);
    }
    // Slots: 3 per trial number (line, block start, block end), capacity doubling from 1,024.
    assert.ok(full.trial_slots! <= 3 * 4096, `trial slots ${full.trial_slots}`);
    assert.ok(full.event_block_slots! <= 1024, `event block slots ${full.event_block_slots}`);

    // Finished trials read back from the journal.
    const t7 = await store.getTrial(`${EXP}-t7`);
    assert.equal(t7?.status, 'succeeded');
    assert.deepEqual(t7?.metrics, { loss: 7 });
    assert.deepEqual(await store.listMetrics(`${EXP}-t7`), expectedRows(7));
    assert.deepEqual(
      (await store.listTrials(EXP)).map((t) => t.number),
      Array.from({ length: 3000 }, (_, i) => i),
    );
    assert.deepEqual(await store.trialCounts([EXP]), new Map([[EXP, { succeeded: 3000 }]]));
    const events = await store.listEvents(EXP, 8995);
    assert.deepEqual(
      events.map((e) => e.seq),
      [8995, 8996, 8997, 8998, 8999, 9000],
    );
    assert.equal(await store.lastEventSeq(EXP), 9000);
    assert.deepEqual(await store.unpublishedEvents(), []);
    // Duplicates are refused without the documents in memory.
    assert.equal(await store.insertTrial({ ...t7!, id: 'other-id' }), false);
    assert.equal(await store.insertTrial({ ...t7!, number: 99_999 }), false);
    await store.appendEvents([event(5, 1)]);
    assert.equal((await store.listEvents(EXP, 5)).filter((e) => e.seq === 5).length, 1);
    await store.close();
  });

  it("pages a finished trial's rows by bisection in its sealed block, reading about the page", async () => {
    const store = new LocalStore(tmp.dir);
    await store.start();
    await store.createExperiment(experiment());
    await runTrials(store, 0, 2);
    // A late batch of 2,000 rows for a finished trial: it is loaded, added to and sealed again.
    const late: MetricDoc[] = [];
    for (let step = 10; step < 2010; step++) late.push(row(1, 1, step));
    assert.equal(await store.appendMetrics(late), 2000);
    assert.equal(await store.appendMetrics(late.slice(0, 10)), 0, 'rows already stored are not added twice');
    await store.appendMetrics([]);
    assert.equal(store.memory().hot_trials, 0);
    const all = await store.listMetrics(`${EXP}-t1`);
    assert.equal(all.length, 2006);
    const pages: MetricDoc[] = [];
    let afterStep: number | undefined;
    for (;;) {
      const before = store.reads.rows;
      const page = await store.listMetricsPage(`${EXP}-t1`, { afterStep, limit: 100 });
      // limit + 1 rows, and about log2(2006) probes of the bisection.
      assert.ok(store.reads.rows - before <= 101 + 2 * 12, `a page read ${store.reads.rows - before} rows`);
      pages.push(...page.items);
      if (!page.more) break;
      afterStep = page.items.at(-1)!.step;
    }
    const byStep = [...all].sort((a, b) => a.step - b.step || b.attempt - a.attempt);
    assert.deepEqual(pages, byStep);
    await store.close();
  });

  it(
    'keeps writing while a compaction is made, and keeps what was written meanwhile',
    { timeout: 120_000 },
    async () => {
      const store = new LocalStore(tmp.dir, { compactAfterBytes: 64 * 1024 });
      await store.start();
      await store.createExperiment(experiment());
      // The snapshot's file writes (the only FileHandle.write calls here: without fsync the
      // journal is appended with writeSync) are held at the first one until the test lets go.
      const fh = await (await import('node:fs/promises')).open(join(tmp.dir, 'probe'), 'w');
      const proto = Object.getPrototypeOf(fh) as { write: (this: unknown, ...args: unknown[]) => Promise<unknown> };
      await fh.close();
      const write = proto.write;
      let letGo!: () => void;
      const gate = new Promise<void>((resolve) => (letGo = resolve));
      let held!: () => void;
      const holding = new Promise<void>((resolve) => (held = resolve));
      let first = true;
      proto.write = async function (this: unknown, ...args: unknown[]) {
        if (first) {
          first = false;
          held();
          await gate;
        }
        return write.apply(this, args);
      };
      try {
        await runTrials(store, 0, 200);
        await holding; // a compaction's snapshot is being written, and waits
        const before = store.memory().journal_compactions;
        // Trials created, finished and gone cold, a cold trial updated, while it waits: a
        // compaction that held up the journal would never let these finish.
        await runTrials(store, 200, 400); // events from seq 601 on: block 1 (seq 1,024 on) begins meanwhile
        const changed = await store.updateTrial(`${EXP}-t3`, { status: 'succeeded' }, { error: 'during' });
        assert.equal(changed?.error, 'during');
        assert.equal(store.memory().journal_compactions, before, 'the compaction is still held');
      } finally {
        proto.write = write;
        letGo();
      }
      await store.compacted();
      assert.ok((store.memory().journal_compactions ?? 0) >= 1);
      await runTrials(store, 400, 420); // and after it
      const snapshot = async (s: LocalStore) => ({
        t3: await s.getTrial(`${EXP}-t3`),
        t150: await s.getTrial(`${EXP}-t150`),
        t250: await s.getTrial(`${EXP}-t250`),
        t399: await s.getTrial(`${EXP}-t399`),
        rows: await s.listMetrics(`${EXP}-t250`),
        rows150: await s.listMetrics(`${EXP}-t150`),
        page: await s.listTrialsPage(EXP, { afterNumber: 196, limit: 8 }),
        events: (await s.listEvents(EXP, 1)).length,
        fromBlock1: (await s.listEvents(EXP, 1030)).map((e) => e.seq),
        counts: await s.trialCounts([EXP]),
      });
      const seen = await snapshot(store);
      assert.equal(seen.t3?.error, 'during');
      assert.equal(seen.t250?.status, 'succeeded');
      assert.equal(seen.t399?.number, 399);
      assert.deepEqual(seen.rows, expectedRows(250));
      assert.deepEqual(seen.rows150, expectedRows(150));
      assert.deepEqual(
        seen.page.items.map((t) => t.number),
        [197, 198, 199, 200, 201, 202, 203, 204],
      );
      assert.equal(seen.events, 420 * 3);
      assert.deepEqual(
        seen.fromBlock1,
        Array.from({ length: 420 * 3 - 1029 }, (_, i) => 1030 + i),
      );
      await store.close();
      const again = new LocalStore(tmp.dir);
      await again.start();
      assert.deepEqual(await snapshot(again), seen);
      await again.close();
    },
  );

  it('keeps every trial that finishes while a compaction is made (60 stores of 800 trials)', async () => {
    // A trial whose last line is written just before a compaction begins goes cold while it
    // runs: before the snapshot's end (its rows sealed meanwhile: it is neither among the live
    // lines nor hot at the end) or after it (written as hot, cold by the time the file is
    // replaced). The interleavings cannot be forced; a small threshold makes compactions
    // frequent, and 60 stores meet them often: with the first case left unhandled this test
    // failed 4 runs of 4, with the second 2 of 4 (and never with both handled).
    for (let round = 0; round < 60; round++) {
      const dir = tempDir('trellis-spill-round-');
      try {
        const store = new LocalStore(dir.dir, { compactAfterBytes: 8 * 1024 });
        await store.start();
        await store.createExperiment(experiment());
        await runTrials(store, 0, 800);
        const lost = async (s: LocalStore): Promise<number[]> => {
          const out: number[] = [];
          for (let n = 0; n < 800; n++) if ((await s.getTrial(`${EXP}-t${n}`))?.status !== 'succeeded') out.push(n);
          return out;
        };
        assert.deepEqual(await lost(store), [], `round ${round}, before a restart`);
        assert.ok((store.memory().journal_compactions ?? 0) > 0);
        await store.close();
        const again = new LocalStore(dir.dir);
        await again.start();
        assert.deepEqual(await lost(again), [], `round ${round}, after a restart`);
        await again.close();
      } finally {
        dir.remove();
      }
    }
  });

  it('keeps everything through compactions while running, a restart and a crash-free reopen', async () => {
    const journal = join(tmp.dir, 'journal.jsonl');
    const store = new LocalStore(tmp.dir, { compactAfterBytes: 64 * 1024 });
    await store.start();
    await store.createExperiment(experiment());
    await runTrials(store, 0, 600);
    // A finished trial is still updated by compare-and-set (read back from the journal).
    assert.equal(await store.updateTrial(`${EXP}-t3`, { status: 'running' }, { error: 'x' }), undefined);
    const changed = await store.updateTrial(`${EXP}-t3`, { status: 'succeeded' }, { error: 'noted' });
    assert.equal(changed?.error, 'noted');
    await runTrials(store, 600, 800);
    const snapshot = async (s: LocalStore) => ({
      t3: await s.getTrial(`${EXP}-t3`),
      t799: await s.getTrial(`${EXP}-t799`),
      rows: await s.listMetrics(`${EXP}-t450`),
      page: await s.listTrialsPage(EXP, { afterNumber: 396, limit: 5 }),
      events: (await s.listEvents(EXP, 1)).length,
      counts: await s.trialCounts([EXP]),
    });
    const before = await snapshot(store);
    assert.equal(before.t3?.error, 'noted');
    assert.deepEqual(before.rows, expectedRows(450));
    assert.deepEqual(
      before.page.items.map((t) => t.number),
      [397, 398, 399, 400, 401],
    );
    assert.equal(before.events, 2400);
    await store.close();
    const again = new LocalStore(tmp.dir);
    await again.start();
    assert.deepEqual(await snapshot(again), before);
    assert.equal(again.memory().hot_trials, 0);
    // The snapshot at start holds one line per trial (its latest), per row (its sealed block,
    // not the lines written while the trial ran) and per event: header, spec and experiment first.
    const lines = readFileSync(journal, 'utf8').trim().split('\n');
    assert.equal(lines.length, 3 + 800 + 800 * (STEPS + 1) + 800 * 3);
    await again.close();
  });
});
