/**
 * GPU placement: which GPUs of a worker an attempt gets, and in which order waiting attempts
 * are placed. Pure functions over the dispatcher's capacities (slots.ts), property-tested
 * (test/unit/gpu-placement.test.ts); the dispatcher owns the state and applies the holds.
 *
 * Two kinds of GPU request:
 * - whole GPUs (`gpus: N`, no GPU memory): N GPUs nobody else uses, held exclusively;
 * - a share (`gpuMemoryBytes > 0`, declared as resources.gpuMemory or estimated from a
 *   configuration family's measured peak): max(1, N) GPUs, each with that much room. Several
 *   shares pack onto one GPU.
 * A GPU's room is its total memory less what Trellis committed to it (the shares of the
 * attempts it holds) less the use its worker last reported beyond those shares (other
 * processes, or attempts over their share); a GPU whose total memory is unknown (0: `--gpus` without memory, no nvidia-smi) takes
 * whole-GPU requests only. Declared/estimated memory is never over-committed: the committed
 * shares on a GPU never sum above its total.
 *
 * Choice of GPUs: best fit (the GPUs with the least room that still fits, ties by id), which
 * keeps large holes for large requests. Order of waiting attempts: fair share between groups
 * (experiments): repeatedly the group with the fewest attempts held now (counting those placed
 * in this pass), ties by which group's oldest waiting attempt came first; FIFO within a group.
 * Every waiting attempt is tried, so none waits while some worker has room for it.
 */
import type { SlotRequest, WorkerCapacity } from './slots.js';

/** What one GPU of a worker holds and has. */
export interface GpuView {
  id: string;
  /** Total memory, bytes; 0 = unknown. */
  totalBytes: number;
  /** Sum of the shares of the attempts placed on it. */
  committedBytes: number;
  /** Use the worker last reported on it beyond the committed shares of that moment, bytes. */
  foreignBytes: number;
  /** Held whole by one attempt. */
  exclusive: boolean;
}

export function gpuViews(worker: WorkerCapacity): GpuView[] {
  return worker.gpus.map((id) => ({
    id,
    totalBytes: worker.gpuTotals?.[id] ?? 0,
    committedBytes: worker.gpuCommitted?.get(id) ?? 0,
    foreignBytes: worker.gpuForeign?.[id] ?? 0,
    exclusive: worker.usedGpus.has(id),
  }));
}

/** Memory a new share may take on the GPU now (0 when held whole or its size is unknown). */
export function roomOf(gpu: GpuView): number {
  if (gpu.exclusive || gpu.totalBytes <= 0) return 0;
  return Math.max(0, gpu.totalBytes - gpu.committedBytes - gpu.foreignBytes);
}

/** How many GPUs the request takes (a share always takes at least one). */
export function gpusWanted(request: SlotRequest): number {
  return (request.gpuMemoryBytes ?? 0) > 0 ? Math.max(1, request.gpus) : request.gpus;
}

/** The GPU ids the request gets on this worker now, or undefined when it does not fit. */
export function pickGpus(worker: WorkerCapacity, request: SlotRequest): string[] | undefined {
  const wanted = gpusWanted(request);
  if (wanted === 0) return [];
  const share = request.gpuMemoryBytes ?? 0;
  const views = gpuViews(worker);
  if (share <= 0) {
    // Whole GPUs: nobody on them, neither a whole-GPU attempt nor a share; lowest ids first.
    const free = views.filter((g) => !g.exclusive && g.committedBytes === 0).map((g) => g.id);
    return free.length >= wanted ? free.slice(0, wanted) : undefined;
  }
  const fitting = views
    .map((g) => ({ id: g.id, room: roomOf(g) }))
    .filter((g) => g.room >= share)
    .sort((a, b) => a.room - b.room || compareIds(a.id, b.id));
  return fitting.length >= wanted ? fitting.slice(0, wanted).map((g) => g.id) : undefined;
}

/** Whether an idle worker could ever give the request its GPUs (ignoring what runs now). */
export function gpusCouldEverFit(worker: WorkerCapacity, request: SlotRequest): boolean {
  const wanted = gpusWanted(request);
  const share = request.gpuMemoryBytes ?? 0;
  if (share <= 0) return wanted <= worker.gpus.length;
  return worker.gpus.filter((id) => (worker.gpuTotals?.[id] ?? 0) >= share).length >= wanted;
}

/** The largest GPU memory on any of the workers (0 when none is known). */
export function largestGpu(workers: readonly WorkerCapacity[]): number {
  let most = 0;
  for (const w of workers) for (const id of w.gpus) most = Math.max(most, w.gpuTotals?.[id] ?? 0);
  return most;
}

/** Numeric ids in number order ("2" before "10"), others as text. */
function compareIds(a: string, b: string): number {
  const na = Number(a);
  const nb = Number(b);
  if (Number.isInteger(na) && Number.isInteger(nb)) return na - nb;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A waiting attempt as the fair order sees it (the dispatcher's waiters, oldest first). */
export interface Queued {
  key: string;
  request: SlotRequest;
}

/**
 * The order in which to try `waiting` (oldest first in the input): fair share between groups
 * (request.group; none = one group ''), see the module comment. `running`: attempts each group
 * holds now. Deterministic: depends only on the input order and counts.
 */
export function fairOrder<T extends Queued>(waiting: readonly T[], running: ReadonlyMap<string, number>): T[] {
  const queues = new Map<string, T[]>();
  for (const w of waiting) {
    const group = w.request.group ?? '';
    const queue = queues.get(group);
    if (queue) queue.push(w);
    else queues.set(group, [w]);
  }
  // Map iteration order is first appearance: the group whose oldest waiter came first leads ties.
  const groups = [...queues.keys()];
  const held = new Map(groups.map((g) => [g, running.get(g) ?? 0]));
  const next = new Map(groups.map((g) => [g, 0]));
  const order: T[] = [];
  while (order.length < waiting.length) {
    let best: string | undefined;
    for (const g of groups) {
      if (next.get(g)! >= queues.get(g)!.length) continue;
      if (best === undefined || held.get(g)! < held.get(best)!) best = g;
    }
    const queue = queues.get(best!)!;
    order.push(queue[next.get(best!)!]!);
    next.set(best!, next.get(best!)! + 1);
    held.set(best!, held.get(best!)! + 1);
  }
  return order;
}

export function cloneCapacity(worker: WorkerCapacity): WorkerCapacity {
  return {
    ...worker,
    usedGpus: new Set(worker.usedGpus),
    ...(worker.gpuCommitted ? { gpuCommitted: new Map(worker.gpuCommitted) } : {}),
  };
}
