/**
 * The worker protocol, one handler per connected worker stream: hello (capacity, and the
 * attempts a reconnecting worker still runs), heartbeats (lease renewal), progress, results,
 * failures, checkpoints, stop confirmations, draining (stored) and disconnect.
 *
 * Messages about an attempt are routed by key: the lease table names the attempt's experiment
 * (`leases.get(attemptId).experimentId`), and `route` gives that experiment's `AttemptRouter`
 * (its sweep runner). A message about an attempt this worker does not hold a lease on is
 * dropped, and the worker is told to stop that attempt.
 *
 * Worker identity (Kubernetes' node restriction): the session's identity comes from the auth
 * gate (the token's name; an mTLS subject would plug in the same way). A worker id belongs to
 * the identity that uses it: a hello with a worker id another identity's session holds (still
 * connected, or with attempts not yet settled) is refused with PERMISSION_DENIED; a hello from
 * the same identity replaces the old session (whoever holds that token could act as that worker
 * anyway, and a worker whose connection broke half-open must not wait for keepalive to notice).
 * Every message about an attempt must carry the attempt's token and come from the identity it
 * is bound to: a wrong one ends the stream with PERMISSION_DENIED and changes nothing. A hello
 * re-adopts only attempts bound to its identity, shown with their tokens. The CPUs and GPUs a
 * hello advertises are clamped to what the identity's `maxSlots` leaves (all its connected
 * workers together); with nothing left, the hello is refused.
 *
 * Until the coordinator has resumed its experiments after a restart (`ResumeGate`), a worker's
 * messages wait in order: its hello must find the attempts it still runs already leased again.
 */
import type { Logger } from 'pino';
import { PermissionDeniedError } from '../../shared/errors.js';
import type { Identity } from '../auth/policy.js';
import type { Audit } from '../auth/audit.js';
import type { WorkerMessage__Output } from '../../shared/generated/trellis/v1/WorkerMessage.js';
import type { WorkerDoc } from '../../shared/types.js';
import type { Store } from '../store/base.js';
import type { EventLog } from '../event-log.js';
import type { AttemptLogs } from '../attempt-logs.js';
import type { Dispatcher, WorkerSession } from './dispatcher.js';
import type { LeaseTable } from './leases.js';
import type { Hold, WorkerCapacity } from './slots.js';
import type { GpuMemory__Output } from '../../shared/generated/trellis/v1/GpuMemory.js';
import { bytesOf, gpuTotalsOf, gpuUsedOf } from './gpu-reports.js';
import { stepFromWire, stepProblem } from '../../shared/steps.js';
import { capacityOf, WorkerRecord, type Hello } from './worker-record.js';

export { capacityOf, LAST_SEEN_EVERY_MS } from './worker-record.js';

/** Most attempt ids one Stop names (a heartbeat's reply stays one bounded message). */
export const STOP_IDS_PER_REPLY = 1000;

/** Rejected messages of one worker stream are warned about at most this often (with their count). */
const REJECT_WARN_EVERY_MS = 5_000;

/** What the owner of an attempt (a sweep runner) handles; the narrow view this module needs. */
export interface AttemptRouter {
  onProgress(attemptId: string, step: number, metrics: Record<string, number>): void;
  /** A report refused for its step (shared/steps.ts): counted on the trial with the reason. */
  onStepRefused?(attemptId: string, reason: string): void;
  onCheckpoint(attemptId: string, artifactId: string, step: number): void;
  onResult(attemptId: string, metrics: Record<string, number>, info: Record<string, unknown>): void;
  onFailure(attemptId: string, error: string, retryable: boolean, failureKind?: string, evidence?: string): void;
  onStopped(attemptId: string, reason: string): void;
  /** What the attempt holds on its worker, to rebuild the hold when the worker reconnects. */
  resourcesOfAttempt(attemptId: string): Hold;
  /** The most GPU memory the attempt's processes used at once, bytes (0: not measured); before its outcome. */
  onGpuPeak?(attemptId: string, bytes: number): void;
}

/** What the transport (gRPC stream, in-process fake) calls for each worker stream. */
export interface WorkerConnection {
  onMessage(message: WorkerMessage__Output): void;
  onClose(): void;
}

/** Closed until the coordinator has resumed its experiments; then lets waiting callbacks run. */
export class ResumeGate {
  private waiters: (() => void)[] | undefined = [];

  get isOpen(): boolean {
    return this.waiters === undefined;
  }

  /** Runs `fn` once the gate is open (now, when it already is). */
  whenOpen(fn: () => void): void {
    if (this.waiters) this.waiters.push(fn);
    else fn();
  }

  open(): void {
    const waiters = this.waiters ?? [];
    this.waiters = undefined;
    for (const fn of waiters) fn();
  }
}

