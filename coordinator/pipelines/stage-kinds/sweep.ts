import { resolveTrialConfig } from '../../../shared/spec/resolve.js';
import type { TrialConfig } from '../../../shared/spec/schema.js';
import type { Params } from '../../../shared/spec/space.js';
import { taskOutputs } from '../../../shared/catalogue/tasks/index.js';
import type { StageKind } from './base.js';

/** A whole sweep; its best trial is the stage's result (outputs and metrics of that trial). */
export const sweepStage: StageKind = {
  name: 'sweep',
  hasBest: true,
  outputs: (stage) => {
    const trial = stage.sweep?.trial as { runtime?: string; task?: string } | undefined;
    return trial?.runtime === 'command' ? '*' : taskOutputs(trial?.task);
  },
  describe: () => 'sweep',
  childSpec(stage, inputs, pipeline) {
    // The resolved sweep block; stage `params` add trial fields.
    const resolved = inputs.sweep ?? (structuredClone(stage.sweep ?? { trial: {} }) as Record<string, unknown>);
    const trial = resolveTrialConfig(resolved.trial as TrialConfig, inputs.params as Params);
    return {
      apiVersion: 'trellis/v1',
      kind: 'Sweep',
      name: `${pipeline.name}.${stage.name}`,
      ...resolved,
      trial,
      resources: resolved.resources ?? stage.resources ?? pipeline.resources,
      budget: { maxAttempts: stage.retry.attempts, ...(resolved.budget as object | undefined) },
    };
  },
};
