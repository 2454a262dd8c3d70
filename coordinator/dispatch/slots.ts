/**
 * Resource-aware matching of a trial's request to a worker's free slots. Pure functions: the
 * dispatcher owns the state, these decide.
 */
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

export function parseMemory(value: number | string | undefined): number {
  if (value === undefined) return 0;
  if (typeof value === 'number') return value;
  const match = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti)?$/.exec(value);
  if (!match) return 0;
  const unit = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40 }[match[2] as 'Ki'] ?? 1;
  return Math.round(Number(match[1]) * unit);
}
