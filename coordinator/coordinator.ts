/**
 * The Coordinator: owns all experiment state. Transport-agnostic — the gRPC server
 * (server.ts) adapts calls and worker streams onto these methods, and tests or the in-process
 * benchmark can drive it directly.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Store } from './store/base.js';
import type { EventBus } from './bus/base.js';
import { EventLog } from './event-log.js';
import { retrying } from './store/retrying.js';
import { Dispatcher, type WorkerSession } from './dispatch/dispatcher.js';
import { LeaseTable } from './dispatch/leases.js';
import { SweepRunner } from './experiments/sweep-runner.js';
import { validateSpec, validateSpecText, type ValidatedSpec } from './experiments/validate.js';
import { PipelineRunner } from './pipelines/engine.js';
import { codeVersion } from '../shared/version.js';
import { FailedPreconditionError, InvalidArgumentError, NotFoundError, UnavailableError } from '../shared/errors.js';
import { isTerminal, type ExperimentStatus } from '../shared/states.js';
import type { TrellisEvent } from '../shared/events.js';
import type { ExperimentDoc, MetricDoc, TrialDoc } from '../shared/types.js';
import { workerViews, type WorkerView } from './workers-view.js';
import { mapArtifactRefs } from '../shared/artifact-refs.js';
import type { WorkerMessage__Output } from '../shared/generated/trellis/v1/WorkerMessage.js';
import { env } from '../shared/env.js';

export interface CoordinatorOptions {
  store: Store;
  bus: EventBus;
  log: Logger;
  /** Lease of a running attempt, renewed by heartbeats (default 30 s, env TRELLIS_LEASE_MS). */
  leaseMs?: number;
  /** How often workers heartbeat (default a third of the lease). */
  heartbeatMs?: number;
}

/** How often a heartbeat may move workers.lastSeenAt in the store (per worker). */
export const LAST_SEEN_EVERY_MS = 5_000;

export interface WorkerConnection {
  onMessage(message: WorkerMessage__Output): void;
  onClose(): void;
}

type State = 'created' | 'starting' | 'running' | 'closing' | 'closed';

export class Coordinator {
  readonly store: Store;
  readonly bus: EventBus;
  readonly events: EventLog;
  readonly dispatcher = new Dispatcher();
  readonly leases: LeaseTable;
  readonly heartbeatMs: number;
  private readonly log: Logger;
  private readonly runners = new Map<string, SweepRunner>();
  private readonly pipelines = new Map<string, PipelineRunner>();
  private readonly runs = new Set<Promise<void>>();
  private state: State = 'created';
  private starting: Promise<void> | undefined;
  private closing: Promise<void> | undefined;
  private leaseTimer: NodeJS.Timeout | undefined;
  private readonly stateListeners = new Set<(state: State) => void>();
  /** The store as the coordinator's own bookkeeping sees it: waits out outages. */
  private readonly patient: Store;
  private readonly lifetime = new AbortController();
  private readonly warnedUnplaceable = new Set<string>();
  private readonly lastSeenWritten = new Map<string, number>();
  /** False until the attempts running before a restart hold leases again. */
  private resumed = false;
  private readonly resumeWaiters: (() => void)[] = [];

  constructor(options: CoordinatorOptions) {
    this.store = options.store;
    this.bus = options.bus;
    this.log = options.log;
    const leaseMs = options.leaseMs ?? env().TRELLIS_LEASE_MS;
    this.leases = new LeaseTable(leaseMs);
    this.heartbeatMs = options.heartbeatMs ?? Math.max(50, Math.floor(leaseMs / 3));
    this.patient = retrying(this.store, this.log, this.lifetime.signal);
    this.events = new EventLog(this.patient, this.bus, this.log);
  }

  get status(): State {
    return this.state;
  }

  onStateChange(listener: (state: State) => void): void {
    this.stateListeners.add(listener);
  }

