/**
 * The outcome table: what the end of an attempt does to its trial. Pure (no store, no clock,
 * no events): `decideOutcome` returns the trial's next state, the patch to store and the
 * effects the runner applies, in order. It is tested as a table in test/unit/outcome.test.ts.
 *
 * An end that is a failure (failed, lost, preempted) carries a failure kind; `budget.retry`
 * says per kind how many retries it gets and whether it uses up `maxAttempts` (mayRetry). Adding
 * a kind of outcome is one member of `AttemptOutcome` plus one row of `RULES`; the compiler asks
 * for the row.
 */
import type { AttemptDoc, TrialDoc } from '../../shared/types.js';
import type { Failure, FailureKind } from '../../shared/failure-kinds.js';
import type { Params } from '../../shared/spec/space.js';
import { DEFAULT_RETRY, halvedParam, type RetryPolicy } from '../../shared/spec/retry.js';
import { assertTransition, isTerminal, type AttemptStatus, type TrialStatus } from '../../shared/states.js';

/** How an attempt ended, as seen by the coordinator. */
export type AttemptOutcome =
  | { kind: 'succeeded'; metrics: Record<string, number>; info: Record<string, unknown> }
  /** A failure of one of the worker's kinds (oom, diverged, user_error, crash) or the coordinator's `timeout`. */
  | { kind: 'failed'; error: string; failure: Failure }
  | { kind: 'lost'; reason: string }
  /** The worker was drained: the attempt checkpointed (when it could) and was handed back. */
  | { kind: 'preempted'; reason: string }
  | { kind: 'handed_back' }
  | { kind: 'requeued'; reason: string }
  | { kind: 'pruned'; reason: string }
  | { kind: 'cancelled' };

export type OutcomeKind = AttemptOutcome['kind'];

export interface OutcomePolicy {
  /** budget.maxAttempts: attempts of counted kinds a trial may use before it fails. */
  maxAttempts: number;
  /** budget.retry (absent in specs stored before it existed: the defaults). */
  retry?: RetryPolicy | undefined;
  /** The spec's trial block: where `retry.oom.then: halve PARAM` finds PARAM when it is not searched. */
  trialDefaults?: Readonly<Record<string, unknown>> | undefined;
}

/** What the runner does after storing the patch, in this order. */
export type OutcomeEffect =
  /** Give back the attempt's lease and its slot on the worker. */
  | { kind: 'release' }
  /** The trial is terminal: tell the scheduler its final value. */
  | { kind: 'complete' }
  /** The trial is terminal: the experiment's best may have changed. */
  | { kind: 'best' }
  /** Emit the trial's `trial.state` event (with the error, if any). */
  | { kind: 'emit'; error?: string };

export interface OutcomeDecision {
  status: TrialStatus;
  attemptStatus: AttemptStatus;
  /** The trial goes back to pending for another attempt. */
  requeue: boolean;
  error?: string;
  /** The failure kind recorded on the attempt (absent for success, prune, cancel, hand-back). */
  failure?: Failure;
  /** The store patch: status, attempts (the last one ended), updatedAt, params (oom halving), results. */
  patch: Partial<TrialDoc>;
  effects: OutcomeEffect[];
}

/** One row of the table: the attempt's status, its failure (if any), and whether the trial may go on. */
interface Rule<K extends OutcomeKind> {
  attemptStatus: AttemptStatus;
  /** The failure kind this end is, judged by `budget.retry`; undefined: no failure (no retry policy). */
  failure(outcome: Extract<AttemptOutcome, { kind: K }>): Failure | undefined;
  /** The trial's next status when the end is no failure. */
  next: TrialStatus;
  error(outcome: Extract<AttemptOutcome, { kind: K }>): string | undefined;
}

const RULES: { [K in OutcomeKind]: Rule<K> } = {
  succeeded: { attemptStatus: 'succeeded', failure: () => undefined, next: 'succeeded', error: () => undefined },
  failed: { attemptStatus: 'failed', failure: (o) => o.failure, next: 'failed', error: (o) => o.error },
  lost: {
    attemptStatus: 'lost',
    failure: (o) => ({ kind: 'lost', evidence: o.reason }),
    next: 'failed',
    error: (o) => o.reason,
  },
  preempted: {
    attemptStatus: 'preempted',
    failure: (o) => ({ kind: 'preempted', evidence: o.reason }),
    next: 'failed',
    error: (o) => o.reason,
  },
  handed_back: { attemptStatus: 'handed_back', failure: () => undefined, next: 'pending', error: () => undefined },
  requeued: { attemptStatus: 'handed_back', failure: () => undefined, next: 'pending', error: (o) => o.reason },
  pruned: { attemptStatus: 'pruned', failure: () => undefined, next: 'pruned', error: (o) => o.reason },
  cancelled: { attemptStatus: 'cancelled', failure: () => undefined, next: 'cancelled', error: () => undefined },
};

