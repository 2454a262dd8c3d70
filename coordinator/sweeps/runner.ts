/**
 * SweepRunner: drives one Sweep experiment from pending to a terminal state. It wires the
 * parts that live next to it: the outcome table (outcome.ts), the one writer of trials
 * (trial-writer.ts), the search history (history.ts), best tracking (best.ts), progress
 * batching (progress.ts), the next trial's document (new-trial.ts), the leased attempts and
 * their workers' messages (running-attempts.ts) and event reconciliation after a restart
 * (reconcile.ts).
 *
 * Trials run in `budget.concurrency` lanes. A lane takes the next unfinished trial found after a
 * restart, else creates the next trial (asking the search algorithm for params at that moment,
 * so it sees every result so far), then loops: wait for a slot → claim a lease (compare-and-set
 * in the store) → send the assignment → wait for the attempt's outcome → requeue or finish.
 * Trials are created lazily, one per lane at a time: a sweep of `budget.trials: 100000` holds
 * and stores no more trials at submit than one of 10 (at most `concurrency` not yet finished).
 *
 * With `budget.prefetch` there are twice as many lanes, but at most `concurrency` attempts hold
 * slots (the dispatcher's cap); a lane that finds the cap reached queues its attempt behind a
 * running one of this sweep (coordinator/dispatch/prefetch.ts), and its timeout starts when it
 * does.
 */
import { setMaxListeners } from 'node:events';
import type { Logger } from 'pino';
import { objectivesOf, primaryObjective, type SweepSpec } from '../../shared/spec/schema.js';
import type { ExperimentDoc, SweepDoc, TrialDoc } from '../../shared/types.js';
import { isTerminal } from '../../shared/states.js';
import type { Store } from '../store/base.js';
import type { EventLog } from '../event-log.js';
import type { Dispatcher } from '../dispatch/dispatcher.js';
import type { LeaseTable } from '../dispatch/leases.js';
import type { CoordinatorObserver } from '../observer.js';
import type { SlotRequest } from '../dispatch/slots.js';
import type { SearchAlgorithm } from '../search/base.js';
import type { Scheduler } from '../schedulers/base.js';
import { assignmentOf, attemptOf, schedulerOf, searchOf, slotRequestOf } from './assignment.js';
import { newAttemptToken } from '../dispatch/attempt-token.js';
import { SweepLeaderboard } from './pareto-front.js';
import { SearchHistory } from './history.js';
import type { AttemptOutcome, OutcomeDecision } from './outcome.js';
import { ProgressHandler } from './progress.js';
import { reconcileEvents } from './reconcile.js';
import { RETAIN_TERMINAL, TrialWriter } from './trial-writer.js';
import { AttemptTimeouts, UserErrorStreak, timedOut } from './failures.js';
import { DEFAULT_RETRY } from '../../shared/spec/retry.js';
import { quarantine } from '../experiments/quarantine.js';
import { GpuPacking } from './gpu-packing.js';
import { newTrial } from './new-trial.js';
import { RunningAttempts } from './running-attempts.js';
import { dispatchTrace, stamp } from '../../shared/dispatch-trace.js';
import { LatestValueWriter } from './latest-value.js';

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

class Cancelled extends Error {
  override readonly name = 'Cancelled';
}

