/**
 * Resource-aware matching of a trial's request to a worker's free slots. Pure functions: the
 * dispatcher owns the state, these decide. GPUs (whole or shared by memory) are chosen in
 * gpu-placement.ts.
 */
import { memoryBytes } from '../../shared/limits.js';
import {
  cloneCapacity,
  fairOrder,
  gpusCouldEverFit,
  gpusWanted,
  largestGpu,
  pickGpus,
  type Queued,
} from './gpu-placement.js';

export interface SlotRequest {
  cpus: number;
  /** Whole GPUs; with gpuMemoryBytes, how many GPUs get a share each (at least 1). */
  gpus: number;
  memoryBytes: number;
  runtime: string;
  labels: Record<string, string>;
  /** Memory on each of its GPUs, bytes: a share of a GPU others may share too; 0/absent = whole GPUs. */
  gpuMemoryBytes?: number;
  /** Fairness group (the experiment id): placement takes turns between groups (gpu-placement.ts). */
  group?: string;
}

export interface WorkerCapacity {
  id: string;
  cpus: number;
  gpus: string[];
  memoryBytes: number;
  labels: Record<string, string>;
  runtimes: string[];
  /** Currently used by running attempts. */
  usedCpus: number;
  /** GPUs held whole by one attempt. */
  usedGpus: Set<string>;
  usedMemoryBytes: number;
  running: number;
  accepting: boolean;
  /** GPU id → total memory, bytes (absent or 0: unknown, whole-GPU requests only). */
  gpuTotals?: Record<string, number>;
  /**
   * GPU id → what the worker last reported in use on it beyond the shares committed to it then,
   * bytes (processes Trellis did not place, attempts over their share).
   */
  gpuForeign?: Record<string, number>;
  /** GPU id → sum of the shares (gpuMemoryBytes) of the attempts placed on it. */
  gpuCommitted?: Map<string, number>;
  /** The worker holds a queued assignment per running attempt (its hello's `prefetch`). */
  prefetch?: boolean;
}

export interface Placement {
  workerId: string;
  gpuIds: string[];
  /** Queued behind this running attempt on the worker (prefetch.ts); absent: it starts at once. */
  after?: string;
}

/** What an attempt holds on its worker (gpuMemoryBytes > 0: a share of each of gpuIds; else whole GPUs). */
export interface Hold {
  cpus: number;
  gpuIds: string[];
  memoryBytes: number;
  gpuMemoryBytes?: number;
  group?: string;
}

/** True when the worker could run the request if it were idle (used to warn about requests no worker fits). */
export function couldEverFit(worker: WorkerCapacity, request: SlotRequest): boolean {
  return (
    worker.runtimes.includes(request.runtime) &&
    Object.entries(request.labels).every(([k, v]) => worker.labels[k] === v) &&
    request.cpus <= worker.cpus + 1e-9 &&
    gpusCouldEverFit(worker, request) &&
    (worker.memoryBytes === 0 || request.memoryBytes <= worker.memoryBytes)
  );
}

/**
 * Why no worker in `workers` could ever run the request, in words (for a trial's
 * pending_reason); undefined when one could, or when there is no worker to judge by.
 */
export function neverFitsReason(workers: readonly WorkerCapacity[], request: SlotRequest): string | undefined {
  if (workers.length === 0 || workers.some((w) => couldEverFit(w, request))) return undefined;
  const gaps: string[] = [];
  if (!workers.some((w) => w.runtimes.includes(request.runtime))) {
    const offered = [...new Set(workers.flatMap((w) => w.runtimes))].sort();
    gaps.push(`runtime '${request.runtime}' (workers offer: ${offered.join(', ') || 'none'})`);
  }
  const labels = Object.entries(request.labels);
  if (labels.length > 0 && !workers.some((w) => labels.every(([k, v]) => w.labels[k] === v))) {
    gaps.push(`labels ${labels.map(([k, v]) => `${k}=${v}`).join(',')}`);
  }
  const most = (f: (w: WorkerCapacity) => number): number => Math.max(...workers.map(f));
  const wanted = gpusWanted(request);
  if (wanted > most((w) => w.gpus.length))
    gaps.push(`gpus ${wanted} (most on a worker: ${most((w) => w.gpus.length)})`);
  const share = request.gpuMemoryBytes ?? 0;
  if (share > 0 && !workers.some((w) => gpusCouldEverFit(w, request))) {
    const largest = largestGpu(workers);
    gaps.push(
      `gpuMemory ${share} bytes on ${wanted} GPU(s) (largest GPU on a worker: ${largest > 0 ? `${largest} bytes` : 'memory unknown'})`,
    );
  }
  if (request.cpus > most((w) => w.cpus) + 1e-9)
    gaps.push(`cpus ${request.cpus} (most on a worker: ${most((w) => w.cpus)})`);
  const memory = workers.filter((w) => w.memoryBytes > 0);
  if (memory.length === workers.length && request.memoryBytes > most((w) => w.memoryBytes)) {
    gaps.push(`memory ${request.memoryBytes} bytes (most on a worker: ${most((w) => w.memoryBytes)})`);
  }
  const n = workers.length;
  return (
    `no connected worker (${n} accepting) can ever run this trial: ` +
    (gaps.length > 0 ? `needs ${gaps.join('; ')}` : 'no single worker meets all of its requirements together')
  );
}

