/**
 * The ASTEROID MLFF stages (`mlff-train`, `mlff-bias`; worker/tasks/mlff/stages.ts has the
 * training code and the meaning of each option) on the toy (`system: morse-toy`) or a molecule
 * with a PySCF data set (`system: ethanol`). The options of both stages are one zod schema
 * each, built from `systemShape` (the simulated system) plus the stage's own fields: a new system
 * option goes into `systemShape`, a new stage option into its stage's schema.
 *
 * Model weights (`teacherWeights`, `init`) are checked here for their envelope only (format,
 * config, values); the worker checks the tensor shapes against the model before it uses them.
 */
import { z } from 'zod';
import type { TrialConfig } from '../../spec/schema.js';
import type { TaskDescriptor } from './base.js';
import { parseJsonString } from './options.js';

export const MLFF_WEIGHTS_FORMAT = 'trellis-mlff/v1';

/** The envelope of an `MlffWeights` object (or its JSON text): `invalid MLFF weights: ...`. */
export const mlffWeightsEnvelope = z.preprocess(parseJsonString, z.unknown()).superRefine((v, ctx) => {
  const o = v as { format?: unknown; config?: unknown; values?: unknown } | null;
  const why =
    typeof o !== 'object' || o === null
      ? 'not an object'
      : o.format !== MLFF_WEIGHTS_FORMAT
        ? `format must be ${MLFF_WEIGHTS_FORMAT}`
        : typeof o.config !== 'object' || o.config === null
          ? 'missing config'
          : !Array.isArray(o.values)
            ? 'wrong number of tensors'
            : undefined;
  if (why) ctx.addIssue({ code: 'custom', message: `invalid MLFF weights: ${why}` });
});

export const systemShape = {
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

export const mlffTrainOptionsSchema = z.object({
  ...systemShape,
  data: z.enum(['accurate', 'cheap']).default('accurate'),
  frames: z.number().int().positive().optional(),
  weights: z.preprocess(parseJsonString, z.array(z.number().min(0))).optional(),
  energyLabels: z.enum(['reference', 'teacher']).default('reference'),
  teacherWeights: mlffWeightsEnvelope.optional(),
  init: mlffWeightsEnvelope.optional(),
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

export const mlffBiasOptionsSchema = z.object({
  ...systemShape,
  teacherWeights: mlffWeightsEnvelope,
  frames: z.number().int().positive().default(500),
  /** γ of exp(−e/γ); 'median': the median of the bias estimates e. */
  gamma: z.union([z.number().positive(), z.literal('median')]).default(1),
  /** 'mean': divide by the mean weight (weights average 1). */
  normalizer: z.union([z.number().positive(), z.literal('mean')]).default(1),
});

/** Default epochs per kind of run, sized for a few minutes on 2 CPU cores (wasm). */
export const STAGE_DEFAULTS = {
  accurate: { frames: 50, epochs: 300, batchSize: 25, lr: 3e-3 },
  cheap: { frames: 500, epochs: 40, batchSize: 50, lr: 3e-3 },
} as const;

/**
 * `trial.options.PATH: message` problems with a stage's options (for submit-time validation).
 * Values still holding a `${...}` reference (filled in from an earlier stage's outputs when the
 * stage runs) cannot be checked yet and count as present.
 */
export function mlffOptionProblems<S extends z.ZodType>(
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

export const mlffTrainDescriptor: TaskDescriptor = {
  name: 'mlff-train',
  description:
    'ASTEROID stage: train the MLFF (toy or molecule) on accurate or cheap frames (teacher, pretrain, fine-tune, baseline)',
  outputs: ['checkpoint'],
  validate: (config) =>
    mlffOptionProblems(mlffTrainOptionsSchema, config, (o, pending) => {
      const problems: string[] = [];
      const frames = o.frames ?? STAGE_DEFAULTS[o.data].frames;
      if (o.weights && o.weights.length !== frames)
        problems.push(`trial.options.weights: ${o.weights.length} entries for ${frames} frames`);
      if (o.energyLabels === 'teacher' && !o.teacherWeights && !pending.has('teacherWeights')) {
        problems.push('trial.options.teacherWeights: required when energyLabels is "teacher"');
      }
      return problems;
    }),
};

export const mlffBiasDescriptor: TaskDescriptor = {
  name: 'mlff-bias',
  description: 'ASTEROID stage: a teacher over the cheap frames → per-frame bias e and weights exp(−e/γ)',
  outputs: ['e', 'weights', 'teacherEnergies', 'framesHash', 'dataSeed', 'frames'],
  validate: (config) => mlffOptionProblems(mlffBiasOptionsSchema, config),
};
