/**
 * The experiment spec (YAML or JSON; the CLI and the gRPC API take the same document).
 *
 * Everything is checked here, with zod, before anything is stored: unknown fields are errors,
 * and every message names the path and the rule (`search.space.lr.loguniform: low must be > 0`).
 * Checks that need the plug-in registries (search algorithm and scheduler names, loss params)
 * run afterwards in the coordinator's `validateSpec`.
 */
import { z } from 'zod';
import type { Condition, Domain, ParamValue, Space } from './space.js';
import { orderedParams } from './space.js';
import { retrySchema } from './retry.js';

const paramValue = z.union([z.number(), z.string(), z.boolean(), z.array(z.number()), z.array(z.string())]);

function pair(raw: unknown): [number, number] | undefined {
  if (!Array.isArray(raw) || raw.length !== 2) return undefined;
  const [low, high] = raw as unknown[];
  if (typeof low !== 'number' || typeof high !== 'number') return undefined;
  if (!Number.isFinite(low) || !Number.isFinite(high)) return undefined;
  return [low, high];
}

const DOMAIN_KINDS = ['choice', 'uniform', 'loguniform', 'int'] as const;

/** Parses one domain, reporting problems relative to `search.space.NAME`. */
function parseDomain(raw: unknown, issue: (path: string[], message: string) => void): Domain | undefined {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    issue([], `must be an object with one of ${DOMAIN_KINDS.join(', ')}`);
    return undefined;
  }
  const record = raw as Record<string, unknown>;
  const kinds = DOMAIN_KINDS.filter((kind) => kind in record);
  const extra = Object.keys(record).filter(
    (key) => !(DOMAIN_KINDS as readonly string[]).includes(key) && key !== 'when' && key !== 'log',
  );
  if (extra.length > 0) {
    issue([extra[0]!], `unknown field; allowed: ${DOMAIN_KINDS.join(', ')}, when, log (int only)`);
    return undefined;
  }
  if (kinds.length !== 1) {
    issue([], `must have exactly one of ${DOMAIN_KINDS.join(', ')}`);
    return undefined;
  }
  const kind = kinds[0]!;
  let when: Condition | undefined;
  if (record.when !== undefined) {
    const parsed = z.record(z.string(), z.union([paramValue, z.array(paramValue)])).safeParse(record.when);
    if (!parsed.success || Object.keys(parsed.data).length === 0) {
      issue(['when'], 'must map a choice parameter to the value (or list of values) it must take');
      return undefined;
    }
    when = parsed.data as Condition;
  }
  if (record.log !== undefined && (kind !== 'int' || typeof record.log !== 'boolean')) {
    issue(['log'], 'is only allowed on int domains, as true or false');
    return undefined;
  }
  const body = record[kind];
  if (kind === 'choice') {
    const parsed = z.array(paramValue).min(1).safeParse(body);
    if (!parsed.success) {
      issue([kind], 'must be a non-empty list of numbers, strings, booleans or lists');
      return undefined;
    }
    return { kind, values: parsed.data as ParamValue[], ...(when ? { when } : {}) };
  }
  const bounds = pair(body);
  if (!bounds) {
    issue([kind], 'must be [low, high] with two finite numbers');
    return undefined;
  }
  const [low, high] = bounds;
  if (kind === 'loguniform' && low <= 0) {
    issue([kind], 'low must be > 0');
    return undefined;
  }
  if (kind === 'int') {
    if (!Number.isInteger(low) || !Number.isInteger(high)) {
      issue([kind], 'low and high must be integers');
      return undefined;
    }
    if (low > high) {
      issue([kind], 'low must be <= high');
      return undefined;
    }
    if (record.log === true && low <= 0) {
      issue([kind], 'low must be > 0 when log is true');
      return undefined;
    }
    return { kind, low, high, ...(record.log === true ? { log: true } : {}), ...(when ? { when } : {}) };
  }
  if (low >= high) {
    issue([kind], 'low must be < high');
    return undefined;
  }
  return { kind, low, high, ...(when ? { when } : {}) };
}