  /** Connects the store and bus, re-publishes pending events, resumes unfinished experiments. */
  start(): Promise<void> {
    this.starting ??= (async () => {
      this.setState('starting');
      await this.store.start();
      await this.bus.start();
      const republished = await this.events.republishPending();
      if (republished > 0) this.log.info({ republished }, 're-published events stored before a restart');
      const unfinished = await this.store.listExperiments({ status: ['pending', 'running'] });
      for (const experiment of unfinished) this.startRunner(experiment);
      // Workers' hellos wait for this (see connectWorker): their attempts must be leased again.
      await Promise.all([...this.runners.values()].map((runner) => runner.ready));
      this.resumed = true;
      for (const release of this.resumeWaiters.splice(0)) release();
      if (unfinished.length > 0) this.log.info({ experiments: unfinished.length }, 'resumed unfinished experiments');
      const tick = Math.max(25, Math.min(1000, Math.floor(this.leases.leaseMs / 4)));
      // Ref'd on purpose: a running coordinator keeps its process alive; close() clears it.
      this.leaseTimer = setInterval(() => this.expireLeases(), tick);
      this.setState('running');
    })();
    return this.starting;
  }

  /** Idempotent. Stops timers, waits (bounded) for events to flush, closes bus and store. */
  close(timeoutMs = 5000): Promise<void> {
    this.closing ??= (async () => {
      this.setState('closing');
      this.lifetime.abort();
      if (this.leaseTimer) clearInterval(this.leaseTimer);
      await Promise.race([this.events.close(), new Promise((resolve) => setTimeout(resolve, timeoutMs).unref())]);
      const errors: unknown[] = [];
      for (const step of [() => this.bus.close(), () => this.store.close()]) {
        try {
          await step();
        } catch (err) {
          errors.push(err);
        }
      }
      this.setState('closed');
      if (errors.length > 0) this.log.warn({ errors }, 'errors while closing');
    })();
    return this.closing;
  }

  // ---------------------------------------------------------------- the client API

  async submit(
    specText: string,
    requestId?: string,
    options: { noCache?: boolean } = {},
  ): Promise<{ experiment: ExperimentDoc; created: boolean }> {
    this.assertRunning();
    const spec = validateSpecText(specText);
    if (spec.kind === 'Pipeline' && options.noCache) spec.cache = false;
    return this.create(spec, requestId);
  }

  /** Stores a validated spec as a new experiment (idempotent by request id) and starts it. */
  private async create(
    spec: ValidatedSpec,
    requestId: string | undefined,
    parentId?: string,
  ): Promise<{ experiment: ExperimentDoc; created: boolean }> {
    const now = Date.now();
    const doc: ExperimentDoc = {
      id: `${spec.name
        .toLowerCase()
        .replace(/[^a-z0-9-]/g, '-')
        .slice(0, 40)}-${randomUUID().slice(0, 8)}`,
      name: spec.name,
      kind: spec.kind,
      status: 'pending',
      spec: spec as unknown as Record<string, unknown>,
      requestId: requestId || randomUUID(),
      createdAt: now,
      updatedAt: now,
      trialsCreated: 0,
      ...(parentId ? { parentId } : {}),
    };
    const result = await (parentId ? this.patient : this.store).createExperiment(doc);
    if (result.created) {
      this.events.emit({
        type: 'experiment.state',
        experimentId: doc.id,
        payload: { status: 'pending', name: doc.name, kind: doc.kind },
      });
      this.startRunner(result.experiment);
      this.log.info({ experimentId: doc.id, name: doc.name }, 'experiment submitted');
    }
    return result;
  }

  async get(id: string): Promise<ExperimentDoc> {
    this.assertRunning();
    const experiment = await this.store.getExperiment(requireId(id));
    if (!experiment) throw new NotFoundError(`experiment ${id} not found`);
    return experiment;
  }

  list(status?: ExperimentStatus[]): Promise<ExperimentDoc[]> {
    this.assertRunning();
    return this.store.listExperiments(status && status.length > 0 ? { status } : undefined);
  }

  async trials(id: string): Promise<TrialDoc[]> {
    await this.get(id);
    return this.store.listTrials(id);
  }

