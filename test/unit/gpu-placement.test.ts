import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  applyHold,
  holdOf,
  neverFitsReason,
  place,
  placeAll,
  type SlotRequest,
  type WorkerCapacity,
} from '../../coordinator/dispatch/slots.js';
import { fairOrder, gpuViews, roomOf } from '../../coordinator/dispatch/gpu-placement.js';
import { Dispatcher } from '../../coordinator/dispatch/dispatcher.js';

const GiB = 2 ** 30;

function worker(id: string, gpuTotals: number[], cpus = 64): WorkerCapacity {
  const gpus = gpuTotals.map((_, i) => String(i));
  return {
    id,
    cpus,
    gpus,
    memoryBytes: 0,
    labels: {},
    runtimes: ['command'],
    usedCpus: 0,
    usedGpus: new Set(),
    usedMemoryBytes: 0,
    running: 0,
    accepting: true,
    gpuTotals: Object.fromEntries(gpus.map((g, i) => [g, gpuTotals[i]!])),
  };
}

function request(group: string, gpuMemoryBytes: number, gpus = 1): SlotRequest {
  return { cpus: 1, gpus, memoryBytes: 0, runtime: 'command', labels: {}, gpuMemoryBytes, group };
}

/** Applies placeAll's placements to copies of `workers` (as the dispatcher does). */
function settle(workers: WorkerCapacity[], waiting: { key: string; request: SlotRequest }[]) {
  const result = placeAll(workers, waiting, new Map());
  const byKey = new Map(waiting.map((w) => [w.key, w.request]));
  for (const { key, placement } of result.placed) {
    applyHold(
      workers.find((w) => w.id === placement.workerId)!,
      holdOf(byKey.get(key)!, placement),
    );
  }
  return result;
}

const workload = fc.record({
  workers: fc.array(fc.array(fc.integer({ min: 1, max: 80 }), { minLength: 1, maxLength: 4 }), {
    minLength: 1,
    maxLength: 3,
  }),
  requests: fc.array(
    fc.record({
      group: fc.constantFrom('a', 'b', 'c'),
      // 0: whole GPUs; else a share in GiB (some larger than any GPU).
      share: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 90 })),
      gpus: fc.integer({ min: 0, max: 2 }),
    }),
    { maxLength: 40 },
  ),
});

function build(w: { workers: number[][]; requests: { group: string; share: number; gpus: number }[] }) {
  const workers = w.workers.map((totals, i) =>
    worker(
      `w${i}`,
      totals.map((t) => t * GiB),
      8,
    ),
  );
  const waiting = w.requests.map((r, i) => ({ key: `k${i}`, request: request(r.group, r.share * GiB, r.gpus) }));
  return { workers, waiting };
}

