/**
 * The task catalogue: every task of the tfjs runtime, by name (`trial.task`, default
 * `classify`). To add a task: a descriptor file here and its entry below, then the training code
 * under `worker/tasks/` bound to the same name in `worker/tasks/registry.ts`.
 */
import type { Objective, TrialConfig } from '../../spec/schema.js';
import type { TaskDescriptor } from './base.js';
import { classifyDescriptor } from './classify.js';
import { embedDescriptor } from './embed.js';
import { mlffBiasDescriptor, mlffTrainDescriptor } from './mlff.js';
import { preferenceDescriptor } from './preference.js';
import { usefulClusterDescriptor } from './useful.js';

export type { TaskDescriptor } from './base.js';

export const DEFAULT_TASK = 'classify';

export const TASK_CATALOGUE: readonly TaskDescriptor[] = [
  classifyDescriptor,
  embedDescriptor,
  preferenceDescriptor,
  mlffTrainDescriptor,
  mlffBiasDescriptor,
  usefulClusterDescriptor,
];

const byName = new Map(TASK_CATALOGUE.map((t) => [t.name, t]));

export function taskNames(): string[] {
  return [...byName.keys()].sort();
}

export function findTask(name: string | undefined): TaskDescriptor | undefined {
  return byName.get(name ?? DEFAULT_TASK);
}

/** The objective a task reports by default (used when the spec gives none). */
export function defaultObjectiveOf(name: string | undefined): Objective | undefined {
  return findTask(name)?.defaultObjective;
}

/** What a trial of the task leaves in `info.outputs`; `*` (any) for an unknown task. */
export function taskOutputs(name: string | undefined): readonly string[] | '*' {
  return findTask(name)?.outputs ?? '*';
}

/** Task-level problems with a trial config, as `trial.FIELD: message` strings (empty when fine). */
export function validateTaskConfig(config: TrialConfig): string[] {
  if (config.runtime === 'command') return [];
  const name = config.task ?? DEFAULT_TASK;
  const task = byName.get(name);
  if (!task) return [`trial.task: unknown task "${name}"; tasks: ${taskNames().join(', ')}`];
  return task.validate(config);
}