  async cancel(id: string): Promise<ExperimentDoc> {
    const experiment = await this.get(id);
    if (isTerminal('experiment', experiment.status)) {
      throw new FailedPreconditionError(
        `experiment ${id} is already ${experiment.status}; only pending or running experiments can be cancelled`,
      );
    }
    const runner = this.runners.get(id) ?? this.pipelines.get(id);
    const cancelled = runner
      ? await runner.cancel()
      : await this.store.updateExperiment(
          id,
          { status: ['pending', 'running'] },
          { status: 'cancelled', updatedAt: Date.now() },
        );
    if (!cancelled) {
      const now = await this.get(id);
      throw new FailedPreconditionError(`experiment ${id} is already ${now.status}`);
    }
    this.log.info({ experimentId: id }, 'experiment cancelled');
    return cancelled;
  }

  /**
   * Per-step metrics of every trial. A step reported by several attempts (an attempt lost after
   * reporting a step its checkpoint did not yet hold, then resumed) appears once, with the
   * values of the latest attempt: the history of a resumed trial has no duplicated steps.
   */
  async exportMetrics(id: string): Promise<(MetricDoc & { trialNumber: number })[]> {
    const trials = await this.trials(id);
    const rows: (MetricDoc & { trialNumber: number })[] = [];
    for (const trial of trials) {
      const byStep = new Map<number, MetricDoc>();
      for (const m of await this.store.listMetrics(trial.id)) {
        const seen = byStep.get(m.step);
        if (!seen || m.attempt >= seen.attempt) byStep.set(m.step, m);
      }
      for (const m of [...byStep.values()].sort((a, b) => a.step - b.step))
        rows.push({ ...m, trialNumber: trial.number });
    }
    return rows;
  }

  /**
   * The experiment's events: stored history from `fromSeq` (0 = none), then live ones, with
   * the same seq as on the bus; ends after the experiment's terminal state event.
   */
  async *watch(id: string, fromSeq: number, signal?: AbortSignal): AsyncGenerator<TrellisEvent> {
    const experiment = await this.get(id);
    const buffered: TrellisEvent[] = [];
    let wake: (() => void) | undefined;
    const unsubscribe = this.events.onStored((event) => {
      if (event.experimentId !== id) return;
      buffered.push(event);
      wake?.();
    });
    const onAbort = (): void => wake?.();
    signal?.addEventListener('abort', onAbort);
    try {
      let last = 0;
      if (fromSeq > 0) {
        for (const event of await this.store.listEvents(id, fromSeq)) {
          yield event;
          last = event.seq;
          if (isFinalEvent(event)) return;
        }
      } else {
        if (isTerminal('experiment', experiment.status)) return;
        last = Number.POSITIVE_INFINITY;
      }
      for (;;) {
        if (signal?.aborted) return;
        const event = buffered.shift();
        if (!event) {
          await new Promise<void>((resolve) => (wake = resolve));
          wake = undefined;
          continue;
        }
        if (last === Number.POSITIVE_INFINITY) last = event.seq - 1;
        if (event.seq <= last) continue;
        if (event.seq > last + 1) {
          // Stored between our replay and the listener: fetch the gap from the store.
          for (const missed of await this.store.listEvents(id, last + 1)) {
            if (missed.seq >= event.seq) break;
            yield missed;
            last = missed.seq;
          }
        }
        yield event;
        last = event.seq;
        if (isFinalEvent(event)) return;
      }
    } finally {
      unsubscribe();
      signal?.removeEventListener('abort', onAbort);
    }
  }

  // ---------------------------------------------------------------- the worker side

