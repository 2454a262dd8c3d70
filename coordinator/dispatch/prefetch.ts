/**
 * Prefetch bookkeeping (issue 15 §5; a sweep's `budget.prefetch`). An attempt may be queued on
 * a busy worker behind one running attempt of its own experiment (its host): the worker holds
 * the assignment and starts it the moment the host ends (Assignment.after_attempt_id), so the
 * host's result hop, settle, the next trial's creation and the assignment hop leave the path
 * between one program's exit and the next one's start.
 *
 * Contracts (the dispatcher keeps them with this table):
 *  - A host has at most one successor; only workers whose hello says `prefetch` get any.
 *  - A queued attempt holds nothing on its worker (no CPU, memory or GPU) until its host is
 *    released; then it takes the host's place exactly: its CPUs and memory fit in the host's and
 *    it gets the host's GPUs (whole GPUs, the same count) or none. GPU shares are never queued.
 *  - It is leased like a running attempt (the worker's heartbeats name it), so a worker that dies
 *    loses it with its lease; the runner then requeues it without counting an attempt (it never
 *    started), see RunningAttempts.lose.
 */
import { couldEverFit, holdOf, type Hold, type Placement, type SlotRequest } from './slots.js';
import type { ConnectedWorker } from './worker-views.js';

export interface QueuedAttempt {
  workerId: string;
  /** The running attempt it follows. */
  host: string;
  /** What it holds once it starts (the host's GPUs). */
  hold: Hold;
  /** Called once when it starts (its host was released); never when it is dropped first. */
  onStart?: () => void;
}

/**
 * The GPUs `request` gets in `host`'s place, or undefined when it cannot take that place exactly
 * (more CPUs or memory than the host holds, another GPU count, or a GPU share on either side).
 */
export function successorGpus(host: Hold, request: SlotRequest): string[] | undefined {
  if ((host.gpuMemoryBytes ?? 0) > 0 || (request.gpuMemoryBytes ?? 0) > 0) return undefined;
  if (request.cpus > host.cpus + 1e-9 || request.memoryBytes > host.memoryBytes) return undefined;
  if (request.gpus === 0) return [];
  return request.gpus === host.gpuIds.length ? host.gpuIds : undefined;
}

export class PrefetchTable {
  /** Queued attempt id → where it waits. */
  private readonly queued = new Map<string, QueuedAttempt>();
  /** Host attempt id → its queued successor. */
  private readonly successors = new Map<string, string>();
  /**
   * Per group (experiment): running attempts on prefetch workers with no successor yet, oldest
   * first (the first to end, for equal trials), → their worker id. The dispatcher checks each
   * candidate when it uses it (the worker may have stopped accepting since).
   */
  private readonly hosts = new Map<string, Map<string, string>>();

  get size(): number {
    return this.queued.size;
  }

  addHost(group: string, attemptId: string, workerId: string): void {
    if (this.successors.has(attemptId)) return;
    let hosts = this.hosts.get(group);
    if (!hosts) this.hosts.set(group, (hosts = new Map<string, string>()));
    hosts.set(attemptId, workerId);
  }

  removeHost(group: string, attemptId: string): void {
    const hosts = this.hosts.get(group);
    if (!hosts?.delete(attemptId)) return;
    if (hosts.size === 0) this.hosts.delete(group);
  }

  /** Whether any group has a candidate host (the dispatcher's fast path skips the queue pass). */
  get hasHosts(): boolean {
    return this.hosts.size > 0;
  }

  /** The candidate hosts of `group`, oldest first: [host attempt id, worker id]. */
  candidates(group: string): [string, string][] {
    return [...(this.hosts.get(group) ?? [])];
  }

  queue(attemptId: string, group: string, entry: QueuedAttempt): void {
    this.removeHost(group, entry.host);
    this.successors.set(entry.host, attemptId);
    this.queued.set(attemptId, entry);
  }

  get(attemptId: string): QueuedAttempt | undefined {
    return this.queued.get(attemptId);
  }

  /** Removes a queued attempt that will not start here (released before its host ended). */
  drop(attemptId: string): QueuedAttempt | undefined {
    const entry = this.queued.get(attemptId);
    if (!entry) return undefined;
    this.queued.delete(attemptId);
    this.successors.delete(entry.host);
    return entry;
  }

  /** The host was released: its successor (if any) leaves the queue to start in its place. */
  take(host: string): { attemptId: string; entry: QueuedAttempt } | undefined {
    const attemptId = this.successors.get(host);
    if (attemptId === undefined) return undefined;
    const entry = this.drop(attemptId)!;
    return { attemptId, entry };
  }

  /**
   * Queues `key` behind the oldest running attempt of its group it can follow exactly, on a
   * connected, accepting prefetch worker; returns its placement, or undefined when there is none.
   */
  place(key: string, request: SlotRequest, workers: ReadonlyMap<string, ConnectedWorker>): Placement | undefined {
    const group = request.group ?? '';
    for (const [host, workerId] of this.candidates(group)) {
      const worker = workers.get(workerId);
      const hold = worker?.holds.get(host);
      if (!worker || !hold) {
        this.removeHost(group, host);
        continue;
      }
      const gpuIds = successorGpus(hold, request);
      if (!gpuIds || !worker.connected || !worker.capacity.accepting || !worker.capacity.prefetch) continue;
      if (!couldEverFit(worker.capacity, request)) continue;
      const placement: Placement = { workerId, gpuIds, after: host };
      this.queue(key, group, { workerId, host, hold: holdOf(request, placement) });
      return placement;
    }
    return undefined;
  }

  /** The attempts queued on a worker (a drain names them with its running ones). */
  onWorker(workerId: string): string[] {
    return [...this.queued].filter(([, q]) => q.workerId === workerId).map(([id]) => id);
  }
}

/**
 * The waiters that may take a slot now: all without a cap, and a capped group's oldest up to
 * what its cap leaves (`running`: attempts each group holds now).
 */
export function underCap<T extends { request: SlotRequest; cap?: number }>(
  waiting: T[],
  running: ReadonlyMap<string, number>,
): T[] {
  if (!waiting.some((w) => w.cap !== undefined)) return waiting;
  const taken = new Map<string, number>();
  return waiting.filter((w) => {
    if (w.cap === undefined) return true;
    const group = w.request.group ?? '';
    const count = taken.get(group) ?? running.get(group) ?? 0;
    if (count >= w.cap) return false;
    taken.set(group, count + 1);
    return true;
  });
}