/**
 * What decides where a request fits (all but its fairness group), as one string: requests are
 * built per attempt, so equal requests are different objects. Requests are never changed once
 * made (the cache relies on it).
 */
const shapes = new WeakMap<SlotRequest, string>();
function shapeOf(request: SlotRequest): string {
  let shape = shapes.get(request);
  if (shape === undefined) {
    const labels = Object.entries(request.labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const { cpus, gpus, memoryBytes, runtime, gpuMemoryBytes } = request;
    shape = JSON.stringify([cpus, gpus, memoryBytes, runtime, gpuMemoryBytes ?? 0, labels]);
    shapes.set(request, shape);
  }
  return shape;
}

/**
 * `couldEverFit` per worker capacity and request shape: it reads only what a worker advertised
 * in its hello (runtimes, labels, sizes), which never changes for a capacity object. A pass over
 * 1,000 workers then costs a few comparisons per worker (issue 15 §3). At most EVER_SHAPES
 * shapes are kept per worker (learned GPU shares make many).
 */
const everFits = new WeakMap<WorkerCapacity, Map<string, boolean>>();
const EVER_SHAPES = 64;
function couldEverFitCached(worker: WorkerCapacity, request: SlotRequest): boolean {
  const shape = shapeOf(request);
  let known = everFits.get(worker);
  if (!known) everFits.set(worker, (known = new Map<string, boolean>()));
  let fits = known.get(shape);
  if (fits === undefined) {
    if (known.size >= EVER_SHAPES) known.clear();
    fits = couldEverFit(worker, request);
    known.set(shape, fits);
  }
  return fits;
}

/** The GPUs the request gets on the worker now, or undefined when it does not fit there now. */
function fitNow(worker: WorkerCapacity, request: SlotRequest): string[] | undefined {
  // The cheap checks on free room first: most workers of a large pool are full (issue 15 §3).
  if (!worker.accepting) return undefined;
  if (request.cpus > worker.cpus - worker.usedCpus + 1e-9) return undefined;
  if (worker.memoryBytes > 0 && request.memoryBytes > worker.memoryBytes - worker.usedMemoryBytes) return undefined;
  if (!couldEverFitCached(worker, request)) return undefined;
  return pickGpus(worker, request);
}

export function fitsNow(worker: WorkerCapacity, request: SlotRequest): boolean {
  return fitNow(worker, request) !== undefined;
}

/** What orders workers for a new attempt (see `place`). */
export interface Load {
  running: number;
  free: number;
  id: string;
}

export function loadOf(worker: WorkerCapacity): Load {
  return { running: worker.running, free: worker.cpus - worker.usedCpus, id: worker.id };
}

/** Negative when `a` comes first for a new attempt: fewer running, more free CPUs, lower id. */
export function compareLoad(a: Load, b: Load): number {
  if (a.running !== b.running) return a.running - b.running;
  if (a.free !== b.free) return b.free - a.free;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** Whether `a` is a better choice than `b` for a new attempt (`compareLoad` without allocating). */
function lessLoaded(a: WorkerCapacity, b: WorkerCapacity): boolean {
  if (a.running !== b.running) return a.running < b.running;
  const freeA = a.cpus - a.usedCpus;
  const freeB = b.cpus - b.usedCpus;
  return freeA !== freeB ? freeA > freeB : a.id < b.id;
}

/**
 * The index in `workers` of the one `place` picks, and its GPUs. A worker is checked for fit only
 * when it would beat the best so far (the order is total: ids are unique), so a pass over 1,000
 * idle workers checks a handful of them, not all (issue 15 §3). `sorted`: `workers` is in
 * `compareLoad` order, so the first that fits is the one.
 */
function pick(
  workers: readonly WorkerCapacity[],
  request: SlotRequest,
  sorted = false,
): { index: number; gpus: string[] } | undefined {
  let best = -1;
  let bestGpus: string[] = [];
  for (let i = 0; i < workers.length; i++) {
    const worker = workers[i]!;
    if (best >= 0 && !lessLoaded(worker, workers[best]!)) continue;
    const gpus = fitNow(worker, request);
    if (!gpus) continue;
    if (sorted) return { index: i, gpus };
    best = i;
    bestGpus = gpus;
  }
  return best < 0 ? undefined : { index: best, gpus: bestGpus };
}

/**
 * Picks the worker for a request: among those it fits now, the least loaded (fewest running
 * attempts, then most free CPUs, then id for determinism). GPUs: gpu-placement.ts `pickGpus`
 * (whole GPUs: the lowest free ids; shares: best fit).
 */
export function place(workers: Iterable<WorkerCapacity>, request: SlotRequest): Placement | undefined {
  const list = Array.isArray(workers) ? (workers as WorkerCapacity[]) : [...workers];
  const picked = pick(list, request);
  return picked && { workerId: list[picked.index]!.id, gpuIds: picked.gpus };
}

/** The hold a placed request takes. */
export function holdOf(request: SlotRequest, placement: Placement): Hold {
  return {
    cpus: request.cpus,
    gpuIds: placement.gpuIds,
    memoryBytes: request.memoryBytes,
    ...((request.gpuMemoryBytes ?? 0) > 0 ? { gpuMemoryBytes: request.gpuMemoryBytes } : {}),
    ...(request.group !== undefined ? { group: request.group } : {}),
  };
}

/** Adds (sign 1) or removes (sign -1) a hold from the worker's used capacity. */
export function applyHold(worker: WorkerCapacity, hold: Hold, sign: 1 | -1 = 1): void {
  worker.usedCpus += sign * hold.cpus;
  worker.usedMemoryBytes += sign * hold.memoryBytes;
  worker.running += sign;
  const share = hold.gpuMemoryBytes ?? 0;
  for (const gpu of hold.gpuIds) {
    if (share > 0) {
      worker.gpuCommitted ??= new Map();
      const committed = (worker.gpuCommitted.get(gpu) ?? 0) + sign * share;
      if (committed > 0) worker.gpuCommitted.set(gpu, committed);
      else worker.gpuCommitted.delete(gpu);
    } else if (sign > 0) worker.usedGpus.add(gpu);
    else worker.usedGpus.delete(gpu);
  }
}

/**
 * Places what it can of `waiting` (oldest first) on copies of `workers`, in fair order
 * (gpu-placement.ts `fairOrder`), each with `place`; returns the placements in the order made and
 * the keys left waiting. `running`: attempts each group holds now. The dispatcher applies the
 * same holds to its own capacities. `workers` is never changed: a worker is copied when a
 * placement first lands on it (copying every worker per pass cost O(workers) per dispatch).
 * `sorted`: `workers` is in `compareLoad` order (the dispatcher's RoomOrder), so each placement
 * takes the first worker it fits.
 */
export function placeAll(
  workers: readonly WorkerCapacity[],
  waiting: readonly Queued[],
  running: ReadonlyMap<string, number>,
  sorted = false,
): { placed: { key: string; placement: Placement }[]; left: string[] } {
  const placed: { key: string; placement: Placement }[] = [];
  const left: string[] = [];
  if (waiting.length === 0) return { placed, left };
  // Copy on write: a worker is copied (into `view`, in its place) when something is placed on it.
  const view = workers.slice();
  const copies = new Map<string, WorkerCapacity>();
  // Room only shrinks during a pass: a request that found no worker finds none for an equal
  // request after it either, so each shape is tried once per pass, not once per waiter.
  const unplaced = new Set<string>();
  for (const w of waiting.length === 1 ? waiting : fairOrder(waiting, running)) {
    const picked = unplaced.has(shapeOf(w.request)) ? undefined : pick(view, w.request, sorted);
    if (!picked) {
      unplaced.add(shapeOf(w.request));
      left.push(w.key);
      continue;
    }
    const i = picked.index;
    const copy = copies.get(view[i]!.id) ?? cloneCapacity(view[i]!);
    copies.set(copy.id, copy);
    const placement = { workerId: copy.id, gpuIds: picked.gpus };
    applyHold(copy, holdOf(w.request, placement));
    placed.push({ key: w.key, placement });
    if (!sorted) {
      view[i] = copy;
      continue;
    }
    // Keep `view` in load order: the copy moves back past the workers now less loaded.
    view.splice(i, 1);
    const load = loadOf(copy);
    let lo = i;
    let hi = view.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareLoad(loadOf(view[mid]!), load) < 0) lo = mid + 1;
      else hi = mid;
    }
    view.splice(lo, 0, copy);
  }
  return { placed, left };
}

/** resources.memory in bytes (one reading, in shared/limits.ts, for validation and placement). */
export const parseMemory = memoryBytes;
