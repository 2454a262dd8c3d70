/**
 * SweepRunner: drives one Sweep experiment from pending to a terminal state.
 *
 * Each trial is one job in the experiment's p-queue (concurrency = budget.concurrency). A job
 * creates its trial (asking the search algorithm for params at that moment, so it sees every
 * result so far), then loops: wait for a slot → claim a lease (compare-and-set in the store) →
 * send the assignment → wait for the attempt's outcome → requeue or finish.
 *
 * All writes to one trial go through that trial's chain (`withTrial`), in message-arrival
 * order, so a result can never be overtaken by an earlier progress report.
 */
import PQueue from 'p-queue';
import type { Logger } from 'pino';
import type { SweepSpec } from '../../shared/spec/schema.js';
import type { Params } from '../../shared/spec/space.js';
import { resolveTrialConfig } from '../../shared/spec/resolve.js';
import type { AttemptDoc, ExperimentDoc, TrialDoc } from '../../shared/types.js';
import { assertTransition, isTerminal, type AttemptStatus, type TrialStatus } from '../../shared/states.js';
import type { Store, TrialExpect } from '../store/base.js';
import type { EventLog } from '../event-log.js';
import type { Dispatcher } from '../dispatch/dispatcher.js';
import type { LeaseTable } from '../dispatch/leases.js';
import { parseMemory, type SlotRequest } from '../dispatch/slots.js';
import { createSearch } from '../search/registry.js';
import type { SearchAlgorithm, TrialObservation } from '../search/base.js';
import { createScheduler } from '../schedulers/registry.js';
import type { Scheduler } from '../schedulers/base.js';
import { BestTracker } from './best.js';
import { pruneLossParams } from './loss-params.js';

export interface RunnerContext {
  store: Store;
  events: EventLog;
  dispatcher: Dispatcher;
  leases: LeaseTable;
  log: Logger;
}

/** How an attempt ended, as seen by the coordinator. */
export type AttemptOutcome =
  | { kind: 'succeeded'; metrics: Record<string, number>; info: Record<string, unknown> }
  | { kind: 'failed'; error: string; retryable: boolean }
  | { kind: 'lost'; reason: string }
  | { kind: 'handed_back' }
  | { kind: 'requeued'; reason: string }
  | { kind: 'pruned'; reason: string }
  | { kind: 'cancelled' };

interface Running {
  trialId: string;
  number: number;
  settle: (outcome: AttemptOutcome) => void;
}

class Cancelled extends Error {
  override readonly name = 'Cancelled';
}

export class SweepRunner {
  readonly spec: SweepSpec;
  private readonly queue: PQueue;
  private readonly search: SearchAlgorithm;
  private readonly scheduler: Scheduler;
  private readonly trials = new Map<number, TrialDoc>();
  private readonly bestTracker: BestTracker;
  private readonly running = new Map<string, Running>();
  private readonly chains = new Map<string, Promise<unknown>>();
  /** Reports waiting for their trial's chain, by attempt (see onProgress). */
  private readonly pendingReports = new Map<string, { step: number; metrics: Record<string, number> }[]>();
  /** Oriented objective value by step, per trial: the learning curves TPE uses for pruned trials. */
  private readonly curves = new Map<number, Record<number, number>>();
  /** observations(): the cached history, by configuration, and the entries to rebuild. */
  private readonly observationCache: TrialObservation[] = [];
  private readonly staleConfigs = new Set<number>();
  private observedConfigs = 0;
  private readonly abort = new AbortController();
  private nextNumber = 0;
  private readonly sign: number;
  private readonly log: Logger;
  private done: Promise<void> | undefined;
  private readonly resumedOutcomes = new Map<number, Promise<AttemptOutcome>>();
  private markReady: () => void = () => undefined;
  private readonly readyPromise = new Promise<void>((resolve) => (this.markReady = resolve));

