import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  assertTransition,
  ATTEMPT_STATUSES,
  canTransition,
  EXPERIMENT_STATUSES,
  IllegalTransitionError,
  isTerminal,
  TRIAL_STATUSES,
} from '../../shared/states.js';

const LEGAL = {
  experiment: [
    'pending>running',
    'pending>cancelled',
    'pending>failed',
    'running>succeeded',
    'running>failed',
    'running>cancelled',
  ],
  trial: [
    'pending>running',
    'pending>cancelled',
    'pending>failed',
    'running>pending',
    'running>succeeded',
    'running>failed',
    'running>pruned',
    'running>cancelled',
  ],
  attempt: [
    'running>succeeded',
    'running>failed',
    'running>lost',
    'running>handed_back',
    'running>preempted',
    'running>cancelled',
    'running>pruned',
  ],
} as const;

describe('state machines', () => {
  for (const [machine, statuses] of [
    ['experiment', EXPERIMENT_STATUSES],
    ['trial', TRIAL_STATUSES],
    ['attempt', ATTEMPT_STATUSES],
  ] as const) {
    it(`${machine}: exactly the listed transitions are legal; every other one is refused`, () => {
      const legal = new Set<string>(LEGAL[machine]);
      let refused = 0;
      for (const from of statuses) {
        for (const to of statuses) {
          const allowed = canTransition(machine, from as never, to as never);
          assert.equal(allowed, legal.has(`${from}>${to}`), `${machine} ${from} -> ${to}`);
          if (!allowed) {
            refused++;
            assert.throws(() => assertTransition(machine, from as never, to as never), IllegalTransitionError);
          }
        }
      }
      assert.equal(refused, statuses.length ** 2 - legal.size);
    });
  }

  it('terminal states are exactly those with no way out', () => {
    assert.deepEqual(
      TRIAL_STATUSES.filter((s) => isTerminal('trial', s)),
      ['succeeded', 'failed', 'pruned', 'cancelled'],
    );
    assert.deepEqual(
      EXPERIMENT_STATUSES.filter((s) => isTerminal('experiment', s)),
      ['succeeded', 'failed', 'cancelled'],
    );
  });
});
