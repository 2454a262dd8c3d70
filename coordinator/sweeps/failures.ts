/**
 * The coordinator's side of failure kinds (shared/failure-kinds.ts): the kind of a worker's
 * failure report, the `budget.trialTimeout` timers, and the user-error streak that fails an
 * experiment (`budget.retry.user_error.failExperimentAfter`).
 */
import { isFailureKind, type Failure } from '../../shared/failure-kinds.js';
import type { AttemptOutcome } from './outcome.js';

/**
 * The failure a worker reported. Workers classify (kind + evidence); an older worker sends no
 * kind, only `retryable`: a permanent failure is then a `user_error` (bad config, missing
 * program), anything else a `crash`.
 */
export function workerFailure(retryable: boolean, kind: string | undefined, evidence: string | undefined): Failure {
  // The worker's own kinds; preempted, lost and timeout are the coordinator's to say.
  const own = isFailureKind(kind) && kind !== 'preempted' && kind !== 'lost' && kind !== 'timeout';
  return {
    kind: own ? kind : retryable ? 'crash' : 'user_error',
    evidence: evidence ?? '',
  };
}

/** The outcome of an attempt stopped by `budget.trialTimeout`. */
export function timedOut(seconds: number): AttemptOutcome {
  return {
    kind: 'failed',
    error: `the attempt ran longer than budget.trialTimeout (${seconds}s) and was stopped`,
    failure: { kind: 'timeout', evidence: `still running after ${seconds}s` },
  };
}

/** One timer per running attempt; `onTimeout` runs when the attempt is still running after its time. */
export class AttemptTimeouts {
  private readonly timers = new Map<string, NodeJS.Timeout>();

  constructor(private readonly onTimeout: (attemptId: string, seconds: number) => void) {}

  /** No-op when `seconds` is undefined (no limit). */
  start(attemptId: string, seconds: number | undefined): void {
    if (seconds === undefined) return;
    this.clear(attemptId);
    const timer = setTimeout(() => {
      this.timers.delete(attemptId);
      this.onTimeout(attemptId, seconds);
    }, seconds * 1000);
    timer.unref();
    this.timers.set(attemptId, timer);
  }

  clear(attemptId: string): void {
    const timer = this.timers.get(attemptId);
    if (timer) clearTimeout(timer);
    this.timers.delete(attemptId);
  }

  clearAll(): void {
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }
}

/**
 * Attempts ending as `user_error` one after another, across trials: the `limit`-th in a row (no
 * success in between) returns the error that fails the experiment, naming the last user error.
 * Other failures neither add to the streak nor reset it (a crash between two import errors does
 * not make the script right); a success resets it. `limit` 0: never.
 */
export class UserErrorStreak {
  private streak = 0;
  private fired = false;

  constructor(private readonly limit: number) {}

  observe(succeeded: boolean, failure: Failure | undefined, error: string | undefined): string | undefined {
    if (succeeded) this.streak = 0;
    if (failure?.kind !== 'user_error') return undefined;
    this.streak++;
    if (this.limit === 0 || this.streak < this.limit || this.fired) return undefined;
    this.fired = true;
    return (
      `${this.streak} attempts in a row failed with a user error (budget.retry.user_error.failExperimentAfter: ` +
      `${this.limit}); the last: ${failure.evidence || error || 'no detail'}` +
      (error && failure.evidence && !error.includes(failure.evidence) ? `\n${error}` : '')
    );
  }
}
