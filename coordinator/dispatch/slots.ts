/**
 * Resource-aware matching of a trial's request to a worker's free slots. Pure functions: the
 * dispatcher owns the state, these decide.
 */
import { memoryBytes } from '../../shared/limits.js';

export interface SlotRequest {
  cpus: number;
  gpus: number;
  memoryBytes: number;
  runtime: string;
  labels: Record<string, string>;
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
  usedGpus: Set<string>;
  usedMemoryBytes: number;
  running: number;
  accepting: boolean;
}

export interface Placement {
  workerId: string;
  gpuIds: string[];
}

/** True when the worker could run the request if it were idle (used to warn about requests no worker fits). */
export function couldEverFit(worker: WorkerCapacity, request: SlotRequest): boolean {
  return (
    worker.runtimes.includes(request.runtime) &&
    Object.entries(request.labels).every(([k, v]) => worker.labels[k] === v) &&
    request.cpus <= worker.cpus + 1e-9 &&
    request.gpus <= worker.gpus.length &&
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
  if (request.gpus > most((w) => w.gpus.length))
    gaps.push(`gpus ${request.gpus} (most on a worker: ${most((w) => w.gpus.length)})`);
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

export function fitsNow(worker: WorkerCapacity, request: SlotRequest): boolean {
  if (!worker.accepting || !couldEverFit(worker, request)) return false;
  if (request.cpus > worker.cpus - worker.usedCpus + 1e-9) return false;
  if (request.gpus > worker.gpus.length - worker.usedGpus.size) return false;
  if (worker.memoryBytes > 0 && request.memoryBytes > worker.memoryBytes - worker.usedMemoryBytes) return false;
  return true;
}

/**
 * Picks the worker for a request: among those it fits now, the least loaded (fewest running
 * attempts, then most free CPUs, then id for determinism). GPUs are the lowest free ids.
 */
export function place(workers: Iterable<WorkerCapacity>, request: SlotRequest): Placement | undefined {
  let best: WorkerCapacity | undefined;
  for (const worker of workers) {
    if (!fitsNow(worker, request)) continue;
    if (
      !best ||
      worker.running < best.running ||
      (worker.running === best.running &&
        (worker.cpus - worker.usedCpus > best.cpus - best.usedCpus ||
          (worker.cpus - worker.usedCpus === best.cpus - best.usedCpus && worker.id < best.id)))
    ) {
      best = worker;
    }
  }
  if (!best) return undefined;
  const gpuIds = best.gpus.filter((id) => !best.usedGpus.has(id)).slice(0, request.gpus);
  return { workerId: best.id, gpuIds };
}

/** resources.memory in bytes (one reading, in shared/limits.ts, for validation and placement). */
export const parseMemory = memoryBytes;