  constructor(
    private experiment: ExperimentDoc,
    private readonly ctx: RunnerContext,
  ) {
    this.spec = experiment.spec as unknown as SweepSpec;
    this.log = ctx.log.child({ experimentId: experiment.id });
    this.sign = this.spec.trial.objective.mode === 'max' ? 1 : -1;
    this.bestTracker = new BestTracker(this.spec.trial.objective, this.spec.search.replicates);
    this.queue = new PQueue({ concurrency: this.spec.budget.concurrency });
    const { algorithm, seed, space, replicates: _r, ...settings } = this.spec.search;
    this.search = createSearch(algorithm, { space, seed, settings });
    const { type, ...schedulerSettings } = this.spec.scheduler;
    this.scheduler = createScheduler(type, {
      settings: schedulerSettings,
      seed,
      maxSteps: this.spec.trial.epochs,
      space,
    });
  }

  get id(): string {
    return this.experiment.id;
  }

  /** Starts (or resumes after a restart) and resolves when the experiment is terminal. */
  run(): Promise<void> {
    this.done ??= this.drive()
      .catch((err: unknown) => {
        this.log.error({ err }, 'experiment runner failed');
      })
      .finally(() => this.markReady());
    return this.done;
  }

  /** Resolves once the attempts running before a restart hold leases again. */
  get ready(): Promise<void> {
    return this.readyPromise;
  }

  private async drive(): Promise<void> {
    const existing = await this.ctx.store.listTrials(this.id);
    for (const trial of existing) {
      this.putTrial(trial);
      this.scheduler.onTrialAdd({ number: trial.number, params: trial.params });
    }
    this.nextNumber = Math.max(this.experiment.trialsCreated, ...existing.map((t) => t.number + 1), 0);
    // Attempts that were running when the coordinator stopped get a fresh lease now, before any
    // worker's hello is handled, so a worker that reconnects keeps its attempt.
    if (this.experiment.status === 'running') {
      for (const trial of existing)
        if (trial.status === 'running') this.resumedOutcomes.set(trial.number, this.awaitResumed(trial));
    }
    this.markReady();

    const resumed = this.experiment.status === 'running';
    if (this.experiment.status === 'pending') {
      const updated = await this.ctx.store.updateExperiment(
        this.id,
        { status: 'pending' },
        { status: 'running', updatedAt: Date.now() },
      );
      if (!updated) return;
      this.experiment = updated;
      this.ctx.events.emit({ type: 'experiment.state', experimentId: this.id, payload: { status: 'running' } });
    }
    if (this.experiment.status !== 'running') return;
    if (resumed) await this.reconcileEvents(existing);

    const jobs: Promise<void>[] = [];
    for (const trial of existing) {
      if (!isTerminal('trial', trial.status)) jobs.push(this.queue.add(() => this.runTrial(trial.number)));
    }
    for (let i = existing.length; i < this.spec.budget.trials; i++) {
      jobs.push(this.queue.add(() => this.runTrial(undefined)));
    }
    await Promise.all(jobs);
    await this.finish();
  }

  /**
   * After a restart: a coordinator killed between storing a change and storing its event left
   * that event unwritten. Every trial's state and every stored metric report that the event log
   * does not show yet is emitted now, so the stream ends up describing the stored state.
   */
  private async reconcileEvents(trials: TrialDoc[]): Promise<void> {
    const lastState = new Map<number, string>();
    const metricSteps = new Map<number, Set<string>>();
    let experimentState: string | undefined;
    for (const event of await this.ctx.store.listEvents(this.id, 1)) {
      if (event.type === 'experiment.state') experimentState = String(event.payload.status);
      if (event.trialNumber === undefined) continue;
      if (event.type === 'trial.state') lastState.set(event.trialNumber, String(event.payload.status));
      if (event.type === 'trial.metric') {
        const seen = metricSteps.get(event.trialNumber) ?? new Set<string>();
        seen.add(`${String(event.payload.attempt)}:${String(event.payload.step)}`);
        metricSteps.set(event.trialNumber, seen);
      }
    }
    let emitted = 0;
    if (experimentState !== 'running') {
      this.ctx.events.emit({ type: 'experiment.state', experimentId: this.id, payload: { status: 'running' } });
      emitted++;
    }
    for (const trial of trials) {
      for (const m of await this.ctx.store.listMetrics(trial.id)) {
        if (metricSteps.get(trial.number)?.has(`${m.attempt}:${m.step}`)) continue;
        this.emitTrialMetric(trial, m.attempt, m.step, m.values);
        emitted++;
      }
      if (lastState.get(trial.number) !== trial.status) {
        this.emitTrialState(trial);
        emitted++;
      }
    }
    if (emitted > 0) this.log.info({ emitted }, 'emitted events a killed coordinator had not stored');
  }

