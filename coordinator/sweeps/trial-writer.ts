/**
 * TrialWriter: the one place a sweep's trial documents change. It holds the latest copy of
 * every trial, writes them to the store (inserts, compare-and-set transitions, metric and
 * checkpoint updates) and emits their `trial.state` / `trial.metric` events after the write
 * (invariant: state first, then event).
 *
 * All writes to one trial go through that trial's chain (`withTrial`), in message-arrival
 * order, so a result can never be overtaken by an earlier progress report. Every stored copy
 * is passed to `onChange` (best tracking, search history).
 */
import type { AttemptDoc, TrialDoc } from '../../shared/types.js';
import type { Params } from '../../shared/spec/space.js';
import { assertTransition, isTerminal } from '../../shared/states.js';
import type { Store, TrialExpect } from '../store/base.js';
import type { EventLog } from '../event-log.js';
import {
  decideOutcome,
  showsDecision,
  type AttemptOutcome,
  type OutcomeDecision,
  type OutcomePolicy,
} from './outcome.js';
import { KeyedQueue } from '../../shared/keyed-queue.js';

export interface MetricReport {
  step: number;
  metrics: Record<string, number>;
}

/**
 * A running trial's summary (metrics, lastStep) is stored at most this often. Its metric rows
 * are stored at once, before their events; the summary follows with the trial's next write (a
 * checkpoint, the attempt's end) or after this long, whichever comes first.
 */
export const SUMMARY_EVERY_MS = 1000;

/**
 * Terminal trials kept in memory after they end (the most recent ones), so that the cost per
 * trial and the memory stay constant however long a sweep runs: non-terminal trials are always
 * kept, the rest are read from the store when needed. PBT keeps them all (a donor's checkpoint).
 */
export const RETAIN_TERMINAL = 1000;

export class TrialWriter {
  /** Every non-terminal trial, and the most recent `retainTerminal` terminal ones (Map order = age). */
  private readonly trials = new Map<number, TrialDoc>();
  private readonly terminal = new Set<number>();
  /** Trials taken in (created or loaded), and whether one succeeded or was pruned, for the sweep's end. */
  private taken = 0;
  private anyOk = false;
  private readonly chains = new KeyedQueue();
  /** Trials whose in-memory summary is newer than the stored one, with the timer that stores it. */
  private readonly unsaved = new Map<number, NodeJS.Timeout>();

  constructor(
    private readonly experimentId: string,
    private readonly store: Store,
    private readonly events: EventLog,
    private readonly onChange: (trial: TrialDoc) => void,
    private readonly retainTerminal: number = RETAIN_TERMINAL,
  ) {}

  get(number: number): TrialDoc | undefined {
    return this.trials.get(number);
  }

  /** The trials held in memory: every non-terminal one and the most recent terminal ones. */
  all(): IterableIterator<TrialDoc> {
    return this.trials.values();
  }

  /** Trials held in memory now (bounded: non-terminal ones + `retainTerminal`). */
  get size(): number {
    return this.trials.size;
  }

  /** Every trial taken in so far (held or not), and whether any succeeded or was pruned. */
  get totals(): { trials: number; anyOk: boolean } {
    return { trials: this.taken, anyOk: this.anyOk };
  }

  /** Takes in a trial read from the store (after a restart); writes nothing. */
  load(trial: TrialDoc): void {
    if (!this.trials.has(trial.number)) this.taken++;
    this.put(trial);
  }

  /** Runs `fn` after every earlier write to this trial has finished (its chain). */
  withTrial<T>(trialId: string, fn: () => Promise<T>): Promise<T> {
    return this.chains.run(trialId, fn);
  }

  /** Stores a new pending trial (or takes the one a previous try already stored) and emits it. */
  async create(trial: TrialDoc): Promise<TrialDoc> {
    const inserted = await this.store.insertTrial(trial);
    const stored = inserted ? trial : await this.store.getTrial(trial.id);
    if (!stored) throw new Error(`trial ${trial.id} could not be created`);
    if (!this.trials.has(stored.number)) this.taken++;
    this.put(stored);
    return stored;
  }

  /**
   * pending → running with `attempt` appended, by compare-and-set: undefined when another
   * coordinator claimed the trial first. The event is emitted by `emitState` once the lease
   * is granted.
   */
  claim(number: number, attempt: AttemptDoc, now: number): Promise<TrialDoc | undefined> {
    const id = this.get(number)!.id;
    return this.withTrial(id, async () => {
      const current = this.get(number)!;
      assertTransition('trial', current.status, 'running');
      const claimed = await this.cas(
        id,
        { status: 'pending', attemptCount: attempt.n - 1 },
        {
          status: 'running',
          attempts: [...current.attempts, attempt],
          updatedAt: now,
          ...(current.pendingReason ? { pendingReason: '' } : {}),
        },
        (doc) => doc.status === 'running' && doc.attempts[attempt.n - 1]?.id === attempt.id,
      );
      if (claimed) this.put(claimed);
      return claimed;
    });
  }

