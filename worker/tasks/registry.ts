/**
 * The tfjs runtime's task implementations, bound by name to the task catalogue
 * (shared/catalogue/tasks/). A catalogue entry without an implementation, or an implementation
 * the catalogue does not know, fails at load (and in test/unit/classify.test.ts).
 */
import { DEFAULT_TASK, TASK_CATALOGUE, taskNames } from '../../shared/catalogue/tasks/index.js';
import { PermanentRunError } from '../runtimes/base.js';
import type { Task } from './base.js';
import { classifyTask } from './classify.js';
import { embedTask } from './embed.js';
import { preferenceTask } from './preference.js';
import { mlffBiasTask, mlffTrainTask } from './mlff/stages.js';
import { usefulClusterTask } from './useful.js';

export { DEFAULT_TASK } from '../../shared/catalogue/tasks/index.js';

/** Every implementation, in any order. */
export const TASK_IMPLEMENTATIONS: readonly Task[] = [
  classifyTask,
  embedTask,
  preferenceTask,
  mlffTrainTask,
  mlffBiasTask,
  usefulClusterTask,
];

function bind(): Map<string, Task> {
  const tasks = new Map<string, Task>();
  for (const task of TASK_IMPLEMENTATIONS) {
    if (tasks.has(task.name)) throw new Error(`task ${task.name}: implemented twice`);
    if (!TASK_CATALOGUE.some((d) => d.name === task.name))
      throw new Error(`task ${task.name}: implemented but not in the catalogue`);
    tasks.set(task.name, task);
  }
  for (const d of TASK_CATALOGUE)
    if (!tasks.has(d.name)) throw new Error(`task ${d.name}: in the catalogue but not implemented in worker/tasks`);
  return tasks;
}

const tasks = bind();

/** The task of that name; unknown → PermanentRunError listing the task names. */
export function getTask(name: string = DEFAULT_TASK): Task {
  const task = tasks.get(name);
  if (!task) throw new PermanentRunError(`trial.task: unknown task "${name}"; tasks: ${taskNames().join(', ')}`);
  return task;
}
