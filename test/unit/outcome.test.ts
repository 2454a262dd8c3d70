/**
 * The outcome table (coordinator/sweeps/outcome.ts), row by row: what each way an attempt can
 * end does to its trial, with retries left and with none, from every trial state.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decideOutcome, showsDecision, type AttemptOutcome } from '../../coordinator/sweeps/outcome.js';
import { IllegalTransitionError, type AttemptStatus, type TrialStatus } from '../../shared/states.js';
import type { AttemptDoc, TrialDoc } from '../../shared/types.js';
import { retrySchema } from '../../shared/spec/retry.js';

const NOW = 1_700_000_100_000;
/** The table below: every failure kind counts against maxAttempts and has retries to spare. */
const COUNTING = retrySchema.parse({
  oom: { attempts: 9 },
  crash: { attempts: 9 },
  lost: { attempts: 9, count: true },
  preempted: { attempts: 9, count: true },
});
const POLICY = { maxAttempts: 3, retry: COUNTING };

function attempt(n: number, status: AttemptStatus): AttemptDoc {
  return { n, id: `e-t0-a${n}`, workerId: `w${n}`, status, startedAt: 1000 * n, leaseExpiresAt: 1000 * n + 500 };
}

function trial(status: TrialStatus, earlier: AttemptStatus[]): TrialDoc {
  const attempts = [...earlier.map((s, i) => attempt(i + 1, s)), attempt(earlier.length + 1, 'running')];
  return {
    id: 'e-t0',
    experimentId: 'e',
    number: 0,
    status,
    params: { lr: 0.1 },
    seed: 1,
    attempts,
    metrics: { acc: 0.5, loss: 2 },
    createdAt: 1,
    updatedAt: 2,
  };
}

/** One earlier attempt counts (lost), one does not (handed back): a third counted one is the last allowed. */
const RETRIES_LEFT: AttemptStatus[] = ['lost', 'handed_back'];
/** Two counted attempts already: the next counted one uses up maxAttempts = 3. */
const EXHAUSTED: AttemptStatus[] = ['failed', 'lost'];

const OUTCOMES: Record<string, AttemptOutcome> = {
  succeeded: { kind: 'succeeded', metrics: { acc: 0.9 }, info: { backend: 'cpu' } },
  'failed (crash)': { kind: 'failed', error: 'boom', failure: { kind: 'crash', evidence: 'exit code 1' } },
  'failed (user_error)': {
    kind: 'failed',
    error: 'bad config',
    failure: { kind: 'user_error', evidence: 'KeyError: x' },
  },
  lost: { kind: 'lost', reason: 'lease expired' },
  preempted: { kind: 'preempted', reason: 'w1 was drained' },
  handed_back: { kind: 'handed_back' },
  requeued: { kind: 'requeued', reason: 'pbt: exploit' },
  pruned: { kind: 'pruned', reason: 'asha rung 1' },
  cancelled: { kind: 'cancelled' },
};

type Row = [status: TrialStatus, attemptStatus: AttemptStatus, error: string | undefined];

/** The failure recorded on the attempt, per outcome (none: not a failure). */
const FAILURE: Record<string, { failureKind: string; failureEvidence: string } | undefined> = {
  'failed (crash)': { failureKind: 'crash', failureEvidence: 'exit code 1' },
  'failed (user_error)': { failureKind: 'user_error', failureEvidence: 'KeyError: x' },
  lost: { failureKind: 'lost', failureEvidence: 'lease expired' },
  preempted: { failureKind: 'preempted', failureEvidence: 'w1 was drained' },
};

/** Expected for a running trial: [with retries left, with none left]. */
const TABLE: Record<string, [Row, Row]> = {
  succeeded: [
    ['succeeded', 'succeeded', undefined],
    ['succeeded', 'succeeded', undefined],
  ],
  'failed (crash)': [
    ['pending', 'failed', 'boom'],
    ['failed', 'failed', 'boom'],
  ],
  'failed (user_error)': [
    ['failed', 'failed', 'bad config'],
    ['failed', 'failed', 'bad config'],
  ],
  lost: [
    ['pending', 'lost', 'lease expired'],
    ['failed', 'lost', 'lease expired'],
  ],
  preempted: [
    ['pending', 'preempted', 'w1 was drained'],
    ['failed', 'preempted', 'w1 was drained'],
  ],
  handed_back: [
    ['pending', 'handed_back', undefined],
    ['pending', 'handed_back', undefined],
  ],
  requeued: [
    ['pending', 'handed_back', 'pbt: exploit'],
    ['pending', 'handed_back', 'pbt: exploit'],
  ],
  pruned: [
    ['pruned', 'pruned', 'asha rung 1'],
    ['pruned', 'pruned', 'asha rung 1'],
  ],
  cancelled: [
    ['cancelled', 'cancelled', undefined],
    ['cancelled', 'cancelled', undefined],
  ],
};