  connectWorker(session: WorkerSession, log: Logger = this.log): WorkerConnection {
    let workerId: string | undefined;
    const runnerOf = (attemptId: string): SweepRunner | undefined => {
      for (const runner of this.runners.values()) if (runner.owns(attemptId)) return runner;
      return undefined;
    };
    /** The attempt's runner, if this worker holds the attempt's lease; otherwise tell it to stop. */
    const holder = (attemptId: string, what: string): SweepRunner | undefined => {
      const runner = runnerOf(attemptId);
      if (runner && workerId && this.leases.holds(attemptId, workerId, Date.now())) return runner;
      // A stop confirmation or last checkpoint of an attempt we already ended (pruned, cancelled,
      // exploited) is expected; anything else from an attempt not held is worth a warning.
      const expected =
        what === 'stopped' || what === 'checkpoint' || (!runner && (what === 'result' || what === 'failure'));
      log[expected ? 'debug' : 'warn'](
        { attemptId, workerId },
        `rejected ${what} from an attempt this worker does not hold (lost or unknown)`,
      );
      if (what !== 'result' && what !== 'failure' && what !== 'stopped') {
        session.send({ stop: { attempt_id: attemptId, reason: 'not leased to this worker' } });
      }
      return undefined;
    };

    // Until the coordinator has resumed its experiments, a worker's messages wait (in order):
    // its hello must find the attempts it still runs.
    let backlog: WorkerMessage__Output[] | undefined;
    const accept = (message: WorkerMessage__Output): void => {
      if (this.resumed && !backlog) return handle(message);
      if (!backlog) {
        backlog = [];
        this.resumeWaiters.push(() => {
          const queued = backlog ?? [];
          backlog = undefined;
          for (const m of queued) handle(m);
        });
      }
      backlog.push(message);
    };
    const handle = (message: WorkerMessage__Output): void => {
      switch (message.body) {
        case 'hello': {
          const hello = message.hello!;
          if (!hello.worker_id) {
            session.end();
            return;
          }
          workerId = hello.worker_id;
          log = log.child({ workerId });
          const gpus = (hello.slots?.gpus ?? []).map((g) => g.id);
          this.dispatcher.addWorker(
            {
              id: workerId,
              cpus: hello.slots?.cpus ?? 1,
              gpus,
              memoryBytes: Number(hello.slots?.memory_bytes ?? 0),
              labels: hello.labels ?? {},
              runtimes: hello.runtimes ?? [],
              accepting: false,
            },
            session,
            hello.version ?? '',
          );
          // A reconnect: keep the attempts whose lease is still valid, stop the others.
          for (const attemptId of hello.running_attempt_ids ?? []) {
            const runner = runnerOf(attemptId);
            if (runner && this.leases.adopt(attemptId, workerId, Date.now())) {
              this.dispatcher.hold(workerId, attemptId, runner.resourcesOfAttempt(attemptId));
              log.info({ attemptId }, 'worker reconnected with a running attempt; lease kept');
            } else {
              session.send({ stop: { attempt_id: attemptId, reason: 'lease expired or unknown attempt' } });
            }
          }
          session.send({ welcome: { lease_ms: String(this.leases.leaseMs), heartbeat_ms: String(this.heartbeatMs) } });
          this.dispatcher.setAccepting(workerId, true);
          void this.recordWorker(workerId, 'connected', hello);
          log.info({ slots: hello.slots, runtimes: hello.runtimes }, 'worker connected');
          return;
        }
        case 'heartbeat': {
          if (!workerId) return;
          this.dispatcher.touch(workerId);
          this.recordSeen(workerId);
          const unknown = this.leases.renew(workerId, message.heartbeat?.running_attempt_ids ?? [], Date.now());
          for (const attemptId of unknown) {
            if (runnerOf(attemptId) && this.leases.get(attemptId)?.workerId === workerId) continue;
            session.send({ stop: { attempt_id: attemptId, reason: 'lease expired or unknown attempt' } });
          }
          return;
        }
        case 'progress': {
          const p = message.progress!;
          holder(p.attempt_id, 'progress')?.onProgress(p.attempt_id, p.step, p.metrics ?? {});
          return;
        }
        case 'checkpoint': {
          const c = message.checkpoint!;
          holder(c.attempt_id, 'checkpoint')?.onCheckpoint(c.attempt_id, c.artifact_id, c.step);
          return;
        }
        case 'result': {
          const r = message.result!;
          holder(r.attempt_id, 'result')?.onResult(r.attempt_id, r.metrics ?? {}, parseJson(r.info_json));
          return;
        }
        case 'failure': {
          const f = message.failure!;
          holder(f.attempt_id, 'failure')?.onFailure(f.attempt_id, f.error, f.retryable);
          return;
        }
        case 'stopped': {
          const s = message.stopped!;
          holder(s.attempt_id, 'stopped')?.onStopped(s.attempt_id, s.reason);
          return;
        }
        case 'draining': {
          if (!workerId) return;
          this.dispatcher.setDraining(workerId);
          void this.recordWorker(workerId, 'draining');
          log.info('worker draining');
          return;
        }
        default:
          return;
      }
    };

    return {
      onMessage: accept,
      onClose: () => {
        backlog = undefined; // messages of a session that already ended are not handled
        if (!workerId) return;
        this.dispatcher.removeWorker(workerId, session);
        void this.recordWorker(workerId, 'disconnected');
        log.info('worker disconnected');
      },
    };
  }

