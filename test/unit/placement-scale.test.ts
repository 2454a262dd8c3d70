/**
 * placeAll at pool sizes (issue 15 §3): it copies only the workers it places on and checks fit
 * only where a worker could win, so it must still pick exactly what the plain rule picks (the
 * least loaded fitting worker: fewest running, most free CPUs, lowest id) with labels, runtimes,
 * CPU sizes and GPUs mixed, and never change its input. Also the scale bench's `--pin` CPU list.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  applyHold,
  compareLoad,
  couldEverFit,
  loadOf,
  holdOf,
  placeAll,
  type SlotRequest,
  type WorkerCapacity,
} from '../../coordinator/dispatch/slots.js';
import { fairOrder, pickGpus } from '../../coordinator/dispatch/gpu-placement.js';
import { allowedCpus } from '../../bench/scale.js';
import { RoomOrder } from '../../coordinator/dispatch/room-order.js';

/** The rule written plainly: every worker copied, every worker checked, one by one. */
function reference(
  workers: readonly WorkerCapacity[],
  waiting: { key: string; request: SlotRequest }[],
): { key: string; workerId: string; gpuIds: string[] }[] {
  const copies = workers.map((w) => ({ ...w, usedGpus: new Set(w.usedGpus) }));
  const out: { key: string; workerId: string; gpuIds: string[] }[] = [];
  for (const w of fairOrder(waiting, new Map())) {
    const fits = copies
      .map((c) => ({ c, gpus: c.accepting ? pickGpus(c, w.request) : undefined }))
      .filter(
        ({ c, gpus }) =>
          gpus !== undefined &&
          couldEverFit(c, w.request) &&
          w.request.cpus <= c.cpus - c.usedCpus + 1e-9 &&
          (c.memoryBytes === 0 || w.request.memoryBytes <= c.memoryBytes - c.usedMemoryBytes),
      )
      .sort(
        (a, b) =>
          a.c.running - b.c.running ||
          b.c.cpus - b.c.usedCpus - (a.c.cpus - a.c.usedCpus) ||
          (a.c.id < b.c.id ? -1 : 1),
      );
    const best = fits[0];
    if (!best) continue;
    const placement = { workerId: best.c.id, gpuIds: best.gpus! };
    applyHold(best.c, holdOf(w.request, placement));
    out.push({ key: w.key, ...placement });
  }
  return out;
}

function pool(specs: { cpus: number; gpus: number; label: string; runtime: string; running: number }[]) {
  return specs.map((s, i): WorkerCapacity => ({
    id: `w-${String(i).padStart(4, '0')}`,
    cpus: s.cpus,
    gpus: Array.from({ length: s.gpus }, (_, g) => String(g)),
    memoryBytes: 0,
    labels: { zone: s.label },
    runtimes: [s.runtime],
    usedCpus: Math.min(s.running, s.cpus),
    usedGpus: new Set(),
    usedMemoryBytes: 0,
    running: Math.min(s.running, s.cpus),
    accepting: true,
  }));
}