export const spaceSchema = z.record(z.string(), z.unknown()).transform((raw, ctx): Space => {
  const space: Space = {};
  for (const [name, body] of Object.entries(raw)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/.test(name)) {
      ctx.addIssue({
        code: 'custom',
        path: [name],
        message: 'parameter names are identifiers joined by dots (loss.q)',
      });
      continue;
    }
    const domain = parseDomain(body, (path, message) =>
      ctx.addIssue({ code: 'custom', path: [name, ...path], message }),
    );
    if (domain) space[name] = domain;
  }
  for (const [name, domain] of Object.entries(space)) {
    for (const [parent, value] of Object.entries(domain.when ?? {})) {
      const parentDomain = space[parent];
      if (!parentDomain) {
        ctx.addIssue({ code: 'custom', path: [name, 'when', parent], message: 'names no parameter of the space' });
      } else if (parentDomain.kind !== 'choice') {
        ctx.addIssue({ code: 'custom', path: [name, 'when', parent], message: 'must name a choice parameter' });
      } else {
        const wanted = Array.isArray(value) ? (value as ParamValue[]) : [value];
        const missing = wanted.filter((v) => !parentDomain.values.some((c) => JSON.stringify(c) === JSON.stringify(v)));
        if (missing.length > 0) {
          ctx.addIssue({
            code: 'custom',
            path: [name, 'when', parent],
            message: `${JSON.stringify(missing[0])} is not one of ${parent}'s choices (${parentDomain.values.map((v) => JSON.stringify(v)).join(', ')})`,
          });
        }
      }
    }
  }
  try {
    orderedParams(space);
  } catch (err) {
    ctx.addIssue({ code: 'custom', path: [], message: (err as Error).message.replace(/^search\.space\.?/, '') });
  }
  return space;
});

const positiveInt = z.number().int().positive();
const fraction = z.number().min(0).max(1);

export const datasetSchema = z.union([
  z.string().min(1),
  z.strictObject({
    path: z.string().min(1),
    label: z.string().min(1),
    /** A column holding a group id (for group metrics and group losses). */
    group: z.string().min(1).optional(),
    /** Columns to use as features; default all but label and group. */
    features: z.array(z.string().min(1)).min(1).optional(),
    /** Optional separate test file; otherwise the test split comes from `path`. */
    test: z.string().min(1).optional(),
    /** Image shape for CNNs, e.g. [8, 8, 1]. */
    shape: z.array(positiveInt).min(2).max(3).optional(),
  }),
]);

export const modelSchema = z.strictObject({
  type: z.enum(['mlp', 'cnn', 'linear']).default('mlp'),
  hidden: z.array(positiveInt).default([128]),
  dropout: fraction.default(0),
  /** CNN only: filters per conv block. */
  filters: z.array(positiveInt).optional(),
  /** embed task: embedding dimension. */
  embedding: positiveInt.optional(),
});

export const lossSpecSchema = z.union([z.string().min(1), z.looseObject({ name: z.string().min(1) })]);

export const objectiveSchema = z.strictObject({
  metric: z.string().min(1).default('val_accuracy'),
  mode: z.enum(['max', 'min']).default('max'),
});

/** Multi-objective search takes 2 to 4 objectives (hypervolume and NSGA-II stay cheap there). */
export const MAX_OBJECTIVES = 4;

/**
 * `trial.objective`: one {metric, mode} (a single-objective sweep), or a list of 2 to 4 with
 * distinct metrics (a multi-objective sweep: the leaderboard becomes the Pareto front).
 */
const objectiveListSchema = z
  .array(objectiveSchema)
  .min(2, {
    error: `a list of objectives needs 2 to ${MAX_OBJECTIVES} entries (one objective: give it as {metric, mode})`,
  })
  .max(MAX_OBJECTIVES, { error: `a list of objectives has at most ${MAX_OBJECTIVES} entries` })
  .refine((list) => new Set(list.map((o) => o.metric)).size === list.length, {
    error: 'each objective must name a different metric',
  });

