/**
 * The slot of a held attempt (worker/held-slot.ts): its start runs in the very step that opens
 * it (no turn of the event loop, no microtask between), and exactly one of start or refused
 * runs, once.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { HeldSlot } from '../../worker/held-slot.js';

function recorder(): { calls: string[]; start: () => void; refused: (reason: unknown) => void } {
  const calls: string[] = [];
  return {
    calls,
    start: () => calls.push('start'),
    refused: (reason) => calls.push(`refused: ${reason instanceof Error ? reason.message : String(reason)}`),
  };
}

describe('held slot', () => {
  it('runs a waiting start synchronously inside open(), once', () => {
    const slot = new HeldSlot();
    const r = recorder();
    slot.take(r.start, r.refused);
    assert.deepEqual(r.calls, []);
    slot.open();
    assert.deepEqual(r.calls, ['start'], 'started before open() returned');
    slot.open();
    slot.refuse(new Error('too late'));
    assert.deepEqual(r.calls, ['start']);
  });

  it('starts at once when taken after it opened, and refuses at once after a refusal', () => {
    const open = new HeldSlot();
    open.open();
    const a = recorder();
    open.take(a.start, a.refused);
    assert.deepEqual(a.calls, ['start']);

    const refused = new HeldSlot();
    refused.refuse(new Error('dropped'));
    refused.open();
    const b = recorder();
    refused.take(b.start, b.refused);
    assert.deepEqual(b.calls, ['refused: dropped']);
  });

  it('a refusal while waiting calls refused, never start', () => {
    const slot = new HeldSlot();
    const r = recorder();
    slot.take(r.start, r.refused);
    slot.refuse(new Error('handed back'));
    slot.open();
    assert.deepEqual(r.calls, ['refused: handed back']);
  });

  it('a start that throws is refused with its error, and open() does not throw', () => {
    const slot = new HeldSlot();
    const calls: string[] = [];
    slot.take(
      () => {
        throw new Error('cannot start');
      },
      (reason) => calls.push((reason as Error).message),
    );
    assert.doesNotThrow(() => slot.open());
    assert.deepEqual(calls, ['cannot start']);
  });

  it('says when an attempt waits at it, and only then', () => {
    const waiting: string[] = [];
    const held = new HeldSlot(() => waiting.push('held'));
    held.take(
      () => undefined,
      () => undefined,
    );
    assert.deepEqual(waiting, ['held']);
    const open = new HeldSlot(() => waiting.push('open'));
    open.open();
    open.take(
      () => undefined,
      () => undefined,
    );
    assert.deepEqual(waiting, ['held'], 'a slot already open is not waited at');
  });

  it('is taken once', () => {
    const slot = new HeldSlot();
    const r = recorder();
    slot.take(r.start, r.refused);
    assert.throws(() => slot.take(r.start, r.refused), /taken once/);
  });
});