describe('placeAll over a large pool', () => {
  it('places exactly as the plain rule does, and leaves its input unchanged', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            cpus: fc.integer({ min: 1, max: 4 }),
            gpus: fc.integer({ min: 0, max: 2 }),
            label: fc.constantFrom('a', 'b'),
            runtime: fc.constantFrom('command', 'inprocess'),
            running: fc.integer({ min: 0, max: 3 }),
          }),
          { minLength: 1, maxLength: 60 },
        ),
        fc.array(
          fc.record({
            cpus: fc.constantFrom(1, 2),
            gpus: fc.integer({ min: 0, max: 1 }),
            zone: fc.constantFrom('', 'a', 'b'),
            runtime: fc.constantFrom('command', 'inprocess'),
            group: fc.constantFrom('x', 'y'),
          }),
          { minLength: 1, maxLength: 80 },
        ),
        (specs, asks) => {
          const workers = pool(specs);
          const before = JSON.stringify(workers, (_, v: unknown) => (v instanceof Set ? [...v] : v));
          // A new request object per waiter, as the runner makes them (equal ones included).
          const waiting: { key: string; request: SlotRequest }[] = asks.map((a, i) => ({
            key: `t${i}`,
            request: {
              cpus: a.cpus,
              gpus: a.gpus,
              memoryBytes: 0,
              runtime: a.runtime,
              labels: Object.fromEntries(a.zone ? [['zone', a.zone]] : []),
              group: a.group,
            },
          }));
          const { placed, left } = placeAll(workers, waiting, new Map());
          const expected = reference(workers, waiting);
          assert.deepEqual(
            placed.map((p) => ({ key: p.key, ...p.placement })),
            expected,
          );
          // The dispatcher's way: workers kept in load order (RoomOrder), first fit taken.
          const order = new RoomOrder();
          for (const w of workers) order.set(w);
          const sorted = placeAll(order.workers, waiting, new Map(), true);
          assert.deepEqual(
            sorted.placed.map((p) => ({ key: p.key, ...p.placement })),
            expected,
          );
          assert.equal(placed.length + left.length, waiting.length);
          assert.equal(
            JSON.stringify(workers, (_, v: unknown) => (v instanceof Set ? [...v] : v)),
            before,
          );
        },
      ),
      { numRuns: 200 },
    );
  });

  it('spreads 4,000 attempts over 1,000 idle workers, one per worker per round', () => {
    const workers = pool(
      Array.from({ length: 1000 }, () => ({ cpus: 4, gpus: 0, label: 'a', runtime: 'command', running: 0 })),
    );
    const waiting = Array.from({ length: 4000 }, (_, i) => ({
      key: `t${i}`,
      request: { cpus: 1, gpus: 0, memoryBytes: 0, runtime: 'command', labels: {} } as SlotRequest,
    }));
    const { placed, left } = placeAll(workers, waiting, new Map());
    assert.equal(left.length, 0);
    const perWorker = new Map<string, number>();
    for (const [i, p] of placed.entries()) {
      // Round r (attempts r*1000 .. r*1000+999) goes to the workers in id order.
      assert.equal(p.placement.workerId, `w-${String(i % 1000).padStart(4, '0')}`);
      perWorker.set(p.placement.workerId, (perWorker.get(p.placement.workerId) ?? 0) + 1);
    }
    assert.deepEqual(new Set(perWorker.values()), new Set([4]));
  });
});

describe('RoomOrder', () => {
  it('keeps its workers in load order through any sequence of load changes and removals', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            worker: fc.integer({ min: 0, max: 19 }),
            op: fc.constantFrom('hold', 'release', 'delete'),
          }),
          { maxLength: 200 },
        ),
        (ops) => {
          const workers = pool(
            Array.from({ length: 20 }, (_, i) => ({
              cpus: 1 + (i % 4),
              gpus: 0,
              label: 'a',
              runtime: 'c',
              running: 0,
            })),
          );
          const order = new RoomOrder();
          const listed = new Set<WorkerCapacity>();
          for (const w of workers) {
            order.set(w);
            listed.add(w);
          }
          for (const { worker, op } of ops) {
            const w = workers[worker]!;
            if (op === 'delete') {
              order.delete(w);
              listed.delete(w);
              continue;
            }
            const sign = op === 'hold' ? 1 : -1;
            if (sign < 0 && w.running === 0) continue;
            applyHold(w, { cpus: 1, gpuIds: [], memoryBytes: 0 }, sign);
            order.set(w);
            listed.add(w);
          }
          const expected = [...listed].sort((a, b) => compareLoad(loadOf(a), loadOf(b)));
          assert.deepEqual(
            order.workers.map((w) => w.id),
            expected.map((w) => w.id),
          );
          assert.equal(order.size, listed.size);
        },
      ),
    );
  });
});

describe('scale bench --pin', () => {
  it('reads the CPUs this process may use from Cpus_allowed_list', () => {
    assert.deepEqual(allowedCpus('Name:\tnode\nCpus_allowed_list:\t0-3,8,10-11\n'), [0, 1, 2, 3, 8, 10, 11]);
    assert.deepEqual(allowedCpus('Cpus_allowed_list:\t5\n'), [5]);
    assert.ok(allowedCpus().length >= 1);
  });
});