  async putArtifact(attemptId: string, kind: string, step: number, data: Buffer): Promise<string> {
    const lease = this.leases.get(attemptId);
    if (!lease) throw new FailedPreconditionError(`attempt ${attemptId} holds no lease; its artifact is refused`);
    const meta = await this.patient.putArtifact(
      {
        id: `${attemptId}-${kind}-${step}-${randomUUID().slice(0, 6)}`,
        experimentId: lease.experimentId,
        trialId: lease.trialId,
        kind,
        meta: { step, attemptId },
      },
      data,
    );
    return meta.id;
  }

  async getArtifact(id: string): Promise<{ kind: string; data: Buffer }> {
    const artifact = await this.patient.getArtifact(requireId(id));
    if (!artifact) throw new NotFoundError(`artifact ${id} not found`);
    return { kind: artifact.meta.kind, data: artifact.data };
  }

  /** Resolves when every runner started so far has finished (for embedded runs and tests). */
  async idle(): Promise<void> {
    while (this.runs.size > 0) await Promise.all([...this.runs]);
  }

  // ---------------------------------------------------------------- internals

  private startRunner(experiment: ExperimentDoc): void {
    if (this.runners.has(experiment.id) || this.pipelines.has(experiment.id)) return;
    if (experiment.kind === 'Pipeline') {
      const pipeline = new PipelineRunner(experiment, {
        store: this.patient,
        events: this.events,
        log: this.log,
        codeVersion: codeVersion(),
        submitChild: async (spec, requestId, parentId) => {
          // Large outputs arrive as {"$artifact": id} (resolved on the worker). Validate a copy in
          // which they read as pending references, which task validators leave alone; store the
          // spec (defaults filled in) with the references intact.
          validateSpec(mapArtifactRefs(spec, (id) => `\${artifact.${id}}`));
          const validated = validateSpec(spec, { skipTaskChecks: true });
          return (await this.create(validated, requestId, parentId)).experiment;
        },
        waitForExperiment: (id) => this.waitForExperiment(id),
        cancelExperiment: async (id) => {
          await this.cancel(id).catch(() => undefined);
        },
      });
      this.pipelines.set(experiment.id, pipeline);
      const run = pipeline.run().finally(() => {
        this.runs.delete(run);
        this.pipelines.delete(experiment.id);
      });
      this.runs.add(run);
      return;
    }
    const runner = new SweepRunner(experiment, {
      store: this.patient,
      events: this.events,
      dispatcher: this.dispatcher,
      leases: this.leases,
      log: this.log,
    });
    this.runners.set(experiment.id, runner);
    const run = runner.run().finally(() => {
      this.runs.delete(run);
      this.runners.delete(experiment.id);
    });
    this.runs.add(run);
  }

  /** Resolves with the experiment once it is terminal (from its state event, or the store). */
  private waitForExperiment(id: string): Promise<ExperimentDoc> {
    return new Promise((resolve, reject) => {
      let settled = false;
      const check = (): void => {
        this.patient.getExperiment(id).then(
          (doc) => {
            if (settled) return;
            if (!doc) {
              settled = true;
              unsubscribe();
              reject(new NotFoundError(`experiment ${id} not found`));
            } else if (isTerminal('experiment', doc.status)) {
              settled = true;
              unsubscribe();
              resolve(doc);
            }
          },
          (err: unknown) => {
            if (settled) return;
            settled = true;
            unsubscribe();
            reject(err as Error);
          },
        );
      };
      const unsubscribe = this.events.onStored((event) => {
        if (event.experimentId === id && isFinalEvent(event)) check();
      });
      check();
    });
  }