  /** The job of one trial: create it (unless resuming), then run attempts until it is terminal. */
  private async runTrial(number: number | undefined): Promise<void> {
    if (this.abort.signal.aborted) return;
    const first = number === undefined ? await this.createTrial() : this.trials.get(number);
    if (!first) return;
    let trial: TrialDoc = first;
    try {
      while (!isTerminal('trial', trial.status)) {
        if (this.abort.signal.aborted) return;
        const outcome: AttemptOutcome =
          trial.status === 'running' ? await this.resumedOutcome(trial) : await this.dispatchAttempt(trial);
        const id = trial.id;
        trial = await this.withTrial(id, () => this.settle(id, outcome));
      }
    } catch (err) {
      if (err instanceof Cancelled) return;
      throw err;
    }
  }

  private async createTrial(): Promise<TrialDoc | undefined> {
    if (this.nextNumber >= this.spec.budget.trials) return undefined;
    const number = this.nextNumber++;
    const k = this.spec.search.replicates;
    const config = Math.floor(number / k);
    let params: Params | undefined;
    if (number % k !== 0) params = this.trials.get(config * k)?.params;
    params ??= this.search.suggest(config, this.search.usesHistory === false ? [] : this.observations());
    if (!params) {
      this.nextNumber = number; // exhausted (grid): the number stays free, nothing is skipped
      return undefined;
    }
    const now = Date.now();
    const searchSeed = this.spec.search.seed;
    const trial: TrialDoc = {
      id: `${this.id}-t${number}`,
      experimentId: this.id,
      number,
      status: 'pending',
      params,
      // A swept `seed` param sets the trial's seed; replicates get distinct derived seeds.
      seed:
        typeof params.seed === 'number' && k === 1
          ? params.seed
          : k > 1
            ? deriveSeed(searchSeed, number)
            : (this.spec.trial.seed ?? deriveSeed(searchSeed, number)),
      attempts: [],
      metrics: {},
      ...(k > 1 ? { config } : {}),
      createdAt: now,
      updatedAt: now,
    };
    const inserted = await this.ctx.store.insertTrial(trial);
    const stored = inserted ? trial : await this.ctx.store.getTrial(trial.id);
    if (!stored) throw new Error(`trial ${trial.id} could not be created`);
    this.putTrial(stored);
    await this.ctx.store.updateExperiment(this.id, {}, { trialsCreated: this.nextNumber, updatedAt: now });
    this.scheduler.onTrialAdd({ number, params: stored.params });
    this.emitTrialState(stored);
    return stored;
  }

  private request(): SlotRequest {
    const r = this.spec.resources;
    return {
      cpus: r.cpus,
      gpus: r.gpus,
      memoryBytes: parseMemory(r.memory),
      runtime: this.spec.trial.runtime,
      labels: r.labels ?? {},
    };
  }

