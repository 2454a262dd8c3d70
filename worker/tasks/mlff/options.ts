/**
 * Options of the MLFF stages (`trial.options`), their defaults, and submit-time checks.
 * See stages.ts for what each stage does with them.
 */
import { z } from 'zod';
import type { AttemptContext } from '../../runtimes/base.js';
import { PermanentRunError } from '../../runtimes/base.js';
import { trialSchema, type TrialConfig } from '../../../shared/spec/schema.js';
import { throwIfStopped } from '../base.js';
import { validateWeights } from './model.js';
import type { SystemOptions } from './data.js';

function parseJsonString(v: unknown): unknown {
  if (typeof v !== 'string') return v;
  try {
    return JSON.parse(v) as unknown;
  } catch {
    return v;
  }
}

const weightsInput = z.preprocess(parseJsonString, z.unknown()).transform((v, ctx) => {
  try {
    return validateWeights(v);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
    return z.NEVER;
  }
});

const systemShape = {
  /** `morse-toy` (built-in, regenerated) or a molecule with a PySCF data set (`ethanol`). */
  system: z.enum(['morse-toy', 'ethanol']).default('morse-toy'),
  /** Molecules: the data set file (default the shipped one, datasets/<system>.json.gz). */
  dataset: z.string().min(1).optional(),
  atoms: z.number().int().min(2).max(32).default(6),
  temperature: z.number().positive().default(500),
  seed: z.number().int().min(0).optional(),
  dataSeed: z.number().int().min(0).optional(),
  /** Accurate held-out frames; default 200 / 50 (toy), 40 / 10 (molecules). */
  testFrames: z.number().int().positive().optional(),
  valFrames: z.number().int().positive().optional(),
};

export const trainOptionsSchema = z.object({
  ...systemShape,
  data: z.enum(['accurate', 'cheap']).default('accurate'),
  frames: z.number().int().positive().optional(),
  weights: z.preprocess(parseJsonString, z.array(z.number().min(0))).optional(),
  energyLabels: z.enum(['reference', 'teacher']).default('reference'),
  teacherWeights: weightsInput.optional(),
  init: weightsInput.optional(),
  pretrainLoss: z.enum(['energy-force', 'score-matching']).default('energy-force'),
  /** Probe vectors per frame for score matching. */
  vectors: z.number().int().positive().default(2),
  rho: z.number().min(0).max(1).default(0.999),
  epochs: z.number().int().positive().optional(),
  lr: z.number().positive().optional(),
  batchSize: z.number().int().positive().optional(),
  /** Learning-rate schedule over the epochs: cosine decay to lr/20, or constant. */
  schedule: z.enum(['cosine', 'constant']).default('cosine'),
  /** Global gradient-norm clip (the paper's 10); 0 disables. */
  clip: z.number().min(0).default(10),
  /** Minimum seconds between checkpoints (besides the one after the last epoch). */
  checkpointSeconds: z.number().min(0).default(10),
  /** When given, must equal the hash of the regenerated training frames (see mlff-bias's output). */
  framesHash: z.string().optional(),
  model: z
    .object({
      basis: z.number().int().positive().optional(),
      hidden: z.array(z.number().int().positive()).min(1).optional(),
      cutoff: z.number().positive().optional(),
      muMin: z.number().positive().optional(),
      muMax: z.number().positive().optional(),
    })
    .optional(),
});

export type TrainOptions = z.output<typeof trainOptionsSchema>;
export const biasOptionsSchema = z.object({
  ...systemShape,
  teacherWeights: weightsInput,
  frames: z.number().int().positive().default(500),
  /** γ of exp(−e/γ); 'median': the median of the bias estimates e. */
  gamma: z.union([z.number().positive(), z.literal('median')]).default(1),
  /** 'mean': divide by the mean weight (weights average 1). */
  normalizer: z.union([z.number().positive(), z.literal('mean')]).default(1),
});

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

/** Default epochs per kind of run, sized for a few minutes on 2 CPU cores (wasm). */
export const STAGE_DEFAULTS = {
  accurate: { frames: 50, epochs: 300, batchSize: 25, lr: 3e-3 },
  cheap: { frames: 500, epochs: 40, batchSize: 50, lr: 3e-3 },
} as const;

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
    ...(opts.dataset ? { dataset: opts.dataset } : {}),
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

/**
 * `trial.options.PATH: message` problems with a stage's options (for submit-time validation).
 * Values still holding a `${...}` reference (filled in from an earlier stage's outputs when the
 * stage runs) cannot be checked yet and count as present.
 */
export function optionProblems<S extends z.ZodType>(
  schema: S,
  config: TrialConfig,
  extra?: (data: z.output<S>, pending: Set<string>) => string[],
): string[] {
  const pending = new Set<string>();
  const options: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(config.options ?? {})) {
    if (typeof v === 'string' && v.includes('${')) pending.add(k);
    else options[k] = v;
  }
  const parsed = schema.safeParse(options);
  if (!parsed.success) {
    return parsed.error.issues
      .filter((i) => !(typeof i.path[0] === 'string' && pending.has(i.path[0])))
      .map((i) => `trial.options${i.path.length ? `.${i.path.join('.')}` : ''}: ${i.message}`);
  }
  return extra ? extra(parsed.data, pending) : [];
}

export function parseTrainOptions(raw: unknown): TrainOptions {
  return parseOptions(trainOptionsSchema, raw, 'mlff-train');
}

export function parseBiasOptions(raw: unknown): BiasOptions {
  return parseOptions(biasOptionsSchema, raw, 'mlff-bias');
}
