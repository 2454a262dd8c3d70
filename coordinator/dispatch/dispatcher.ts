/**
 * The dispatcher: connected workers, their free capacity, and the queue of attempts waiting for
 * a slot. A waiting attempt is placed as soon as a worker with room for it exists (whole GPUs or
 * a share of one by memory: gpu-placement.ts), waiting attempts taking turns between
 * experiments (fair share, gpu-placement.ts `fairOrder`); its resources stay reserved until
 * `release`. A waiter of a prefetching sweep that finds no room may be queued behind a running
 * attempt of its experiment instead (prefetch.ts); `release` of that attempt starts it.
 */
import type { CoordinatorMessage } from '../../shared/generated/trellis/v1/CoordinatorMessage.js';
import {
  applyHold,
  holdOf,
  neverFitsReason,
  placeAll,
  type Hold,
  type Placement,
  type SlotRequest,
  type WorkerCapacity,
} from './slots.js';
import {
  countsOf,
  demandOf,
  snapshotOf,
  unplaceableOf,
  usageOf,
  type ConnectedWorker,
  type Demand,
  type WorkerSession,
  type WorkerSnapshot,
  type WorkerUsage,
} from './worker-views.js';
import { RoomOrder } from './room-order.js';

export type { Demand, WorkerSession, WorkerSnapshot, WorkerUsage } from './worker-views.js';
import { PrefetchTable, underCap } from './prefetch.js';

interface Waiter {
  key: string;
  request: SlotRequest;
  resolve: (placement: Placement) => void;
  reject: (err: Error) => void;
  /** Told when the reason the request cannot be placed on any connected worker changes. */
  onReason?: (reason: string | undefined) => void;
  reason?: string;
  /** performance.now() when the attempt started waiting. */
  since: number;
  /** Its reason was judged against the current set of accepting workers. */
  judged?: boolean;
  /** May be queued behind a running attempt of its group (prefetch.ts). */
  prefetch?: boolean;
  /** At most this many attempts of its group hold slots at once (a prefetching sweep's concurrency). */
  cap?: number;
}

/** How a waiter may be placed (waitForSlot): see Waiter. */
export interface SlotOptions {
  prefetch?: boolean;
  cap?: number;
}

export class Dispatcher {
  private readonly workers = new Map<string, ConnectedWorker>();
  /**
   * Indexes that keep each dispatch and release O(1) in the number of workers (issue 15: 1,000
   * workers): the workers that hold each attempt, the accepting workers with a free CPU (only
   * they can take a request: every request asks for CPUs), and the accepting workers' capacities
   * (rebuilt only when a worker comes, goes or stops accepting).
   */
  private readonly holders = new Map<string, Set<ConnectedWorker>>();
  private readonly roomy = new RoomOrder();
  /** Attempts holding slots, per experiment (fair share between experiments). */
  private readonly runningByGroup = new Map<string, number>();
  /** CPUs and GPUs advertised by the connected workers of each identity (advertisedBy). */
  private readonly advertised = new Map<string, { cpus: number; gpus: number }>();
  private accepting: WorkerCapacity[] | undefined;
  private waiting: Waiter[] = [];
  private readonly placedListeners = new Set<(waitedMs: number) => void>();
  /** Attempts queued behind running ones (prefetch), and the running ones that may host one. */
  private readonly prefetch = new PrefetchTable();

  /**
   * Adds or replaces a worker session. Holds (from a reconnect) are re-applied by the caller.
   * The caller (worker-session.ts) has checked that `identity` may use this worker id; a session
   * of the same id that is still connected is ended (its replacement takes over).
   */
  addWorker(
    capacity: Omit<WorkerCapacity, 'usedCpus' | 'usedGpus' | 'usedMemoryBytes' | 'running'>,
    session: WorkerSession,
    version = '',
    identity = '',
  ): void {
    const previous = this.workers.get(capacity.id);
    if (previous?.connected && previous.session !== session) previous.session.end();
    if (previous?.connected) this.advertise(previous, -1);
    const worker: ConnectedWorker = {
      identity,
      capacity: { ...capacity, usedCpus: 0, usedGpus: new Set(), usedMemoryBytes: 0, running: 0 },
      session,
      holds: new Map(),
      connected: true,
      draining: false,
      version,
      lastHeartbeatAt: Date.now(),
    };
    // A reconnect keeps what the old session held: those attempts still run on that machine.
    if (previous) {
      this.roomy.delete(previous.capacity);
      for (const [attemptId, hold] of previous.holds) {
        this.holders.get(attemptId)?.delete(previous);
        this.applyHold(worker, attemptId, hold);
      }
    }
    this.workers.set(capacity.id, worker);
    this.advertise(worker, 1);
    this.updateRoom(worker);
    this.workersChanged();
    this.pump();
  }