  private async dispatchAttempt(pending: TrialDoc): Promise<AttemptOutcome> {
    const n = pending.attempts.length + 1;
    const attemptId = `${pending.id}-a${n}`;
    const request = this.request();
    const placement = await this.ctx.dispatcher
      .waitForSlot(attemptId, request, this.abort.signal, (reason) => this.setPendingReason(pending.id, reason))
      .catch(() => {
        throw new Cancelled();
      });
    const now = Date.now();
    const attempt: AttemptDoc = {
      n,
      id: attemptId,
      workerId: placement.workerId,
      ...(placement.gpuIds.length > 0 ? { gpuIds: placement.gpuIds } : {}),
      status: 'running',
      startedAt: now,
      leaseExpiresAt: now + this.ctx.leases.leaseMs,
    };
    const claimed = await this.withTrial(pending.id, async () => {
      const current = this.trials.get(pending.number)!;
      assertTransition('trial', current.status, 'running');
      return this.casTrial(
        pending.id,
        { status: 'pending', attemptCount: n - 1 },
        {
          status: 'running',
          attempts: [...current.attempts, attempt],
          updatedAt: now,
          ...(current.pendingReason ? { pendingReason: '' } : {}),
        },
        (doc) => doc.status === 'running' && doc.attempts[n - 1]?.id === attemptId,
      );
    });
    if (!claimed) {
      // Someone else (another coordinator) holds the trial: give the slot back and stop here.
      this.ctx.dispatcher.release(attemptId);
      this.log.warn({ trialId: pending.id }, 'lease claim lost; trial is not ours');
      throw new Cancelled();
    }
    this.putTrial(claimed);
    const outcome = this.track(claimed, attemptId);
    this.ctx.leases.grant({ attemptId, trialId: claimed.id, experimentId: this.id, workerId: placement.workerId }, now);
    this.emitTrialState(claimed);
    const config = pruneLossParams(resolveTrialConfig(this.spec.trial, claimed.params));
    const sent = this.ctx.dispatcher.send(placement.workerId, {
      assign: {
        attempt_id: attemptId,
        experiment_id: this.id,
        trial_id: claimed.id,
        trial_number: claimed.number,
        attempt: n,
        runtime: this.spec.trial.runtime,
        config_json: JSON.stringify(config),
        params_json: JSON.stringify(claimed.params),
        seed: String(claimed.seed),
        gpu_ids: placement.gpuIds,
        cpus: request.cpus,
        checkpoint_artifact_id: claimed.checkpoint?.artifactId ?? '',
        checkpoint_step: claimed.checkpoint?.step ?? 0,
      },
    });
    if (!sent) this.lose(attemptId, 'worker went away before the assignment was sent');
    if (this.abort.signal.aborted) {
      this.stopAttempt(attemptId, 'cancelled');
      this.running.get(attemptId)?.settle({ kind: 'cancelled' });
    }
    return outcome;
  }

  private resumedOutcome(trial: TrialDoc): Promise<AttemptOutcome> {
    const outcome = this.resumedOutcomes.get(trial.number) ?? this.awaitResumed(trial);
    this.resumedOutcomes.delete(trial.number);
    return outcome;
  }

  /** A trial found running after a restart: its worker may come back within the lease. */
  private awaitResumed(trial: TrialDoc): Promise<AttemptOutcome> {
    const attempt = trial.attempts[trial.attempts.length - 1];
    if (!attempt || attempt.status !== 'running') {
      return Promise.resolve({ kind: 'lost', reason: 'no running attempt recorded' });
    }
    const outcome = this.track(trial, attempt.id);
    this.ctx.leases.grant(
      { attemptId: attempt.id, trialId: trial.id, experimentId: this.id, workerId: attempt.workerId },
      Date.now(),
    );
    return outcome;
  }

  private track(trial: TrialDoc, attemptId: string): Promise<AttemptOutcome> {
    return new Promise((settle) => {
      this.running.set(attemptId, { trialId: trial.id, number: trial.number, settle });
    });
  }

