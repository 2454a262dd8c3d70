/**
 * The event outbox's published marks (Store `markPublished` / `unpublishedEvents`), beyond the
 * basics in store.contract.test.ts, on LocalStore and MongoStore on FerretDB and
 * mongo-java-server: marks in batch order, marks out of order past MongoStore's limit of marks
 * kept above a gap (mongo-outbox.ts MAX_ABOVE, set on the events instead), and events marked
 * the way builds before the outbox documents did (MongoStore: their own `published` flag).
 */
import { describe, it, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { MongoClient } from 'mongodb';

import type { TrellisEvent } from '../../shared/events.js';
import { MAX_ABOVE } from '../../coordinator/store/mongo-outbox.js';
import { mongoUri, uniqueName } from '../helpers/services.js';
import { localBackend, mongoBackend, type Backend, type Harness } from '../helpers/store-backends.js';

function event(experimentId: string, seq: number): TrellisEvent {
  return {
    type: 'trial.metric',
    experimentId,
    trialId: `${experimentId}-t0`,
    trialNumber: 0,
    seq,
    time: 1_700_000_000_000 + seq,
    payload: { step: seq, attempt: 1, values: { loss: 1 / seq } },
  };
}

const seqsOf = (events: TrellisEvent[]): number[] => events.map((e) => e.seq);
const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** `peers`: the backend opens a second instance on the same data (MongoStore; a LocalStore directory has one writer). */
function outboxContract(backend: Backend, peers: boolean): void {
  describe(`Store outbox marks: ${backend.name}`, () => {
    let h: Harness;
    beforeEach(async () => {
      h = await backend.open();
    });
    afterEach(async () => {
      await h.dispose();
    });

    it('batches marked in order leave only the unmarked tail, across experiments and a reopen', async () => {
      const a = uniqueName('exp-a');
      const b = uniqueName('exp-b');
      await h.store.appendEvents(range(1, 30).map((s) => event(a, s)));
      await h.store.appendEvents(range(1, 5).map((s) => event(b, s)));
      for (let s = 1; s <= 20; s += 5) await h.store.markPublished(a, range(s, s + 4));
      await h.store.markPublished(b, [1, 2]);
      const left = await h.store.unpublishedEvents();
      assert.deepEqual(
        left.filter((e) => e.experimentId === a).map((e) => e.seq),
        range(21, 30),
      );
      assert.deepEqual(
        left.filter((e) => e.experimentId === b).map((e) => e.seq),
        [3, 4, 5],
      );
      // Sorted by experiment, then seq; `limit` cuts that order.
      const sorted = [...left].sort((x, y) =>
        x.experimentId === y.experimentId ? x.seq - y.seq : x.experimentId! < y.experimentId! ? -1 : 1,
      );
      assert.deepEqual(left, sorted);
      assert.deepEqual(await h.store.unpublishedEvents(4), sorted.slice(0, 4));
      await h.reopen();
      assert.deepEqual(await h.store.unpublishedEvents(), sorted);
      await h.store.markPublished(a, range(21, 30));
      await h.store.markPublished(b, [3, 4, 5]);
      assert.deepEqual(await h.store.unpublishedEvents(), []);
    });

    const withPeers = peers ? it : undefined;
    void withPeers?.(
      'two store instances marking batches in turn (each remembering its own view) leave only the unmarked tail',
      async () => {
        const other = await h.peer!();
        const a = uniqueName('exp-a');
        await h.store.appendEvents(range(1, 40).map((s) => event(a, s)));
        await h.store.markPublished(a, range(1, 5));
        await other.markPublished(a, range(6, 10));
        await h.store.markPublished(a, range(11, 15)); // its view says 5; the stored one 10
        await other.markPublished(a, range(16, 20)); // its view says 10; the stored one 15
        await h.store.markPublished(a, range(3, 8)); // below what is stored: no change
        assert.deepEqual(seqsOf(await h.store.unpublishedEvents()), range(21, 40));
        assert.deepEqual(seqsOf(await other.unpublishedEvents()), range(21, 40));
        await other.markPublished(a, [30]);
        await h.store.markPublished(a, range(21, 29));
        assert.deepEqual(seqsOf(await other.unpublishedEvents()), range(31, 40));
      },
    );

    it(`marks out of order, more than ${MAX_ABOVE} above a gap, are all kept; closing the gap publishes all`, async () => {
      const a = uniqueName('exp-a');
      const last = MAX_ABOVE + 300;
      await h.store.appendEvents(range(1, last).map((s) => event(a, s)));
      // Seq 1 and 2 unmarked; the rest in three out-of-order calls.
      await h.store.markPublished(a, range(MAX_ABOVE, last));
      await h.store.markPublished(a, range(3, 300));
      await h.store.markPublished(a, range(301, MAX_ABOVE - 1));
      assert.deepEqual(seqsOf(await h.store.unpublishedEvents()), [1, 2]);
      await h.reopen();
      assert.deepEqual(seqsOf(await h.store.unpublishedEvents()), [1, 2]);
      await h.store.markPublished(a, [2]);
      assert.deepEqual(seqsOf(await h.store.unpublishedEvents()), [1]);
      await h.store.markPublished(a, [1]);
      assert.deepEqual(await h.store.unpublishedEvents(), []);
      // Appending published events again (a retried batch) leaves them published.
      await h.store.appendEvents(range(1, 10).map((s) => event(a, s)));
      assert.deepEqual(await h.store.unpublishedEvents(), []);
    });
  });
}

outboxContract(localBackend, false);
outboxContract(mongoBackend('FerretDB', 'claims'), true);
outboxContract(mongoBackend('mongo-java-server', 'native'), true);

describe('MongoStore outbox: events marked by earlier builds', () => {
  it('an event whose own published flag is true stays published; one without stays unpublished', async () => {
    const h = await mongoBackend('FerretDB', 'claims').open();
    const client = new MongoClient(mongoUri(), { serverSelectionTimeoutMS: 5000 });
    try {
      const a = uniqueName('exp-old');
      await h.store.appendEvents(range(1, 4).map((s) => event(a, s)));
      // What markPublished did before the outbox documents: the flag on the event itself.
      await client.connect();
      const db = (h.store as unknown as { dbName: string }).dbName;
      const res = await client
        .db(db)
        .collection('events')
        .updateMany({ experimentId: a, seq: { $in: [1, 2] } }, { $set: { published: true } });
      assert.equal(res.modifiedCount, 2);
      assert.deepEqual(seqsOf(await h.store.unpublishedEvents()), [3, 4]);
      await h.store.markPublished(a, [3]);
      assert.deepEqual(seqsOf(await h.store.unpublishedEvents()), [4]);
    } finally {
      await client.close();
      await h.dispose();
    }
  });
});
