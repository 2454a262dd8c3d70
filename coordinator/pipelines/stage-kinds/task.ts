import { resolveTrialConfig } from '../../../shared/spec/resolve.js';
import type { TrialConfig } from '../../../shared/spec/schema.js';
import type { Params } from '../../../shared/spec/space.js';
import type { StageKind } from './base.js';
import { taskOutputs } from '../../../shared/catalogue/tasks/index.js';

/** A single trial: `runtime` + `task` (or `command`) with trial fields from `params`. */
export const taskStage: StageKind = {
  name: 'task',
  hasBest: false,
  outputs: (stage) => (stage.command || stage.runtime === 'command' ? '*' : taskOutputs(stage.task)),
  describe: (stage) => (stage.command ? 'command' : `task ${stage.task ?? 'classify'}`),
  childSpec(stage, { params }, pipeline) {
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