  /**
   * Applies an attempt's outcome (decided by the outcome table) to the stored trial. Call inside
   * the trial's chain. `decision` is undefined when the trial was already terminal.
   */
  async settle(
    number: number,
    outcome: AttemptOutcome,
    policy: OutcomePolicy,
  ): Promise<{ trial: TrialDoc; decision: OutcomeDecision | undefined }> {
    const trial = this.get(number)!;
    const decision = decideOutcome(trial, outcome, policy, Date.now());
    if (!decision) return { trial, decision };
    const updated = await this.cas(
      trial.id,
      { status: trial.status, attemptCount: trial.attempts.length },
      { ...this.takeSummary(trial), ...decision.patch },
      (doc) => showsDecision(doc, decision),
    );
    if (!updated) throw new Error(`trial ${trial.id} changed under the coordinator`);
    this.put(updated);
    return { trial: updated, decision };
  }

  /**
   * Stores a batch of metric reports of the running attempt `attemptN` (one append; the trial's
   * summary is coalesced, see SUMMARY_EVERY_MS) and emits a `trial.metric` event per report.
   * Call inside the trial's chain. Returns false when every report was a replay (nothing new
   * stored, nothing emitted).
   */
  async recordReports(number: number, attemptN: number, batch: readonly MetricReport[]): Promise<boolean> {
    const trial = this.get(number)!;
    const now = Date.now();
    const fresh = await this.store.appendMetrics(
      batch.map((r) => ({
        experimentId: this.experimentId,
        trialId: trial.id,
        attempt: attemptN,
        step: r.step,
        time: now,
        values: r.metrics,
      })),
    );
    if (fresh === 0) return false;
    const merged = Object.assign({}, trial.metrics, ...batch.map((r) => r.metrics)) as Record<string, number>;
    const lastStep = Math.max(trial.lastStep ?? -Infinity, ...batch.map((r) => r.step));
    this.put({ ...trial, metrics: merged, lastStep, updatedAt: now });
    if (!this.unsaved.has(number)) this.scheduleSummary(trial);
    for (const report of batch) this.emitMetric(trial, attemptN, report.step, report.metrics);
    return true;
  }

  /** Stores the coalesced summary of a running trial now. Call inside the trial's chain. */
  async saveSummary(number: number): Promise<void> {
    const trial = this.get(number);
    if (!trial || !this.unsaved.has(number)) return;
    if (trial.status !== 'running') {
      this.takeSummary(trial);
      return;
    }
    await this.updateRunning(trial, { updatedAt: trial.updatedAt });
  }

  /** The unsaved summary of a trial, to go with its next write (which then owns it). */
  private takeSummary(trial: TrialDoc): Partial<TrialDoc> {
    const timer = this.unsaved.get(trial.number);
    if (timer === undefined) return {};
    clearTimeout(timer);
    this.unsaved.delete(trial.number);
    return { metrics: trial.metrics, lastStep: trial.lastStep };
  }

  /** The running attempt stored a checkpoint. Call inside the trial's chain. */
  async recordCheckpoint(number: number, artifactId: string, step: number): Promise<void> {
    await this.updateRunning(this.get(number)!, { checkpoint: { artifactId, step }, updatedAt: Date.now() });
  }

  /**
   * PBT exploit: the trial continues from `donor`'s checkpoint with `params`. False when the
   * donor has no checkpoint yet or the trial is no longer running. Call inside the trial's chain.
   */
  async exploit(number: number, donorNumber: number, params: Params, step: number): Promise<boolean> {
    const trial = this.get(number)!;
    const donor = this.get(donorNumber);
    if (!donor?.checkpoint) return false;
    const lineage = [...(trial.lineage ?? []), { fromTrial: donorNumber, step, params: trial.params }];
    return this.updateRunning(trial, { params, lineage, checkpoint: donor.checkpoint, updatedAt: Date.now() });
  }

  /** Counts a report refused for its step on the running trial, with the reason (call inside the trial's chain). */
  async recordStepRefused(number: number, reason: string): Promise<void> {
    const trial = this.get(number)!;
    await this.updateRunning(trial, {
      stepWarnings: (trial.stepWarnings ?? 0) + 1,
      stepWarning: reason,
      updatedAt: Date.now(),
    });
  }

