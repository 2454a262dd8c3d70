import type { Params } from '../../shared/spec/space.js';

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
 * give the same answer (a replayed report after a coordinator restart).
 */
export interface Scheduler {
  readonly name: string;
  onTrialAdd(trial: SchedulerTrial): void;
  onResult(trial: SchedulerTrial, step: number, value: number): SchedulerDecision;
  onTrialComplete(trial: SchedulerTrial, value: number | undefined): void;
  /** True when the scheduler needs checkpoints (PBT). */
  readonly needsCheckpoints?: boolean;
}

export interface SchedulerOptions {
  settings: Record<string, unknown>;
  seed: number;
  /** The trial's total steps (epochs) when known, the default `max` for ASHA/Hyperband. */
  maxSteps?: number;
}

export type SchedulerFactory = (options: SchedulerOptions) => Scheduler;
