/** `classify`: supervised classification on a CSV or built-in dataset (worker/tasks/classify/). */
import { z } from 'zod';
import type { TrialConfig } from '../../spec/schema.js';
import { datasetShape, datasetSpecProblems, getBuiltinDataset } from '../datasets.js';
import type { LossFamily, LossInputName } from '../losses.js';
import { checkTrialLoss, type TaskDescriptor } from './base.js';
import { checkOptions } from './options.js';

/** Inputs `classify` can give a loss (`probs` only for two classes, `groups` only with a group column). */
export const CLASSIFY_INPUTS: readonly LossInputName[] = [
  'logits',
  'labels',
  'features',
  'sampleIds',
  'groups',
  'likelihoods',
  'probs',
];
export const CLASSIFY_FAMILIES: readonly LossFamily[] = ['classification', 'group', 'binary'];

/**
 * classify's `options`:
 * - `trainIndices: number[]` — train on these rows of the training split (repeats allowed):
 *   USEFUL's upsampled distribution;
 * - `exportTrainOutputs: true` — after training, return every training example's logits, loss
 *   and label as `info.outputs.trainOutputs` (USEFUL's clustering input).
 */
export const classifyOptionsSchema = z.strictObject({
  trainIndices: z
    .array(z.number().int().min(0), {
      error: 'must be a list of row indices (integers >= 0) into the training split',
    })
    .optional(),
  exportTrainOutputs: z.boolean({ error: 'must be true or false' }).optional(),
});
export type ClassifyOptions = z.output<typeof classifyOptionsSchema>;
const OPTION_NAMES = Object.keys(classifyOptionsSchema.shape);

/** classify's options checked; an element issue is reported once, for the whole list. */
export function classifyOptionProblems(options: Record<string, unknown> | undefined, pendingRefs = true): string[] {
  const { problems } = checkOptions(classifyOptionsSchema, options, 'classify', OPTION_NAMES, pendingRefs);
  const seen = new Set<string>();
  return problems
    .map((p) =>
      p.startsWith('trial.options.trainIndices')
        ? 'trial.options.trainIndices: must be a list of row indices (integers >= 0) into the training split'
        : p,
    )
    .filter((p) => (seen.has(p) ? false : (seen.add(p), true)));
}

function hasGroupColumn(config: TrialConfig): boolean {
  const dataset = config.dataset;
  if (dataset === undefined) return false;
  if (typeof dataset === 'string') return getBuiltinDataset(dataset)?.group !== undefined;
  return dataset.group !== undefined;
}

/** `classify`'s config checks (no file access). */
export function validateClassifyConfig(config: TrialConfig): string[] {
  const problems: string[] = [];
  if (config.dataset === undefined) {
    problems.push('trial.dataset: required for task classify');
  } else {
    for (const p of datasetSpecProblems(config.dataset)) problems.push(`trial.dataset: ${p}`);
  }
  const model = config.model;
  if (model?.type === 'cnn' && config.dataset !== undefined && datasetSpecProblems(config.dataset).length === 0) {
    const shape = datasetShape(config.dataset);
    if (!shape) problems.push('trial.model.type: cnn needs an image shape; give dataset.shape');
  }
  problems.push(...classifyOptionProblems(config.options));
  const descriptor = checkTrialLoss(config, problems)?.descriptor;
  if (descriptor) {
    if (!CLASSIFY_FAMILIES.includes(descriptor.family)) {
      problems.push(
        `trial.loss: ${descriptor.name} (family ${descriptor.family}) does not fit task classify, which takes ${CLASSIFY_FAMILIES.join(', ')} losses`,
      );
    } else {
      for (const input of descriptor.inputs) {
        if (!CLASSIFY_INPUTS.includes(input)) {
          problems.push(`trial.loss: ${descriptor.name} needs input ${input}, which task classify does not provide`);
        } else if (input === 'groups' && config.dataset !== undefined && !hasGroupColumn(config)) {
          problems.push(`trial.dataset.group: loss ${descriptor.name} needs a group column (dataset.group)`);
        }
      }
    }
  }
  return problems;
}

export const classifyDescriptor: TaskDescriptor = {
  name: 'classify',
  description:
    'Supervised classification (linear, MLP or CNN) on a CSV or built-in dataset with any classification loss',
  outputs: ['trainOutputs', 'checkpoint'],
  validate: validateClassifyConfig,
};