  /** Applies an attempt's outcome to its trial; returns the trial as stored afterwards. */
  private async settle(trialId: string, outcome: AttemptOutcome): Promise<TrialDoc> {
    const number = Number(trialId.slice(trialId.lastIndexOf('-t') + 2));
    const trial = this.trials.get(number)!;
    if (isTerminal('trial', trial.status)) return trial; // pruned/cancelled already applied
    const attempt = trial.attempts[trial.attempts.length - 1]!;
    const now = Date.now();
    const counted = trial.attempts.filter((a) => a.status === 'lost' || a.status === 'failed').length;
    let attemptStatus: AttemptStatus;
    let status: TrialStatus;
    let error: string | undefined;
    switch (outcome.kind) {
      case 'succeeded':
        attemptStatus = 'succeeded';
        status = 'succeeded';
        break;
      case 'failed':
        attemptStatus = 'failed';
        error = outcome.error;
        status = outcome.retryable && counted + 1 < this.spec.budget.maxAttempts ? 'pending' : 'failed';
        break;
      case 'lost':
        attemptStatus = 'lost';
        error = outcome.reason;
        status = counted + 1 < this.spec.budget.maxAttempts ? 'pending' : 'failed';
        break;
      case 'handed_back':
      case 'requeued':
        attemptStatus = 'handed_back';
        if (outcome.kind === 'requeued') error = outcome.reason;
        status = 'pending';
        break;
      case 'pruned':
        attemptStatus = 'pruned';
        status = 'pruned';
        error = outcome.reason;
        break;
      case 'cancelled':
        attemptStatus = 'cancelled';
        status = 'cancelled';
        break;
    }
    assertTransition('trial', trial.status, status);
    const attempts = trial.attempts.map((a) =>
      a.id === attempt.id ? { ...a, status: attemptStatus, endedAt: now, ...(error ? { error } : {}) } : a,
    );
    const patch: Partial<TrialDoc> = { status, attempts, updatedAt: now };
    if (outcome.kind === 'succeeded') {
      patch.metrics = { ...trial.metrics, ...outcome.metrics };
      patch.info = outcome.info;
    }
    if (status === 'failed' && error) patch.error = error;
    const updated = await this.casTrial(
      trial.id,
      { status: trial.status, attemptCount: trial.attempts.length },
      patch,
      (doc) =>
        doc.status === status &&
        doc.attempts.length === attempts.length &&
        doc.attempts[doc.attempts.length - 1]?.status === attemptStatus,
    );
    if (!updated) throw new Error(`trial ${trial.id} changed under the coordinator`);
    this.putTrial(updated);
    this.ctx.leases.release(attempt.id);
    this.ctx.dispatcher.release(attempt.id);
    this.running.delete(attempt.id);
    if (isTerminal('trial', status)) {
      const value = updated.metrics[this.spec.trial.objective.metric];
      this.scheduler.onTrialComplete(
        { number, params: updated.params },
        value === undefined ? undefined : value * this.sign,
      );
      await this.updateBest();
    }
    this.emitTrialState(updated, error);
    this.log.info({ trialId: trial.id, attempt: attempt.n, outcome: outcome.kind, status }, 'attempt ended');
    return updated;
  }

  // ---- messages from workers (called by the coordinator, in arrival order) ----

  owns(attemptId: string): boolean {
    return this.running.has(attemptId);
  }

  /**
   * A metric report. Reports that arrive while the trial's previous write is in flight are
   * batched: one appendMetrics and one trial update for all of them, then an event and a
   * scheduler decision for each, in order.
   */
  onProgress(attemptId: string, step: number, metrics: Record<string, number>): void {
    const running = this.running.get(attemptId);
    if (!running) return;
    const queued = this.pendingReports.get(attemptId);
    if (queued) {
      queued.push({ step, metrics });
      return;
    }
    const batch = [{ step, metrics }];
    this.pendingReports.set(attemptId, batch);
    void this.withTrial(running.trialId, async () => {
      this.pendingReports.delete(attemptId);
      if (!this.running.has(attemptId)) return; // ended while queued
      const trial = this.trials.get(running.number)!;
      const attempt = trial.attempts[trial.attempts.length - 1]!;
      const now = Date.now();
      const fresh = await this.ctx.store.appendMetrics(
        batch.map((r) => ({
          experimentId: this.id,
          trialId: trial.id,
          attempt: attempt.n,
          step: r.step,
          time: now,
          values: r.metrics,
        })),
      );
      if (fresh === 0) return; // replayed reports
      const merged = Object.assign({}, trial.metrics, ...batch.map((r) => r.metrics)) as Record<string, number>;
      const lastStep = Math.max(trial.lastStep ?? -Infinity, ...batch.map((r) => r.step));
      const updated = await this.ctx.store.updateTrial(
        trial.id,
        { status: 'running', attemptCount: trial.attempts.length },
        { metrics: merged, lastStep, updatedAt: now },
      );
      if (updated) this.putTrial(updated);
      const metric = this.spec.trial.objective.metric;
      for (const report of batch) {
        this.emitTrialMetric(trial, attempt.n, report.step, report.metrics);
        const value = report.metrics[metric];
        if (value === undefined || !this.running.has(attemptId)) continue;
        const curve = this.curves.get(trial.number) ?? {};
        curve[report.step] = value * this.sign;
        this.curves.set(trial.number, curve);
        this.markHistoryStale(trial.number);
        const decision = this.scheduler.onResult(
          { number: trial.number, params: trial.params },
          report.step,
          value * this.sign,
        );
        if (decision.action === 'stop') {
          this.stopAttempt(attemptId, 'pruned');
          running.settle({ kind: 'pruned', reason: decision.reason });
        } else if (decision.action === 'exploit') {
          await this.exploit(trial, attemptId, decision.checkpointOf, decision.params, report.step, decision.reason);
        }
      }
    }).catch((err: unknown) => this.log.error({ err, attemptId }, 'progress not recorded'));
  }

