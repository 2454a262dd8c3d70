/**
 * ASTEROID (data-cost-aware MLFF training) on the toy system and on molecules labelled with
 * PySCF: the tasks and the pieces they are made of. See stages.ts for the stage options,
 * chem-data.ts for the molecular data sets and arms.ts for the end-to-end runner.
 */
export * from './system.js';
export * from './model.js';
export * from './losses.js';
export * from './stages.js';
export * from './chem-data.js';
export * from './arms.js';

import { mlffBiasTask, mlffTrainTask } from './stages.js';

/** The MLFF tasks, by name. */
export const mlffTasks = [mlffTrainTask, mlffBiasTask] as const;
