/**
 * Options of the MLFF stages (`trial.options`) as the worker parses them: the catalogue's
 * schemas (shared/catalogue/tasks/mlff.ts, which the coordinator validates with) plus the
 * weights' tensor shapes, and the per-system defaults. See stages.ts for what each stage does.
 */
import { z } from 'zod';
import type { AttemptContext } from '../../runtimes/base.js';
import { PermanentRunError } from '../../runtimes/base.js';
import { trialSchema } from '../../../shared/spec/schema.js';
import { mlffBiasOptionsSchema, mlffTrainOptionsSchema } from '../../../shared/catalogue/tasks/mlff.js';
import { parseJsonString } from '../../../shared/catalogue/tasks/options.js';
import { throwIfStopped } from '../base.js';
import { validateWeights } from './model.js';
import { checkDatasetFile, defaultDataSandbox } from '../../data/sandbox.js';
import type { SystemOptions } from './data.js';

// The option schemas are the catalogue's (shared/catalogue/tasks/mlff.ts); here the weights
// are also checked against the model's tensor shapes.
const weightsInput = z.preprocess(parseJsonString, z.unknown()).transform((v, ctx) => {
  try {
    return validateWeights(v);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
    return z.NEVER;
  }
});

export const trainOptionsSchema = mlffTrainOptionsSchema.extend({
  teacherWeights: weightsInput.optional(),
  init: weightsInput.optional(),
});

export type TrainOptions = z.output<typeof trainOptionsSchema>;

export const biasOptionsSchema = mlffBiasOptionsSchema.extend({ teacherWeights: weightsInput });

export type BiasOptions = z.output<typeof biasOptionsSchema>;

export function parseOptions<S extends z.ZodType>(schema: S, raw: unknown, task: string): z.output<S> {
  const parsed = schema.safeParse(raw ?? {});
  if (!parsed.success) {
    const msg = parsed.error.issues.map((i) => `options.${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new PermanentRunError(`${task}: ${msg}`);
  }
  return parsed.data;
}

const SCHEMA_DEFAULTS = trialSchema.parse({});

export { STAGE_DEFAULTS } from '../../../shared/catalogue/tasks/mlff.js';

/**
 * A trial-level setting (`epochs`, `lr`, `batchSize`) applies when it was searched or set to
 * something other than the schema default; otherwise the stage default. Options win over both.
 */
export function trialSetting(ctx: AttemptContext, key: 'epochs' | 'lr' | 'batchSize', fallback: number): number {
  const value = ctx.config[key];
  if (key in ctx.params || value !== SCHEMA_DEFAULTS[key]) return value;
  return fallback;
}

/** Held-out set sizes per system. */
const HELD_OUT = { 'morse-toy': { testFrames: 200, valFrames: 50 }, molecule: { testFrames: 40, valFrames: 10 } };

export function systemOf(
  opts: {
    system: SystemOptions['system'];
    dataset?: string | undefined;
    atoms: number;
    temperature: number;
    seed?: number | undefined;
    dataSeed?: number | undefined;
    testFrames?: number | undefined;
    valFrames?: number | undefined;
  },
  ctx: AttemptContext,
): SystemOptions {
  const held = HELD_OUT[opts.system === 'morse-toy' ? 'morse-toy' : 'molecule'];
  return {
    system: opts.system,
    // A spec's own data set file obeys the worker's data rules (worker/data/sandbox.ts).
    ...(opts.dataset ? { dataset: checkDatasetFile(opts.dataset, ctx.limits?.data ?? defaultDataSandbox()) } : {}),
    atoms: opts.atoms,
    temperature: opts.temperature,
    dataSeed: opts.dataSeed ?? opts.seed ?? ctx.seed,
    testFrames: opts.testFrames ?? held.testFrames,
    valFrames: opts.valFrames ?? held.valFrames,
  };
}

export function checkStopped(signal: AbortSignal): void {
  throwIfStopped(signal, 'during MLFF training');
}

export function parseTrainOptions(raw: unknown): TrainOptions {
  return parseOptions(trainOptionsSchema, raw, 'mlff-train');
}

export function parseBiasOptions(raw: unknown): BiasOptions {
  return parseOptions(biasOptionsSchema, raw, 'mlff-bias');
}