describe('GPU placement (pure, property-tested)', () => {
  it('never over-commits declared memory, and shares never land on a GPU held whole', () => {
    fc.assert(
      fc.property(workload, (w) => {
        const { workers, waiting } = build(w);
        settle(workers, waiting);
        for (const c of workers) {
          for (const g of gpuViews(c)) {
            assert.ok(g.committedBytes <= g.totalBytes, `${c.id}/${g.id}: ${g.committedBytes} > ${g.totalBytes}`);
            assert.ok(!(g.exclusive && g.committedBytes > 0), `${c.id}/${g.id} held whole and shared`);
          }
          assert.ok(c.usedCpus <= c.cpus);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('leaves no attempt waiting while some worker has room for it', () => {
    fc.assert(
      fc.property(workload, (w) => {
        const { workers, waiting } = build(w);
        const { left } = settle(workers, waiting);
        for (const key of left) {
          const r = waiting.find((x) => x.key === key)!.request;
          assert.equal(place(workers, r), undefined, `${key} waits but fits`);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('is deterministic', () => {
    fc.assert(
      fc.property(workload, (w) => {
        const one = build(w);
        const two = build(w);
        assert.deepEqual(placeAll(one.workers, one.waiting, new Map()), placeAll(two.workers, two.waiting, new Map()));
      }),
      { numRuns: 100 },
    );
  });

  it('shares fairly between experiments: a group served ends at most one above any group left waiting', () => {
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom('a', 'b', 'c'), { minLength: 1, maxLength: 40 }),
        fc.integer({ min: 1, max: 6 }),
        fc.record({ a: fc.nat(3), b: fc.nat(3), c: fc.nat(3) }),
        (groups, gpuCount, held) => {
          // Identical requests: 4 GiB shares on 16 GiB GPUs (4 per GPU).
          const workers = [
            worker(
              'w',
              Array.from({ length: gpuCount }, () => 16 * GiB),
            ),
          ];
          const waiting = groups.map((g, i) => ({ key: `k${i}`, request: request(g, 4 * GiB) }));
          const running = new Map(Object.entries(held));
          const { placed, left } = placeAll(workers, waiting, running);
          const count = new Map(running);
          for (const p of placed) {
            const g = waiting.find((x) => x.key === p.key)!.request.group!;
            count.set(g, count.get(g)! + 1);
          }
          const waitingGroups = new Set(left.map((k) => waiting.find((x) => x.key === k)!.request.group!));
          const servedNow = new Set(placed.map((p) => waiting.find((x) => x.key === p.key)!.request.group!));
          // A group served in this pass ends at most one above any group still waiting: slots went
          // to the least-served first (an imbalance from before the pass is evened out, not kept).
          for (const g of servedNow) {
            for (const h of waitingGroups) assert.ok(count.get(g)! <= count.get(h)! + 1, `${g} over ${h}`);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('fair order takes the least-served group first, FIFO within a group', () => {
    const q = (key: string, group: string) => ({ key, request: request(group, 1) });
    const order = fairOrder([q('a1', 'a'), q('a2', 'a'), q('a3', 'a'), q('b1', 'b')], new Map([['a', 0]]));
    assert.deepEqual(
      order.map((x) => x.key),
      ['a1', 'b1', 'a2', 'a3'],
    );
    const busy = fairOrder([q('a1', 'a'), q('b1', 'b'), q('b2', 'b')], new Map([['a', 3]]));
    assert.deepEqual(
      busy.map((x) => x.key),
      ['b1', 'b2', 'a1'],
    );
  });

  it('packs 6 GiB shares two per 16 GiB GPU, best fit, and counts reported use by others', () => {
    const w = worker('w', [16 * GiB, 16 * GiB]);
    const waiting = Array.from({ length: 5 }, (_, i) => ({ key: `k${i}`, request: request('a', 6 * GiB) }));
    const { placed, left } = settle([w], waiting);
    assert.equal(placed.length, 4);
    assert.deepEqual(left, ['k4']);
    assert.deepEqual(
      placed.map((p) => p.placement.gpuIds[0]),
      ['0', '0', '1', '1'],
      'best fit fills GPU 0 before starting GPU 1',
    );
    // 10 GiB used on GPU 0 by a process Trellis did not place: only one 6 GiB share fits there.
    const other = worker('x', [16 * GiB]);
    other.gpuForeign = { '0': 10 * GiB };
    assert.equal(roomOf(gpuViews(other)[0]!), 6 * GiB);
    assert.equal(settle([other], waiting.slice(0, 2)).placed.length, 1);
  });

  it('a whole-GPU request waits for an empty GPU; a share never takes a GPU held whole', () => {
    const w = worker('w', [16 * GiB]);
    const whole = request('a', 0);
    const share = request('b', 2 * GiB);
    assert.deepEqual(settle([w], [{ key: 's', request: share }]).placed.length, 1);
    assert.equal(place([w], whole), undefined, 'a GPU with a share on it is not whole');
    const v = worker('v', [16 * GiB]);
    settle([v], [{ key: 'w', request: whole }]);
    assert.equal(place([v], share), undefined);
  });

  it('says why a request larger than every GPU can never run', () => {
    const reason = neverFitsReason([worker('w', [16 * GiB, 16 * GiB])], request('a', 20 * GiB));
    assert.match(
      reason ?? '',
      /gpuMemory 21474836480 bytes on 1 GPU\(s\) \(largest GPU on a worker: 17179869184 bytes\)/,
    );
    assert.equal(neverFitsReason([worker('w', [16 * GiB])], request('a', 16 * GiB)), undefined);
  });

  it('the dispatcher places shares as the pure function does, and frees them on release', async () => {
    const d = new Dispatcher();
    const {
      usedCpus: _c,
      usedGpus: _g,
      usedMemoryBytes: _m,
      running: _r,
      ...capacity
    } = worker('w', [16 * GiB, 16 * GiB]);
    d.addWorker(capacity, { send: () => true, end: () => undefined });
    const placements = await Promise.all([0, 1, 2, 3].map((i) => d.waitForSlot(`a${i}`, request('e', 6 * GiB))));
    assert.deepEqual(placements.map((p) => p.gpuIds[0]).sort(), ['0', '0', '1', '1']);
    let fifth: string | undefined;
    const waiting = d.waitForSlot('a4', request('e', 6 * GiB)).then((p) => (fifth = p.gpuIds[0]));
    assert.equal(d.waitingCount, 1);
    d.release('a2');
    await waiting;
    assert.equal(fifth, placements[2]!.gpuIds[0]);
  });
});