  /**
   * Who uses `workerId`: its identity, whether its session is connected, and how many attempts
   * it holds (undefined: the id is unknown).
   */
  ownerOf(workerId: string): { identity: string; connected: boolean; holds: number } | undefined {
    const worker = this.workers.get(workerId);
    return worker && { identity: worker.identity, connected: worker.connected, holds: worker.holds.size };
  }

  identityOf(workerId: string): string | undefined {
    return this.workers.get(workerId)?.identity;
  }

  /** CPUs and GPUs the connected workers of `identity` advertise, other than `exceptWorkerId`. */
  advertisedBy(identity: string, exceptWorkerId: string): { cpus: number; gpus: number } {
    const total = { ...(this.advertised.get(identity) ?? { cpus: 0, gpus: 0 }) };
    const except = this.workers.get(exceptWorkerId);
    if (except?.connected && except.identity === identity) {
      total.cpus -= except.capacity.cpus;
      total.gpus -= except.capacity.gpus.length;
    }
    return total;
  }

  /** Adds (sign 1) or removes (−1) a connected worker's capacity from its identity's total. */
  private advertise(worker: ConnectedWorker, sign: 1 | -1): void {
    const total = this.advertised.get(worker.identity) ?? { cpus: 0, gpus: 0 };
    total.cpus += sign * worker.capacity.cpus;
    total.gpus += sign * worker.capacity.gpus.length;
    if (total.cpus === 0 && total.gpus === 0) this.advertised.delete(worker.identity);
    else this.advertised.set(worker.identity, total);
  }

  removeWorker(workerId: string, session: WorkerSession): void {
    const worker = this.workers.get(workerId);
    if (worker && worker.session === session) {
      if (worker.connected) this.advertise(worker, -1);
      worker.capacity.accepting = false;
      worker.connected = false;
      // Keep the entry (holds stay until their leases are settled) but send nothing more to it.
      worker.session = { send: () => false, end: () => undefined };
      this.updateRoom(worker);
      this.workersChanged();
      this.pump();
    }
  }

  /** Heartbeats handled since start (read by the scale bench: CPU per heartbeat). */
  heartbeats = 0;

  /** A heartbeat arrived from the worker. */
  touch(workerId: string, now = Date.now()): void {
    this.heartbeats++;
    const worker = this.workers.get(workerId);
    if (worker) worker.lastHeartbeatAt = now;
  }

  /**
   * The GPU memory the worker reports in use now (GPU id → bytes, all processes; from its
   * heartbeats): what it shows beyond the shares committed now counts against the GPU's room.
   */
  setGpuUsage(workerId: string, used: Record<string, number>): void {
    const worker = this.workers.get(workerId);
    if (!worker) return;
    const before = worker.capacity.gpuForeign ?? {};
    const foreign: Record<string, number> = {};
    for (const [id, bytes] of Object.entries(used)) {
      foreign[id] = Math.max(0, bytes - (worker.capacity.gpuCommitted?.get(id) ?? 0));
    }
    worker.capacity.gpuForeign = foreign;
    // Less foreign use can make room for a waiting share.
    if (Object.entries(foreign).some(([id, bytes]) => bytes < (before[id] ?? 0))) this.pump();
  }

  /** The worker is shutting down: it gets nothing new. */
  setDraining(workerId: string): void {
    const worker = this.workers.get(workerId);
    if (worker) worker.draining = true;
    this.setAccepting(workerId, false);
  }

  /**
   * An operator's drain: the worker gets nothing new and is told to drain (it preempts its
   * attempts and exits). Returns the attempts it holds, or undefined when it is not connected.
   */
  drain(workerId: string, reason: string): string[] | undefined {
    const worker = this.workers.get(workerId);
    if (!worker?.connected) return undefined;
    this.setDraining(workerId);
    worker.session.send({ drain: { reason } });
    return [...worker.holds.keys(), ...this.prefetch.onWorker(workerId)];
  }

  snapshot(): WorkerSnapshot[] {
    return snapshotOf(this.workers.values());
  }

