/**
 * What a task of the tfjs runtime is, as both sides must agree on it: its name, what it reports
 * (the default objective), what it leaves in `info.outputs` for later pipeline stages, and the
 * checks of a trial config that need no data. The worker binds the training code to the name
 * (`worker/tasks/registry.ts`); the coordinator reads only this.
 */
import type { Objective, TrialConfig } from '../../spec/schema.js';
import { LossConfigError, resolveLossParams, type LossSpec, type ResolvedLossParams } from '../loss-params.js';

export interface TaskDescriptor {
  name: string;
  /** One line for listings. */
  description: string;
  /** The objective when the spec names none (embed: val_recall_at_1, max). */
  defaultObjective?: Objective;
  /** Keys a trial of this task leaves in `info.outputs` (what later stages may reference). */
  outputs: readonly string[];
  /** Problems with a trial config that can be found without data: `trial.FIELD: message`. */
  validate(config: TrialConfig): string[];
}

/** The loss's name: the string, the spec's `name`, else the spec as JSON. */
export function lossName(spec: unknown): string {
  if (typeof spec === 'string') return spec;
  if (typeof spec === 'object' && spec !== null && typeof (spec as { name?: unknown }).name === 'string') {
    return (spec as { name: string }).name;
  }
  return JSON.stringify(spec);
}

/** The trial's loss resolved from the catalogue, or its problem pushed as `trial.loss: ...`. */
export function checkTrialLoss(config: TrialConfig, problems: string[]): ResolvedLossParams | undefined {
  try {
    return resolveLossParams(config.loss as LossSpec);
  } catch (err) {
    if (err instanceof LossConfigError) problems.push(`trial.loss: ${err.message}`);
    else throw err;
    return undefined;
  }
}
