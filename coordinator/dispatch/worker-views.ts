/**
 * The dispatcher's worker entries and the read-only views over them (ListWorkers, the
 * dashboard's usage, the autoscaling demand, worker counts, the unplaceable warning). Pure
 * functions of the entries: the dispatcher owns and changes them.
 */
import type { CoordinatorMessage } from '../../shared/generated/trellis/v1/CoordinatorMessage.js';
import { cloneCapacity } from './gpu-placement.js';
import { couldEverFit, type Hold, type SlotRequest, type WorkerCapacity } from './slots.js';

export interface WorkerSession {
  /**
   * True: the message is on its way to the worker. False: the stream has ended (its close may
   * still be queued behind its messages, flow/slices.ts) and the message will never reach it.
   */
  send(message: CoordinatorMessage): boolean;
  /** Ends the stream from the coordinator's side. */
  end(): void;
  /** Ends the stream with an error status (a refused hello, a forged attempt token); default: `end`. */
  fail?(err: Error): void;
}

export interface ConnectedWorker {
  capacity: WorkerCapacity;
  session: WorkerSession;
  /** attempt id → what it holds on this worker. */
  holds: Map<string, Hold>;
  /** False once the session ended (the entry stays while holds are settled). */
  connected: boolean;
  draining: boolean;
  version: string;
  lastHeartbeatAt: number;
  /** The authenticated identity of the session (token name): a worker id belongs to one identity. */
  identity: string;
}

/** What ListWorkers shows of a worker the dispatcher holds. */
export interface WorkerSnapshot {
  capacity: WorkerCapacity;
  connected: boolean;
  draining: boolean;
  version: string;
  lastHeartbeatAt: number;
}

/** What waiting and running attempts ask for, summed (the autoscaling signal); `pending`: the waiting part. */
export interface Demand {
  cpu: number;
  gpu: number;
  pending: { cpu: number; gpu: number };
}

export interface WorkerUsage {
  id: string;
  usedCpus: number;
  usedGpus: string[];
  running: number;
  accepting: boolean;
  attempts: string[];
}

export function snapshotOf(workers: Iterable<ConnectedWorker>): WorkerSnapshot[] {
  return [...workers].map((w) => ({
    capacity: cloneCapacity(w.capacity),
    connected: w.connected,
    draining: w.draining,
    version: w.version,
    lastHeartbeatAt: w.lastHeartbeatAt,
  }));
}

/** Requests that no accepting worker could ever run. */
export function unplaceableOf(
  workers: Iterable<ConnectedWorker>,
  waiting: readonly { request: SlotRequest }[],
): SlotRequest[] {
  const connected = [...workers].filter((w) => w.capacity.accepting).map((w) => w.capacity);
  if (connected.length === 0) return [];
  return waiting.filter((w) => !connected.some((c) => couldEverFit(c, w.request))).map((w) => w.request);
}

export function usageOf(workers: Iterable<ConnectedWorker>): WorkerUsage[] {
  return [...workers].map((w) => ({
    id: w.capacity.id,
    usedCpus: w.capacity.usedCpus,
    usedGpus: [...w.capacity.usedGpus],
    running: w.capacity.running,
    accepting: w.capacity.accepting,
    attempts: [...w.holds.keys()],
  }));
}

/** Slots demanded by attempts waiting for a worker plus those running (held) on one. */
export function demandOf(workers: Iterable<ConnectedWorker>, waiting: readonly { request: SlotRequest }[]): Demand {
  const demand: Demand = { cpu: 0, gpu: 0, pending: { cpu: 0, gpu: 0 } };
  for (const w of waiting) {
    demand.pending.cpu += w.request.cpus;
    demand.pending.gpu += w.request.gpus;
  }
  demand.cpu = demand.pending.cpu;
  demand.gpu = demand.pending.gpu;
  for (const worker of workers) {
    for (const hold of worker.holds.values()) {
      demand.cpu += hold.cpus;
      demand.gpu += hold.gpuIds.length;
    }
  }
  return demand;
}

/** Workers by state: accepting work, connected but not accepting (draining), stream ended. */
export function countsOf(workers: Iterable<ConnectedWorker>): {
  connected: number;
  draining: number;
  disconnected: number;
} {
  const counts = { connected: 0, draining: 0, disconnected: 0 };
  for (const worker of workers) {
    if (!worker.connected) counts.disconnected += 1;
    else if (worker.capacity.accepting) counts.connected += 1;
    else counts.draining += 1;
  }
  return counts;
}
