/** `preference`: reward-model training on generated preference pairs (worker/tasks/preference/). */
import { z } from 'zod';
import type { Objective, TrialConfig } from '../../spec/schema.js';
import { checkTrialLoss, lossName, type TaskDescriptor } from './base.js';
import { checkOptions, intIn, numberWhere, oneOf } from './options.js';

export const PREFERENCE_DEFAULT_OBJECTIVE: Objective = { metric: 'val_pref_accuracy', mode: 'max' };

// `reference` first: its problem is listed before the numeric ones.
export const preferenceOptionsSchema = z.strictObject({
  reference: oneOf(['init', 'zero']).default('init'),
  items: intIn(10, 10_000_000).default(400),
  pairs: intIn(1, 100_000_000).default(4000),
  flipRate: numberWhere((v) => v >= 0 && v < 0.5, 'a number in [0, 0.5)').default(0.2),
  d: intIn(1, 4096).default(8),
  rewardScale: numberWhere((v) => v > 0, 'a number > 0').default(2),
  nonlinearity: numberWhere((v) => v >= 0, 'a number ≥ 0').default(0.5),
  evalPairs: intIn(1, 100_000_000).default(1000),
  /** Seed of the generated data; default the attempt's seed. */
  dataSeed: intIn(0, Number.MAX_SAFE_INTEGER).optional(),
});

export type PreferenceOptions = z.output<typeof preferenceOptionsSchema>;

const { dataSeed: _none, ...defaults } = preferenceOptionsSchema.parse({});
export const DEFAULT_PREFERENCE_OPTIONS: PreferenceOptions = {
  items: defaults.items,
  pairs: defaults.pairs,
  flipRate: defaults.flipRate,
  d: defaults.d,
  rewardScale: defaults.rewardScale,
  nonlinearity: defaults.nonlinearity,
  evalPairs: defaults.evalPairs,
  reference: defaults.reference,
};
const OPTION_NAMES = [...Object.keys(DEFAULT_PREFERENCE_OPTIONS), 'dataSeed'];

/** `preference`'s options with defaults filled (the defaults when there are problems). */
export function parsePreferenceOptions(
  raw: Record<string, unknown> | undefined,
  problems: string[] = [],
  pendingRefs = false,
): PreferenceOptions {
  const result = checkOptions(preferenceOptionsSchema, raw, 'preference', OPTION_NAMES, pendingRefs);
  problems.push(...result.problems);
  if (!result.data) return DEFAULT_PREFERENCE_OPTIONS;
  const { dataSeed, ...rest } = result.data;
  return { ...DEFAULT_PREFERENCE_OPTIONS, ...rest, ...(dataSeed !== undefined ? { dataSeed } : {}) };
}

/** `preference`'s config checks. */
export function validatePreferenceConfig(config: TrialConfig): string[] {
  const problems: string[] = [];
  const name = lossName(config.loss);
  if (name !== 'rdpo') {
    problems.push(`trial.loss: task preference needs the preference loss rdpo (epsilon 0 is plain DPO), got ${name}`);
  } else {
    checkTrialLoss(config, problems);
  }
  if (config.dataset !== undefined)
    problems.push('trial.dataset: task preference generates its own data (see trial.options); remove dataset');
  if (config.model?.type === 'cnn')
    problems.push('trial.model.type: task preference takes a linear or mlp scorer, got cnn');
  parsePreferenceOptions(config.options, problems, true);
  return problems;
}

export const preferenceDescriptor: TaskDescriptor = {
  name: 'preference',
  description:
    'Toy Bradley–Terry preference learning with DPO / robust DPO (rdpo) on synthetic pairs with flipped labels',
  defaultObjective: PREFERENCE_DEFAULT_OBJECTIVE,
  outputs: [],
  validate: validatePreferenceConfig,
};
