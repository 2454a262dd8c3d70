import { resolveTrialConfig } from '../../../shared/spec/resolve.js';
import type { TrialConfig } from '../../../shared/spec/schema.js';
import type { Params } from '../../../shared/spec/space.js';
import { TASK_OUTPUTS } from './task.js';
import type { StageKind } from './base.js';

/** A whole sweep; its best trial is the stage's result (outputs and metrics of that trial). */
export const sweepStage: StageKind = {
  name: 'sweep',
  hasBest: true,
  outputs: (stage) => {
    const trial = stage.sweep?.trial as { runtime?: string; task?: string } | undefined;
    return trial?.runtime === 'command' ? '*' : (TASK_OUTPUTS[trial?.task ?? 'classify'] ?? '*');
  },
  describe: () => 'sweep',
  childSpec(stage, params, pipeline) {
    const sweep = structuredClone(stage.sweep ?? { trial: {} }) as Record<string, unknown>;
    // The resolved sweep block arrives as params.__sweep; stage `params` add trial fields.
    const resolved = (params.__sweep ?? sweep) as Record<string, unknown>;
    const { __sweep: _sweep, ...trialParams } = params;
    const trial = resolveTrialConfig(resolved.trial as TrialConfig, trialParams as Params);
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
