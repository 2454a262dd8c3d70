/** Early-stopping schedulers by name: the names the spec's `scheduler.type` accepts. */
import { InvalidArgumentError } from '../../shared/errors.js';
import { createAsha } from './asha.js';
import type { Scheduler, SchedulerFactory, SchedulerOptions } from './base.js';
import { createFifo } from './fifo.js';
import { createHyperband } from './hyperband.js';
import { createMedian } from './median.js';
import { createPbt } from './pbt.js';

const FACTORIES: ReadonlyMap<string, SchedulerFactory> = new Map([
  ['fifo', createFifo],
  ['median', createMedian],
  ['asha', createAsha],
  ['hyperband', createHyperband],
  ['pbt', createPbt],
]);

export function schedulerNames(): string[] {
  return [...FACTORIES.keys()];
}

/**
 * Creates a scheduler, validating its settings. Throws an InvalidArgumentError naming the field:
 * `scheduler.type: unknown scheduler "X"; allowed: fifo, median, asha, hyperband, pbt`, or the
 * setting (`scheduler.reduction: must be >= 2, got 1`).
 */
export function createScheduler(type: string, options: SchedulerOptions): Scheduler {
  const factory = FACTORIES.get(type);
  if (!factory) {
    throw new InvalidArgumentError([
      `scheduler.type: unknown scheduler ${JSON.stringify(type)}; allowed: ${schedulerNames().join(', ')}`,
    ]);
  }
  return factory(options);
}