const TERMINAL: TrialStatus[] = ['succeeded', 'failed', 'pruned', 'cancelled'];

describe('outcome table: a running trial', () => {
  for (const [name, outcome] of Object.entries(OUTCOMES)) {
    for (const [which, earlier, row] of [
      ['retries left', RETRIES_LEFT, TABLE[name]![0]],
      ['no retries left', EXHAUSTED, TABLE[name]![1]],
    ] as const) {
      it(`${name}, ${which} → trial ${row[0]}, attempt ${row[1]}`, () => {
        const before = trial('running', [...earlier]);
        const d = decideOutcome(before, outcome, POLICY, NOW)!;
        const [status, attemptStatus, error] = row;
        assert.equal(d.status, status);
        assert.equal(d.attemptStatus, attemptStatus);
        assert.equal(d.error, error);
        assert.equal(d.requeue, status === 'pending');
        // The patch: status, the last attempt ended, earlier attempts untouched.
        assert.equal(d.patch.status, status);
        assert.equal(d.patch.updatedAt, NOW);
        const attempts = d.patch.attempts!;
        assert.deepEqual(attempts.slice(0, -1), before.attempts.slice(0, -1));
        assert.deepEqual(attempts.at(-1), {
          ...before.attempts.at(-1),
          status: attemptStatus,
          endedAt: NOW,
          ...(error ? { error } : {}),
          ...FAILURE[name],
        });
        assert.equal(d.patch.error, status === 'failed' ? error : undefined);
        if (outcome.kind === 'succeeded') {
          assert.deepEqual(d.patch.metrics, { acc: 0.9, loss: 2 });
          assert.deepEqual(d.patch.info, { backend: 'cpu' });
        } else {
          assert.equal(d.patch.metrics, undefined);
          assert.equal(d.patch.info, undefined);
        }
        // Effects, in order: release always; scheduler and best only when terminal; then the event.
        const terminal = TERMINAL.includes(status);
        assert.deepEqual(d.effects, [
          { kind: 'release' },
          ...(terminal ? [{ kind: 'complete' }, { kind: 'best' }] : []),
          { kind: 'emit', ...(error ? { error } : {}) },
        ]);
        // The input is not modified.
        assert.equal(before.status, 'running');
        assert.equal(before.attempts.at(-1)!.status, 'running');
      });
    }
  }

  it('maxAttempts 1: the first failure or loss is final; a hand-back is not counted', () => {
    const policy = { maxAttempts: 1, retry: COUNTING };
    assert.equal(decideOutcome(trial('running', []), OUTCOMES.lost!, policy, NOW)!.status, 'failed');
    assert.equal(decideOutcome(trial('running', []), OUTCOMES['failed (crash)']!, policy, NOW)!.status, 'failed');
    const handedBack = trial('running', ['handed_back', 'handed_back']);
    assert.equal(decideOutcome(handedBack, OUTCOMES.lost!, policy, NOW)!.status, 'failed');
    assert.equal(decideOutcome(handedBack, OUTCOMES.handed_back!, policy, NOW)!.status, 'pending');
  });
});

describe('outcome table: other trial states', () => {
  for (const status of TERMINAL) {
    it(`a ${status} trial is left as it is, whatever the outcome`, () => {
      for (const outcome of Object.values(OUTCOMES))
        assert.equal(decideOutcome(trial(status, []), outcome, POLICY, NOW), undefined);
    });
  }

  it('a pending trial (no retries left): outcomes that would fail or cancel it apply; the others throw', () => {
    const legal = new Set(['failed (crash)', 'failed (user_error)', 'lost', 'preempted', 'cancelled']);
    for (const [name, outcome] of Object.entries(OUTCOMES)) {
      const decide = (): unknown => decideOutcome(trial('pending', [...EXHAUSTED]), outcome, POLICY, NOW);
      if (legal.has(name)) assert.doesNotThrow(decide, name);
      else assert.throws(decide, IllegalTransitionError, name);
    }
  });

  it('a trial without an attempt cannot be settled', () => {
    const none = { ...trial('running', []), attempts: [] };
    assert.throws(() => decideOutcome(none, OUTCOMES.lost!, POLICY, NOW), /no attempt/);
  });
});

describe('showsDecision: recognising our own write after a retried store call', () => {
  it('matches the stored trial the patch produced, and not the trial before it', () => {
    const before = trial('running', ['lost']);
    const d = decideOutcome(before, OUTCOMES.lost!, POLICY, NOW)!;
    assert.equal(showsDecision({ ...before, ...d.patch }, d), true);
    assert.equal(showsDecision(before, d), false);
    const other = decideOutcome(before, OUTCOMES.cancelled!, POLICY, NOW)!;
    assert.equal(showsDecision({ ...before, ...other.patch }, d), false);
  });
});
