/** `embed`: metric learning with an embedding loss, few-shot evaluation (worker/tasks/embed/). */
import { z } from 'zod';
import type { Objective, TrialConfig } from '../../spec/schema.js';
import { datasetShape, datasetSpecProblems } from '../datasets.js';
import { checkTrialLoss, lossName, type TaskDescriptor } from './base.js';
import { checkOptions, intIn } from './options.js';

export const EMBED_LOSSES = ['ms', 'tcm', 'prototriplet'] as const;
export type EmbedLossName = (typeof EMBED_LOSSES)[number];

export const DEFAULT_EMBED_DATASET = 'optdigits';
export const EMBED_DEFAULT_OBJECTIVE: Objective = { metric: 'val_recall_at_1', mode: 'max' };

export const embedOptionsSchema = z.strictObject({
  classesPerBatch: intIn(2, 4096).default(8),
  perClass: intIn(2, 4096).default(4),
  /** Class values (label values) removed from the training split. */
  heldOutClasses: z
    .array(z.union([z.number(), z.string()]), {
      error: (iss) => `must be a list of class values (numbers or strings), got ${JSON.stringify(iss.input)}`,
    })
    .default([]),
  ways: intIn(2, 4096).default(5),
  shots: intIn(1, 4096).default(5),
  /** Queries per class per episode (fewer when a class has fewer examples left). */
  queries: intIn(1, 1_000_000).default(15),
  episodes: intIn(1, 1_000_000).default(100),
});

export type EmbedOptions = z.output<typeof embedOptionsSchema>;
export const DEFAULT_EMBED_OPTIONS: EmbedOptions = embedOptionsSchema.parse({});
const OPTION_NAMES = Object.keys(embedOptionsSchema.shape);

/**
 * `embed`'s options with defaults filled (the defaults when there are problems); problems are
 * appended as `trial.options.NAME: message`. `pendingRefs`: skip `${...}` values (submit time).
 */
export function parseEmbedOptions(
  raw: Record<string, unknown> | undefined,
  problems: string[] = [],
  pendingRefs = false,
): EmbedOptions {
  const result = checkOptions(embedOptionsSchema, raw, 'embed', OPTION_NAMES, pendingRefs);
  // A wrong element is reported once, for the whole list.
  const seen = new Set<string>();
  for (const p of result.problems) {
    const line = p.startsWith('trial.options.heldOutClasses.')
      ? `trial.options.heldOutClasses: must be a list of class values (numbers or strings), got ${JSON.stringify(raw?.heldOutClasses)}`
      : p;
    if (!seen.has(line)) problems.push(line);
    seen.add(line);
  }
  return result.data ?? DEFAULT_EMBED_OPTIONS;
}

/** `embed`'s config checks (no file access). */
export function validateEmbedConfig(config: TrialConfig): string[] {
  const problems: string[] = [];
  const dataset = config.dataset ?? DEFAULT_EMBED_DATASET;
  const datasetOk = datasetSpecProblems(dataset).length === 0;
  for (const p of datasetSpecProblems(dataset)) problems.push(`trial.dataset: ${p}`);
  if (config.model?.type === 'cnn' && datasetOk && !datasetShape(dataset)) {
    problems.push('trial.model.type: cnn needs an image shape; give dataset.shape');
  }
  const name = lossName(config.loss);
  if (!(EMBED_LOSSES as readonly string[]).includes(name)) {
    problems.push(`trial.loss: task embed needs an embedding loss (${EMBED_LOSSES.join(', ')}), got ${name}`);
  } else {
    checkTrialLoss(config, problems);
  }
  parseEmbedOptions(config.options, problems, true);
  return problems;
}

export const embedDescriptor: TaskDescriptor = {
  name: 'embed',
  description:
    'Metric learning: an L2-normalised embedding network trained with ms, ms + tcm or prototriplet; recall@1 and few-shot accuracy',
  defaultObjective: EMBED_DEFAULT_OBJECTIVE,
  outputs: [],
  validate: validateEmbedConfig,
};