export class SweepRunner {
  readonly spec: SweepSpec;
  /** The lanes, once started (cancel waits for them). */
  private lanes: Promise<void> | undefined;
  private readonly search: SearchAlgorithm;
  private readonly scheduler: Scheduler;
  private readonly writer: TrialWriter;
  private readonly history: SearchHistory;
  private readonly leaderboard: SweepLeaderboard;
  private readonly progress: ProgressHandler;
  /** The attempts holding a lease; the worker session routes this experiment's messages there. */
  readonly attempts: RunningAttempts;
  /** budget.trialTimeout: stops an attempt that runs too long; it fails as `timeout`. */
  private readonly timeouts = new AttemptTimeouts((attemptId, seconds) =>
    this.attempts.stopAndSettle(attemptId, 'trial timeout', timedOut(seconds)),
  );
  /** budget.retry.user_error.failExperimentAfter: user errors in a row fail the experiment. */
  private readonly userErrors: UserErrorStreak;
  private readonly abort = new AbortController();
  private readonly request: SlotRequest;
  /** GPU memory shares: declared, or learned per configuration family (gpu-packing.ts). */
  private readonly gpu: GpuPacking;
  private readonly sign: number;
  private readonly log: Logger;
  private nextNumber = 0;
  /** Prefetch: the lanes whose partner waits for their first assignment, and its start. */
  private readonly firstSent = new Map<number, () => void>();
  /** The experiment's `trialsCreated`, written by one writer for all lanes (latest-value.ts). */
  private readonly trialsCreated = new LatestValueWriter(async (count) => {
    await this.ctx.store.updateExperiment(this.id, {}, { trialsCreated: count, updatedAt: Date.now() });
  });
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
      trialOf: (attemptId) => this.attempts.get(attemptId),
      stop: (attemptId, reason, outcome) => this.attempts.stopAndSettle(attemptId, reason, outcome),
      log: this.log,
    });
    this.attempts = new RunningAttempts({
      ...ctx,
      experimentId: experiment.id,
      spec,
      writer: this.writer,
      gpu: this.gpu,
      log: this.log,
      onProgress: (attemptId, step, metrics) => this.progress.report(attemptId, step, metrics),
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
      running: this.attempts.size,
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
        this.attempts.cancelAll('experiment failed');
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
      for (const trial of existing) if (trial.status === 'running') this.attempts.resume(trial);
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
    const { concurrency, prefetch } = this.spec.budget;
    // A prefetch lane starts once its partner lane's first assignment is out (or that lane is
    // done): creating the extra trials at submit would delay the first programs' start.
    const partners = Array.from(
      { length: prefetch ? concurrency : 0 },
      (_, lane) => new Promise<void>((resolve) => this.firstSent.set(lane, resolve)),
    );
    const lanes = Array.from({ length: concurrency + partners.length }, (_, lane) =>
      lane < concurrency
        ? this.lane(unfinished, lane).finally(() => this.sentFirst(lane))
        : partners[lane - concurrency]!.then(() => this.lane(unfinished, lane)),
    );
    this.lanes = Promise.allSettled(lanes).then(() => undefined);
    await Promise.all(lanes);
    await this.finish();
  }

  /** Lane `lane` sent its first assignment (or ended): its prefetch partner starts. */
  private sentFirst(lane: number): void {
    const start = this.firstSent.get(lane);
    this.firstSent.delete(lane);
    start?.();
  }

  /** One lane: unfinished trials first, then new ones until the budget (or a grid) is used up. */
  private async lane(unfinished: number[], lane: number): Promise<void> {
    while (!this.abort.signal.aborted) {
      const number = unfinished.shift();
      if (number !== undefined) await this.runTrial(number, lane);
      else if (!(await this.runTrial(undefined, lane))) return;
    }
  }

  /** The job of one trial: create it (unless resuming), then run attempts until it is terminal. False: no trial. */
  private async runTrial(number: number | undefined, lane: number): Promise<boolean> {
    if (this.abort.signal.aborted) return false;
    const asked = dispatchTrace.enabled ? stamp() : 0;
    const created = number === undefined ? await this.createTrial() : undefined;
    const first = created ? created.trial : number === undefined ? undefined : this.writer.get(number);
    if (!first) return false;
    let trial: TrialDoc = first;
    try {
      while (!isTerminal('trial', trial.status)) {
        if (this.abort.signal.aborted) return true;
        const outcome: AttemptOutcome =
          trial.status === 'running'
            ? await this.attempts.resumedOutcome(trial)
            : await this.dispatchAttempt(trial, { lane, asked });
        // Long stored by now; a failure to store the count ends the lane as it did before.
        await created?.counted;
        const { id, number } = trial;
        trial = await this.writer.withTrial(id, () => this.settle(number, outcome));
      }
    } catch (err) {
      if (err instanceof Cancelled) return true;
      throw err;
    }
    return true;
  }

  /**
   * A new trial, stored. `counted`: the experiment's `trialsCreated` write, started once the
   * trial is stored (so a restart never finds the count ahead of the trials) but not waited
   * for before the trial is dispatched: one store round trip less between a free slot and its
   * next assignment. The caller awaits it before settling the trial.
   */
  private async createTrial(): Promise<{ trial: TrialDoc; counted: Promise<void> } | undefined> {
    if (this.nextNumber >= this.spec.budget.trials) return undefined;
    const number = this.nextNumber++;
    const { writer, search, history } = this;
    const trial = await newTrial(number, {
      ...this.ctx,
      experimentId: this.id,
      spec: this.spec,
      writer,
      search,
      history,
    });
    if (!trial) {
      this.nextNumber = number; // exhausted (grid): the number stays free, nothing is skipped
      return undefined;
    }
    const stored = await this.writer.create(trial);
    const counted = this.trialsCreated.store(number + 1);
    // Handled here too, so a failure while the lane is still dispatching is not unhandled.
    counted.catch(() => undefined);
    this.scheduler.onTrialAdd({ number, params: stored.params });
    this.writer.emitState(stored);
    return { trial: stored, counted };
  }

  /** `trace`: the lane, and when it asked for the trial (the dispatch trace's stamps). */
  private async dispatchAttempt(pending: TrialDoc, trace: { lane: number; asked: number }): Promise<AttemptOutcome> {
    const n = pending.attempts.length + 1;
    const attemptId = `${pending.id}-a${n}`;
    if (dispatchTrace.enabled) {
      dispatchTrace.mark(attemptId, 'lane', trace.lane);
      dispatchTrace.mark(attemptId, 'trial_asked', trace.asked);
      dispatchTrace.mark(attemptId, 'trial_ready');
    }
    const request = this.gpu.requestFor(pending.number, pending.params);
    const { prefetch, concurrency } = this.spec.budget;
    const placement = await this.ctx.dispatcher
      .waitForSlot(
        attemptId,
        request,
        this.abort.signal,
        (reason) => this.setPendingReason(pending, reason),
        prefetch ? { prefetch, cap: concurrency } : {},
      )
      .catch(() => {
        throw new Cancelled();
      });
    dispatchTrace.mark(attemptId, 'slot');
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
    dispatchTrace.mark(attemptId, 'claimed');
    const queued = this.ctx.dispatcher.isQueued(attemptId);
    const outcome = this.attempts.lease(claimed, attempt, now, queued);
    const gpuTotal = this.ctx.dispatcher.gpuTotal(placement.workerId, placement.gpuIds[0]);
    this.gpu.onPlaced(attempt, pending.number, pending.params, request, gpuTotal);
    // A queued attempt's clock starts when it does (its host was released), not while it waits.
    this.ctx.dispatcher.whenStarted(attemptId, () => {
      if (queued) {
        this.ctx.leases.started(attemptId, Date.now());
        dispatchTrace.mark(attemptId, 'promoted');
      }
      this.timeouts.start(attemptId, this.spec.budget.trialTimeout);
    });
    this.writer.emitState(claimed);
    const assignment = assignmentOf(this.spec, claimed, attempt, request, token, placement.after);
    const sent = this.ctx.dispatcher.send(placement.workerId, assignment);
    dispatchTrace.mark(attemptId, 'sent');
    this.sentFirst(trace.lane);
    if (!sent) this.attempts.lose(attemptId, 'worker went away before the assignment was sent');
    if (this.abort.signal.aborted) this.attempts.stopAndSettle(attemptId, 'cancelled', { kind: 'cancelled' });
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

  /** Applies an attempt's outcome (inside the trial's chain); returns the trial as stored afterwards. */
  private async settle(number: number, outcome: AttemptOutcome): Promise<TrialDoc> {
    const policy = { ...this.spec.budget, trialDefaults: this.spec.trial };
    const { trial, decision } = await this.writer.settle(number, outcome, policy);
    if (!decision) return trial; // pruned/cancelled already applied
    const attempt = trial.attempts.at(-1)!;
    dispatchTrace.mark(attempt.id, 'settled');
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
          this.attempts.release(attemptId);
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
    this.attempts.cancelAll(status);
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