export interface WorkerSessionContext {
  dispatcher: Dispatcher;
  leases: LeaseTable;
  /** The router of an experiment's attempts (undefined when no runner of it is active). */
  route: (experimentId: string) => AttemptRouter | undefined;
  gate: ResumeGate;
  /** Worker records (waits out store outages) and `worker.state` events. */
  store: Store;
  events: EventLog;
  /** Program output per attempt (coordinator/attempt-logs.ts). */
  logs: Pick<AttemptLogs, 'onOutput'>;
  heartbeatMs: number;
  log: Logger;
  audit?: Audit;
}

/** The identity of a session on a coordinator without tokens. */
const NO_AUTH: Identity = { name: 'anonymous', role: 'admin' };

export class WorkerSessionHandler implements WorkerConnection {
  private workerId: string | undefined;
  private log: Logger;
  /** Messages waiting for the resume gate, in arrival order. */
  private backlog: WorkerMessage__Output[] | undefined;
  /** The worker's record in the store and its `worker.state` events. */
  private readonly records: WorkerRecord;
  /** Messages rejected since the last warning about them, and when that was. */
  private rejected = 0;
  private rejectWarnedAt = 0;

  /** Set once the session was refused or caught forging: nothing more it sends is handled. */
  private refused = false;

  constructor(
    private readonly session: WorkerSession,
    private readonly ctx: WorkerSessionContext,
    log: Logger = ctx.log,
    private readonly identity: Identity = NO_AUTH,
  ) {
    this.log = log;
    this.records = new WorkerRecord(ctx, () => this.log);
  }

  onMessage(message: WorkerMessage__Output): void {
    if (this.ctx.gate.isOpen && !this.backlog) return this.handle(message);
    if (!this.backlog) {
      this.backlog = [];
      this.ctx.gate.whenOpen(() => {
        const queued = this.backlog ?? [];
        this.backlog = undefined;
        for (const m of queued) this.handle(m);
      });
    }
    this.backlog.push(message);
  }

  onClose(): void {
    this.backlog = undefined; // messages of a session that already ended are not handled
    if (!this.workerId || this.refused) return;
    this.ctx.dispatcher.removeWorker(this.workerId, this.session);
    void this.records.record(this.workerId, 'disconnected');
    this.log.info('worker disconnected');
  }

  private handle(message: WorkerMessage__Output): void {
    if (this.refused) return;
    if (message.body !== 'hello' && !this.workerId) return; // nothing counts before a hello
    switch (message.body) {
      case 'hello':
        return this.hello(message.hello!);
      case 'heartbeat':
        this.gpuUsage(message.heartbeat?.gpu_memory ?? []);
        return this.heartbeat(message.heartbeat?.running_attempt_ids ?? []);
      case 'progress': {
        const p = message.progress!;
        const holder = this.holder(p.attempt_id, p.attempt_token, 'progress');
        if (holder) this.ctx.leases.progressed(p.attempt_id, Date.now());
        const step = stepFromWire(p.step, p.step64);
        // The worker refuses bad steps itself; one that still arrives (another client) is refused here.
        const refused = p.step_refused || stepProblem(step, -Infinity);
        if (refused) return holder?.onStepRefused?.(p.attempt_id, refused);
        return holder?.onProgress(p.attempt_id, step, p.metrics ?? {});
      }
      case 'checkpoint': {
        const c = message.checkpoint!;
        const holder = this.holder(c.attempt_id, c.attempt_token, 'checkpoint');
        if (holder) this.ctx.leases.progressed(c.attempt_id, Date.now());
        return holder?.onCheckpoint(c.attempt_id, c.artifact_id, stepFromWire(c.step, c.step64));
      }
      case 'result': {
        const r = message.result!;
        const holder = this.holder(r.attempt_id, r.attempt_token, 'result');
        holder?.onGpuPeak?.(r.attempt_id, bytesOf(r.peak_gpu_memory_bytes));
        return holder?.onResult(r.attempt_id, r.metrics ?? {}, parseJson(r.info_json));
      }
      case 'failure': {
        const f = message.failure!;
        const holder = this.holder(f.attempt_id, f.attempt_token, 'failure');
        holder?.onGpuPeak?.(f.attempt_id, bytesOf(f.peak_gpu_memory_bytes));
        return holder?.onFailure(f.attempt_id, f.error, f.retryable, f.kind, f.evidence);
      }
      case 'stopped': {
        const s = message.stopped!;
        return this.holder(s.attempt_id, s.attempt_token, 'stopped')?.onStopped(s.attempt_id, s.reason);
      }
      case 'output':
        if (this.workerId) this.ctx.logs.onOutput(this.workerId, message.output!);
        return;
      case 'draining':
        if (!this.workerId) return;
        this.ctx.dispatcher.setDraining(this.workerId);
        void this.records.record(this.workerId, 'draining');
        this.log.info('worker draining');
        return;
      default:
        return;
    }
  }

