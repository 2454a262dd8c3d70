/**
 * SweepRunner: drives one Sweep experiment from pending to a terminal state. It wires the
 * parts that live next to it: the outcome table (outcome.ts), the one writer of trials
 * (trial-writer.ts), the search history (history.ts), best tracking (best.ts), progress
 * batching (progress.ts) and event reconciliation after a restart (reconcile.ts).
 *
 * Trials run in `budget.concurrency` lanes. A lane takes the next unfinished trial found after a
 * restart, else creates the next trial (asking the search algorithm for params at that moment,
 * so it sees every result so far), then loops: wait for a slot → claim a lease (compare-and-set
 * in the store) → send the assignment → wait for the attempt's outcome → requeue or finish.
 * Trials are created lazily, one per lane at a time: a sweep of `budget.trials: 100000` holds
 * and stores no more trials at submit than one of 10 (at most `concurrency` not yet finished).
 */
import { setMaxListeners } from 'node:events';
import type { Logger } from 'pino';
import { objectivesOf, primaryObjective, type SweepSpec } from '../../shared/spec/schema.js';
import type { Params } from '../../shared/spec/space.js';
import type { AttemptDoc, ExperimentDoc, SweepDoc, TrialDoc } from '../../shared/types.js';
import { isTerminal } from '../../shared/states.js';
import type { Store } from '../store/base.js';
import type { EventLog } from '../event-log.js';
import type { Dispatcher } from '../dispatch/dispatcher.js';
import type { LeaseTable } from '../dispatch/leases.js';
import type { CoordinatorObserver } from '../observer.js';
import type { AttemptRouter } from '../dispatch/worker-session.js';
import type { Hold, SlotRequest } from '../dispatch/slots.js';
import type { SearchAlgorithm } from '../search/base.js';
import { configOfTrial, seedOfTrial, trialsOfConfig } from '../search/replicates.js';
import type { Scheduler } from '../schedulers/base.js';
import { artifactsOfAttempt, assignmentOf, attemptOf, schedulerOf, searchOf, slotRequestOf } from './assignment.js';
import { newAttemptToken } from '../dispatch/attempt-token.js';
import { SweepLeaderboard } from './pareto-front.js';
import { SearchHistory } from './history.js';
import type { AttemptOutcome, OutcomeDecision } from './outcome.js';
import { ProgressHandler } from './progress.js';
import { reconcileEvents } from './reconcile.js';
import { RETAIN_TERMINAL, TrialWriter } from './trial-writer.js';
import { AttemptTimeouts, UserErrorStreak, timedOut, workerFailure } from './failures.js';
import { DEFAULT_RETRY } from '../../shared/spec/retry.js';
import { quarantine } from '../experiments/quarantine.js';
import { GpuPacking } from './gpu-packing.js';

/** The most lanes (budget.concurrency) a runner starts, whatever a stored spec says. */
export const MAX_LANES = 100_000;

export interface RunnerContext {
  store: Store;
  events: EventLog;
  dispatcher: Dispatcher;
  leases: LeaseTable;
  log: Logger;
  observer?: CoordinatorObserver | undefined;
}

interface Running {
  trialId: string;
  number: number;
  settle: (outcome: AttemptOutcome) => void;
}

class Cancelled extends Error {
  override readonly name = 'Cancelled';
}

