import type { PipelineStage } from '../spec.js';
import type { StageKind } from './base.js';
import { sweepStage } from './sweep.js';
import { taskStage } from './task.js';

export const STAGE_KINDS: Record<StageKind['name'], StageKind> = { task: taskStage, sweep: sweepStage };

export function stageKindOf(stage: PipelineStage): StageKind {
  return stage.sweep ? STAGE_KINDS.sweep : STAGE_KINDS.task;
}