  private hello(hello: Hello): void {
    if (!hello.worker_id) {
      this.session.end();
      return;
    }
    if (this.workerId && this.workerId !== hello.worker_id) {
      return this.refuse(`one stream is one worker: this one already said hello as ${this.workerId}`);
    }
    const { dispatcher, leases } = this.ctx;
    const owner = dispatcher.ownerOf(hello.worker_id);
    if (owner && owner.identity !== this.identity.name && (owner.connected || owner.holds > 0)) {
      return this.refuse(
        `worker id ${hello.worker_id} is in use by another worker identity; each worker needs its own id (--id)`,
        hello.worker_id,
      );
    }
    const slots = this.clamp(capacityOf(hello), hello.worker_id);
    if (!slots) return;
    const workerId = (this.workerId = hello.worker_id);
    this.log = this.log.child({ workerId });
    const capacity: Omit<WorkerCapacity, 'usedCpus' | 'usedGpus' | 'usedMemoryBytes' | 'running'> = {
      id: workerId,
      ...slots,
      labels: hello.labels ?? {},
      runtimes: hello.runtimes ?? [],
      accepting: false,
      gpuTotals: gpuTotalsOf(hello.slots?.gpus ?? []),
      ...(hello.prefetch ? { prefetch: true } : {}),
    };
    dispatcher.addWorker(capacity, this.session, hello.version ?? '', this.identity.name);
    // A reconnect: keep the attempts whose lease is still valid and bound to this identity and
    // the token shown for it; stop the others (on this worker only).
    const tokens = hello.attempt_tokens ?? {};
    const unknown: string[] = [];
    for (const attemptId of hello.running_attempt_ids ?? []) {
      const router = this.routerOf(attemptId);
      if (router && leases.adopt(attemptId, workerId, this.identity.name, tokens[attemptId], Date.now())) {
        dispatcher.hold(workerId, attemptId, router.resourcesOfAttempt(attemptId));
        this.log.info({ attemptId }, 'worker reconnected with a running attempt; lease kept');
      } else {
        unknown.push(attemptId);
      }
    }
    this.stopAll(unknown, 'lease expired or unknown attempt');
    this.session.send({
      welcome: { lease_ms: String(leases.leaseMs), heartbeat_ms: String(this.ctx.heartbeatMs) },
    });
    dispatcher.setAccepting(workerId, true);
    void this.records.record(workerId, 'connected', hello, slots);
    this.log.info({ slots, runtimes: hello.runtimes }, 'worker connected');
  }

  private gpuUsage(readings: GpuMemory__Output[]): void {
    const worker = this.workerId && this.ctx.dispatcher.snapshotOf(this.workerId);
    const used = worker && gpuUsedOf(readings, worker.gpus);
    if (used) this.ctx.dispatcher.setGpuUsage(this.workerId!, used);
  }

  private heartbeat(runningAttemptIds: string[]): void {
    const workerId = this.workerId;
    if (!workerId) return;
    this.ctx.dispatcher.touch(workerId);
    this.records.seen(workerId);
    const unknown: string[] = [];
    for (const attemptId of this.ctx.leases.renew(workerId, runningAttemptIds, Date.now())) {
      // Leased to this worker but past its expiry: the lease timer ends it as lost.
      const lease = this.ctx.leases.get(attemptId);
      if (lease?.workerId === workerId && this.ctx.route(lease.experimentId)) continue;
      unknown.push(attemptId);
    }
    this.stopAll(unknown, 'lease expired or unknown attempt');
  }

  /**
   * One reply for a whole heartbeat or hello: a single Stop naming the attempts (no
   * amplification: 50,000 unknown ids cost one message). At most STOP_IDS_PER_REPLY ids; the
   * rest are named by the next heartbeat's reply, and the cut is logged.
   */
  private stopAll(attemptIds: string[], reason: string): void {
    if (attemptIds.length === 0) return;
    const named = attemptIds.slice(0, STOP_IDS_PER_REPLY);
    if (attemptIds.length > named.length) {
      this.log.warn(
        { unknown: attemptIds.length, named: named.length },
        'worker names more unknown attempts than one Stop carries; the rest are answered on its next heartbeat',
      );
    }
    this.session.send({ stop: { attempt_id: named[0]!, reason, attempt_ids: named.slice(1) } });
  }

  /** The attempt's owner, found through its lease. */
  private routerOf(attemptId: string): AttemptRouter | undefined {
    const lease = this.ctx.leases.get(attemptId);
    return lease ? this.ctx.route(lease.experimentId) : undefined;
  }