/** The problems of the branch the input's shape picks (a union alone answers "Invalid input"). */
function objectiveError(iss: { input?: unknown; errors?: { message: string; path: PropertyKey[] }[][] }): string {
  if (!Array.isArray(iss.input) && (typeof iss.input !== 'object' || iss.input === null)) {
    return `must be {metric, mode} or a list of 2 to ${MAX_OBJECTIVES} of them`;
  }
  const branch = iss.errors?.[Array.isArray(iss.input) ? 1 : 0] ?? [];
  const shown = branch.map((e) => {
    const path = e.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('');
    return path ? `${path.replace(/^\./, '')}: ${e.message}` : e.message;
  });
  return shown.length > 0 ? shown.join('; ') : 'must be {metric, mode} or a list of them';
}

export const objectivesSchema = z.union([objectiveSchema, objectiveListSchema], { error: objectiveError });

/** An environment variable name (the worker's, for `{fromWorkerEnv: NAME}`). */
const envName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, { error: 'must be an environment variable name (letters, digits, _)' });

export const trialSchema = z.strictObject({
  runtime: z.enum(['tfjs', 'command']).default('tfjs'),
  task: z.string().min(1).optional(),
  dataset: datasetSchema.optional(),
  model: modelSchema.optional(),
  epochs: positiveInt.default(10),
  batchSize: positiveInt.default(64),
  lr: z.number().positive().default(1e-3),
  optimizer: z.enum(['adam', 'sgd', 'rmsprop']).default('adam'),
  weightDecay: z.number().min(0).default(0),
  loss: lossSpecSchema.default('ce'),
  objective: objectivesSchema.default({ metric: 'val_accuracy', mode: 'max' }),
  /**
   * Multi-objective only: the hypervolume's reference point, one value per objective in the
   * metrics' own units (worse than every point that should count). Default: the nadir of the
   * configurations measured so far (shared/pareto.ts `nadir`).
   */
  objectiveReference: z
    .array(z.number().finite(), { error: 'must be a list of numbers, one per objective' })
    .min(2, { error: `must be 2 to ${MAX_OBJECTIVES} numbers, one per objective` })
    .max(MAX_OBJECTIVES, { error: `must be 2 to ${MAX_OBJECTIVES} numbers, one per objective` })
    .optional(),
  split: z
    .strictObject({ validation: fraction.default(0.15), test: fraction.default(0.15) })
    .default({ validation: 0.15, test: 0.15 }),
  labelNoise: z
    .strictObject({ rate: fraction, kind: z.enum(['symmetric', 'asymmetric']).default('symmetric') })
    .optional(),
  /** Keep only `fraction` of the examples of each listed class (training split only). */
  imbalance: z.strictObject({ classes: z.array(z.union([z.number(), z.string()])).min(1), fraction }).optional(),
  /** Save a checkpoint every N epochs (0 = never). */
  checkpointEvery: z.number().int().min(0).default(1),
  /** Fixed seed for this trial; default derives one from search.seed and the trial number. */
  seed: z.number().int().min(0).max(2147483647).optional(),
  /** command runtime: program and arguments; `${params.NAME}` is substituted. */
  command: z.array(z.string()).min(1).optional(),
  /**
   * command runtime: environment of the program. A value is text (`${params.NAME}` substituted)
   * or `{fromWorkerEnv: NAME}`: the worker's own variable NAME, read on the worker, so a secret
   * the worker holds never passes through the coordinator; missing there, the attempt fails.
   */
  env: z.record(z.string(), z.union([z.string(), z.strictObject({ fromWorkerEnv: envName })])).optional(),
  /** command runtime: seconds between SIGTERM and SIGKILL. */
  stopGraceSeconds: z.number().positive().default(10),
  /** Free-form task options (embed, preference, mlff tasks read theirs from here). */
  options: z.record(z.string(), z.unknown()).optional(),
});