export class SweepRunner implements AttemptRouter {
  readonly spec: SweepSpec;
  /** The lanes, once started (cancel waits for them). */
  private lanes: Promise<void> | undefined;
  private readonly search: SearchAlgorithm;
  private readonly scheduler: Scheduler;
  private readonly writer: TrialWriter;
  private readonly history: SearchHistory;
  private readonly leaderboard: SweepLeaderboard;
  private readonly progress: ProgressHandler;
  private readonly running = new Map<string, Running>();
  /** budget.trialTimeout: stops an attempt that runs too long; it fails as `timeout`. */
  private readonly timeouts = new AttemptTimeouts((attemptId, seconds) =>
    this.stopAndSettle(attemptId, 'trial timeout', timedOut(seconds)),
  );
  /** budget.retry.user_error.failExperimentAfter: user errors in a row fail the experiment. */
  private readonly userErrors: UserErrorStreak;
  private readonly resumedOutcomes = new Map<number, Promise<AttemptOutcome>>();
  private readonly abort = new AbortController();
  private readonly request: SlotRequest;
  /** GPU memory shares: declared, or learned per configuration family (gpu-packing.ts). */
  private readonly gpu: GpuPacking;
  private readonly sign: number;
  private readonly log: Logger;
  private nextNumber = 0;
  private done: Promise<void> | undefined;
  private markReady: () => void = () => undefined;
  private readonly readyPromise = new Promise<void>((resolve) => (this.markReady = resolve));

  constructor(
    private experiment: SweepDoc,
    private readonly ctx: RunnerContext,
  ) {
    const spec = (this.spec = experiment.spec);
    // Stored before the limits existed (or written by hand): too many lanes would exhaust memory
    // at start-up, every start-up. Thrown here, the experiment is quarantined instead.
    const lanes = spec.budget.concurrency;
    if (!Number.isSafeInteger(lanes) || lanes < 1 || lanes > MAX_LANES) {
      throw new Error(`budget.concurrency: ${lanes} is not a whole number from 1 to ${MAX_LANES}`);
    }
    this.log = ctx.log.child({ experimentId: experiment.id });
    this.sign = primaryObjective(spec.trial).mode === 'max' ? 1 : -1;
    const replicates = spec.search.replicates;
    this.search = searchOf(spec);
    this.scheduler = schedulerOf(spec);
    this.request = slotRequestOf(spec);
    this.gpu = new GpuPacking(spec, this.request, experiment.id);
    this.leaderboard = new SweepLeaderboard(spec);
    // PBT's exploit reads a donor's checkpoint from any trial, ended or not: it keeps them all.
    const retain = spec.scheduler.type === 'pbt' ? Infinity : RETAIN_TERMINAL;
    this.writer = new TrialWriter(
      experiment.id,
      ctx.store,
      ctx.events,
      (trial) => {
        this.leaderboard.observe(trial);
        this.history.observe(trial);
      },
      retain,
    );
    const enabled = this.search.usesHistory !== false;
    this.history = new SearchHistory(objectivesOf(spec.trial), replicates, enabled);
    this.progress = new ProgressHandler({
      writer: this.writer,
      scheduler: this.scheduler,
      history: this.history,
      objective: primaryObjective(spec.trial),
      trialOf: (attemptId) => this.running.get(attemptId),
      stop: (attemptId, reason, outcome) => this.stopAndSettle(attemptId, reason, outcome),
      log: this.log,
    });
    this.userErrors = new UserErrorStreak((spec.budget.retry ?? DEFAULT_RETRY).user_error.failExperimentAfter);
    // Each lane waiting for a slot listens on the abort signal (until its slot is granted).
    setMaxListeners(lanes + 10, this.abort.signal);
  }

  get id(): string {
    return this.experiment.id;
  }

  /** Entries in this runner's per-trial caches (benchmarks and the bound tests read them). */
  cacheSizes(): Record<string, number> {
    const history = this.history.sizes;
    const best = this.leaderboard.sizes;
    return {
      trials: this.writer.size,
      running: this.running.size,
      historyMembers: history.members,
      historyCurves: history.curves,
      bestGroups: best.groups,
      bestPartlyEnded: best.partlyEnded,
    };
  }