  /**
   * The attempt's router, if this worker holds the attempt's lease and shows its token;
   * otherwise tell it to stop. A message for a live attempt bound to another identity, or with
   * a wrong token, is a forgery: the stream ends with PERMISSION_DENIED and nothing is recorded.
   */
  private holder(attemptId: string, token: string | undefined, what: string): AttemptRouter | undefined {
    const router = this.routerOf(attemptId);
    const workerId = this.workerId;
    const lease = this.ctx.leases.get(attemptId);
    // A lease without a token hash (an attempt stored before attempt tokens) is merely not held.
    if (lease?.tokenHash && router && !this.ctx.leases.verify(attemptId, this.identity.name, token)) {
      this.refuse(
        `${what} for attempt ${attemptId} refused: it is not bound to worker identity ${this.identity.name} with that attempt token`,
      );
      return undefined;
    }
    if (router && workerId && this.ctx.leases.holds(attemptId, workerId, Date.now())) return router;
    // A stop confirmation or last checkpoint of an attempt we already ended (pruned, cancelled,
    // exploited) is expected; anything else from an attempt not held is worth a warning.
    const expected =
      what === 'stopped' || what === 'checkpoint' || (!router && (what === 'result' || what === 'failure'));
    if (expected) {
      this.log.debug({ attemptId, workerId }, `rejected ${what} from an attempt this worker does not hold`);
    } else {
      // Counted, and warned about at most every REJECT_WARN_EVERY_MS per stream (with the count),
      // so a worker sending thousands of them cannot turn each into a log line.
      this.rejected++;
      const now = Date.now();
      if (now - this.rejectWarnedAt >= REJECT_WARN_EVERY_MS) {
        this.log.warn(
          { attemptId, workerId, rejected: this.rejected },
          `rejected ${what} from an attempt this worker does not hold (lost or unknown)`,
        );
        this.rejectWarnedAt = now;
        this.rejected = 0;
      }
    }
    if (what !== 'result' && what !== 'failure' && what !== 'stopped')
      this.stop(attemptId, 'not leased to this worker');
    return undefined;
  }

  private stop(attemptId: string, reason: string): void {
    this.session.send({ stop: { attempt_id: attemptId, reason } });
  }

  /** Ends this stream with PERMISSION_DENIED (audited); the session changes nothing more. */
  private refuse(reason: string, workerId = this.workerId): void {
    this.refused = true;
    this.backlog = undefined;
    this.log.warn({ workerId, identity: this.identity.name, reason }, 'worker refused');
    this.ctx.audit?.record({
      kind: 'denied',
      identity: this.identity.name,
      role: this.identity.role,
      method: 'WorkerService.Connect',
      outcome: 'PERMISSION_DENIED',
      reason,
      ...(workerId ? { workerId } : {}),
    });
    // The dispatcher's entry (if this session was it) goes as on a disconnect.
    if (this.workerId) this.ctx.dispatcher.removeWorker(this.workerId, this.session);
    const err = new PermissionDeniedError(reason);
    if (this.session.fail) this.session.fail(err);
    else this.session.end();
  }

  /**
   * The capacity a hello may advertise: within what the identity's maxSlots leaves once its
   * other connected workers are counted (CPUs and GPUs alike). A larger claim is clamped and
   * audited; with nothing left the hello is refused (undefined).
   */
  private clamp(slots: WorkerDoc['slots'], workerId: string): WorkerDoc['slots'] | undefined {
    const max = this.identity.maxSlots;
    if (max === undefined) return slots;
    const used = this.ctx.dispatcher.advertisedBy(this.identity.name, workerId);
    const cpus = Math.min(slots.cpus, max - used.cpus);
    const gpus = slots.gpus.slice(0, Math.max(0, max - used.gpus));
    if (cpus <= 0) {
      this.refuse(
        `worker identity ${this.identity.name} may advertise at most ${max} CPU slots in all (--max-slots); its connected workers already advertise ${used.cpus}`,
        workerId,
      );
      return undefined;
    }
    if (cpus < slots.cpus || gpus.length < slots.gpus.length) {
      const reason = `advertised ${slots.cpus} CPUs and ${slots.gpus.length} GPUs; clamped to ${cpus} and ${gpus.length} (worker identity ${this.identity.name}: --max-slots ${max}, ${used.cpus} CPUs and ${used.gpus} GPUs on its other workers)`;
      this.log.warn({ workerId, identity: this.identity.name }, reason);
      this.ctx.audit?.record({
        kind: 'clamped',
        identity: this.identity.name,
        role: this.identity.role,
        method: 'WorkerService.Connect',
        outcome: 'clamped',
        reason,
        workerId,
      });
    }
    return { ...slots, cpus, gpus };
  }
}

function parseJson(text: string): Record<string, unknown> {
  if (!text) return {};
  try {
    const value = JSON.parse(text) as unknown;
    return value && typeof value === 'object' ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}