export const resourcesSchema = z.strictObject({
  cpus: z.number().positive().default(1),
  gpus: z.number().int().min(0).default(0),
  /** Bytes, or a string like 512Mi / 2Gi. */
  memory: z.union([z.number().int().min(0), z.string().regex(/^\d+(\.\d+)?(Ki|Mi|Gi|Ti)?$/)]).optional(),
  /** Labels a worker must carry (e.g. { gpu: a100 }). */
  labels: z.record(z.string(), z.string()).optional(),
  /**
   * GPU memory each attempt uses on each of its GPUs (bytes, or e.g. 6Gi): attempts share GPUs,
   * packed by memory (coordinator/dispatch/gpu-placement.ts); `gpus` 0 means one GPU. Absent:
   * measured per configuration family (gpuPacking).
   */
  gpuMemory: z
    .union([
      z.number().int().min(1, { error: 'must be at least 1 byte' }),
      z.string().regex(/^\d+(\.\d+)?(Ki|Mi|Gi|Ti)?$/, { error: 'must be bytes or a size like 512Mi, 6Gi' }),
    ])
    .optional(),
  /**
   * Without gpuMemory, for trials with `gpus` >= 1: `measure` (default) runs a configuration
   * family's first attempt on whole GPUs, measures its peak GPU memory, then packs the family's
   * later attempts by it with a margin; `off` keeps whole GPUs.
   */
  gpuPacking: z.enum(['measure', 'off'], { error: 'must be measure or off' }).default('measure'),
  /**
   * The params that make a configuration family (same GPU memory expected). Default: the params
   * whose name contains model, arch, batch, width, depth, layers, hidden or size (any case).
   */
  gpuFamily: z.array(z.string().min(1).max(200)).max(50).optional(),
});

export const searchSchema = z.looseObject({
  algorithm: z.string().min(1).default('random'),
  seed: z.number().int().min(0).default(0),
  space: spaceSchema.default({}),
  /** Run each configuration with k seeds and rank by the mean. */
  replicates: positiveInt.default(1),
});

export const schedulerSchema = z.looseObject({ type: z.string().min(1).default('fifo') });

export const budgetSchema = z.strictObject({
  trials: positiveInt.default(10),
  concurrency: positiveInt.default(4),
  /** Attempts per trial before it fails (attempts whose failure kind has `count: true` in `retry`). */
  maxAttempts: positiveInt.default(3),
  /** Per failure kind: retries and whether they count (shared/spec/retry.ts). */
  retry: retrySchema.default(retrySchema.parse({})),
  /**
   * Prefetch (issue 15 §5): each running attempt may have the sweep's next attempt queued behind
   * it on its worker, started there the moment it ends. `concurrency` attempts still run at once;
   * up to as many more trials exist (queued), so the search suggests each one result earlier.
   */
  prefetch: z.boolean().default(false),
  /** Seconds one attempt may run before it is stopped and fails as `timeout`; absent = no limit. */
  trialTimeout: z
    .number()
    .positive()
    .max(30 * 24 * 3600)
    .optional(),
});

export const sweepSpecSchema = z.strictObject({
  apiVersion: z.literal('trellis/v1', { error: 'must be trellis/v1' }),
  kind: z.literal('Sweep'),
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/, 'must be 1-100 letters, digits, ".", "_" or "-"'),
  description: z.string().optional(),
  trial: trialSchema,
  resources: resourcesSchema.default({ cpus: 1, gpus: 0, gpuPacking: 'measure' }),
  search: searchSchema.default({ algorithm: 'random', seed: 0, space: {}, replicates: 1 }),
  scheduler: schedulerSchema.default({ type: 'fifo' }),
  budget: budgetSchema.default(budgetSchema.parse({})),
});

export type SweepSpec = z.output<typeof sweepSpecSchema>;
export type TrialConfig = z.output<typeof trialSchema>;
export type Resources = z.output<typeof resourcesSchema>;
export type Objective = z.output<typeof objectiveSchema>;

/** The objectives of a trial config, as a list (one entry for a single-objective sweep). */
export function objectivesOf(trial: { objective: Objective | Objective[] }): Objective[] {
  return Array.isArray(trial.objective) ? trial.objective : [trial.objective];
}

/**
 * The one objective of rules that need a single number (the trial's learning curve, the
 * legacy `best`, a scheduler's ranking): the first of the list.
 */
export function primaryObjective(trial: { objective: Objective | Objective[] }): Objective {
  return objectivesOf(trial)[0]!;
}
export type DatasetSpec = z.output<typeof datasetSchema>;
export type ModelSpec = z.output<typeof modelSchema>;
export type LossSpec = z.output<typeof lossSpecSchema>;