/** The failure kind of an ended attempt (attempts stored before kinds existed: by status). */
export function kindOfAttempt(a: AttemptDoc): FailureKind | undefined {
  if (a.failureKind) return a.failureKind;
  if (a.status === 'failed') return 'crash';
  if (a.status === 'lost') return 'lost';
  if (a.status === 'preempted') return 'preempted';
  return undefined;
}

/**
 * Whether a trial whose `prior` attempts ended as they did may retry after one more of `kind`:
 * fewer than `retry[kind].attempts` earlier attempts of that kind, and, when the kind counts,
 * fewer than maxAttempts counted attempts including this one.
 */
function mayRetry(prior: readonly AttemptDoc[], kind: FailureKind, policy: OutcomePolicy): boolean {
  const retry = policy.retry ?? DEFAULT_RETRY;
  const ofKind = prior.filter((a) => kindOfAttempt(a) === kind).length;
  if (ofKind >= retry[kind].attempts) return false;
  if (!retry[kind].count) return true;
  const counted = prior.filter((a) => {
    const k = kindOfAttempt(a);
    return k !== undefined && retry[k].count;
  }).length;
  return counted + 1 < policy.maxAttempts;
}

/**
 * `retry.oom.then: halve PARAM`: the trial's params with PARAM halved (integers stay integers,
 * at least 1), or undefined when there is nothing to halve.
 */
function halveAfterOom(trial: TrialDoc, policy: OutcomePolicy): { params: Params; note: string } | undefined {
  const param = halvedParam((policy.retry ?? DEFAULT_RETRY).oom.then);
  if (!param) return undefined;
  const current = trial.params[param] ?? policy.trialDefaults?.[param];
  if (typeof current !== 'number' || !Number.isFinite(current) || current <= 0) return undefined;
  const halved = Number.isInteger(current) ? Math.max(1, Math.floor(current / 2)) : current / 2;
  if (halved === current) return undefined;
  return { params: { ...trial.params, [param]: halved }, note: `retrying with ${param}=${halved} (halved after oom)` };
}

/**
 * The effect of `outcome` on `trial`, whose last attempt is the one that ended; `undefined`
 * when the trial is already terminal (a prune or cancel was applied first; nothing changes).
 * Throws IllegalTransitionError when the trial is in no state an attempt can end from.
 */
export function decideOutcome(
  trial: TrialDoc,
  outcome: AttemptOutcome,
  policy: OutcomePolicy,
  now: number,
): OutcomeDecision | undefined {
  if (isTerminal('trial', trial.status)) return undefined;
  const attempt = trial.attempts[trial.attempts.length - 1];
  if (!attempt) throw new Error(`trial ${trial.id} has no attempt to settle`);
  const rule = RULES[outcome.kind] as Rule<OutcomeKind>;
  const failure = rule.failure(outcome as never);
  const prior = trial.attempts.slice(0, -1);
  let status: TrialStatus = rule.next;
  let error = rule.error(outcome as never);
  let adjusted: ReturnType<typeof halveAfterOom>;
  if (failure) {
    status = mayRetry(prior, failure.kind, policy) ? 'pending' : 'failed';
    if (status === 'pending' && failure.kind === 'oom') {
      adjusted = halveAfterOom(trial, policy);
      if (adjusted && error) error = `${error}; ${adjusted.note}`;
      // The share itself grows in gpu-packing.ts (the runner's, which knows the attempt's share).
      if ((policy.retry ?? DEFAULT_RETRY).oom.then === 'more gpu memory' && error) {
        error = `${error}; retrying with more GPU memory (x1.5 the share, when it had one)`;
      }
    }
  }
  const attemptStatus = rule.attemptStatus;
  assertTransition('trial', trial.status, status);

  const ended: AttemptDoc = {
    ...attempt,
    status: attemptStatus,
    endedAt: now,
    ...(error ? { error } : {}),
    ...(failure ? { failureKind: failure.kind, failureEvidence: failure.evidence } : {}),
  };
  const patch: Partial<TrialDoc> = {
    status,
    attempts: trial.attempts.map((a) => (a.id === attempt.id ? ended : a)),
    updatedAt: now,
  };
  if (adjusted) patch.params = adjusted.params;
  if (outcome.kind === 'succeeded') {
    patch.metrics = { ...trial.metrics, ...outcome.metrics };
    patch.info = outcome.info;
  }
  if (status === 'failed' && error) patch.error = error;

  const terminal = isTerminal('trial', status);
  const effects: OutcomeEffect[] = [{ kind: 'release' }];
  if (terminal) effects.push({ kind: 'complete' }, { kind: 'best' });
  effects.push({ kind: 'emit', ...(error ? { error } : {}) });
  return {
    status,
    attemptStatus,
    requeue: status === 'pending',
    ...(error ? { error } : {}),
    ...(failure ? { failure } : {}),
    patch,
    effects,
  };
}

/** The stored trial shows this decision applied (to recognise our own write after a retry). */
export function showsDecision(doc: TrialDoc, decision: OutcomeDecision): boolean {
  return (
    doc.status === decision.status &&
    doc.attempts.length === decision.patch.attempts!.length &&
    doc.attempts[doc.attempts.length - 1]?.status === decision.attemptStatus
  );
}
