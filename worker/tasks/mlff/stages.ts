/**
 * ASTEROID pipeline stages as tasks (shared/research/ALGORITHMS.md §1), driven by
 * `ctx.config.options`:
 *
 * - `mlff-train`: trains the MLFF on accurate or cheap frames of the toy system. Serves as the
 *   teacher, the accurate-only baseline, the (bias-aware / uniform / score-matching)
 *   pretraining and the fine-tuning stage. Reports `loss`, `val_force_mae`, `val_energy_mae`
 *   per epoch and `test_force_mae`, `test_energy_mae` on a held-out accurate test set at the end.
 * - `mlff-bias`: runs a teacher over the cheap frames and outputs the per-frame bias estimate
 *   `e`, the weights `exp(−e/γ)/normalizer` and the teacher's energies (the pseudo-labels).
 *
 * `mlff-train` options: `data` ('accurate' | 'cheap'), `frames` (50 | 500), `weights` (per frame),
 * `framesHash`, `energyLabels` ('reference' | 'teacher') + `teacherWeights`, `init`, `pretrainLoss`
 * ('energy-force' | 'score-matching') + `vectors`, `rho` (0.999), `epochs` (300 | 40), `lr`
 * (3e-3), `batchSize` (25 | 50), `schedule` ('cosine'), `clip` (10), `testFrames` (200),
 * `valFrames` (50), `model` ({ basis, hidden, cutoff }), and the system: `atoms` (6),
 * `temperature` (500 K), `seed`, `dataSeed`. `mlff-bias` options: `teacherWeights`, `frames`
 * (500), `gamma` (1), `normalizer` (1) and the system. With the defaults the whole arm set
 * (teacher, bias, two pretrain + fine-tune arms) takes about 30 s on 2 CPU cores (wasm).
 *
 * Frames are never shipped between stages: each stage regenerates them from `dataSeed`
 * (default: `options.seed`, then the trial seed), which every stage of one pipeline must share.
 * Frame sets come from independent chains: accurate training, cheap, validation and test; the
 * n-frame training set is the first n frames of its chain, so the test set depends only on the
 * data seed (same seed → same test set in every arm).
 *
 * Model weights leave a stage as `info.outputs.checkpoint` (an `MlffWeights` JSON object,
 * ~1.7k numbers): a later stage is a different trial, so it cannot read this trial's
 * `ctx.checkpoint`, and the weights are small enough to travel as a stage output that the
 * pipeline substitutes into the next stage's `options.init` / `options.teacherWeights`.
 * `ctx.checkpoint` is still used, for what it is for: resuming this stage after a lost attempt
 * (weights + Adam state + epoch, as JSON, every `checkpointEvery` epochs but at most once per
 * `checkpointSeconds` (default 10 s; the epochs here are short), and after the last epoch).
 */
import { z } from 'zod';
import type * as tfNs from '@tensorflow/tfjs';
import { sampleRankCorrelation } from 'simple-statistics';
import type { AttemptContext } from '../../runtimes/base.js';
import { PermanentRunError } from '../../runtimes/base.js';
import { trialSchema } from '../../../shared/spec/schema.js';
import { mlffBiasOptionsSchema, mlffTrainOptionsSchema, STAGE_DEFAULTS } from '../../../shared/catalogue/tasks/mlff.js';
import { parseJsonString } from '../../../shared/catalogue/tasks/options.js';
import { throwIfStopped, type Task } from '../base.js';
import { flatten3, generateFrames, mixSeed, Rng, type Frames } from './system.js';
import { fnv1a } from '../../../shared/hash.js';
import {
  createModel,
  DEFAULT_MLFF_CONFIG,
  energyAndForces,
  forces as modelForces,
  getWeights,
  initWeights,
  predict,
  validateWeights,
  type MlffConfig,
  type MlffWeights,
  type TF,
} from './model.js';
import { biasErrors, biasWeights, energyForceLoss, maes, probeVectors, scoreMatchingLoss } from './losses.js';

export type MlffTask = Task;

export { STAGE_DEFAULTS } from '../../../shared/catalogue/tasks/mlff.js';

// ---------------------------------------------------------------------------------------------
// Data sets (all regenerated from the data seed).

/** Stream ids mixed into the data seed, one MC chain per set. */
const STREAM = { train: 11, cheap: 12, val: 13, test: 14 } as const;