  /** PBT: continue this trial from another trial's checkpoint with perturbed params. */
  private async exploit(
    trial: TrialDoc,
    attemptId: string,
    donorNumber: number,
    params: Params,
    step: number,
    reason: string,
  ): Promise<void> {
    const donor = this.trials.get(donorNumber);
    if (!donor?.checkpoint) return; // nothing to copy yet: carry on
    const lineage = [...(trial.lineage ?? []), { fromTrial: donorNumber, step, params: trial.params }];
    const updated = await this.ctx.store.updateTrial(
      trial.id,
      { status: 'running', attemptCount: trial.attempts.length },
      { params, lineage, checkpoint: donor.checkpoint, updatedAt: Date.now() },
    );
    if (!updated) return;
    this.putTrial(updated);
    this.stopAttempt(attemptId, 'exploit');
    this.running.get(attemptId)?.settle({ kind: 'requeued', reason: `pbt: ${reason}` });
  }

  onCheckpoint(attemptId: string, artifactId: string, step: number): void {
    const running = this.running.get(attemptId);
    if (!running) return;
    void this.withTrial(running.trialId, async () => {
      const trial = this.trials.get(running.number)!;
      const updated = await this.ctx.store.updateTrial(
        trial.id,
        { status: 'running', attemptCount: trial.attempts.length },
        { checkpoint: { artifactId, step }, updatedAt: Date.now() },
      );
      if (updated) this.putTrial(updated);
    }).catch((err: unknown) => this.log.error({ err, attemptId }, 'checkpoint not recorded'));
  }

  onResult(attemptId: string, metrics: Record<string, number>, info: Record<string, unknown>): void {
    this.running.get(attemptId)?.settle({ kind: 'succeeded', metrics, info });
  }

  onFailure(attemptId: string, error: string, retryable: boolean): void {
    this.running.get(attemptId)?.settle({ kind: 'failed', error, retryable });
  }

  onStopped(attemptId: string, reason: string): void {
    if (reason === 'handed_back') this.running.get(attemptId)?.settle({ kind: 'handed_back' });
    // "stopped" confirms a stop we asked for; the outcome was settled when we asked.
  }

  lose(attemptId: string, reason: string): void {
    this.running.get(attemptId)?.settle({ kind: 'lost', reason });
  }

  /** What a running attempt holds on its worker (to rebuild the hold when the worker reconnects). */
  resourcesOfAttempt(attemptId: string): { cpus: number; memoryBytes: number; gpuIds: string[] } {
    const r = this.request();
    const running = this.running.get(attemptId);
    const attempt = running ? this.trials.get(running.number)?.attempts.find((a) => a.id === attemptId) : undefined;
    return { cpus: r.cpus, memoryBytes: r.memoryBytes, gpuIds: attempt?.gpuIds ?? [] };
  }

  private stopAttempt(attemptId: string, reason: string): void {
    const lease = this.ctx.leases.get(attemptId);
    if (lease) this.ctx.dispatcher.send(lease.workerId, { stop: { attempt_id: attemptId, reason } });
  }