  /** Warns (once per kind of request) about attempts that no connected worker could ever run. */
  private warnUnplaceable(): void {
    for (const request of this.dispatcher.unplaceable()) {
      const key = JSON.stringify(request);
      if (this.warnedUnplaceable.has(key)) continue;
      this.warnedUnplaceable.add(key);
      this.log.warn(
        { request },
        'trials are waiting for resources that no connected worker has (runtime, labels, cpus, gpus or memory)',
      );
    }
  }

  private expireLeases(): void {
    this.warnUnplaceable();
    for (const lease of this.leases.takeExpired(Date.now())) {
      this.log.warn({ attemptId: lease.attemptId, workerId: lease.workerId }, 'lease expired; attempt lost');
      this.runners.get(lease.experimentId)?.lose(lease.attemptId, `lease expired on worker ${lease.workerId}`);
      this.dispatcher.release(lease.attemptId);
    }
  }

  /**
   * Heartbeats move workers.lastSeenAt, at most once per LAST_SEEN_EVERY_MS per worker: the
   * store sees a write per worker every few seconds, not one per heartbeat.
   */
  private recordSeen(workerId: string, now = Date.now()): void {
    if (now - (this.lastSeenWritten.get(workerId) ?? 0) < LAST_SEEN_EVERY_MS) return;
    this.lastSeenWritten.set(workerId, now);
    void this.patient
      .listWorkers()
      .then(async (workers) => {
        const known = workers.find((w) => w.id === workerId);
        if (known && known.status !== 'disconnected') await this.patient.upsertWorker({ ...known, lastSeenAt: now });
      })
      .catch((err: unknown) => this.log.warn({ err, workerId }, 'worker lastSeenAt not recorded'));
  }

  /** Connected workers as the dispatcher sees them, with the stored ones it no longer holds. */
  async workers(): Promise<WorkerView[]> {
    this.assertRunning();
    return workerViews(this.dispatcher.snapshot(), await this.store.listWorkers());
  }

  private async recordWorker(
    workerId: string,
    status: 'connected' | 'draining' | 'disconnected',
    hello?: NonNullable<WorkerMessage__Output['hello']>,
  ): Promise<void> {
    try {
      if (hello) {
        await this.patient.upsertWorker({
          id: workerId,
          status,
          slots: {
            cpus: hello.slots?.cpus ?? 1,
            gpus: (hello.slots?.gpus ?? []).map((g) => g.id),
            memoryBytes: Number(hello.slots?.memory_bytes ?? 0),
          },
          labels: hello.labels ?? {},
          runtimes: hello.runtimes ?? [],
          lastSeenAt: Date.now(),
          draining: false,
        });
      } else {
        const known = (await this.patient.listWorkers()).find((w) => w.id === workerId);
        if (known) {
          await this.patient.upsertWorker({
            ...known,
            status,
            // A drained worker stays marked draining once gone, until its next hello.
            draining: status === 'draining' || (status === 'disconnected' && known.draining === true),
            lastSeenAt: Date.now(),
          });
        }
      }
      this.events.emit({ type: 'worker.state', workerId, payload: { status } });
    } catch (err) {
      this.log.warn({ err, workerId }, 'worker state not recorded');
    }
  }

  /** Calls before start() finished or after close() began get UNAVAILABLE: retry later. */
  private assertRunning(): void {
    if (this.state !== 'running') throw new UnavailableError(`coordinator is ${this.state}; try again shortly`);
  }

  private setState(state: State): void {
    this.state = state;
    for (const listener of this.stateListeners) listener(state);
  }
}

function isFinalEvent(event: TrellisEvent): boolean {
  return (
    event.type === 'experiment.state' && ['succeeded', 'failed', 'cancelled'].includes(String(event.payload.status))
  );
}

function requireId(id: string): string {
  if (!id || typeof id !== 'string') throw new InvalidArgumentError(['id: required']);
  return id;
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