  /** Total memory of one GPU of a worker, bytes (0: unknown). */
  gpuTotal(workerId: string, gpuId: string | undefined): number {
    return (gpuId !== undefined && this.workers.get(workerId)?.capacity.gpuTotals?.[gpuId]) || 0;
  }

  /** The GPUs a known worker advertises (undefined: unknown worker). */
  snapshotOf(workerId: string): { gpus: readonly string[] } | undefined {
    const worker = this.workers.get(workerId);
    return worker && { gpus: worker.capacity.gpus };
  }

  setAccepting(workerId: string, accepting: boolean): void {
    const worker = this.workers.get(workerId);
    if (worker) {
      worker.capacity.accepting = accepting;
      this.updateRoom(worker);
    }
    this.workersChanged();
    this.pump();
  }

  send(workerId: string, message: CoordinatorMessage): boolean {
    const worker = this.workers.get(workerId);
    if (!worker) return false;
    return worker.session.send(message);
  }

  /** Waits until the request fits a worker, then reserves it under `key` (the attempt id). */
  waitForSlot(
    key: string,
    request: SlotRequest,
    signal?: AbortSignal,
    onReason?: (reason: string | undefined) => void,
    options: SlotOptions = {},
  ): Promise<Placement> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason as Error);
      const onAbort = (): void => {
        this.waiting = this.waiting.filter((w) => w !== waiter);
        reject(signal!.reason as Error);
      };
      // The listener goes as soon as the slot is granted: a long sweep must not pile them up.
      const waiter: Waiter = {
        key,
        request,
        resolve: (placement) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(placement);
        },
        reject,
        ...(onReason ? { onReason } : {}),
        ...(options.prefetch ? { prefetch: true } : {}),
        ...(options.cap !== undefined ? { cap: options.cap } : {}),
        since: performance.now(),
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(waiter);
      this.pump();
    });
  }

  /** Records that `attemptId` holds resources on the worker (a reconnect or a resumed attempt). */
  hold(workerId: string, attemptId: string, hold: Hold): void {
    const worker = this.workers.get(workerId);
    // A queued attempt holds nothing until its host is released (a reconnect names it too).
    if (worker && !worker.holds.has(attemptId) && !this.prefetch.get(attemptId))
      this.applyHold(worker, attemptId, hold);
  }

  /**
   * The attempt gives back what it holds. A queued one leaves its queue (it never starts, its
   * host may take another); a running one's queued successor starts in its place.
   */
  release(attemptId: string): void {
    const dropped = this.prefetch.drop(attemptId);
    if (dropped) {
      const host = this.workers.get(dropped.workerId);
      const hold = host?.holds.get(dropped.host);
      if (host?.capacity.prefetch && hold) this.prefetch.addHost(hold.group ?? '', dropped.host, dropped.workerId);
      this.pump();
      return;
    }
    for (const worker of this.holders.get(attemptId) ?? []) {
      const hold = worker.holds.get(attemptId);
      if (!hold) continue;
      worker.holds.delete(attemptId);
      this.prefetch.removeHost(hold.group ?? '', attemptId);
      applyHold(worker.capacity, hold, -1);
      this.countRunning(hold, -1);
      this.updateRoom(worker);
    }
    this.holders.delete(attemptId);
    const next = this.prefetch.take(attemptId);
    const worker = next && this.workers.get(next.entry.workerId);
    if (next && worker) {
      this.applyHold(worker, next.attemptId, next.entry.hold);
      next.entry.onStart?.();
    }
    this.pump();
  }

  /** Whether the attempt is queued behind another (prefetch) and has not started. */
  isQueued(attemptId: string): boolean {
    return this.prefetch.get(attemptId) !== undefined;
  }

  /** Runs `fn` when the attempt starts: now unless it is queued; never if it is released while queued. */
  whenStarted(attemptId: string, fn: () => void): void {
    const queued = this.prefetch.get(attemptId);
    if (queued) queued.onStart = fn;
    else fn();
  }

  /** Entries of the per-attempt index (for the bound's test: it holds only attempts that hold slots). */
  get heldAttempts(): number {
    return this.holders.size;
  }

  /** Requests that no connected worker could ever run (for a warning). */
  unplaceable(): SlotRequest[] {
    return unplaceableOf(this.workers.values(), this.waiting);
  }

  /** What each known worker uses now, and the attempts it runs (read-only, for the dashboard). */
  usage(): WorkerUsage[] {
    return usageOf(this.workers.values());
  }

  get waitingCount(): number {
    return this.waiting.length;
  }

  /** Slots demanded by attempts waiting for a worker plus those running (held) on one. */
  demand(): Demand {
    return demandOf(this.workers.values(), this.waiting);
  }

  /** Workers by state: accepting work, connected but not accepting (draining), stream ended. */
  workerCounts(): { connected: number; draining: number; disconnected: number } {
    return countsOf(this.workers.values());
  }

  /** Called with how long each attempt waited for its slot (ms). Returns an unsubscribe. */
  onPlaced(listener: (waitedMs: number) => void): () => void {
    this.placedListeners.add(listener);
    return () => this.placedListeners.delete(listener);
  }

  private applyHold(worker: ConnectedWorker, attemptId: string, hold: Hold): void {
    worker.holds.set(attemptId, hold);
    applyHold(worker.capacity, hold);
    this.countRunning(hold, 1);
    let set = this.holders.get(attemptId);
    if (!set) this.holders.set(attemptId, (set = new Set()));
    set.add(worker);
    if (worker.capacity.prefetch && !hold.gpuMemoryBytes)
      this.prefetch.addHost(hold.group ?? '', attemptId, worker.capacity.id);
    this.updateRoom(worker);
  }

  /** Keeps `runningByGroup` (the fair-share order's input) without a scan over every hold. */
  private countRunning(hold: Hold, sign: 1 | -1): void {
    const group = hold.group ?? '';
    const count = (this.runningByGroup.get(group) ?? 0) + sign;
    if (count > 0) this.runningByGroup.set(group, count);
    else this.runningByGroup.delete(group);
  }

  /** Keeps `roomy` true to the worker's state: accepting, connected, with a CPU free. */
  private updateRoom(worker: ConnectedWorker): void {
    const c = worker.capacity;
    if (worker.connected && c.accepting && c.cpus - c.usedCpus > 1e-9 && this.workers.get(c.id) === worker)
      this.roomy.set(c);
    else this.roomy.delete(c);
  }

  /** A worker came, went or changed whether it accepts: every waiter's reason is judged again. */
  private workersChanged(): void {
    this.accepting = undefined;
    for (const waiter of this.waiting) waiter.judged = false;
  }

  private pump(): void {
    if (this.waiting.length === 0) return;
    this.placeWaiting();
    // A reason depends only on what the accepting workers could ever run, not on their load:
    // judged once per waiter, and again when the set of accepting workers changes.
    let accepting = this.accepting;
    for (const waiter of this.waiting) {
      if (!waiter.onReason || waiter.judged) continue;
      waiter.judged = true;
      accepting ??= this.accepting = [...this.workers.values()]
        .filter((w) => w.capacity.accepting)
        .map((w) => w.capacity);
      const reason = neverFitsReason(accepting, waiter.request);
      if (reason === waiter.reason) continue;
      waiter.reason = reason;
      waiter.onReason(reason);
    }
  }

  private placeWaiting(): void {
    const done = new Set<string>();
    // Only workers with a free CPU can take anything (every request asks for CPUs).
    const eligible = this.roomy.size === 0 ? [] : underCap(this.waiting, this.runningByGroup);
    const { placed } = placeAll(this.roomy.workers, eligible, this.runningByGroup, true);
    const byKey = placed.length > 0 ? new Map(this.waiting.map((w) => [w.key, w])) : undefined;
    for (const { key, placement } of placed) {
      const waiter = byKey!.get(key)!;
      this.applyHold(this.workers.get(placement.workerId)!, key, holdOf(waiter.request, placement));
      done.add(key);
      this.placed(waiter, placement);
    }
    // What found no room (or is over its group's cap) may queue behind a running attempt.
    if (this.prefetch.hasHosts) {
      for (const waiter of this.waiting) {
        if (!waiter.prefetch || done.has(waiter.key)) continue;
        const placement = this.prefetch.place(waiter.key, waiter.request, this.workers);
        if (!placement) continue;
        this.placed(waiter, placement);
        done.add(waiter.key);
      }
    }
    if (done.size > 0) this.waiting = this.waiting.filter((w) => !done.has(w.key));
  }

  private placed(waiter: Waiter, placement: Placement): void {
    if (waiter.reason !== undefined) waiter.onReason?.(undefined);
    waiter.resolve(placement);
    const waitedMs = performance.now() - waiter.since;
    for (const listener of this.placedListeners) listener(waitedMs);
  }
}
