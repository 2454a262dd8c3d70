import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LeaseTable } from '../../coordinator/dispatch/leases.js';
import { hashAttemptToken } from '../../coordinator/dispatch/attempt-token.js';
import { parseMemory, place, type WorkerCapacity } from '../../coordinator/dispatch/slots.js';
import { Dispatcher } from '../../coordinator/dispatch/dispatcher.js';
import { within } from '../helpers/deadline.js';

describe('leases', () => {
  const base = { trialId: 't', experimentId: 'e', identity: 'node', tokenHash: hashAttemptToken('tok') };

  it('expire at grant + lease unless renewed by the holder', () => {
    const leases = new LeaseTable(1000);
    leases.grant({ ...base, attemptId: 'a1', workerId: 'w1' }, 0);
    leases.grant({ ...base, attemptId: 'a2', workerId: 'w2' }, 0);
    assert.deepEqual(leases.renew('w1', ['a1'], 900), []);
    assert.deepEqual(leases.takeExpired(999), []);
    assert.deepEqual(
      leases.takeExpired(1000).map((l) => l.attemptId),
      ['a2'],
    );
    assert.deepEqual(leases.takeExpired(1899), []);
    assert.deepEqual(
      leases.takeExpired(1900).map((l) => l.attemptId),
      ['a1'],
    );
    assert.equal(leases.size, 0);
  });

  it('are not renewed by another worker, nor after expiry', () => {
    const leases = new LeaseTable(1000);
    leases.grant({ ...base, attemptId: 'a1', workerId: 'w1' }, 0);
    assert.deepEqual(leases.renew('w2', ['a1'], 500), ['a1']);
    assert.equal(leases.holds('a1', 'w2', 500), false);
    assert.deepEqual(leases.renew('w1', ['a1'], 1000), ['a1'], 'expired at 1000');
  });

  it('move to a reconnected session only while still valid', () => {
    const leases = new LeaseTable(1000);
    leases.grant({ ...base, attemptId: 'a1', workerId: 'w1' }, 0);
    assert.equal(leases.adopt('a1', 'w1-again', 'other', 'tok', 999), false, 'another identity');
    assert.equal(leases.adopt('a1', 'w1-again', 'node', 'forged', 999), false, 'a wrong attempt token');
    assert.equal(leases.adopt('a1', 'w1-again', 'node', 'tok', 999), true);
    assert.equal(leases.holds('a1', 'w1-again', 1500), true);
    assert.equal(leases.adopt('a1', 'w3', 'node', 'tok', 2000), false);
  });

  it('report stuck attempts: live leases with no progress for the limit', () => {
    const leases = new LeaseTable(1000);
    leases.grant({ ...base, attemptId: 'a1', workerId: 'w1' }, 0);
    leases.grant({ ...base, attemptId: 'a2', workerId: 'w1' }, 0);
    leases.progressed('a2', 400);
    leases.renew('w1', ['a1', 'a2'], 900);
    assert.deepEqual(
      leases.stuck(500, 500).map((l) => l.attemptId),
      ['a1'],
    );
    assert.deepEqual(
      leases.stuck(950, 500).map((l) => l.attemptId),
      ['a1', 'a2'],
    );
    assert.deepEqual(leases.stuck(2000, 500), [], 'an expired lease is lost, not stuck');
  });
});

function worker(id: string, patch: Partial<WorkerCapacity> = {}): WorkerCapacity {
  return {
    id,
    cpus: 4,
    gpus: [],
    memoryBytes: 0,
    labels: {},
    runtimes: ['tfjs', 'command'],
    usedCpus: 0,
    usedGpus: new Set(),
    usedMemoryBytes: 0,
    running: 0,
    accepting: true,
    ...patch,
  };
}

const request = { cpus: 1, gpus: 0, memoryBytes: 0, runtime: 'tfjs', labels: {} };

describe('slot matching', () => {
  it('places on the least loaded worker that fits', () => {
    const placement = place(
      [worker('a', { running: 2, usedCpus: 2 }), worker('b', { running: 1, usedCpus: 1 })],
      request,
    );
    assert.equal(placement?.workerId, 'b');
  });

  it('respects cpus, gpus, memory, runtimes, labels and draining', () => {
    assert.equal(place([worker('a', { usedCpus: 3.5 })], request), undefined);
    assert.equal(place([worker('a')], { ...request, gpus: 1 }), undefined);
    assert.deepEqual(place([worker('g', { gpus: ['0', '1'], usedGpus: new Set(['0']) })], { ...request, gpus: 1 }), {
      workerId: 'g',
      gpuIds: ['1'],
    });
    assert.equal(
      place([worker('m', { memoryBytes: 100, usedMemoryBytes: 60 })], { ...request, memoryBytes: 50 }),
      undefined,
    );
    assert.equal(place([worker('c', { runtimes: ['command'] })], request), undefined);
    assert.equal(place([worker('l', { labels: { gpu: 't4' } })], { ...request, labels: { gpu: 'a100' } }), undefined);
    assert.equal(place([worker('d', { accepting: false })], request), undefined);
  });

  it('parses memory sizes', () => {
    assert.equal(parseMemory('2Gi'), 2 * 2 ** 30);
    assert.equal(parseMemory('512Mi'), 512 * 2 ** 20);
    assert.equal(parseMemory(1234), 1234);
    assert.equal(parseMemory(undefined), 0);
  });
});

describe('dispatcher', () => {
  it("hands slots out FIFO as capacity frees, never over a worker's CPUs", async () => {
    const dispatcher = new Dispatcher();
    const sent: unknown[] = [];
    dispatcher.addWorker(
      { id: 'w', cpus: 2, gpus: [], memoryBytes: 0, labels: {}, runtimes: ['tfjs'], accepting: true },
      { send: (m) => sent.push(m) > 0, end: () => undefined },
    );
    const order: string[] = [];
    const waits = ['a', 'b', 'c'].map((key) => dispatcher.waitForSlot(key, request).then(() => order.push(key)));
    await Promise.resolve();
    await Promise.resolve();
    assert.deepEqual(order, ['a', 'b']);
    assert.equal(dispatcher.waitingCount, 1);
    dispatcher.release('a');
    await within(Promise.all(waits), 5000, "request c's slot after a was released");
    assert.deepEqual(order, ['a', 'b', 'c']);
  });

  it('a waiting request is withdrawn when its signal aborts', async () => {
    const dispatcher = new Dispatcher();
    const abort = new AbortController();
    const waiting = dispatcher.waitForSlot('x', request, abort.signal);
    abort.abort(new Error('cancelled'));
    await assert.rejects(waiting, /cancelled/);
    assert.equal(dispatcher.waitingCount, 0);
  });

  it('says a message was not sent when the stream under the session has ended', () => {
    // The stream's close can still wait behind its messages (flow/slices.ts): until then the
    // worker is listed, and an assignment sent to it must count as not sent (the runner then
    // loses the attempt at once, at no attempt's cost) rather than vanish.
    const dispatcher = new Dispatcher();
    let ended = false;
    const sent: unknown[] = [];
    dispatcher.addWorker(
      { id: 'w', cpus: 2, gpus: [], memoryBytes: 0, labels: {}, runtimes: ['command'], accepting: true },
      { send: (m) => (ended ? false : (sent.push(m), true)), end: () => undefined },
    );
    assert.equal(dispatcher.send('w', { drain: { reason: 'first' } }), true);
    ended = true;
    assert.equal(dispatcher.send('w', { drain: { reason: 'second' } }), false);
    assert.equal(dispatcher.send('nobody', { drain: { reason: 'third' } }), false);
    assert.equal(sent.length, 1);
  });
});
