/**
 * The outcome table: what the end of an attempt does to its trial. Pure (no store, no clock,
 * no events): `decideOutcome` returns the trial's next state, the patch to store and the
 * effects the runner applies, in order. It is tested as a table in test/unit/outcome.test.ts.
 *
 * Adding a kind of outcome (a failure kind with its own retry policy, a preemption that does
 * not count against `maxAttempts`) is one member of `AttemptOutcome` plus one row of `RULES`;
 * the compiler asks for the row.
 */
import type { AttemptDoc, FailureKind, TrialDoc } from '../../shared/types.js';
import { assertTransition, isTerminal, type AttemptStatus, type TrialStatus } from '../../shared/states.js';

/** How an attempt ended, as seen by the coordinator. */
export type AttemptOutcome =
  | { kind: 'succeeded'; metrics: Record<string, number>; info: Record<string, unknown> }
  | { kind: 'failed'; error: string; retryable: boolean; failureKind?: FailureKind }
  | { kind: 'lost'; reason: string }
  | { kind: 'handed_back' }
  | { kind: 'requeued'; reason: string }
  | { kind: 'pruned'; reason: string }
  | { kind: 'cancelled' };

export type OutcomeKind = AttemptOutcome['kind'];

export interface OutcomePolicy {
  /** budget.maxAttempts: failed and lost attempts a trial may use before it fails. */
  maxAttempts: number;
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
  /** The store patch: status, attempts (the last one ended), updatedAt, and results if any. */
  patch: Partial<TrialDoc>;
  effects: OutcomeEffect[];
}

/** One row of the table: the attempt's status, and the trial's next status given the retries left. */
interface Rule<K extends OutcomeKind> {
  attemptStatus: AttemptStatus;
  /** Whether this attempt counts against maxAttempts. */
  counts: boolean;
  next(outcome: Extract<AttemptOutcome, { kind: K }>, retriesLeft: boolean): TrialStatus;
  error(outcome: Extract<AttemptOutcome, { kind: K }>): string | undefined;
}

const RULES: { [K in OutcomeKind]: Rule<K> } = {
  succeeded: { attemptStatus: 'succeeded', counts: false, next: () => 'succeeded', error: () => undefined },
  failed: {
    attemptStatus: 'failed',
    counts: true,
    next: (o, retriesLeft) => (o.retryable && retriesLeft ? 'pending' : 'failed'),
    error: (o) => o.error,
  },
  lost: {
    attemptStatus: 'lost',
    counts: true,
    next: (_o, retriesLeft) => (retriesLeft ? 'pending' : 'failed'),
    error: (o) => o.reason,
  },
  handed_back: { attemptStatus: 'handed_back', counts: false, next: () => 'pending', error: () => undefined },
  requeued: { attemptStatus: 'handed_back', counts: false, next: () => 'pending', error: (o) => o.reason },
  pruned: { attemptStatus: 'pruned', counts: false, next: () => 'pruned', error: (o) => o.reason },
  cancelled: { attemptStatus: 'cancelled', counts: false, next: () => 'cancelled', error: () => undefined },
};

/** Attempt statuses that count against maxAttempts (the attempts a trial used up). */
const COUNTED: ReadonlySet<AttemptStatus> = new Set(
  Object.values(RULES)
    .filter((rule) => rule.counts)
    .map((rule) => rule.attemptStatus),
);

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
  const used = trial.attempts.filter((a) => COUNTED.has(a.status)).length + (rule.counts ? 1 : 0);
  const status = rule.next(outcome as never, used < policy.maxAttempts);
  const attemptStatus = rule.attemptStatus;
  const error = rule.error(outcome as never);
  assertTransition('trial', trial.status, status);

  const failureKind = outcome.kind === 'failed' ? outcome.failureKind : undefined;
  const ended: AttemptDoc = {
    ...attempt,
    status: attemptStatus,
    endedAt: now,
    ...(error ? { error } : {}),
    ...(failureKind ? { failureKind } : {}),
  };
  const patch: Partial<TrialDoc> = {
    status,
    attempts: trial.attempts.map((a) => (a.id === attempt.id ? ended : a)),
    updatedAt: now,
  };
  if (outcome.kind === 'succeeded') {
    patch.metrics = { ...trial.metrics, ...outcome.metrics };
    patch.info = outcome.info;
  }
  if (status === 'failed' && error) patch.error = error;

  const terminal = isTerminal('trial', status);
  const effects: OutcomeEffect[] = [{ kind: 'release' }];
  if (terminal) effects.push({ kind: 'complete' }, { kind: 'best' });
  effects.push({ kind: 'emit', ...(error ? { error } : {}) });
  return { status, attemptStatus, requeue: status === 'pending', ...(error ? { error } : {}), patch, effects };
}

/** The stored trial shows this decision applied (to recognise our own write after a retry). */
export function showsDecision(doc: TrialDoc, decision: OutcomeDecision): boolean {
  return (
    doc.status === decision.status &&
    doc.attempts.length === decision.patch.attempts!.length &&
    doc.attempts[doc.attempts.length - 1]?.status === decision.attemptStatus
  );
}
