/**
 * The catalogue (shared/catalogue/) and the worker's implementations agree: every task and loss
 * described has exactly one implementation bound to its name, and every implementation is
 * described.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LOSS_CATALOGUE } from '../../shared/catalogue/losses.js';
import { TASK_CATALOGUE, taskOutputs } from '../../shared/catalogue/tasks/index.js';
import { LOSS_IMPLEMENTATIONS, listLosses } from '../../worker/losses/registry.js';
import { getTask, TASK_IMPLEMENTATIONS } from '../../worker/tasks/registry.js';

function names(items: readonly { name: string }[]): string[] {
  return items.map((i) => i.name).sort();
}

describe('catalogue ↔ worker implementations', () => {
  it('every loss in the catalogue has one implementation, and every implementation is in the catalogue', () => {
    assert.deepEqual(names(LOSS_IMPLEMENTATIONS), names(LOSS_CATALOGUE));
    assert.equal(new Set(names(LOSS_IMPLEMENTATIONS)).size, LOSS_IMPLEMENTATIONS.length, 'no loss implemented twice');
    // The bound definitions keep the catalogue's order and description.
    assert.deepEqual(
      listLosses().map((d) => [d.name, d.params.length, typeof d.create]),
      LOSS_CATALOGUE.map((d) => [d.name, d.params.length, 'function']),
    );
  });

  it('every task in the catalogue has one implementation, and every implementation is in the catalogue', () => {
    assert.deepEqual(names(TASK_IMPLEMENTATIONS), names(TASK_CATALOGUE));
    assert.equal(new Set(names(TASK_IMPLEMENTATIONS)).size, TASK_IMPLEMENTATIONS.length, 'no task implemented twice');
    for (const d of TASK_CATALOGUE) assert.equal(getTask(d.name).name, d.name);
  });

  it('task outputs come from the catalogue; an unknown task is open', () => {
    assert.deepEqual(taskOutputs('mlff-train'), ['checkpoint']);
    assert.deepEqual(taskOutputs(undefined), ['trainOutputs', 'checkpoint']);
    assert.equal(taskOutputs('nope'), '*');
  });
});
