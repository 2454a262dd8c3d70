/**
 * The tfjs runtime's task registry (`trial.task`, default `classify`) and the task-level config
 * checks the coordinator runs when a spec is submitted.
 */
import type { TrialConfig } from '../../shared/spec/schema.js';
import { PermanentRunError } from '../runtimes/base.js';
import type { Task } from './base.js';
import { classifyTask } from './classify.js';
import { embedTask } from './embed.js';
import { preferenceTask } from './preference.js';
import { mlffBiasTask, mlffTrainTask } from './mlff/stages.js';
import { usefulClusterTask } from './useful.js';

export const DEFAULT_TASK = 'classify';

const tasks = new Map<string, Task>();

/** Adds (or replaces) a task. */
export function registerTask(task: Task): void {
  tasks.set(task.name, task);
}

registerTask(classifyTask);
registerTask(embedTask);
registerTask(preferenceTask);
registerTask(mlffTrainTask);
registerTask(mlffBiasTask);
registerTask(usefulClusterTask);

export function taskNames(): string[] {
  return [...tasks.keys()].sort();
}

/** The task of that name; unknown → PermanentRunError listing the task names. */
export function getTask(name: string): Task {
  const task = tasks.get(name);
  if (!task) throw new PermanentRunError(`trial.task: unknown task "${name}"; tasks: ${taskNames().join(', ')}`);
  return task;
}

/** The objective a task reports by default (used when the spec gives none). */
export function defaultObjectiveOf(name: string | undefined): { metric: string; mode: 'max' | 'min' } | undefined {
  return tasks.get(name ?? DEFAULT_TASK)?.defaultObjective;
}

/** Task-level problems with a trial config, as `trial.FIELD: message` strings (empty when fine). */
export function validateTaskConfig(config: TrialConfig): string[] {
  if (config.runtime === 'command') return [];
  const name = config.task ?? DEFAULT_TASK;
  const task = tasks.get(name);
  if (!task) return [`trial.task: unknown task "${name}"; tasks: ${taskNames().join(', ')}`];
  return task.validate ? task.validate(config) : [];
}
