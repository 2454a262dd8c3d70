/**
 * The Store contract (coordinator/store/base.ts), run against LocalStore and MongoStore on two
 * MongoDB-wire servers: FerretDB (MONGODB_URI; the claims compare-and-set path) and
 * mongo-java-server (MONGODB_NATIVE_URI; the native path real MongoDB gets). Both come from
 * `node scripts/services.mjs up` (npm test runs it); each test gets a fresh database, each
 * LocalStore test a fresh directory.
 */
import { describe, it, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { appendFileSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';

import { MongoClient } from 'mongodb';

import type { Store } from '../../coordinator/store/base.js';
import { StoreUnavailableError } from '../../coordinator/store/base.js';
import { LocalStore } from '../../coordinator/store/local.js';
import { MongoStore, SCHEMA_VERSION } from '../../coordinator/store/mongo.js';
import { createStore } from '../../coordinator/store/registry.js';
import type { TrellisEvent } from '../../shared/events.js';
import type { SweepSpec } from '../../shared/spec/schema.js';
import { canTransition, EXPERIMENT_STATUSES, TRIAL_STATUSES } from '../../shared/states.js';
import type { AttemptDoc, ExperimentDoc, MetricDoc, TrialDoc, WorkerDoc } from '../../shared/types.js';
import { within } from '../helpers/deadline.js';
import { mongoNativeUri, mongoUri, TcpProxy, tempDir, uniqueName, waitUntil } from '../helpers/services.js';
import { localBackend, mongoBackend, type Backend, type Harness } from '../helpers/store-backends.js';

// ------------------------------------------------------------------ fixtures

function experiment(over: Partial<ExperimentDoc> = {}): ExperimentDoc {
  const id = uniqueName('exp');
  return {
    id,
    name: 'optdigits-losses',
    kind: 'Sweep',
    status: 'pending',
    // A partial spec: the store keeps it as an opaque document.
    spec: {
      apiVersion: 'trellis/v1',
      search: { space: { 'model.hidden': { choice: [64, 128] }, lr: { loguniform: [1e-4, 0.1] } } },
    } as unknown as SweepSpec,
    requestId: `req-${id}`,
    createdAt: 1_700_000_000_000,
    updatedAt: 1_700_000_000_000,
    trialsCreated: 0,
    ...over,
  } as ExperimentDoc; // `over` may change the kind together with its spec
}

function trial(experimentId: string, number: number, over: Partial<TrialDoc> = {}): TrialDoc {
  return {
    id: `${experimentId}-t${number}`,
    experimentId,
    number,
    status: 'pending',
    params: { lr: 0.01, 'model.hidden': 128, $odd: 'kept', 'a%2Eb': 1 },
    seed: 7 + number,
    attempts: [],
    metrics: {},
    createdAt: 1_700_000_000_000 + number,
    updatedAt: 1_700_000_000_000 + number,
    ...over,
  };
}

function attempt(n: number, workerId: string, over: Partial<AttemptDoc> = {}): AttemptDoc {
  return {
    n,
    id: `att-${n}-${workerId}`,
    workerId,
    status: 'running',
    startedAt: 1_700_000_001_000,
    leaseExpiresAt: 1_700_000_031_000,
    ...over,
  };
}

function metric(trialId: string, attemptN: number, step: number, value: number, experimentId = 'exp'): MetricDoc {
  return {
    experimentId,
    trialId,
    attempt: attemptN,
    step,
    time: 1_700_000_002_000 + step,
    values: { val_accuracy: value, 'train.loss': 1 - value },
  };
}

function event(experimentId: string, seq: number, over: Partial<TrellisEvent> = {}): TrellisEvent {
  return {
    seq,
    type: 'trial.state',
    time: 1_700_000_003_000 + seq,
    experimentId,
    trialNumber: 0,
    payload: { status: 'running', params: { 'a.b': seq }, attempt: 1, workerId: 'w' },
    ...over,
  } as TrellisEvent; // `over` may change the type together with its payload
}

function worker(id: string, over: Partial<WorkerDoc> = {}): WorkerDoc {
  return {
    id,
    status: 'connected',
    slots: { cpus: 4, gpus: ['GPU-0'], memoryBytes: 8 * 2 ** 30 },
    labels: { 'kubernetes.io/hostname': 'node-1', zone: 'a' },
    runtimes: ['tfjs', 'command'],
    lastSeenAt: 1_700_000_004_000,
    ...over,
  };
}

// ------------------------------------------------------------------ backends: test/helpers/store-backends.ts

// ------------------------------------------------------------------ the contract

function storeContract(backend: Backend): void {
  describe(`Store contract: ${backend.name}`, () => {
    let h: Harness;
    beforeEach(async () => {
      h = await backend.open();
    });
    afterEach(async () => {
      await h.dispose();
    });

    it('start and close are idempotent; calls after close reject', async () => {
      await h.store.start();
      await h.store.start();
      const exp = experiment();
      await h.store.createExperiment(exp);
      await h.store.close();
      await h.store.close();
      await assert.rejects(h.store.getExperiment(exp.id));
      await h.reopen();
      assert.equal((await h.store.getExperiment(exp.id))?.id, exp.id);
    });

    it('createExperiment is idempotent by requestId', async () => {
      const first = experiment();
      const a = await h.store.createExperiment(first);
      assert.equal(a.created, true);
      assert.deepEqual(a.experiment, first);
      const retry = experiment({ requestId: first.requestId, name: 'another name' });
      const b = await h.store.createExperiment(retry);
      assert.equal(b.created, false);
      assert.deepEqual(b.experiment, first);
      assert.equal(await h.store.getExperiment(retry.id), undefined);
      assert.deepEqual(await h.store.getExperiment(first.id), first);
      assert.equal((await h.store.listExperiments()).length, 1);
      // Same id, another requestId: an error, nothing changes.
      await assert.rejects(h.store.createExperiment({ ...first, requestId: 'other' }));
      assert.deepEqual(await h.store.getExperiment(first.id), first);
    });

    it('concurrent creates with one requestId make one experiment', async () => {
      const requestId = uniqueName('req');
      const results = await Promise.all([1, 2, 3, 4].map(() => h.store.createExperiment(experiment({ requestId }))));
      assert.equal(results.filter((r) => r.created).length, 1);
      const ids = new Set(results.map((r) => r.experiment.id));
      assert.equal(ids.size, 1);
      assert.equal((await h.store.listExperiments()).length, 1);
    });

    it('listExperiments is newest first and filters by status', async () => {
      const old = experiment({ createdAt: 1, status: 'succeeded' });
      const mid = experiment({ createdAt: 2, status: 'running' });
      const recent = experiment({ createdAt: 3, status: 'running' });
      for (const e of [mid, old, recent]) await h.store.createExperiment(e);
      assert.deepEqual(
        (await h.store.listExperiments()).map((e) => e.id),
        [recent.id, mid.id, old.id],
      );
      assert.deepEqual(
        (await h.store.listExperiments({ status: ['running'] })).map((e) => e.id),
        [recent.id, mid.id],
      );
      assert.deepEqual(
        (await h.store.listExperiments({ status: ['succeeded', 'failed'] })).map((e) => e.id),
        [old.id],
      );
      assert.deepEqual(await h.store.listExperiments({ status: ['cancelled'] }), []);
    });

    it('listExperimentSummaries is the same list without the specs', async () => {
      const old = experiment({ createdAt: 1, status: 'succeeded' });
      const recent = experiment({ createdAt: 3, status: 'running' });
      for (const e of [old, recent]) await h.store.createExperiment(e);
      const summaries = await h.store.listExperimentSummaries();
      assert.deepEqual(
        summaries.map((e) => e.id),
        [recent.id, old.id],
      );
      for (const summary of summaries) assert.equal('spec' in summary, false, 'no spec in a summary');
      const { spec: _spec, ...rest } = recent;
      assert.deepEqual(summaries[0], rest, 'every other field as stored');
      assert.deepEqual(
        (await h.store.listExperimentSummaries({ status: ['succeeded'] })).map((e) => e.id),
        [old.id],
      );
    });

    it('every experiment transition applies by compare-and-set; a stale expect changes nothing', async () => {
      for (const from of EXPERIMENT_STATUSES) {
        for (const to of EXPERIMENT_STATUSES) {
          if (!canTransition('experiment', from, to)) continue;
          const exp = experiment({ status: from });
          await h.store.createExperiment(exp);
          for (const other of EXPERIMENT_STATUSES.filter((s) => s !== from)) {
            assert.equal(
              await h.store.updateExperiment(exp.id, { status: other }, { status: to }),
              undefined,
              `${other} is not ${from}`,
            );
          }
          assert.deepEqual(await h.store.getExperiment(exp.id), exp);
          const updated = await h.store.updateExperiment(
            exp.id,
            { status: from },
            { status: to, updatedAt: exp.updatedAt + 1 },
          );
          assert.deepEqual(updated, { ...exp, status: to, updatedAt: exp.updatedAt + 1 }, `${from} → ${to}`);
          // The same transition again is refused: the expectation is stale now.
          assert.equal(
            await h.store.updateExperiment(exp.id, { status: from }, { status: to, error: 'again' }),
            undefined,
          );
          assert.deepEqual(await h.store.getExperiment(exp.id), updated);
        }
      }
    });

    it('experiment compare-and-set on a status list and on trialsCreated', async () => {
      const exp = experiment({ status: 'running' });
      await h.store.createExperiment(exp);
      const claimed = await h.store.updateExperiment(
        exp.id,
        { status: ['pending', 'running'], trialsCreated: 0 },
        { trialsCreated: 1 },
      );
      assert.equal(claimed?.trialsCreated, 1);
      assert.equal(await h.store.updateExperiment(exp.id, { trialsCreated: 0 }, { trialsCreated: 1 }), undefined);
      assert.equal(
        await h.store.updateExperiment(exp.id, { status: ['succeeded', 'failed'] }, { status: 'cancelled' }),
        undefined,
      );
      assert.equal((await h.store.getExperiment(exp.id))?.trialsCreated, 1);
      assert.equal(await h.store.updateExperiment('no-such-experiment', {}, { status: 'failed' }), undefined);
    });

    it('a patch replaces top-level fields, removes undefined ones and never changes id', async () => {
      const exp = experiment({
        error: 'boom',
        best: { trialId: 't', number: 0, params: { lr: 1 }, metric: 'acc', value: 0.5 },
      });
      await h.store.createExperiment(exp);
      const updated = await h.store.updateExperiment(
        exp.id,
        {},
        { error: undefined, id: 'hijack', stages: { 'pre.train': { status: 'succeeded', cached: false, attempt: 1 } } },
      );
      const { error: _error, ...rest } = exp;
      assert.deepEqual(updated, {
        ...rest,
        stages: { 'pre.train': { status: 'succeeded', cached: false, attempt: 1 } },
      });
      assert.deepEqual(await h.store.getExperiment(exp.id), updated);
      assert.equal(await h.store.getExperiment('hijack'), undefined);
      // An empty patch with a matching expect returns the document unchanged.
      assert.deepEqual(await h.store.updateExperiment(exp.id, { status: 'pending' }, {}), updated);
    });

    it('insertTrial refuses a duplicate number or id; listTrials sorts by number', async () => {
      const exp = experiment();
      await h.store.createExperiment(exp);
      for (const n of [2, 0, 1]) assert.equal(await h.store.insertTrial(trial(exp.id, n)), true);
      assert.equal(await h.store.insertTrial({ ...trial(exp.id, 1), id: 'another-id' }), false);
      assert.equal(await h.store.insertTrial({ ...trial(exp.id, 9), id: trial(exp.id, 0).id }), false);
      assert.deepEqual(
        (await h.store.listTrials(exp.id)).map((t) => t.number),
        [0, 1, 2],
      );
      assert.deepEqual(await h.store.getTrial(trial(exp.id, 1).id), trial(exp.id, 1));
      assert.deepEqual(await h.store.listTrials('no-such-experiment'), []);
      assert.equal(await h.store.getTrial('no-such-trial'), undefined);
    });

    it('every trial transition applies by compare-and-set; a stale expect changes nothing', async () => {
      const exp = experiment();
      let n = 0;
      for (const from of TRIAL_STATUSES) {
        for (const to of TRIAL_STATUSES) {
          if (!canTransition('trial', from, to)) continue;
          const t = trial(exp.id, n++, { status: from });
          assert.equal(await h.store.insertTrial(t), true);
          for (const other of TRIAL_STATUSES.filter((s) => s !== from)) {
            assert.equal(await h.store.updateTrial(t.id, { status: other }, { status: to }), undefined);
          }
          assert.equal(await h.store.updateTrial(t.id, { status: [from], attemptCount: 1 }, { status: to }), undefined);
          assert.deepEqual(await h.store.getTrial(t.id), t);
          const updated = await h.store.updateTrial(
            t.id,
            { status: TRIAL_STATUSES.filter((s) => s === from || s === 'cancelled'), attemptCount: 0 },
            { status: to, updatedAt: t.updatedAt + 5 },
          );
          assert.deepEqual(updated, { ...t, status: to, updatedAt: t.updatedAt + 5 }, `${from} → ${to}`);
          assert.equal(await h.store.updateTrial(t.id, { status: from }, { status: to, error: 'again' }), undefined);
          assert.deepEqual(await h.store.getTrial(t.id), updated);
        }
      }
    });

    it('a lease claim race has exactly one winner', async () => {
      const exp = experiment();
      for (let round = 0; round < 10; round++) {
        const t = trial(exp.id, round);
        await h.store.insertTrial(t);
        const claimers = ['w-a', 'w-b', 'w-c', 'w-d'];
        const results = await Promise.all(
          claimers.map((w) =>
            h.store.updateTrial(
              t.id,
              { status: 'pending', attemptCount: 0 },
              { status: 'running', attempts: [attempt(1, w)] },
            ),
          ),
        );
        const winners = results.filter((r) => r !== undefined);
        assert.equal(winners.length, 1, `round ${round}: ${winners.length} winners`);
        const stored = await h.store.getTrial(t.id);
        assert.equal(stored?.attempts.length, 1);
        assert.equal(stored?.attempts[0]?.workerId, winners[0]!.attempts[0]!.workerId);
        assert.deepEqual(stored, winners[0]);
      }
    });

    it('a lease claim race between two store instances has exactly one winner', async () => {
      // Writers in one MongoStore queue per document; two instances (two coordinator processes)
      // still race, and the compare-and-set (claims on FerretDB) must let one win.
      const other = h.peer ? await h.peer() : h.store;
      const exp = experiment();
      for (let round = 0; round < 10; round++) {
        const t = trial(exp.id, round);
        await h.store.insertTrial(t);
        const claimers: Array<[Store, string]> = [
          [h.store, 'w-a'],
          [other, 'w-b'],
          [h.store, 'w-c'],
          [other, 'w-d'],
        ];
        const results = await Promise.all(
          claimers.map(([store, w]) =>
            store.updateTrial(
              t.id,
              { status: 'pending', attemptCount: 0 },
              { status: 'running', attempts: [attempt(1, w)] },
            ),
          ),
        );
        const winners = results.filter((r) => r !== undefined);
        assert.equal(winners.length, 1, `round ${round}: ${winners.length} winners`);
        const stored = await other.getTrial(t.id);
        assert.equal(stored?.attempts[0]?.workerId, winners[0]!.attempts[0]!.workerId);
        assert.deepEqual(stored, winners[0]);
      }
    });

    it('a requeued trial is claimed again on the next attempt count only', async () => {
      const exp = experiment();
      const t = trial(exp.id, 0);
      await h.store.insertTrial(t);
      const first = await h.store.updateTrial(
        t.id,
        { status: 'pending', attemptCount: 0 },
        { status: 'running', attempts: [attempt(1, 'w-a')] },
      );
      assert.ok(first);
      const lost = await h.store.updateTrial(
        t.id,
        { status: 'running', attemptCount: 1 },
        { status: 'pending', attempts: [{ ...first.attempts[0]!, status: 'lost', endedAt: 5 }] },
      );
      assert.equal(lost?.status, 'pending');
      // A late claim based on the old attempt count loses; the right one wins.
      assert.equal(
        await h.store.updateTrial(
          t.id,
          { status: 'pending', attemptCount: 0 },
          { status: 'running', attempts: [attempt(1, 'late')] },
        ),
        undefined,
      );
      const second = await h.store.updateTrial(
        t.id,
        { status: 'pending', attemptCount: 1 },
        { status: 'running', attempts: [...lost.attempts, attempt(2, 'w-b')] },
      );
      assert.deepEqual(
        second?.attempts.map((a) => [a.n, a.workerId, a.status]),
        [
          [1, 'w-a', 'lost'],
          [2, 'w-b', 'running'],
        ],
      );
      // A patch that names another experimentId or number is refused.
      assert.equal(await h.store.updateTrial(t.id, {}, { number: 99 }), undefined);
      assert.equal(await h.store.updateTrial(t.id, {}, { experimentId: 'other' }), undefined);
      assert.deepEqual(await h.store.getTrial(t.id), second);
    });

    it('metric writes are idempotent on (trialId, attempt, step) and sorted', async () => {
      const trialId = uniqueName('trial');
      assert.equal(await h.store.appendMetrics([]), 0);
      assert.equal(
        await h.store.appendMetrics([
          metric(trialId, 1, 2, 0.5),
          metric(trialId, 1, 1, 0.4),
          metric(trialId, 1, 1, 0.9),
        ]),
        2,
      );
      // A retried report (even with other values) changes nothing: the first one wins.
      assert.equal(
        await h.store.appendMetrics([
          metric(trialId, 1, 1, 0.99),
          metric(trialId, 1, 3, 0.6),
          metric(trialId, 2, 1, 0.3),
        ]),
        2,
      );
      assert.equal(await h.store.appendMetrics([metric(trialId, 1, 3, 0.6)]), 0);
      const listed = await h.store.listMetrics(trialId);
      assert.deepEqual(
        listed.map((m) => [m.attempt, m.step, m.values.val_accuracy]),
        [
          [1, 1, 0.4],
          [1, 2, 0.5],
          [1, 3, 0.6],
          [2, 1, 0.3],
        ],
      );
      assert.deepEqual(listed[0], metric(trialId, 1, 1, 0.4));
      assert.deepEqual(await h.store.listMetrics('no-such-trial'), []);
    });

    it('concurrent identical metric writes store one report', async () => {
      const trialId = uniqueName('trial');
      const counts = await Promise.all(
        [1, 2, 3, 4, 5].map(() => h.store.appendMetrics([metric(trialId, 1, 1, 0.5), metric(trialId, 1, 2, 0.6)])),
      );
      assert.equal(
        counts.reduce((a, b) => a + b, 0),
        2,
      );
      assert.equal((await h.store.listMetrics(trialId)).length, 2);
    });

    it('many concurrent metric writes of many trials, overlapping, count each new report once', async () => {
      // MongoStore sends concurrent calls together in shared bulk inserts: each call's count is
      // still the number of its reports that no other call stored first.
      const trials = [0, 1, 2, 3].map(() => uniqueName('trial'));
      const calls: MetricDoc[][] = [];
      for (let i = 0; i < 60; i++) {
        const trialId = trials[i % trials.length]!;
        // Steps i..i+2 of each trial: neighbouring calls of one trial overlap by two steps.
        calls.push([0, 1, 2].map((k) => metric(trialId, 1, Math.floor(i / trials.length) + k, i)));
      }
      const counts = await Promise.all(calls.map((docs) => h.store.appendMetrics(docs)));
      const distinct = new Set(calls.flat().map((d) => `${d.trialId}:${d.step}`));
      assert.equal(
        counts.reduce((a, b) => a + b, 0),
        distinct.size,
      );
      for (const [i, count] of counts.entries()) assert.ok(count >= 0 && count <= 3, `call ${i} counted ${count}`);
      let stored = 0;
      for (const trialId of trials) {
        const listed = await h.store.listMetrics(trialId);
        assert.deepEqual(
          listed.map((d) => d.step),
          [...new Set(listed.map((d) => d.step))].sort((a, b) => a - b),
          'one document per step, sorted',
        );
        stored += listed.length;
      }
      assert.equal(stored, distinct.size);
      // Replayed whole, nothing is new.
      const again = await Promise.all(calls.map((docs) => h.store.appendMetrics(docs)));
      assert.equal(
        again.reduce((a, b) => a + b, 0),
        0,
      );
    });

    it('non-finite numbers and odd keys round-trip', async () => {
      const trialId = uniqueName('trial');
      const odd: MetricDoc = {
        ...metric(trialId, 1, 1, 0),
        values: {
          loss: Number.NaN,
          up: Number.POSITIVE_INFINITY,
          down: Number.NEGATIVE_INFINITY,
          'x.y': 1,
          $z: 2,
          'p%q': 3,
        },
      };
      await h.store.appendMetrics([odd]);
      const exp = experiment();
      await h.store.createExperiment(exp);
      await h.store.insertTrial(trial(exp.id, 0, { metrics: { loss: Number.NaN } }));
      const check = async (): Promise<void> => {
        assert.deepEqual(await h.store.listMetrics(trialId), [odd]);
        assert.deepEqual(
          await h.store.getTrial(trial(exp.id, 0).id),
          trial(exp.id, 0, { metrics: { loss: Number.NaN } }),
        );
        assert.deepEqual(await h.store.getExperiment(exp.id), exp);
      };
      await check();
      await h.reopen();
      await check();
    });

    it('event appends are idempotent on (experimentId, seq); unpublished and markPublished', async () => {
      const a = uniqueName('exp-a');
      const b = uniqueName('exp-b');
      assert.equal(await h.store.lastEventSeq(a), 0);
      await h.store.appendEvents([event(a, 1), event(a, 2), event(b, 1)]);
      await h.store.appendEvents([
        event(a, 2, { payload: { status: 'failed', params: {}, attempt: 1, workerId: 'w' } }),
        event(a, 3),
        event(a, 3),
      ]);
      assert.deepEqual(await h.store.listEvents(a), [event(a, 1), event(a, 2), event(a, 3)]);
      assert.deepEqual(await h.store.listEvents(a, 2), [event(a, 2), event(a, 3)]);
      assert.deepEqual(await h.store.listEvents(a, 4), []);
      assert.equal(await h.store.lastEventSeq(a), 3);
      assert.equal(await h.store.lastEventSeq(b), 1);
      const [first, second] = [a, b].sort();
      const expected = [
        ...(first === a ? [event(a, 1), event(a, 2), event(a, 3)] : [event(b, 1)]),
        ...(second === a ? [event(a, 1), event(a, 2), event(a, 3)] : [event(b, 1)]),
      ];
      assert.deepEqual(await h.store.unpublishedEvents(), expected);
      assert.deepEqual(await h.store.unpublishedEvents(2), expected.slice(0, 2));
      await h.store.markPublished(a, [1, 3, 99]);
      assert.deepEqual(
        await h.store.unpublishedEvents(),
        [event(a, 2), event(b, 1)].sort((x, y) => (x.experimentId! < y.experimentId! ? -1 : 1)),
      );
      await h.store.markPublished(a, [1]);
      await h.store.markPublished(b, []);
      // Appending a published event again leaves it published.
      await h.store.appendEvents([event(a, 1)]);
      await h.store.markPublished(b, [1]);
      assert.deepEqual(await h.store.unpublishedEvents(), [event(a, 2)]);
      await h.reopen();
      assert.deepEqual(await h.store.unpublishedEvents(), [event(a, 2)]);
      assert.deepEqual(await h.store.listEvents(a), [event(a, 1), event(a, 2), event(a, 3)]);
    });

    it('the outbox refuses worker events and bad seqs', async () => {
      await assert.rejects(
        h.store.appendEvents([
          { seq: 0, type: 'worker.state', time: 1, workerId: 'w', payload: { status: 'connected' } },
        ]),
        TypeError,
      );
      await assert.rejects(h.store.appendEvents([event('e', 0)]), TypeError);
      await assert.rejects(h.store.appendEvents([event('e', 1.5)]), TypeError);
      assert.deepEqual(await h.store.unpublishedEvents(), []);
    });

    it('workers are upserted and listed by id', async () => {
      await h.store.upsertWorker(worker('w-2'));
      await h.store.upsertWorker(worker('w-1'));
      await h.store.upsertWorker(worker('w-2', { status: 'draining', lastSeenAt: 9 }));
      assert.deepEqual(await h.store.listWorkers(), [
        worker('w-1'),
        worker('w-2', { status: 'draining', lastSeenAt: 9 }),
      ]);
    });

    it('artifacts round-trip bytes and sha256, and are immutable', async () => {
      const data = randomBytes(600 * 1024 + 17); // several GridFS chunks
      const sha = createHash('sha256').update(data).digest('hex');
      const id = uniqueName('ckpt');
      const meta = await h.store.putArtifact(
        { id, experimentId: 'exp-1', trialId: 'trial-1', kind: 'checkpoint', meta: { step: 3, 'lr.final': 0.1 } },
        data,
      );
      assert.equal(meta.size, data.length);
      assert.equal(meta.sha256, sha);
      assert.ok(meta.createdAt > 0);
      const got = await h.store.getArtifact(id);
      assert.ok(got);
      assert.deepEqual(got.meta, meta);
      assert.ok(got.data.equals(data));
      assert.deepEqual(
        await h.store.putArtifact({ id, experimentId: 'exp-1', kind: 'checkpoint' }, Buffer.from(data)),
        meta,
      );
      await assert.rejects(
        h.store.putArtifact({ id, experimentId: 'exp-1', kind: 'checkpoint' }, Buffer.from('other')),
      );
      const empty = await h.store.putArtifact(
        { id: `${id}/../empty`, experimentId: 'exp-1', kind: 'index' },
        Buffer.alloc(0),
      );
      assert.equal(empty.size, 0);
      assert.equal(empty.sha256, createHash('sha256').update(Buffer.alloc(0)).digest('hex'));
      assert.equal((await h.store.getArtifact(empty.id))?.data.length, 0);
      assert.equal(await h.store.getArtifact('no-such-artifact'), undefined);
      await h.reopen();
      const after = await h.store.getArtifact(id);
      assert.deepEqual(after?.meta, meta);
      assert.ok(after?.data.equals(data));
    });

    it('streamed artifacts: in from a stream (verified), out from any offset, nothing published when wrong', async () => {
      const data = randomBytes(3 * 1024 * 1024 + 4321); // several 1 MiB GridFS chunks and a tail
      const sha256 = createHash('sha256').update(data).digest('hex');
      const id = uniqueName('stream');
      // Uneven pieces: the store must not depend on how the bytes arrive.
      const pieces = (bytes: Buffer) => () => {
        const out: Buffer[] = [];
        for (let at = 0; at < bytes.length; at += 700_001) out.push(bytes.subarray(at, at + 700_001));
        return Readable.from(out);
      };
      const meta = await h.store.putArtifactFrom(
        { id, experimentId: 'exp-1', trialId: 'trial-1', kind: 'checkpoint', meta: { step: 9 } },
        pieces(data),
        { size: data.length, sha256 },
      );
      assert.equal(meta.size, data.length);
      assert.equal(meta.sha256, sha256);
      // The unary read sees the same artifact.
      assert.ok((await h.store.getArtifact(id))?.data.equals(data));
      const read = async (offset: number): Promise<Buffer> => {
        const opened = await h.store.openArtifact(id, offset);
        assert.ok(opened);
        assert.deepEqual(opened.meta, meta);
        const parts: Buffer[] = [];
        for await (const part of opened.stream) parts.push(part as Buffer);
        return Buffer.concat(parts);
      };
      assert.ok((await read(0)).equals(data));
      for (const offset of [1, 1024 * 1024, 1024 * 1024 + 1, data.length - 1]) {
        assert.ok((await read(offset)).equals(data.subarray(offset)), `from offset ${offset}`);
      }
      assert.equal((await read(data.length)).length, 0);
      assert.equal(await h.store.openArtifact('no-such-artifact'), undefined);
      // Same id, same bytes: the stored meta; other bytes: refused.
      assert.deepEqual(
        await h.store.putArtifactFrom({ id, experimentId: 'exp-1', kind: 'checkpoint' }, pieces(data), {
          size: data.length,
          sha256,
        }),
        meta,
      );
      const other = Buffer.from('other');
      await assert.rejects(
        h.store.putArtifactFrom({ id, experimentId: 'exp-1', kind: 'checkpoint' }, pieces(other), {
          size: other.length,
          sha256: createHash('sha256').update(other).digest('hex'),
        }),
      );
      // Wrong sha256, too many and too few bytes: DataLossError, and no artifact under the id.
      const wrong = [
        { size: data.length, sha256: createHash('sha256').update('x').digest('hex') },
        { size: data.length - 1, sha256 },
        { size: data.length + 1, sha256 },
      ];
      for (const [i, expected] of wrong.entries()) {
        const bad = `${id}-bad-${i}`;
        await assert.rejects(
          h.store.putArtifactFrom({ id: bad, experimentId: 'exp-1', kind: 'checkpoint' }, pieces(data), expected),
          (err: Error) => err.name === 'DataLossError',
        );
        assert.equal(await h.store.getArtifact(bad), undefined, `nothing published for ${JSON.stringify(expected)}`);
        assert.equal(await h.store.openArtifact(bad), undefined);
      }
      // A stream that fails half-way publishes nothing either.
      const broken = `${id}-broken`;
      await assert.rejects(
        h.store.putArtifactFrom(
          { id: broken, experimentId: 'exp-1', kind: 'checkpoint' },
          () =>
            Readable.from(
              (async function* () {
                yield data.subarray(0, 1024 * 1024);
                throw new Error('connection lost');
              })(),
            ),
          { size: data.length, sha256 },
        ),
        /connection lost/,
      );
      assert.equal(await h.store.getArtifact(broken), undefined);
      // And then the same id goes in whole.
      await h.store.putArtifactFrom({ id: broken, experimentId: 'exp-1', kind: 'checkpoint' }, pieces(data), {
        size: data.length,
        sha256,
      });
      assert.ok((await h.store.getArtifact(broken))?.data.equals(data));
      await h.reopen();
      assert.ok((await read(5)).equals(data.subarray(5)), 'after a reopen');
    });

    it('two streamed uploads of one id at once: one artifact, whole, and both callers get its meta', async () => {
      const data = randomBytes(2 * 1024 * 1024 + 17);
      const sha256 = createHash('sha256').update(data).digest('hex');
      const id = uniqueName('twice');
      const upload = () =>
        h.store.putArtifactFrom(
          { id, experimentId: 'exp-1', kind: 'checkpoint' },
          () => Readable.from([data.subarray(0, 1_500_000), data.subarray(1_500_000)]),
          { size: data.length, sha256 },
        );
      const results = await Promise.allSettled([upload(), upload()]);
      // Same id, same bytes: the second is told of the artifact the first stored.
      const metas = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
      assert.equal(metas.length, 2, `both uploads succeed: ${JSON.stringify(results)}`);
      assert.deepEqual(metas[0], metas[1]);
      assert.equal(metas[0]!.sha256, sha256);
      // Whatever the interleaving, the stored artifact is the whole, untorn data.
      assert.ok((await h.store.getArtifact(id))?.data.equals(data));
      const opened = await h.store.openArtifact(id, 0);
      assert.ok(opened);
      const parts: Buffer[] = [];
      for await (const part of opened.stream) parts.push(part as Buffer);
      assert.ok(Buffer.concat(parts).equals(data));
    });

    it('a restarted store sees everything that was resolved', async () => {
      const exp = experiment({ status: 'running', trialsCreated: 2 });
      await h.store.createExperiment(exp);
      const t0 = trial(exp.id, 0);
      const t1 = trial(exp.id, 1);
      await h.store.insertTrial(t0);
      await h.store.insertTrial(t1);
      const claimed = await h.store.updateTrial(
        t0.id,
        { status: 'pending', attemptCount: 0 },
        { status: 'running', attempts: [attempt(1, 'w-1')] },
      );
      await h.store.appendMetrics([metric(t0.id, 1, 1, 0.5, exp.id), metric(t0.id, 1, 2, 0.7, exp.id)]);
      await h.store.appendEvents([event(exp.id, 1), event(exp.id, 2)]);
      await h.store.markPublished(exp.id, [1]);
      await h.store.upsertWorker(worker('w-1'));
      const art = await h.store.putArtifact(
        { id: uniqueName('a'), experimentId: exp.id, kind: 'weights' },
        Buffer.from('weights'),
      );
      const snapshot = async (s: Store) => ({
        experiments: await s.listExperiments(),
        trials: await s.listTrials(exp.id),
        metrics: await s.listMetrics(t0.id),
        events: await s.listEvents(exp.id),
        unpublished: await s.unpublishedEvents(),
        last: await s.lastEventSeq(exp.id),
        workers: await s.listWorkers(),
        artifact: (await s.getArtifact(art.id))?.meta,
      });
      const before = await snapshot(h.store);
      assert.deepEqual(before.trials[0], claimed);
      const reopened = await h.reopen();
      assert.deepEqual(await snapshot(reopened), before);
      // And it goes on working: the second trial can still be claimed once.
      assert.ok(
        await reopened.updateTrial(
          t1.id,
          { status: 'pending', attemptCount: 0 },
          { status: 'running', attempts: [attempt(1, 'w-1')] },
        ),
      );
      assert.equal(
        await reopened.updateTrial(
          t1.id,
          { status: 'pending', attemptCount: 0 },
          { status: 'running', attempts: [attempt(1, 'w-2')] },
        ),
        undefined,
      );
    });

    it('documents returned are copies', async () => {
      const exp = experiment();
      const created = await h.store.createExperiment(exp);
      (created.experiment.spec as unknown as Record<string, unknown>).mutated = true;
      exp.name = 'mutated after create';
      const got = await h.store.getExperiment(exp.id);
      assert.equal((got?.spec as unknown as Record<string, unknown>).mutated, undefined);
      assert.equal(got?.name, 'optdigits-losses');
      got!.status = 'failed';
      assert.equal((await h.store.getExperiment(exp.id))?.status, 'pending');
    });
  });
}

storeContract(localBackend);
storeContract(mongoBackend('FerretDB', 'claims'));
storeContract(mongoBackend('mongo-java-server', 'native'));

// ------------------------------------------------------------------ LocalStore specifics

describe('LocalStore: journal', () => {
  let tmp: ReturnType<typeof tempDir>;
  beforeEach(() => {
    tmp = tempDir('trellis-local-');
  });
  afterEach(() => {
    tmp.remove();
  });

  it('drops a torn last line and refuses a corrupt line in the middle', async () => {
    const store = new LocalStore(tmp.dir);
    await store.start();
    const exp = experiment();
    await store.createExperiment(exp);
    await store.close();
    const journal = join(tmp.dir, 'journal.jsonl');
    appendFileSync(journal, '{"t":"exp","d":{"id":"torn","na');
    const again = new LocalStore(tmp.dir);
    await again.start();
    assert.deepEqual(await again.listExperiments(), [exp]);
    await again.createExperiment(experiment({ id: 'after-torn', requestId: 'r-after' }));
    await again.close();
    const third = new LocalStore(tmp.dir);
    await third.start();
    assert.deepEqual((await third.listExperiments()).map((e) => e.id).sort(), [exp.id, 'after-torn'].sort());
    await third.close();
    const lines = readFileSync(journal, 'utf8').split('\n');
    lines.splice(1, 0, '{not json');
    writeFileSync(journal, lines.join('\n'));
    await assert.rejects(new LocalStore(tmp.dir).start(), /journal\.jsonl:2: not JSON/);
  });

  it('keeps every acknowledged write when the process is SIGKILLed', async () => {
    const moduleUrl = new URL('../../coordinator/store/local.js', import.meta.url).href;
    const script = `
      import { LocalStore } from ${JSON.stringify(moduleUrl)};
      const store = new LocalStore(process.argv[1]);
      await store.start();
      for (let step = 1; ; step++) {
        const batch = [];
        for (let i = 0; i < 5; i++) batch.push(store.appendMetrics([{ experimentId: 'e', trialId: 't', attempt: 1, step: step * 10 + i, time: step, values: { v: step } }]));
        await Promise.all(batch);
        process.stdout.write('acked ' + (step * 10 + 4) + '\\n');
      }`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script, tmp.dir], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let lastAcked = 0;
    let out = '';
    await within(
      new Promise<void>((resolve, reject) => {
        child.on('error', reject);
        child.on('exit', (code, sig) =>
          sig === 'SIGKILL' ? resolve() : reject(new Error(`child exited ${code} ${sig}`)),
        );
        child.stdout!.on('data', (d: Buffer) => {
          out += d.toString();
          const m = [...out.matchAll(/acked (\d+)/g)];
          lastAcked = Number(m.at(-1)?.[1] ?? 0);
          if (lastAcked >= 2004) child.kill('SIGKILL');
        });
      }),
      60_000,
      'the writer child to ack 2004 writes and be killed',
    );
    const store = new LocalStore(tmp.dir); // the dead child's LOCK is taken over
    await store.start();
    const steps = new Set((await store.listMetrics('t')).map((m) => m.step));
    for (let step = 1; step * 10 + 4 <= lastAcked; step++) {
      for (let i = 0; i < 5; i++) assert.ok(steps.has(step * 10 + i), `acknowledged step ${step * 10 + i} is missing`);
    }
    await store.close();
  });

  it('compacts at start and while running, without losing anything', async () => {
    const journal = join(tmp.dir, 'journal.jsonl');
    const store = new LocalStore(tmp.dir, { compactAfterBytes: 64 * 1024 });
    await store.start();
    const exp = experiment({ status: 'running' });
    await store.createExperiment(exp);
    const t = trial(exp.id, 0, { status: 'running' });
    await store.insertTrial(t);
    for (let step = 1; step <= 2000; step++) {
      await store.updateTrial(t.id, { status: 'running' }, { metrics: { val_accuracy: step / 2000 }, lastStep: step });
    }
    // Compactions run behind the writes: the lines written during the last one stay after its
    // snapshot until the next write finds them past the threshold and starts another.
    await store.compacted();
    await store.updateTrial(t.id, { status: 'running' }, { lastStep: 2000 });
    await store.compacted();
    // Each update appends a full trial document (~400 bytes): without compaction ~800 KB.
    assert.ok(statSync(journal).size < 72 * 1024, `journal is ${statSync(journal).size} bytes`);
    assert.ok(store.memory().journal_compactions! >= 2, `${store.memory().journal_compactions} compactions`);
    await store.close();
    const again = new LocalStore(tmp.dir);
    await again.start();
    assert.equal((await again.getTrial(t.id))?.lastStep, 2000);
    const lines = readFileSync(journal, 'utf8').trim().split('\n');
    assert.equal(lines.length, 4); // header, spec, experiment (without its spec), trial
    await again.close();
  });

  it('groups writes made in the same tick and keeps them in order', async () => {
    const store = new LocalStore(tmp.dir, { durable: true });
    await store.start();
    const writes: Promise<number>[] = [];
    // Grouping is seen by counting the journal's fsyncs (durable: one per write), order by the
    // journal's lines: listMetrics sorts, so it could not tell.
    const fh = await (await import('node:fs/promises')).open(join(tmp.dir, 'probe'), 'w');
    const proto = Object.getPrototypeOf(fh) as { datasync: (this: unknown) => Promise<void> };
    await fh.close();
    const datasync = proto.datasync;
    let syncs = 0;
    proto.datasync = function (this: unknown) {
      syncs++;
      return datasync.call(this);
    };
    try {
      for (let step = 0; step < 2000; step++) writes.push(store.appendMetrics([metric('t', 1, step, step / 2000)]));
      assert.equal(
        (await Promise.all(writes)).reduce((a, b) => a + b, 0),
        2000,
      );
    } finally {
      proto.datasync = datasync;
    }
    assert.ok(syncs >= 1 && syncs <= 5, `2000 writes in one tick took ${syncs} journal writes`);
    const steps = readFileSync(join(tmp.dir, 'journal.jsonl'), 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('{"t":"metric"'))
      .map((l) => (JSON.parse(l) as { d: { step: number } }).d.step);
    assert.deepEqual(
      steps,
      Array.from({ length: 2000 }, (_, i) => i),
      'journal lines in write order',
    );
    await store.close();
    const again = new LocalStore(tmp.dir);
    await again.start();
    assert.equal((await again.listMetrics('t')).length, 2000);
    await again.close();
  });

  it('refuses a directory another live store holds', async () => {
    const a = new LocalStore(tmp.dir);
    await a.start();
    await assert.rejects(new LocalStore(tmp.dir).start(), /in use/);
    await a.close();
    const b = new LocalStore(tmp.dir);
    await b.start();
    await b.close();
  });
});

// ------------------------------------------------------------------ MongoStore specifics

for (const [server, uriOf] of [
  ['FerretDB', mongoUri],
  ['mongo-java-server', mongoNativeUri],
] as const) {
  describe(`MongoStore on ${server}: connection and schema`, () => {
    it('start fails with StoreUnavailableError when nothing listens', async () => {
      const proxy = TcpProxy.forUrl(uriOf());
      await proxy.start();
      const port = proxy.port;
      await proxy.stop(); // a port that was free a moment ago and is closed now
      const store = new MongoStore({
        uri: `mongodb://127.0.0.1:${port}/`,
        db: uniqueName('t'),
        serverSelectionTimeoutMS: 300,
      });
      await assert.rejects(store.start(), StoreUnavailableError);
      await store.close();
    });

    it('reports StoreUnavailableError while the server is cut off, and recovers by itself', async () => {
      const proxy = TcpProxy.forUrl(uriOf());
      await proxy.start();
      const db = uniqueName('trellis_test');
      const store = new MongoStore({
        uri: `mongodb://127.0.0.1:${proxy.port}/?directConnection=true`,
        db,
        serverSelectionTimeoutMS: 500,
      });
      try {
        await store.start();
        const exp = experiment();
        await store.createExperiment(exp);
        await proxy.cut();
        await assert.rejects(store.getExperiment(exp.id), StoreUnavailableError);
        await assert.rejects(store.appendMetrics([metric('t', 1, 1, 0.5)]), StoreUnavailableError);
        await proxy.restore();
        const back = await waitUntil(
          async () => store.getExperiment(exp.id).catch(() => undefined),
          15_000,
          'MongoDB back',
        );
        assert.deepEqual(back, exp);
        assert.equal(await store.appendMetrics([metric('t', 1, 1, 0.5)]), 1);
        await store.dropDatabase();
      } finally {
        await store.close();
        await proxy.stop();
      }
    });

    it('creates its indexes and schema document, and refuses a newer schema', async () => {
      const uri = uriOf();
      const db = uniqueName('trellis_test');
      const store = new MongoStore({ uri, db });
      await store.start();
      const client = new MongoClient(uri, { serverSelectionTimeoutMS: 2000 });
      try {
        const names = async (col: string) =>
          ((await client.db(db).collection(col).listIndexes().toArray()) as { name: string }[]).map((i) => i.name);
        assert.ok((await names('metrics')).includes('trialId_attempt_step_unique'));
        assert.ok((await names('metrics')).includes('trialId_step'));
        assert.ok((await names('events')).includes('experimentId_seq_unique'));
        assert.ok((await names('trials')).includes('experimentId_number_unique'));
        assert.ok((await names('experiments')).includes('requestId_unique'));
        const meta = await client
          .db(db)
          .collection<{ _id: string; version: number }>('meta')
          .findOne({ _id: 'schema' });
        assert.equal(meta?.version, SCHEMA_VERSION);
        await store.close();
        await client
          .db(db)
          .collection<{ _id: string; version: number }>('meta')
          .updateOne({ _id: 'schema' }, { $set: { version: SCHEMA_VERSION + 1 } });
        await assert.rejects(new MongoStore({ uri, db }).start(), /schema version/);
      } finally {
        await store.close();
        await client.db(db).dropDatabase();
        await client.close();
      }
    });
  });
}

describe('Store registry', () => {
  it('registry picks MongoStore with MONGODB_URI and LocalStore without', async () => {
    const tmp = tempDir();
    try {
      assert.equal(createStore({ MONGODB_URI: mongoUri(), TRELLIS_DB: 'x', dir: tmp.dir }).kind, 'mongo');
      assert.equal(createStore({ dir: tmp.dir }).kind, 'local');
      assert.throws(() => createStore({ dir: '' }), /dir/);
    } finally {
      tmp.remove();
    }
  });
});