export interface SystemOptions {
  atoms: number;
  temperature: number;
  dataSeed: number;
}

export function trainFrames(sys: SystemOptions, data: 'accurate' | 'cheap', n: number): Frames {
  return generateFrames({
    n,
    seed: mixSeed(sys.dataSeed, data === 'accurate' ? STREAM.train : STREAM.cheap),
    potential: data,
    temperature: sys.temperature,
    atoms: sys.atoms,
  });
}

export function heldOutFrames(sys: SystemOptions, which: 'val' | 'test', n: number): Frames {
  return generateFrames({
    n,
    seed: mixSeed(sys.dataSeed, STREAM[which]),
    potential: 'accurate',
    temperature: sys.temperature,
    atoms: sys.atoms,
  });
}

/** FNV-1a over the float32 positions: lets a stage check it regenerated the frames it was given weights for. */
export function framesHash(frames: Frames): string {
  return fnv1a(new Uint8Array(flatten3(frames.positions).buffer))
    .toString(16)
    .padStart(8, '0');
}

// ---------------------------------------------------------------------------------------------
// Options.

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

const trainOptionsSchema = mlffTrainOptionsSchema.extend({
  teacherWeights: weightsInput.optional(),
  init: weightsInput.optional(),
});

export type TrainOptions = z.output<typeof trainOptionsSchema>;

const biasOptionsSchema = mlffBiasOptionsSchema.extend({ teacherWeights: weightsInput });

export type BiasOptions = z.output<typeof biasOptionsSchema>;

