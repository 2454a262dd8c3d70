/**
 * ASTEROID (data-cost-aware MLFF training) on a toy molecular system: the tasks and the pieces
 * they are made of. See stages.ts for the stage options and arms.ts for the end-to-end runner.
 */
export * from './system.js';
export * from './model.js';
export * from './losses.js';
export * from './stages.js';
export * from './arms.js';

import { mlffBiasTask, mlffTrainTask } from './stages.js';

/** The MLFF tasks, by name. */
export const mlffTasks = [mlffTrainTask, mlffBiasTask] as const;
