/**
 * clonePlain (shared/clone.ts): the stores' and LocalBus's deep copy must give what
 * structuredClone gives, for plain documents and for what falls back to it.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { clonePlain } from '../../shared/clone.js';

describe('clonePlain', () => {
  const trial = {
    id: 'exp-1-t-000001',
    number: 1,
    status: 'running',
    params: { x: 0.25, 'model.lr': 1e-3, name: 'gce' },
    attempts: [{ id: 'a-1', n: 1, workerId: 'w', startedAt: 1, error: undefined }],
    metrics: { score: Number.NaN, loss: -0, big: Infinity },
    info: { nested: { deeper: [[1, 2], [3], []], flag: true, none: null } },
  };

  it('gives structuredClone’s result for plain documents', () => {
    const copy = clonePlain(trial);
    assert.deepEqual(copy, structuredClone(trial));
    assert.ok(Object.is(copy.metrics.loss, -0));
    assert.ok('error' in copy.attempts[0]!, 'an undefined member is kept, as structuredClone keeps it');
  });

  it('shares nothing with the original', () => {
    const copy = clonePlain(trial);
    copy.params.x = 9;
    copy.attempts[0]!.n = 7;
    copy.attempts.push({ id: 'a-2', n: 2, workerId: 'w', startedAt: 2, error: undefined });
    (copy.info.nested.deeper[0] as number[]).push(5);
    assert.equal(trial.params.x, 0.25);
    assert.equal(trial.attempts[0]!.n, 1);
    assert.equal(trial.attempts.length, 1);
    assert.deepEqual(trial.info.nested.deeper[0], [1, 2]);
  });

  it('copies what is not plain data as structuredClone does', () => {
    const value = {
      when: new Date(5),
      map: new Map([['a', { b: 1 }]]),
      bytes: Buffer.from('abc'),
      // eslint-disable-next-line no-sparse-arrays -- a hole is what is tested
      sparse: [1, , 3],
      nullProto: Object.assign(Object.create(null) as Record<string, number>, { a: 1 }),
    };
    const copy = clonePlain(value);
    assert.deepEqual(copy, structuredClone(value));
    assert.ok(copy.when instanceof Date && copy.when !== value.when);
    assert.ok(copy.map !== value.map && copy.map.get('a') !== value.map.get('a'));
    assert.equal(copy.sparse.length, 3);
    assert.ok(!(1 in copy.sparse), 'a hole stays a hole');
  });

  it('refuses functions and symbols, as structuredClone does', () => {
    assert.throws(() => clonePlain({ f: () => 1 }), { name: 'DataCloneError' });
    assert.throws(() => clonePlain([Symbol('s')]), { name: 'DataCloneError' });
  });

  it('copies nesting deeper than its own recursion goes', () => {
    let deep: Record<string, unknown> = { leaf: 1 };
    for (let i = 0; i < 200; i++) deep = { next: deep };
    assert.deepEqual(clonePlain(deep), deep);
  });
});
