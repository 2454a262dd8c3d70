/**
 * The dispatcher's prefetch bookkeeping (coordinator/dispatch/prefetch.ts): a capped group's
 * next attempt queues behind a running one of its own, holds nothing until that one is released,
 * then takes exactly its place (its GPUs); dropped ones free their host; nothing queues on a
 * worker that did not say `prefetch`.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Dispatcher } from '../../coordinator/dispatch/dispatcher.js';
import type { Placement, SlotRequest } from '../../coordinator/dispatch/slots.js';
import { LeaseTable } from '../../coordinator/dispatch/leases.js';
import { within } from '../helpers/deadline.js';

const session = { send: () => true, end: () => undefined };

function cluster(prefetch: boolean, gpus: string[] = []): Dispatcher {
  const dispatcher = new Dispatcher();
  dispatcher.addWorker(
    { id: 'w', cpus: 2, gpus, memoryBytes: 0, labels: {}, runtimes: ['command'], accepting: true, prefetch },
    session,
  );
  return dispatcher;
}

const cpuOnly: SlotRequest = { cpus: 1, gpus: 0, memoryBytes: 0, runtime: 'command', labels: {}, group: 'e1' };
const oneGpu: SlotRequest = { ...cpuOnly, gpus: 1 };
const options = { prefetch: true, cap: 2 };

describe('prefetch in the dispatcher', () => {
  it('queues a capped group past its cap behind its oldest running attempt, which it replaces on release', async () => {
    const dispatcher = cluster(true);
    const placed = new Map<string, Placement>();
    const wait = (key: string): Promise<void> =>
      dispatcher.waitForSlot(key, cpuOnly, undefined, undefined, options).then((p) => void placed.set(key, p));
    const all = Promise.all(['a', 'b', 'c', 'd', 'e'].map(wait));
    await within(
      (async () => {
        while (placed.size < 4) await new Promise((r) => setImmediate(r));
      })(),
      5000,
      'four placements',
    );
    assert.equal(placed.get('a')?.after, undefined);
    assert.equal(placed.get('b')?.after, undefined);
    assert.equal(placed.get('c')?.after, 'a', 'the oldest running attempt hosts first');
    assert.equal(placed.get('d')?.after, 'b');
    assert.equal(dispatcher.waitingCount, 1, 'one successor per running attempt');
    assert.deepEqual(dispatcher.usage()[0]!.attempts, ['a', 'b'], 'queued attempts hold nothing');
    let started = false;
    dispatcher.whenStarted('c', () => (started = true));
    assert.equal(started, false);
    dispatcher.release('a');
    assert.equal(started, true, 'c started when a was released');
    assert.equal(dispatcher.isQueued('c'), false);
    assert.deepEqual(dispatcher.usage()[0]!.attempts.sort(), ['b', 'c']);
    assert.equal(dispatcher.usage()[0]!.usedCpus, 2, 'never more than the worker has');
    await within(all, 5000, 'e queued behind c');
    assert.equal(placed.get('e')?.after, 'c');
  });

  it('frees the host of a queued attempt released before it started; it never starts', () => {
    const dispatcher = cluster(true);
    void dispatcher.waitForSlot('a', cpuOnly, undefined, undefined, { prefetch: true, cap: 1 });
    void dispatcher.waitForSlot('b', cpuOnly, undefined, undefined, { prefetch: true, cap: 1 });
    assert.equal(dispatcher.isQueued('b'), true);
    let started = false;
    dispatcher.whenStarted('b', () => (started = true));
    dispatcher.release('b');
    assert.equal(dispatcher.isQueued('b'), false);
    void dispatcher.waitForSlot('c', cpuOnly, undefined, undefined, { prefetch: true, cap: 1 });
    assert.equal(dispatcher.isQueued('c'), true, 'a hosts again');
    dispatcher.release('a');
    assert.equal(started, false);
    assert.deepEqual(dispatcher.usage()[0]!.attempts, ['c']);
    assert.deepEqual(dispatcher.drain('w', 'test'), ['c']);
  });

  it('gives a queued GPU attempt no GPU until it starts, then exactly its host’s', async () => {
    const dispatcher = cluster(true, ['g0', 'g1']);
    const a = await dispatcher.waitForSlot('a', oneGpu, undefined, undefined, { prefetch: true, cap: 1 });
    const b = await dispatcher.waitForSlot('b', oneGpu, undefined, undefined, { prefetch: true, cap: 1 });
    assert.deepEqual(a.gpuIds, ['g0']);
    assert.deepEqual(b, { workerId: 'w', gpuIds: ['g0'], after: 'a' });
    assert.deepEqual(dispatcher.usage()[0]!.usedGpus, ['g0'], 'g1 stays free for others while b waits');
    const other = await dispatcher.waitForSlot('x', { ...oneGpu, group: 'e2' });
    assert.deepEqual(other.gpuIds, ['g1']);
    dispatcher.release('a');
    assert.deepEqual(dispatcher.usage()[0]!.usedGpus.sort(), ['g0', 'g1']);
  });

  it('never queues on a worker without prefetch, nor a GPU share', () => {
    const plain = cluster(false);
    void plain.waitForSlot('a', cpuOnly, undefined, undefined, { prefetch: true, cap: 1 });
    void plain.waitForSlot('b', cpuOnly, undefined, undefined, { prefetch: true, cap: 1 });
    assert.equal(plain.isQueued('b'), false);
    assert.equal(plain.waitingCount, 1);
    const shares = cluster(true, ['g0']);
    const share = { ...oneGpu, gpuMemoryBytes: 1000 };
    void shares.waitForSlot('a', share, undefined, undefined, { prefetch: true, cap: 1 });
    void shares.waitForSlot('b', share, undefined, undefined, { prefetch: true, cap: 1 });
    assert.equal(shares.isQueued('b'), false);
  });

  it('leases: a queued attempt is never stuck; its start restarts the clock', () => {
    const leases = new LeaseTable(10_000);
    const base = { trialId: 't', experimentId: 'e', workerId: 'w', identity: 'i', tokenHash: '' };
    leases.grant({ ...base, attemptId: 'q', queued: true }, 0);
    assert.deepEqual(leases.stuck(5000, 1000), []);
    leases.started('q', 5000);
    assert.deepEqual(leases.stuck(5500, 1000), []);
    assert.deepEqual(
      leases.stuck(6000, 1000).map((l) => l.attemptId),
      ['q'],
    );
  });
});