  /** Cancels: no new trials, running ones are told to stop, pending ones end cancelled. */
  async cancel(): Promise<ExperimentDoc | undefined> {
    const updated = await this.ctx.store.updateExperiment(
      this.id,
      { status: ['pending', 'running'] },
      { status: 'cancelled', updatedAt: Date.now() },
    );
    if (!updated) return undefined;
    this.experiment = updated;
    // Queued jobs see the abort when they start and return at once (no new trials).
    this.abort.abort(new Cancelled('experiment cancelled'));
    for (const attemptId of [...this.running.keys()]) {
      this.stopAttempt(attemptId, 'cancelled');
      this.running.get(attemptId)?.settle({ kind: 'cancelled' });
    }
    await this.cancelPending();
    this.ctx.events.emit({ type: 'experiment.state', experimentId: this.id, payload: { status: 'cancelled' } });
    return updated;
  }

  private async cancelPending(): Promise<void> {
    // Running trials are settled by their jobs; wait for those, then cancel what is still pending.
    await this.queue.onIdle();
    for (const trial of this.trials.values()) {
      if (trial.status !== 'pending') continue;
      await this.withTrial(trial.id, async () => {
        const current = this.trials.get(trial.number)!;
        if (current.status !== 'pending') return;
        const updated = await this.ctx.store.updateTrial(
          current.id,
          { status: 'pending' },
          { status: 'cancelled', updatedAt: Date.now() },
        );
        if (updated) {
          this.putTrial(updated);
          this.emitTrialState(updated);
        }
      });
    }
  }

  private async finish(): Promise<void> {
    if (this.abort.signal.aborted) return;
    const trials = [...this.trials.values()];
    const ok = trials.some((t) => t.status === 'succeeded' || t.status === 'pruned');
    const status = ok ? 'succeeded' : 'failed';
    const error = ok ? undefined : trials.length === 0 ? 'no trial was created' : `all ${trials.length} trials failed`;
    await this.updateBest();
    const updated = await this.ctx.store.updateExperiment(
      this.id,
      { status: 'running' },
      { status, updatedAt: Date.now(), ...(error ? { error } : {}) },
    );
    if (!updated) return;
    this.experiment = updated;
    this.ctx.events.emit({
      type: 'experiment.state',
      experimentId: this.id,
      payload: { status, ...(error ? { error } : {}), best: updated.best },
    });
    this.log.info({ status, trials: trials.length }, 'experiment finished');
  }

  // ---- helpers ----

  /**
   * The search history, one observation per configuration in number order. Rebuilt only for
   * the configurations whose trials changed since the last call (marked by putTrial and by new
   * curve points), so each suggestion costs O(changed), not O(trials).
   */
  private observations(): readonly TrialObservation[] {
    for (const config of this.staleConfigs) {
      if (this.observationCache[config] === undefined) this.observedConfigs++;
      this.observationCache[config] = this.observe(config);
    }
    this.staleConfigs.clear();
    // A coordinator killed while creating trials concurrently can leave a number unused.
    return this.observedConfigs === this.observationCache.length
      ? this.observationCache
      : this.observationCache.filter(Boolean);
  }

  private observe(config: number): TrialObservation {
    const metric = this.spec.trial.objective.metric;
    const k = this.spec.search.replicates;
    const group: TrialDoc[] = [];
    for (let number = config * k; number < (config + 1) * k; number++) {
      const trial = this.trials.get(number);
      if (trial) group.push(trial);
    }
    const first = group[0]!;
    const done = group.filter((t) => t.status === 'succeeded' && t.metrics[metric] !== undefined);
    if (done.length > 0) {
      const mean = done.reduce((s, t) => s + t.metrics[metric]!, 0) / done.length;
      return { number: config, params: first.params, state: 'complete', value: mean * this.sign };
    }
    if (group.some((t) => t.status === 'pruned')) {
      const value = first.metrics[metric];
      const intermediate = this.curves.get(first.number);
      return {
        number: config,
        params: first.params,
        state: 'pruned',
        ...(value !== undefined ? { value: value * this.sign } : {}),
        ...(intermediate ? { intermediate: { ...intermediate } } : {}),
      };
    }
    if (group.every((t) => t.status === 'failed' || t.status === 'cancelled'))
      return { number: config, params: first.params, state: 'failed' };
    return { number: config, params: first.params, state: 'running' };
  }