function parseOptions<S extends z.ZodType>(schema: S, raw: unknown, task: string): z.output<S> {
  const parsed = schema.safeParse(raw ?? {});
  if (!parsed.success) {
    const msg = parsed.error.issues.map((i) => `options.${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new PermanentRunError(`${task}: ${msg}`);
  }
  return parsed.data;
}

const SCHEMA_DEFAULTS = trialSchema.parse({});

/**
 * A trial-level setting (`epochs`, `lr`, `batchSize`) applies when it was searched or set to
 * something other than the schema default; otherwise the stage default. Options win over both.
 */
function trialSetting(ctx: AttemptContext, key: 'epochs' | 'lr' | 'batchSize', fallback: number): number {
  const value = ctx.config[key];
  if (key in ctx.params || value !== SCHEMA_DEFAULTS[key]) return value;
  return fallback;
}

function systemOf(
  opts: { atoms: number; temperature: number; seed?: number | undefined; dataSeed?: number | undefined },
  ctx: AttemptContext,
): SystemOptions {
  return { atoms: opts.atoms, temperature: opts.temperature, dataSeed: opts.dataSeed ?? opts.seed ?? ctx.seed };
}

function checkStopped(signal: AbortSignal): void {
  throwIfStopped(signal, 'during MLFF training');
}

// ---------------------------------------------------------------------------------------------
// Training.

interface ResumeState {
  epoch: number;
  weights: MlffWeights;
  optimizer: { name: string; shape: number[]; values: number[] }[];
}

function clipByGlobalNorm(tf: TF, grads: tfNs.NamedTensorMap, maxNorm: number): tfNs.NamedTensorMap {
  if (!(maxNorm > 0)) return grads;
  const names = Object.keys(grads);
  const norm = tf.tidy(() => Math.sqrt(tf.addN(names.map((n) => tf.sum(tf.square(grads[n]!)))).dataSync()[0]!));
  if (!(norm > maxNorm)) return grads;
  const scale = maxNorm / norm;
  const out: tfNs.NamedTensorMap = {};
  for (const n of names) {
    out[n] = tf.mul(grads[n]!, scale);
    grads[n]!.dispose();
  }
  return out;
}

function modelConfig(opts: TrainOptions): MlffConfig {
  return {
    ...DEFAULT_MLFF_CONFIG,
    atoms: opts.atoms,
    ...(opts.model?.basis ? { basis: opts.model.basis } : {}),
    ...(opts.model?.hidden ? { hidden: opts.model.hidden } : {}),
    ...(opts.model?.cutoff ? { cutoff: opts.model.cutoff } : {}),
  };
}

export interface TrainOutcome {
  metrics: Record<string, number>;
  weights: MlffWeights;
  info: Record<string, unknown>;
}

/** Energies [n] predicted by `weights` for `frames` (teacher pseudo-labels). */
export function predictWith(
  tf: TF,
  weights: MlffWeights,
  positions: number[][][],
): { energies: number[]; forces: number[][][] } {
  const model = createModel(tf, weights);
  try {
    return predict(tf, model, positions);
  } finally {
    model.dispose();
  }
}

/** The `mlff-train` stage on parsed options (exported for tests and the arms runner). */
export async function trainMlff(tf: TF, ctx: AttemptContext, opts: TrainOptions): Promise<TrainOutcome> {
  const started = Date.now();
  const sys = systemOf(opts, ctx);
  const seed = opts.seed ?? ctx.seed;
  const defaults = STAGE_DEFAULTS[opts.data];
  const nFrames = opts.frames ?? defaults.frames;
  const epochs = opts.epochs ?? trialSetting(ctx, 'epochs', defaults.epochs);
  const lr = opts.lr ?? trialSetting(ctx, 'lr', defaults.lr);
  const batchSize = Math.min(nFrames, opts.batchSize ?? trialSetting(ctx, 'batchSize', defaults.batchSize));
  const scoreMatching = opts.pretrainLoss === 'score-matching';

  if (opts.weights && opts.weights.length !== nFrames) {
    throw new PermanentRunError(`mlff-train: options.weights has ${opts.weights.length} entries for ${nFrames} frames`);
  }
  if (opts.energyLabels === 'teacher' && !opts.teacherWeights) {
    throw new PermanentRunError('mlff-train: energyLabels "teacher" needs options.teacherWeights');
  }
  if (opts.init && opts.init.config.atoms !== opts.atoms) {
    throw new PermanentRunError(
      `mlff-train: options.init was trained for ${opts.init.config.atoms} atoms, not ${opts.atoms}`,
    );
  }

  const train = trainFrames(sys, opts.data, nFrames);
  const hash = framesHash(train);
  if (opts.framesHash !== undefined && opts.framesHash !== hash) {
    throw new PermanentRunError(
      `mlff-train: regenerated frames (hash ${hash}) differ from the ones the weights were computed on (${opts.framesHash}); use the same dataSeed, atoms, temperature and frames`,
    );
  }
  const val = heldOutFrames(sys, 'val', opts.valFrames);
  const test = heldOutFrames(sys, 'test', opts.testFrames);

  let energyTargets = train.energies;
  if (opts.energyLabels === 'teacher') {
    if (opts.teacherWeights!.config.atoms !== opts.atoms)
      throw new PermanentRunError('mlff-train: teacherWeights were trained for another atom count');
    energyTargets = predictWith(tf, opts.teacherWeights!, train.positions).energies;
  }

  const config = opts.init ? opts.init.config : modelConfig(opts);
  const shift = energyTargets.reduce((a, b) => a + b, 0) / (energyTargets.length * opts.atoms);
  let weights = opts.init ?? initWeights(config, mixSeed(seed, 101), shift);
  let resume: ResumeState | undefined;
  const saved = await ctx.checkpoint.load();
  if (saved) {
    try {
      resume = JSON.parse(saved.data.toString('utf8')) as ResumeState;
      weights = validateWeights(resume.weights);
      if (!Number.isInteger(resume.epoch) || !Array.isArray(resume.optimizer))
        throw new Error('missing epoch or optimizer state');
    } catch (err) {
      ctx.log(`mlff-train: ignoring unreadable checkpoint (${(err as Error).message})`);
      resume = undefined;
      weights = opts.init ?? initWeights(config, mixSeed(seed, 101), shift);
    }
  }
  const atoms = opts.atoms;
  const model = createModel(tf, weights);
  const varList = model.vars;
  const optimizer = tf.train.adam(lr);
  const allR = tf.tensor3d(flatten3(train.positions), [nFrames, atoms, 3]);
  const allF = tf.tensor3d(flatten3(train.forces), [nFrames, atoms, 3]);
  const allE = tf.tensor1d(energyTargets);
  const allW = opts.weights ? tf.tensor1d(opts.weights) : undefined;
  const evaluate = (frames: Frames): { energy: number; force: number } =>
    maes(predict(tf, model, frames.positions), frames);

  let startEpoch = 1;
  let lastLoss = NaN;
  let lastVal = { energy: NaN, force: NaN };
  const checkpointEvery = ctx.config.checkpointEvery;
  let lastSave = Date.now();
  try {
    if (resume) {
      const opt = resume.optimizer.map((o) => ({ name: o.name, tensor: tf.tensor(o.values, o.shape) }));
      await optimizer.setWeights(opt);
      opt.forEach((o) => o.tensor.dispose());
      startEpoch = resume.epoch + 1;
      ctx.log(`mlff-train: resumed after epoch ${resume.epoch}`);
    } else if (!scoreMatching) {
      // Energies are only defined up to a constant by the forces (and ρ = 0.999 leaves the energy
      // term little pull), so start with the output bias at the median residual per atom: the
      // MAE-optimal constant. Forces are unaffected.
      const pred = predict(tf, model, train.positions).energies;
      const residuals = energyTargets.map((e, i) => e - pred[i]!).sort((a, b) => a - b);
      const mid = residuals.length >> 1;
      const median = residuals.length % 2 ? residuals[mid]! : (residuals[mid - 1]! + residuals[mid]!) / 2;
      const bOut = model.vars[model.vars.length - 1]!;
      tf.tidy(() => bOut.assign(tf.add(bOut, median / atoms)));
    }
    for (let epoch = startEpoch; epoch <= epochs; epoch++) {
      const order = new Rng(mixSeed(seed, 202, epoch)).shuffle(Array.from({ length: nFrames }, (_, i) => i));
      if (opts.schedule === 'cosine') {
        // Epoch 1 runs at lr, the last at lr/20 (a constant lr leaves the final weights noisy).
        const t = epochs > 1 ? (epoch - 1) / (epochs - 1) : 1;
        (optimizer as unknown as { learningRate: number }).learningRate =
          lr * (0.05 + 0.95 * 0.5 * (1 + Math.cos(Math.PI * t)));
      }
      let lossSum = 0;
      let count = 0;
      for (let start = 0; start < nFrames; start += batchSize) {
        checkStopped(ctx.signal);
        const idx = order.slice(start, start + batchSize);
        const b = idx.length;
        const lossValue = tf.tidy(() => {
          const ids = tf.tensor1d(idx, 'int32');
          const R = tf.gather(allR, ids);
          const probes = scoreMatching
            ? probeVectors(tf, opts.vectors, [b, atoms, 3], mixSeed(seed, 303, epoch, start))
            : undefined;
          const { value, grads } = tf.variableGrads(() => {
            if (probes)
              return scoreMatchingLoss(tf, (x) => modelForces(tf, model, x), R, {
                vectors: probes,
                temperature: opts.temperature,
              });
            const { energy, forces } = energyAndForces(tf, model, R);
            return energyForceLoss(tf, {
              predEnergy: energy,
              trueEnergy: tf.gather(allE, ids),
              predForces: forces,
              trueForces: tf.gather(allF, ids),
              ...(allW ? { weights: tf.gather(allW, ids) } : {}),
              rho: opts.rho,
            });
          }, varList);
          optimizer.applyGradients(
            clipByGlobalNorm(tf, grads, opts.clip) as unknown as Parameters<typeof optimizer.applyGradients>[0],
          );
          return value.dataSync()[0]!;
        });
        if (!Number.isFinite(lossValue)) throw new Error(`mlff-train: loss became ${lossValue} at epoch ${epoch}`);
        lossSum += lossValue * b;
        count += b;
        // Yield to the event loop so aborts and heartbeats get through.
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
      lastLoss = lossSum / count;
      lastVal = evaluate(val);
      ctx.report(epoch, { loss: lastLoss, val_force_mae: lastVal.force, val_energy_mae: lastVal.energy });
      const due =
        epoch === epochs || (epoch % checkpointEvery === 0 && Date.now() - lastSave >= opts.checkpointSeconds * 1000);
      if (checkpointEvery > 0 && due) {
        lastSave = Date.now();
        const optWeights = await optimizer.getWeights();
        const state: ResumeState = {
          epoch,
          weights: getWeights(model),
          optimizer: optWeights.map((w) => ({
            name: w.name,
            shape: w.tensor.shape,
            values: Array.from(w.tensor.dataSync()),
          })),
        };
        optWeights[0]?.tensor.dispose(); // the iteration count is a fresh scalar; the moments are the optimizer's own
        await ctx.checkpoint.save({ step: epoch, data: Buffer.from(JSON.stringify(state), 'utf8') });
      }
    }
    if (startEpoch > epochs) lastVal = evaluate(val);
    const testMae = evaluate(test);
    const finalWeights = getWeights(model);
    const metrics: Record<string, number> = {
      test_force_mae: testMae.force,
      test_energy_mae: testMae.energy,
      val_force_mae: lastVal.force,
      val_energy_mae: lastVal.energy,
    };
    if (Number.isFinite(lastLoss)) metrics.loss = lastLoss;
    return {
      metrics,
      weights: finalWeights,
      info: {
        data: opts.data,
        frames: nFrames,
        framesHash: hash,
        dataSeed: sys.dataSeed,
        epochs,
        lr,
        schedule: opts.schedule,
        batchSize,
        loss: scoreMatching ? 'score-matching' : 'energy-force',
        weighted: Boolean(opts.weights),
        energyLabels: opts.energyLabels,
        initialised: opts.init ? 'init' : 'scratch',
        mcAcceptance: train.acceptance,
        seconds: (Date.now() - started) / 1000,
      },
    };
  } finally {
    model.dispose();
    optimizer.dispose();
    allR.dispose();
    allF.dispose();
    allE.dispose();
    allW?.dispose();
  }
}

// ---------------------------------------------------------------------------------------------
// Bias estimate.

export interface BiasOutcome {
  metrics: Record<string, number>;
  outputs: {
    e: number[];
    weights: number[];
    teacherEnergies: number[];
    framesHash: string;
    dataSeed: number;
    frames: number;
  };
  /** The true injected bias per frame (toy only; for diagnostics and tests). */
  trueBias: number[];
}

/** The `mlff-bias` stage on parsed options. */
export function estimateBias(tf: TF, ctx: AttemptContext, opts: BiasOptions): BiasOutcome {
  const sys = systemOf(opts, ctx);
  if (opts.teacherWeights.config.atoms !== opts.atoms) {
    throw new PermanentRunError(
      `mlff-bias: teacherWeights were trained for ${opts.teacherWeights.config.atoms} atoms, not ${opts.atoms}`,
    );
  }
  const cheap = trainFrames(sys, 'cheap', opts.frames);
  const teacher = predictWith(tf, opts.teacherWeights, cheap.positions);
  const e = biasErrors(teacher.forces, cheap.forces);
  const weights = biasWeights(e, opts.gamma, opts.normalizer);
  const trueBias = cheap.biasMagnitude ?? [];
  const mean = (a: number[]): number => a.reduce((s, v) => s + v, 0) / Math.max(1, a.length);
  const metrics: Record<string, number> = {
    mean_e: mean(e),
    mean_weight: mean(weights),
    min_weight: Math.min(...weights),
    mean_true_bias: mean(trueBias),
  };
  if (e.length >= 3) {
    metrics.spearman_e_true_bias = sampleRankCorrelation(e, trueBias);
    metrics.spearman_weight_true_bias = sampleRankCorrelation(weights, trueBias);
  }
  return {
    metrics,
    outputs: {
      e,
      weights,
      teacherEnergies: teacher.energies,
      framesHash: framesHash(cheap),
      dataSeed: sys.dataSeed,
      frames: opts.frames,
    },
    trueBias,
  };
}

// ---------------------------------------------------------------------------------------------
// Tasks.

export const mlffTrainTask: MlffTask = {
  name: 'mlff-train',
  async run(ctx, backend) {
    const opts = parseOptions(trainOptionsSchema, ctx.config.options, 'mlff-train');
    const out = await trainMlff(backend.tf, ctx, opts);
    return { metrics: out.metrics, info: { ...out.info, backend: backend.name, outputs: { checkpoint: out.weights } } };
  },
};

export const mlffBiasTask: MlffTask = {
  name: 'mlff-bias',
  async run(ctx, backend) {
    const started = Date.now();
    const opts = parseOptions(biasOptionsSchema, ctx.config.options, 'mlff-bias');
    checkStopped(ctx.signal);
    const out = estimateBias(backend.tf, ctx, opts);
    ctx.report(1, out.metrics);
    return {
      metrics: out.metrics,
      info: { backend: backend.name, seconds: (Date.now() - started) / 1000, outputs: out.outputs },
    };
  },
};

export function parseTrainOptions(raw: unknown): TrainOptions {
  return parseOptions(trainOptionsSchema, raw, 'mlff-train');
}

export function parseBiasOptions(raw: unknown): BiasOptions {
  return parseOptions(biasOptionsSchema, raw, 'mlff-bias');
}
