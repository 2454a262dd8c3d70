/**
 * The dispatch trace (shared/dispatch-trace.ts): off and empty unless enabled; stamps per
 * attempt, taken once; bounded.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DispatchTrace, stamp } from '../../shared/dispatch-trace.js';

describe('dispatch trace', () => {
  it('records nothing until enabled', () => {
    const trace = new DispatchTrace();
    trace.mark('a1', 'sent');
    assert.equal(trace.enabled, false);
    assert.equal(trace.take('a1'), undefined);
  });

  it('stamps stages per attempt in wall-clock ms, and forgets what it hands out', () => {
    const trace = new DispatchTrace();
    trace.enable();
    const before = Date.now();
    trace.mark('a1', 'assigned');
    trace.mark('a1', 'spawned');
    trace.mark('a1', 'lane', 3);
    trace.mark('a2', 'assigned');
    const a1 = trace.take('a1')!;
    assert.ok(a1.assigned! >= before - 1 && a1.assigned! <= Date.now() + 1, 'a wall-clock stamp');
    assert.ok(a1.spawned! >= a1.assigned!);
    assert.equal(a1.lane, 3);
    assert.equal(trace.take('a1'), undefined, 'taken once');
    assert.deepEqual([...trace.takeAll().keys()], ['a2']);
    assert.equal(trace.takeAll().size, 0);
    assert.ok(Math.abs(stamp() - Date.now()) < 50);
  });

  it('traces at most 100,000 attempts at once', () => {
    const trace = new DispatchTrace();
    trace.enable();
    for (let i = 0; i < 100_010; i++) trace.mark(`a${i}`, 'sent', i);
    const all = trace.takeAll();
    assert.equal(all.size, 100_000);
    assert.equal(all.get('a100005'), undefined);
  });
});
