import { resolveTrialConfig } from '../../../shared/spec/resolve.js';
import type { TrialConfig } from '../../../shared/spec/schema.js';
import type { Params } from '../../../shared/spec/space.js';
import type { StageKind } from './base.js';

/**
 * What each built-in tfjs task leaves in `info.outputs` (what later stages may reference).
 * Command stages may print any outputs (a final `{"outputs": {...}}` line), so they are open.
 */
export const TASK_OUTPUTS: Record<string, readonly string[]> = {
  classify: ['trainOutputs', 'checkpoint'],
  embed: [],
  preference: [],
  'mlff-train': ['checkpoint'],
  'mlff-bias': ['e', 'weights', 'teacherEnergies', 'framesHash', 'dataSeed', 'frames'],
  'useful-cluster': ['indices', 'upsampled', 'perClass'],
};

/** A single trial: `runtime` + `task` (or `command`) with trial fields from `params`. */
export const taskStage: StageKind = {
  name: 'task',
  hasBest: false,
  outputs: (stage) =>
    stage.command || stage.runtime === 'command' ? '*' : (TASK_OUTPUTS[stage.task ?? 'classify'] ?? '*'),
  describe: (stage) => (stage.command ? 'command' : `task ${stage.task ?? 'classify'}`),
  childSpec(stage, params, pipeline) {
    const base: Record<string, unknown> = {
      runtime: stage.runtime ?? (stage.command ? 'command' : 'tfjs'),
      ...(stage.task ? { task: stage.task } : {}),
      ...(stage.command ? { command: stage.command } : {}),
    };
    const trial = resolveTrialConfig(base as unknown as TrialConfig, params as Params);
    return {
      apiVersion: 'trellis/v1',
      kind: 'Sweep',
      name: `${pipeline.name}.${stage.name}`,
      trial,
      resources: stage.resources ?? pipeline.resources,
      search: { algorithm: 'random', seed: 0, space: {} },
      budget: { trials: 1, concurrency: 1, maxAttempts: stage.retry.attempts },
    };
  },
};
