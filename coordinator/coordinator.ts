/**
 * The Coordinator: owns all experiment state. Transport-agnostic — the gRPC server
 * (server.ts) adapts calls and worker streams onto these methods, and tests or the in-process
 * benchmark can drive it directly.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { ExperimentPageQuery, ListedExperiment, Page, Store } from './store/base.js';
import type { EventBus } from './bus/base.js';
import { EventLog } from './event-log.js';
import type { CoordinatorObserver } from './observer.js';
import { retrying } from './store/retrying.js';
import { Dispatcher, type WorkerSession } from './dispatch/dispatcher.js';
import { LeaseTable } from './dispatch/leases.js';
import { ResumeGate, WorkerSessionHandler, type WorkerConnection } from './dispatch/worker-session.js';
import { validateSpecTextAsync, type ValidatedSpec } from './experiments/validate.js';
import { ExperimentRunners } from './experiment-runners.js';
import { LeaseExpiry } from './lease-expiry.js';
import { FailedPreconditionError, InvalidArgumentError, NotFoundError, UnavailableError } from '../shared/errors.js';
import { isTerminal, type ExperimentStatus } from '../shared/states.js';
import type { TrellisEvent } from '../shared/events.js';
import type { ExperimentDoc, TrialDoc } from '../shared/types.js';
import { workerViews, type WorkerView } from './workers-view.js';
import { env } from '../shared/env.js';
import { AttemptLogs } from './attempt-logs.js';
import { DEFAULT_LIMITS, idIssue, requestIdIssue, type Limits } from '../shared/limits.js';
import { Audit } from './auth/audit.js';
import type { Identity } from './auth/policy.js';
import {
  assertAttemptNeeds,
  assertClientMayRead,
  assertRefsOwned,
  attemptOfCaller,
  notFound,
} from './auth/artifacts.js';

export interface CoordinatorOptions {
  store: Store;
  bus: EventBus;
  log: Logger;
  /** Lease of a running attempt, renewed by heartbeats (default 30 s, env TRELLIS_LEASE_MS). */
  leaseMs?: number;
  /** How often workers heartbeat (default a third of the lease). */
  heartbeatMs?: number;
  /** Told what the metrics need beyond events (coordinator/metrics.ts). */
  observer?: CoordinatorObserver;
  /** What requests are held to (shared/limits.ts; `--limits FILE`). */
  limits?: Limits;
  /**
   * An attempt with no progress report (or checkpoint) for this long, on a worker that still
   * heartbeats, is stopped and ends as a `timeout` failure (`--stuck-after`; budget.retry.timeout). 0 or absent: never.
   */
  stuckAfterMs?: number;
}

type State = 'created' | 'starting' | 'running' | 'closing' | 'closed';

export class Coordinator {
  readonly store: Store;
  readonly bus: EventBus;
  readonly events: EventLog;
  readonly dispatcher = new Dispatcher();
  readonly leases: LeaseTable;
  readonly heartbeatMs: number;
  /** Program output per attempt (`trellis logs`). */
  readonly logs: AttemptLogs;
  readonly limits: Limits;
  /** The audit trail (auth/audit.ts): the server and worker sessions record into it. */
  readonly audit: Audit;
  /** The lease timer's work (lease-expiry.ts). */
  private readonly expiry: LeaseExpiry;
  private readonly log: Logger;
  private readonly observer: CoordinatorObserver | undefined;
  /** The runners of the experiments being driven (experiment-runners.ts). */
  private readonly runners: ExperimentRunners;
  private state: State = 'created';
  private starting: Promise<void> | undefined;
  private closing: Promise<void> | undefined;
  private leaseTimer: NodeJS.Timeout | undefined;
  private readonly stateListeners = new Set<(state: State) => void>();
  /** The store as the coordinator's own bookkeeping sees it: waits out outages. */
  private readonly patient: Store;
  private readonly lifetime = new AbortController();
  /** Closed until the attempts running before a restart hold leases again. */
  private readonly resumed = new ResumeGate();

