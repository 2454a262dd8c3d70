/** FIFO: the do-nothing scheduler; every trial runs to the end. */
import { parseSettings } from '../search/settings.js';
import type { Scheduler, SchedulerDecision, SchedulerOptions } from './base.js';
import { SCHEDULER_STRUCTURAL_KEYS } from './base.js';
import { CONTINUE } from './decisions.js';

export class FifoScheduler implements Scheduler {
  readonly name = 'fifo';

  constructor(options: SchedulerOptions) {
    parseSettings('scheduler', {}, options.settings, SCHEDULER_STRUCTURAL_KEYS);
  }

  onTrialAdd(): void {}

  onResult(): SchedulerDecision {
    return CONTINUE;
  }

  onTrialComplete(): void {}
}

export function createFifo(options: SchedulerOptions): Scheduler {
  return new FifoScheduler(options);
}
