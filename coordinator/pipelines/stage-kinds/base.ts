import type { PipelineSpec, PipelineStage } from '../spec.js';

/**
 * A kind of pipeline stage. Each stage runs as a child Sweep experiment (so leases, retries,
 * checkpoints and restart-safety come from the sweep machinery); the kind says what that sweep
 * is and what the stage produces.
 */
export interface StageKind {
  readonly name: 'task' | 'sweep';
  /** Output keys a stage of this kind produces (`*`: any, e.g. a command stage). */
  outputs(stage: PipelineStage): readonly string[] | '*';
  /** Sweep stages have a best trial (`${stages.X.best.params.P}`). */
  readonly hasBest: boolean;
  /** For messages: "task mlff-train", "sweep". */
  describe(stage: PipelineStage): string;
  /** The raw Sweep spec (before validation) that runs the stage, its inputs already resolved. */
  childSpec(stage: PipelineStage, inputs: StageInputs, pipeline: PipelineSpec): Record<string, unknown>;
}

/**
 * A stage's blocks with their `${stages...}` references resolved: `params` (trial fields, what
 * the stage records as its inputs) and, for a sweep stage, its `sweep` block.
 */
export interface StageInputs {
  params: Record<string, unknown>;
  sweep?: Record<string, unknown>;
}
