/**
 * RunningAttempts: a sweep's attempts that hold a lease, each with the callback that settles
 * its outcome (once; later calls are no-ops). It is the sweep's `AttemptRouter`: worker messages,
 * routed by the worker session through the lease table, settle an attempt, record its
 * checkpoints and step warnings, or pass its progress on. It also leases attempts (fresh ones,
 * and those found running after a restart) and tells workers to stop them.
 */
import type { Logger } from 'pino';
import type { SweepSpec } from '../../shared/spec/schema.js';
import type { AttemptDoc, TrialDoc } from '../../shared/types.js';
import type { Dispatcher } from '../dispatch/dispatcher.js';
import type { LeaseTable } from '../dispatch/leases.js';
import type { Hold } from '../dispatch/slots.js';
import type { AttemptRouter } from '../dispatch/worker-session.js';
import { artifactsOfAttempt } from './assignment.js';
import { workerFailure } from './failures.js';
import type { GpuPacking } from './gpu-packing.js';
import type { AttemptOutcome } from './outcome.js';
import type { TrialWriter } from './trial-writer.js';
import { dispatchTrace } from '../../shared/dispatch-trace.js';

export interface RunningAttempt {
  trialId: string;
  number: number;
  settle: (outcome: AttemptOutcome) => void;
}

export interface RunningAttemptsContext {
  experimentId: string;
  spec: SweepSpec;
  leases: LeaseTable;
  dispatcher: Dispatcher;
  writer: TrialWriter;
  gpu: GpuPacking;
  log: Logger;
  /** A metric report of a running attempt (the sweep's ProgressHandler). */
  onProgress: (attemptId: string, step: number, metrics: Record<string, number>) => void;
}

export class RunningAttempts implements AttemptRouter {
  private readonly running = new Map<string, RunningAttempt>();
  private readonly resumedOutcomes = new Map<number, Promise<AttemptOutcome>>();

  constructor(private readonly ctx: RunningAttemptsContext) {}

  get size(): number {
    return this.running.size;
  }

  get(attemptId: string): RunningAttempt | undefined {
    return this.running.get(attemptId);
  }

  /** A settled attempt gives back its lease and its slot, and is forgotten. */
  release(attemptId: string): void {
    this.ctx.leases.release(attemptId);
    this.ctx.dispatcher.release(attemptId);
    this.running.delete(attemptId);
  }

  /** After a restart: leases a trial found running now, before any worker's hello is handled. */
  resume(trial: TrialDoc): void {
    this.resumedOutcomes.set(trial.number, this.awaitResumed(trial));
  }

  /** The outcome of a trial found running (leased by `resume`, or now). */
  resumedOutcome(trial: TrialDoc): Promise<AttemptOutcome> {
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
  lease(trial: TrialDoc, attempt: AttemptDoc, now: number, queued = false): Promise<AttemptOutcome> {
    const { id: trialId, number } = trial;
    const attemptId = attempt.id;
    const outcome = new Promise<AttemptOutcome>((settle) => this.running.set(attemptId, { trialId, number, settle }));
    this.ctx.leases.grant(
      {
        attemptId,
        trialId,
        experimentId: this.ctx.experimentId,
        workerId: attempt.workerId,
        identity: attempt.identity ?? '',
        tokenHash: attempt.tokenHash ?? '',
        artifacts: artifactsOfAttempt(this.ctx.spec, trial),
        ...(queued ? { queued: true } : {}),
      },
      now,
    );
    return outcome;
  }

  // ---- messages from workers (routed by the worker session through the lease table) ----

  onProgress(attemptId: string, step: number, metrics: Record<string, number>): void {
    this.ctx.onProgress(attemptId, step, metrics);
  }

  onStepRefused(attemptId: string, reason: string): void {
    const running = this.running.get(attemptId);
    if (!running) return;
    const { writer, log } = this.ctx;
    log.warn({ attemptId, reason }, 'metric report refused for its step');
    void writer
      .withTrial(running.trialId, () => writer.recordStepRefused(running.number, reason))
      .catch((err: unknown) => log.error({ err, attemptId }, 'step warning not recorded'));
  }

  onCheckpoint(attemptId: string, artifactId: string, step: number): void {
    const running = this.running.get(attemptId);
    if (!running) return;
    const { writer, log } = this.ctx;
    void writer
      .withTrial(running.trialId, () => writer.recordCheckpoint(running.number, artifactId, step))
      .catch((err: unknown) => log.error({ err, attemptId }, 'checkpoint not recorded'));
  }

  onResult(attemptId: string, metrics: Record<string, number>, info: Record<string, unknown>): void {
    dispatchTrace.mark(attemptId, 'result_received');
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

  /**
   * The attempt's worker went away (lease expired, stream gone). One still queued there behind
   * another (prefetch) never started: it goes back to pending without costing an attempt.
   */
  lose(attemptId: string, reason: string): void {
    const outcome: AttemptOutcome = this.ctx.dispatcher.isQueued(attemptId)
      ? { kind: 'requeued', reason: `${reason}; it was queued there and had not started` }
      : { kind: 'lost', reason };
    this.running.get(attemptId)?.settle(outcome);
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
    return this.ctx.gpu.holdOf(
      running && this.ctx.writer.get(running.number)?.attempts.find((a) => a.id === attemptId),
    );
  }

  onGpuPeak(attemptId: string, bytes: number): void {
    this.ctx.gpu.peak(attemptId, bytes);
  }

  private stopAttempt(attemptId: string, reason: string): void {
    const lease = this.ctx.leases.get(attemptId);
    if (lease) this.ctx.dispatcher.send(lease.workerId, { stop: { attempt_id: attemptId, reason } });
  }

  stopAndSettle(attemptId: string, reason: string, outcome: AttemptOutcome): void {
    this.stopAttempt(attemptId, reason);
    this.running.get(attemptId)?.settle(outcome);
  }

  /**
   * Stops every running attempt on its worker; each ends `cancelled`. Queued (prefetched) ones
   * are told first: a worker starts a held attempt the moment the one ahead of it exits, so its
   * stop must not come after the one that ends the attempt ahead (one stream keeps the order).
   */
  cancelAll(reason: string): void {
    const queued: string[] = [];
    const started: string[] = [];
    for (const id of this.running.keys()) (this.ctx.dispatcher.isQueued(id) ? queued : started).push(id);
    for (const attemptId of [...queued, ...started]) this.stopAndSettle(attemptId, reason, { kind: 'cancelled' });
  }
}