  /**
   * Stores (and announces, as a `trial.state` event with `pendingReason`) why a pending trial
   * cannot be placed on any connected worker; '' clears it once a worker could take it. False
   * when the trial is no longer pending (nothing stored, nothing emitted).
   */
  setPendingReason(number: number, reason: string): Promise<boolean> {
    const id = this.get(number)!.id;
    return this.withTrial(id, async () => {
      const updated = await this.store.updateTrial(
        id,
        { status: 'pending' },
        { pendingReason: reason, updatedAt: Date.now() },
      );
      if (!updated) return false;
      this.put(updated);
      this.emitState(updated);
      return true;
    });
  }

  /** Every trial still pending becomes cancelled (after the experiment was cancelled). */
  async cancelPending(): Promise<void> {
    for (const trial of [...this.trials.values()]) {
      if (trial.status !== 'pending') continue;
      await this.withTrial(trial.id, async () => {
        const current = this.get(trial.number)!;
        if (current.status !== 'pending') return;
        const updated = await this.store.updateTrial(
          current.id,
          { status: 'pending' },
          { status: 'cancelled', updatedAt: Date.now() },
        );
        if (updated) {
          this.put(updated);
          this.emitState(updated);
        }
      });
    }
  }

  emitMetric(trial: TrialDoc, attempt: number, step: number, values: Record<string, number>): void {
    this.events.emit({
      type: 'trial.metric',
      experimentId: this.experimentId,
      trialId: trial.id,
      trialNumber: trial.number,
      payload: { step, attempt, values },
    });
  }

  emitState(trial: TrialDoc, error?: string): void {
    const attempt = trial.attempts[trial.attempts.length - 1];
    this.events.emit({
      type: 'trial.state',
      experimentId: this.experimentId,
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

  private put(trial: TrialDoc): void {
    const { number } = trial;
    if (isTerminal('trial', trial.status)) {
      if (trial.status === 'succeeded' || trial.status === 'pruned') this.anyOk = true;
      // Re-inserted at the end: the Map's order is the order trials ended in.
      this.trials.delete(number);
      this.terminal.add(number);
    }
    this.trials.set(number, trial);
    this.onChange(trial);
    if (this.terminal.size > this.retainTerminal) this.evict();
  }

  /**
   * Drops the oldest terminal trials beyond `retainTerminal`. It stops at one with a write still
   * in flight (dropped by a later call), so each call costs O(dropped), never a scan of all.
   */
  private evict(): void {
    for (const number of this.terminal) {
      if (this.terminal.size <= this.retainTerminal) return;
      const trial = this.trials.get(number);
      if (trial && this.chains.has(trial.id)) return;
      this.terminal.delete(number);
      this.trials.delete(number);
    }
  }

  /** An update of a running trial's current attempt; false when it is no longer that. */
  private async updateRunning(trial: TrialDoc, patch: Partial<TrialDoc>): Promise<boolean> {
    const summary = this.takeSummary(trial);
    let updated: TrialDoc | undefined;
    try {
      updated = await this.store.updateTrial(
        trial.id,
        { status: 'running', attemptCount: trial.attempts.length },
        { ...summary, ...patch },
      );
    } catch (err) {
      // Unsaved again: stored on the timer, or by the next write.
      if (summary.metrics && !this.unsaved.has(trial.number)) this.scheduleSummary(trial);
      throw err;
    }
    if (updated) this.put(updated);
    return !!updated;
  }

  /** Stores the trial's summary in SUMMARY_EVERY_MS (a failed try schedules itself again). */
  private scheduleSummary(trial: TrialDoc): void {
    const timer = setTimeout(() => {
      void this.withTrial(trial.id, () => this.saveSummary(trial.number)).catch(() => undefined);
    }, SUMMARY_EVERY_MS);
    timer.unref();
    this.unsaved.set(trial.number, timer);
  }

  /**
   * Compare-and-set on a trial. When the store was unreachable the call is retried, and a write
   * that did land the first time then fails its precondition: `applied` recognises our own
   * write in the stored document so it is not mistaken for someone else's.
   */
  private async cas(
    id: string,
    expect: TrialExpect,
    patch: Partial<TrialDoc>,
    applied: (doc: TrialDoc) => boolean,
  ): Promise<TrialDoc | undefined> {
    const updated = await this.store.updateTrial(id, expect, patch);
    if (updated) return updated;
    const stored = await this.store.getTrial(id);
    return stored && applied(stored) ? stored : undefined;
  }
}