  /** Starts (or resumes after a restart) and resolves when the experiment is terminal. */
  run(): Promise<void> {
    this.done ??= this.drive()
      .catch(async (err: unknown) => {
        // No poison pill: no new trials, running attempts stopped, the experiment failed and
        // never resumed (coordinator/experiments/quarantine.ts).
        this.abort.abort(new Cancelled('experiment runner failed'));
        for (const attemptId of [...this.running.keys()]) {
          this.stopAndSettle(attemptId, 'experiment failed', { kind: 'cancelled' });
        }
        await quarantine(this.id, err, this.ctx);
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
      this.writer.load(trial);
      this.scheduler.onTrialAdd({ number: trial.number, params: trial.params });
    }
    this.nextNumber = Math.max(this.experiment.trialsCreated, ...existing.map((t) => t.number + 1), 0);
    // Attempts that were running when the coordinator stopped get a fresh lease now, before any
    // worker's hello is handled, so a worker that reconnects keeps its attempt.
    const resumed = this.experiment.status === 'running';
    if (resumed) {
      for (const trial of existing)
        if (trial.status === 'running') this.resumedOutcomes.set(trial.number, this.awaitResumed(trial));
    }
    this.markReady();

    if (this.experiment.status === 'pending') {
      const updated = await this.ctx.store.updateExperiment(
        this.id,
        { status: 'pending' },
        { status: 'running', updatedAt: Date.now() },
      );
      if (!updated) return;
      this.keep(updated);
      this.ctx.events.emit({ type: 'experiment.state', experimentId: this.id, payload: { status: 'running' } });
    }
    if (this.experiment.status !== 'running') return;
    if (resumed) await reconcileEvents(this.id, existing, { ...this.ctx, writer: this.writer, log: this.log });

    const unfinished = existing.filter((trial) => !isTerminal('trial', trial.status)).map((trial) => trial.number);
    const lanes = Array.from({ length: this.spec.budget.concurrency }, () => this.lane(unfinished));
    this.lanes = Promise.allSettled(lanes).then(() => undefined);
    await Promise.all(lanes);
    await this.finish();
  }

  /** One lane: unfinished trials first, then new ones until the budget (or a grid) is used up. */
  private async lane(unfinished: number[]): Promise<void> {
    while (!this.abort.signal.aborted) {
      const number = unfinished.shift();
      if (number !== undefined) await this.runTrial(number);
      else if (!(await this.runTrial(undefined))) return;
    }
  }

  /** The job of one trial: create it (unless resuming), then run attempts until it is terminal. False: no trial. */
  private async runTrial(number: number | undefined): Promise<boolean> {
    if (this.abort.signal.aborted) return false;
    const first = number === undefined ? await this.createTrial() : this.writer.get(number);
    if (!first) return false;
    let trial: TrialDoc = first;
    try {
      while (!isTerminal('trial', trial.status)) {
        if (this.abort.signal.aborted) return true;
        const outcome: AttemptOutcome =
          trial.status === 'running' ? await this.resumedOutcome(trial) : await this.dispatchAttempt(trial);
        const { id, number } = trial;
        trial = await this.writer.withTrial(id, () => this.settle(number, outcome));
      }
    } catch (err) {
      if (err instanceof Cancelled) return true;
      throw err;
    }
    return true;
  }

  private async createTrial(): Promise<TrialDoc | undefined> {
    if (this.nextNumber >= this.spec.budget.trials) return undefined;
    const number = this.nextNumber++;
    const { replicates: k, seed: searchSeed } = this.spec.search;
    const config = configOfTrial(number, k);
    const firstOfConfig = trialsOfConfig(config, k)[0]!;
    let params: Params | undefined;
    // A replicate takes its configuration's params (from the store once that trial left memory).
    if (number !== firstOfConfig) {
      params =
        this.writer.get(firstOfConfig)?.params ??
        (await this.ctx.store.getTrial(`${this.id}-t${firstOfConfig}`))?.params;
    }
    params ??= this.search.suggest(config, this.history.observations());
    if (!params) {
      this.nextNumber = number; // exhausted (grid): the number stays free, nothing is skipped
      return undefined;
    }
    const now = Date.now();
    const stored = await this.writer.create({
      id: `${this.id}-t${number}`,
      experimentId: this.id,
      number,
      status: 'pending',
      params,
      seed: seedOfTrial(number, { searchSeed, replicates: k, params, fixedSeed: this.spec.trial.seed }),
      attempts: [],
      metrics: {},
      ...(k > 1 ? { config } : {}),
      createdAt: now,
      updatedAt: now,
    });
    await this.ctx.store.updateExperiment(this.id, {}, { trialsCreated: this.nextNumber, updatedAt: now });
    this.scheduler.onTrialAdd({ number, params: stored.params });
    this.writer.emitState(stored);
    return stored;
  }

  private async dispatchAttempt(pending: TrialDoc): Promise<AttemptOutcome> {
    const n = pending.attempts.length + 1;
    const attemptId = `${pending.id}-a${n}`;
    const request = this.gpu.requestFor(pending.number, pending.params);
    const placement = await this.ctx.dispatcher
      .waitForSlot(attemptId, request, this.abort.signal, (reason) => this.setPendingReason(pending, reason))
      .catch(() => {
        throw new Cancelled();
      });
    const now = Date.now();
    // Bound to the identity of the worker it was placed on; only the token's hash is stored.
    const { token, hash } = newAttemptToken();
    const identity = this.ctx.dispatcher.identityOf(placement.workerId) ?? '';
    const binding = { identity, tokenHash: hash };
    const attempt = attemptOf(attemptId, n, placement, now, this.ctx.leases.leaseMs, binding, request.gpuMemoryBytes);
    const claimed = await this.writer.claim(pending.number, attempt, now);
    if (!claimed) {
      // Someone else (another coordinator) holds the trial: give the slot back and stop here.
      this.ctx.dispatcher.release(attemptId);
      this.log.warn({ trialId: pending.id }, 'lease claim lost; trial is not ours');
      throw new Cancelled();
    }
    const outcome = this.lease(claimed, attempt, now);
    const gpuTotal = this.ctx.dispatcher.gpuTotal(placement.workerId, placement.gpuIds[0]);
    this.gpu.onPlaced(attempt, pending.number, pending.params, request, gpuTotal);
    this.timeouts.start(attemptId, this.spec.budget.trialTimeout);
    this.writer.emitState(claimed);
    const assignment = assignmentOf(this.spec, claimed, attempt, request, token);
    const sent = this.ctx.dispatcher.send(placement.workerId, assignment);
    if (!sent) this.lose(attemptId, 'worker went away before the assignment was sent');
    if (this.abort.signal.aborted) this.stopAndSettle(attemptId, 'cancelled', { kind: 'cancelled' });
    return outcome;
  }

  /** The dispatcher's `onReason`: why no connected worker could ever run the trial (undefined: it could now). */
  private setPendingReason(pending: TrialDoc, reason: string | undefined): void {
    this.writer
      .setPendingReason(pending.number, reason ?? '')
      .then((stored) => {
        if (stored && reason) this.log.warn({ trialId: pending.id, reason }, 'trial cannot be placed');
      })
      .catch((err: unknown) => this.log.warn({ err, trialId: pending.id }, 'pending reason not recorded'));
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
    return this.lease(trial, attempt, Date.now());
  }

  /**
   * Leases the attempt to its worker, bound to the identity and token hash stored on it, with
   * the artifacts it may read; resolves with the attempt's outcome.
   */
  private lease(trial: TrialDoc, attempt: AttemptDoc, now: number): Promise<AttemptOutcome> {
    const { id: trialId, number } = trial;
    const attemptId = attempt.id;
    const outcome = new Promise<AttemptOutcome>((settle) => this.running.set(attemptId, { trialId, number, settle }));
    this.ctx.leases.grant(
      {
        attemptId,
        trialId,
        experimentId: this.id,
        workerId: attempt.workerId,
        identity: attempt.identity ?? '',
        tokenHash: attempt.tokenHash ?? '',
        artifacts: artifactsOfAttempt(this.spec, trial),
      },
      now,
    );
    return outcome;
  }

  /** Applies an attempt's outcome (inside the trial's chain); returns the trial as stored afterwards. */
  private async settle(number: number, outcome: AttemptOutcome): Promise<TrialDoc> {
    const policy = { ...this.spec.budget, trialDefaults: this.spec.trial };
    const { trial, decision } = await this.writer.settle(number, outcome, policy);
    if (!decision) return trial; // pruned/cancelled already applied
    const attempt = trial.attempts.at(-1)!;
    this.timeouts.clear(attempt.id);
    const more = (this.spec.budget.retry ?? DEFAULT_RETRY).oom.then === 'more gpu memory';
    const gpuNote = this.gpu.ended(attempt.id, outcome.kind === 'succeeded', decision.failure?.kind, more);
    if (gpuNote) this.log.info({ trialId: trial.id, attempt: attempt.n }, gpuNote);
    await this.apply(trial, attempt.id, decision);
    const userErrors = this.userErrors.observe(outcome.kind === 'succeeded', decision.failure, decision.error);
    if (userErrors) void this.failExperiment(userErrors);
    this.ctx.observer?.attemptEnded(decision.attemptStatus);
    this.log.info(
      { trialId: trial.id, attempt: attempt.n, outcome: outcome.kind, status: trial.status },
      'attempt ended',
    );
    return trial;
  }

  /** The effects of a stored outcome, in the order the outcome table lists them. */
  private async apply(trial: TrialDoc, attemptId: string, decision: OutcomeDecision): Promise<void> {
    for (const effect of decision.effects) {
      switch (effect.kind) {
        case 'release':
          this.ctx.leases.release(attemptId);
          this.ctx.dispatcher.release(attemptId);
          this.running.delete(attemptId);
          break;
        case 'complete': {
          const value = trial.metrics[primaryObjective(this.spec.trial).metric];
          const sample = { number: trial.number, params: trial.params };
          this.scheduler.onTrialComplete(sample, value === undefined ? undefined : value * this.sign);
          break;
        }
        case 'best':
          await this.updateBest();
          break;
        case 'emit':
          this.writer.emitState(trial, effect.error);
          break;
      }
    }
  }

  // ---- messages from workers (routed by the worker session through the lease table) ----

  onProgress(attemptId: string, step: number, metrics: Record<string, number>): void {
    this.progress.report(attemptId, step, metrics);
  }

  onStepRefused(attemptId: string, reason: string): void {
    const running = this.running.get(attemptId);
    if (!running) return;
    this.log.warn({ attemptId, reason }, 'metric report refused for its step');
    void this.writer
      .withTrial(running.trialId, () => this.writer.recordStepRefused(running.number, reason))
      .catch((err: unknown) => this.log.error({ err, attemptId }, 'step warning not recorded'));
  }

  onCheckpoint(attemptId: string, artifactId: string, step: number): void {
    const running = this.running.get(attemptId);
    if (!running) return;
    void this.writer
      .withTrial(running.trialId, () => this.writer.recordCheckpoint(running.number, artifactId, step))
      .catch((err: unknown) => this.log.error({ err, attemptId }, 'checkpoint not recorded'));
  }

  onResult(attemptId: string, metrics: Record<string, number>, info: Record<string, unknown>): void {
    this.running.get(attemptId)?.settle({ kind: 'succeeded', metrics, info });
  }

  onFailure(attemptId: string, error: string, retryable: boolean, failureKind?: string, evidence?: string): void {
    this.running
      .get(attemptId)
      ?.settle({ kind: 'failed', error, failure: workerFailure(retryable, failureKind, evidence) });
  }

  onStopped(attemptId: string, reason: string): void {
    if (reason === 'handed_back') this.running.get(attemptId)?.settle({ kind: 'handed_back' });
    if (reason === 'preempted') {
      const workerId = this.ctx.leases.get(attemptId)?.workerId ?? 'its worker';
      this.running.get(attemptId)?.settle({ kind: 'preempted', reason: `${workerId} was drained` });
    }
    // "stopped" confirms a stop we asked for; the outcome was settled when we asked.
  }

  lose(attemptId: string, reason: string): void {
    this.running.get(attemptId)?.settle({ kind: 'lost', reason });
  }

  /**
   * No progress report for too long on a worker that heartbeats: stop it there. The program hung
   * (its worker is fine), so it ends as a `timeout` failure under budget.retry.timeout — not as
   * `lost`, which a lost worker's attempt is and which costs no attempt.
   */
  stuck(attemptId: string, reason: string): void {
    this.stopAndSettle(attemptId, reason, {
      kind: 'failed',
      error: reason,
      failure: { kind: 'timeout', evidence: reason },
    });
  }

  /** What a running attempt holds on its worker (to rebuild the hold when the worker reconnects). */
  resourcesOfAttempt(attemptId: string): Hold {
    const running = this.running.get(attemptId);
    return this.gpu.holdOf(running && this.writer.get(running.number)?.attempts.find((a) => a.id === attemptId));
  }

  onGpuPeak(attemptId: string, bytes: number): void {
    this.gpu.peak(attemptId, bytes);
  }

  private stopAttempt(attemptId: string, reason: string): void {
    const lease = this.ctx.leases.get(attemptId);
    if (lease) this.ctx.dispatcher.send(lease.workerId, { stop: { attempt_id: attemptId, reason } });
  }

  private stopAndSettle(attemptId: string, reason: string, outcome: AttemptOutcome): void {
    this.stopAttempt(attemptId, reason);
    this.running.get(attemptId)?.settle(outcome);
  }

  /** Cancels: no new trials, running ones are told to stop, pending ones end cancelled. */
  cancel(): Promise<ExperimentDoc | undefined> {
    return this.end('cancelled');
  }

  /** Ends the experiment as failed with `error` (user errors in a row), as a cancel would. */
  private async failExperiment(error: string): Promise<void> {
    this.log.warn({ error }, 'failing the experiment');
    await this.end('failed', error).catch((err: unknown) => this.log.error({ err }, 'experiment not failed'));
  }

  private async end(status: 'cancelled' | 'failed', error?: string): Promise<ExperimentDoc | undefined> {
    const updated = await this.ctx.store.updateExperiment(
      this.id,
      { status: ['pending', 'running'] },
      { status, updatedAt: Date.now(), ...(error ? { error } : {}) },
    );
    if (!updated) return undefined;
    this.keep(updated);
    // Lanes see the abort before their next trial and return at once (no new trials).
    this.abort.abort(new Cancelled(`experiment ${status}`));
    this.timeouts.clearAll();
    for (const attemptId of [...this.running.keys()]) this.stopAndSettle(attemptId, status, { kind: 'cancelled' });
    // Running trials are settled by their jobs; wait for those, then cancel what is still pending.
    await this.lanes;
    await this.writer.cancelPending();
    this.ctx.events.emit({
      type: 'experiment.state',
      experimentId: this.id,
      payload: { status, ...(error ? { error } : {}) },
    });
    return updated;
  }

  private async finish(): Promise<void> {
    if (this.abort.signal.aborted) return;
    const { trials, anyOk: ok } = this.writer.totals;
    const status = ok ? 'succeeded' : 'failed';
    const error = ok ? undefined : trials === 0 ? 'no trial was created' : `all ${trials} trials failed`;
    await this.updateBest();
    const updated = await this.ctx.store.updateExperiment(
      this.id,
      { status: 'running' },
      { status, updatedAt: Date.now(), ...(error ? { error } : {}) },
    );
    if (!updated) return;
    this.keep(updated);
    this.ctx.events.emit({
      type: 'experiment.state',
      experimentId: this.id,
      payload: { status, ...(error ? { error } : {}), ...(updated.best ? { best: updated.best } : {}) },
    });
    this.log.info({ status, trials }, 'experiment finished');
  }

  /** Keeps the stored copy of the experiment (a sweep's document stays a sweep's). */
  private keep(updated: ExperimentDoc): void {
    if (updated.kind === 'Sweep') this.experiment = updated;
  }

  private async updateBest(): Promise<void> {
    const changes = this.leaderboard.changes(this.experiment);
    if (!changes) return;
    const updated = await this.ctx.store.updateExperiment(this.id, {}, { ...changes, updatedAt: Date.now() });
    if (updated) this.keep(updated);
  }
}