  /** Records a trial's latest document (and, once it is terminal, its part in the best). */
  private putTrial(trial: TrialDoc): void {
    this.trials.set(trial.number, trial);
    this.bestTracker.observe(trial);
    this.markHistoryStale(trial.number);
  }

  /** The search history entry of this trial's configuration must be rebuilt (if one is kept). */
  private markHistoryStale(number: number): void {
    if (this.search.usesHistory !== false) this.staleConfigs.add(Math.floor(number / this.spec.search.replicates));
  }

  private async updateBest(): Promise<void> {
    const best = this.bestTracker.best();
    if (!best || JSON.stringify(best) === JSON.stringify(this.experiment.best)) return;
    const updated = await this.ctx.store.updateExperiment(this.id, {}, { best, updatedAt: Date.now() });
    if (updated) this.experiment = updated;
  }

  private emitTrialMetric(trial: TrialDoc, attempt: number, step: number, values: Record<string, number>): void {
    this.ctx.events.emit({
      type: 'trial.metric',
      experimentId: this.id,
      trialId: trial.id,
      trialNumber: trial.number,
      payload: { step, attempt, values },
    });
  }

  /**
   * Stores (and announces, as a trial.state event with `pendingReason`) why a pending trial
   * cannot be placed on any connected worker; '' clears it once a worker could take it.
   */
  private setPendingReason(trialId: string, reason: string | undefined): void {
    void this.withTrial(trialId, async () => {
      const updated = await this.ctx.store.updateTrial(
        trialId,
        { status: 'pending' },
        { pendingReason: reason ?? '', updatedAt: Date.now() },
      );
      if (!updated) return;
      this.putTrial(updated);
      if (reason) this.log.warn({ trialId, reason }, 'trial cannot be placed');
      this.emitTrialState(updated);
    }).catch((err: unknown) => this.log.warn({ err, trialId }, 'pending reason not recorded'));
  }

  private emitTrialState(trial: TrialDoc, error?: string): void {
    const attempt = trial.attempts[trial.attempts.length - 1];
    this.ctx.events.emit({
      type: 'trial.state',
      experimentId: this.id,
      trialId: trial.id,
      trialNumber: trial.number,
      payload: {
        status: trial.status,
        params: trial.params,
        attempt: attempt?.n ?? 0,
        workerId: attempt?.workerId ?? '',
        ...(trial.status === 'succeeded' || trial.status === 'pruned' ? { metrics: trial.metrics } : {}),
        ...(error ? { error } : {}),
        ...(trial.status === 'pending' && trial.pendingReason ? { pendingReason: trial.pendingReason } : {}),
      },
    });
  }

  /**
   * Compare-and-set on a trial. When the store was unreachable the call is retried, and a write
   * that did land the first time then fails its precondition: `applied` recognises our own
   * write in the stored document so it is not mistaken for someone else's.
   */
  private async casTrial(
    id: string,
    expect: TrialExpect,
    patch: Partial<TrialDoc>,
    applied: (doc: TrialDoc) => boolean,
  ): Promise<TrialDoc | undefined> {
    const updated = await this.ctx.store.updateTrial(id, expect, patch);
    if (updated) return updated;
    const stored = await this.ctx.store.getTrial(id);
    return stored && applied(stored) ? stored : undefined;
  }

  private withTrial<T>(trialId: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.chains.get(trialId) ?? Promise.resolve();
    const next = previous.then(fn, fn);
    const tail = next.catch(() => undefined);
    this.chains.set(trialId, tail);
    void tail.then(() => {
      if (this.chains.get(trialId) === tail) this.chains.delete(trialId);
    });
    return next;
  }
}

/** The seed of trial `number` when the spec does not fix one: a stable mix of both. */
export function deriveSeed(searchSeed: number, number: number): number {
  let h = (searchSeed ^ 0x9e3779b9) >>> 0;
  h = Math.imul(h ^ (number + 0x7f4a7c15), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) % 2147483647;
}
