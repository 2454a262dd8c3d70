import type { Params, Space } from '../../shared/spec/space.js';

/** A decision taken on each intermediate result (Ray Tune's CONTINUE / STOP). */
export type SchedulerDecision =
  | { action: 'continue' }
  | { action: 'stop'; reason: string }
  /** PBT: restart the trial from `checkpointOf`'s latest checkpoint with new params. */
  | { action: 'exploit'; checkpointOf: number; params: Params; reason: string };

export interface SchedulerTrial {
  number: number;
  params: Params;
}

/**
 * An early-stopping scheduler: a set of hooks called by the experiment runner.
 * Values passed in are oriented so that larger is better (the runner applies `mode` once).
 * Schedulers keep their own state in memory; `onResult` with the same (trial, step) twice must
 * give the same answer (a replayed report after a coordinator restart): every implementation
 * remembers its decision per (trial, step) and returns it again, whatever happened since.
 * After an `exploit`, the runner restarts the trial with the new params and keeps its number;
 * later reports of that trial carry the new params.
 */
export interface Scheduler {
  readonly name: string;
  onTrialAdd(trial: SchedulerTrial): void;
  onResult(trial: SchedulerTrial, step: number, value: number): SchedulerDecision;
  onTrialComplete(trial: SchedulerTrial, value: number | undefined): void;
}

export interface SchedulerOptions {
  /** The extra keys of the spec's `scheduler` block (`type` is ignored if present). */
  settings: Record<string, unknown>;
  seed: number;
  /** The trial's total steps (epochs) when known, the default `max` for ASHA/Hyperband. */
  maxSteps?: number;
  /** The search space; PBT needs it to perturb and resample params within their domains. */
  space?: Space;
}

export type SchedulerFactory = (options: SchedulerOptions) => Scheduler;

/** Keys of the spec's `scheduler` block that are not scheduler settings. */
export const SCHEDULER_STRUCTURAL_KEYS = ['type'] as const;