  constructor(options: CoordinatorOptions) {
    this.store = options.store;
    this.bus = options.bus;
    this.log = options.log;
    this.observer = options.observer;
    this.limits = options.limits ?? DEFAULT_LIMITS;
    const leaseMs = options.leaseMs ?? env().TRELLIS_LEASE_MS;
    this.leases = new LeaseTable(leaseMs);
    this.heartbeatMs = options.heartbeatMs ?? Math.max(50, Math.floor(leaseMs / 3));
    this.patient = retrying(this.store, this.log, this.lifetime.signal);
    this.events = new EventLog(this.patient, this.bus, this.log);
    this.logs = new AttemptLogs(this.patient, this.leases, this.log);
    this.audit = new Audit(this.events, this.log);
    this.runners = new ExperimentRunners({
      store: this.patient,
      events: this.events,
      dispatcher: this.dispatcher,
      leases: this.leases,
      log: this.log,
      observer: this.observer,
      limits: this.limits,
      create: (spec, requestId, parentId, owner) => this.create(spec, requestId, parentId, owner),
      cancel: (id) => this.cancel(id),
    });
    this.expiry = new LeaseExpiry({
      leases: this.leases,
      dispatcher: this.dispatcher,
      log: this.log,
      stuckAfterMs: options.stuckAfterMs ?? 0,
      attemptsOf: (experimentId) => this.runners.sweep(experimentId)?.attempts,
    });
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
      for (const experiment of unfinished) this.runners.start(experiment);
      // Workers' hellos wait for this (see ResumeGate): their attempts must be leased again.
      await this.runners.ready();
      this.resumed.open();
      if (unfinished.length > 0) this.log.info({ experiments: unfinished.length }, 'resumed unfinished experiments');
      const tick = Math.max(25, Math.min(1000, Math.floor(this.leases.leaseMs / 4)));
      // Ref'd on purpose: a running coordinator keeps its process alive; close() clears it.
      this.leaseTimer = setInterval(() => this.expiry.tick(), tick);
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
      this.audit.close();
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

  /**
   * Validates and stores a spec. With `submitter` (the authenticated caller; the server passes
   * it), every `{"$artifact": id}` in the spec must belong to the caller's own experiments.
   */
  async submit(
    specText: string,
    requestId?: string,
    options: { noCache?: boolean; owner?: string; submitter?: Identity } = {},
  ): Promise<{ experiment: ExperimentDoc; created: boolean }> {
    this.assertRunning();
    const badRequestId = requestIdIssue(requestId, this.limits);
    if (badRequestId) throw new InvalidArgumentError([badRequestId]);
    const spec = await validateSpecTextAsync(specText, this.limits);
    if (options.submitter) await assertRefsOwned(this.store, options.submitter, spec);
    if (spec.kind === 'Pipeline' && options.noCache) spec.cache = false;
    return this.create(spec, requestId, undefined, options.owner);
  }

  /** Stores a validated spec as a new experiment (idempotent by request id) and starts it. */
  private async create(
    spec: ValidatedSpec,
    requestId: string | undefined,
    parentId?: string,
    owner?: string,
  ): Promise<{ experiment: ExperimentDoc; created: boolean }> {
    const now = Date.now();
    const base = {
      id: `${spec.name
        .toLowerCase()
        .replace(/[^a-z0-9-]/g, '-')
        .slice(0, 40)}-${randomUUID().slice(0, 8)}`,
      name: spec.name,
      status: 'pending' as const,
      requestId: requestId || randomUUID(),
      createdAt: now,
      updatedAt: now,
      trialsCreated: 0,
      ...(parentId ? { parentId } : {}),
      ...(owner ? { owner } : {}),
    };
    const doc: ExperimentDoc =
      spec.kind === 'Sweep' ? { ...base, kind: 'Sweep', spec } : { ...base, kind: 'Pipeline', spec };
    const result = await (parentId ? this.patient : this.store).createExperiment(doc);
    if (result.created) {
      this.events.emit({
        type: 'experiment.state',
        experimentId: doc.id,
        payload: { status: 'pending', name: doc.name, kind: doc.kind },
      });
      this.runners.start(result.experiment);
      this.log.info({ experimentId: doc.id, name: doc.name }, 'experiment submitted');
    }
    return result;
  }

  /** The per-trial cache sizes of a running sweep's runner (benchmarks, bound tests); undefined when none runs. */
  cacheSizes(id: string): Record<string, number> | undefined {
    return this.runners.sweep(id)?.cacheSizes();
  }

  async get(id: string): Promise<ExperimentDoc> {
    this.assertRunning();
    const experiment = await this.store.getExperiment(requireId(id, this.limits));
    if (!experiment) throw new NotFoundError(`experiment ${id} not found`);
    return experiment;
  }

  list(status?: ExperimentStatus[]): Promise<ExperimentDoc[]> {
    this.assertRunning();
    return this.store.listExperiments(status && status.length > 0 ? { status } : undefined);
  }

  /** A page of the list (ListExperiments): its cost grows with neither the count nor the specs' sizes. */
  experimentsPage(query: ExperimentPageQuery): Promise<Page<ListedExperiment>> {
    this.assertRunning();
    return this.store.listExperimentsPage(query);
  }

  /** A trial by id, with its experiment. */
  async trial(id: string): Promise<{ trial: TrialDoc; experiment: ExperimentDoc }> {
    this.assertRunning();
    const trial = await this.store.getTrial(requireId(id, this.limits, 'trial_id'));
    if (!trial) throw new NotFoundError(`trial ${id} not found`);
    return { trial, experiment: await this.get(trial.experimentId) };
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
    const runner = this.runners.get(id);
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
   * The experiment's events: stored history from `fromSeq` (0 = none), then live ones, with
   * the same seq as on the bus; ends after the experiment's terminal state event.
   */
  async *watch(id: string, fromSeq: number, signal?: AbortSignal, maxBuffered?: number): AsyncGenerator<TrellisEvent> {
    const experiment = await this.get(id);
    yield* this.events.follow(
      id,
      fromSeq,
      isTerminal('experiment', experiment.status),
      signal,
      this.store,
      maxBuffered,
    );
  }

  // ---------------------------------------------------------------- the worker side

  /**
   * Attaches a worker stream (gRPC, or an in-process session in tests and benchmarks) of the
   * authenticated `identity` (the auth gate's answer; without tokens, the anonymous admin).
   */
  connectWorker(session: WorkerSession, log: Logger = this.log, identity?: Identity): WorkerConnection {
    return new WorkerSessionHandler(
      session,
      {
        dispatcher: this.dispatcher,
        leases: this.leases,
        route: (experimentId) => this.runners.sweep(experimentId)?.attempts,
        gate: this.resumed,
        store: this.patient,
        events: this.events,
        logs: this.logs,
        heartbeatMs: this.heartbeatMs,
        log: this.log,
        audit: this.audit,
      },
      log,
      identity,
    );
  }

  /** Stores an artifact of a running attempt bound to `who` (shown with its attempt token). */
  async putArtifact(
    who: Identity,
    attempt: { id: string; token: string },
    kind: string,
    step: number,
    data: Buffer,
  ): Promise<string> {
    const attemptId = attempt.id;
    const lease = attemptOfCaller(this.leases, who, attemptId, attempt.token);
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

  /**
   * An artifact for a worker's attempt (`attempt` given: it must be bound to `who` and need the
   * artifact) or for a client (admins any, submitters their own experiments').
   */
  async getArtifact(
    who: Identity,
    id: string,
    attempt?: { id: string; token: string },
  ): Promise<{ kind: string; data: Buffer }> {
    requireId(id, this.limits, 'artifact_id');
    if (attempt) assertAttemptNeeds(attemptOfCaller(this.leases, who, attempt.id, attempt.token), id);
    const artifact = await this.patient.getArtifact(id);
    if (!attempt) await assertClientMayRead(this.store, who, id, artifact?.meta);
    if (!artifact) throw notFound(id);
    return { kind: artifact.meta.kind, data: artifact.data };
  }

  /** Resolves when every runner started so far has finished (for embedded runs and tests). */
  idle(): Promise<void> {
    return this.runners.idle();
  }

  // ---------------------------------------------------------------- internals

  /** Connected workers as the dispatcher sees them, with the stored ones it no longer holds. */
  async workers(): Promise<WorkerView[]> {
    this.assertRunning();
    return workerViews(this.dispatcher.snapshot(), await this.store.listWorkers());
  }

  /** DrainWorker: the connected worker drains as on SIGTERM; returns the attempts it was running. */
  drainWorker(workerId: string, caller: string): string[] {
    this.assertRunning();
    if (!workerId) throw new InvalidArgumentError(['worker_id: required']);
    const running = this.dispatcher.drain(workerId, `drained by ${caller}`);
    if (!running) throw new NotFoundError(`worker ${workerId} is not connected (see ListWorkers)`);
    this.log.info({ workerId, caller, running }, 'worker drain requested');
    return running;
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

function requireId(id: string, limits: Limits, field = 'id'): string {
  if (!id || typeof id !== 'string') throw new InvalidArgumentError([`${field}: required`]);
  const bad = idIssue(field, id, limits);
  if (bad) throw new InvalidArgumentError([bad]);
  return id;
}
