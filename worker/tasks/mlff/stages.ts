/**
 * ASTEROID pipeline stages as tasks (shared/research/ALGORITHMS.md §1), driven by
 * `ctx.config.options`:
 *
 * - `mlff-train`: trains the MLFF on accurate or cheap frames of the system (`system:
 *   morse-toy`, the built-in toy, or `ethanol`, PySCF labels from a data set). Serves as the
 *   teacher, the accurate-only baseline, the (bias-aware / uniform / score-matching)
 *   pretraining and the fine-tuning stage. Reports `loss`, `val_force_mae`, `val_energy_mae`
 *   per epoch and `test_force_mae`, `test_energy_mae` on a held-out accurate test set at the end.
 * - `mlff-bias`: runs a teacher over the cheap frames and outputs the per-frame bias estimate
 *   `e`, the weights `exp(−e/γ)/normalizer` and the teacher's energies (the pseudo-labels).
 *
 * `mlff-train` options: `data` ('accurate' | 'cheap'), `frames` (50 | 500), `weights` (per frame),
 * `framesHash`, `energyLabels` ('reference' | 'teacher') + `teacherWeights`, `init`, `pretrainLoss`
 * ('energy-force' | 'score-matching') + `vectors`, `rho` (0.999), `epochs` (300 | 40), `lr`
 * (3e-3), `batchSize` (25 | 50), `schedule` ('cosine'), `clip` (10), `testFrames` (200 | 40),
 * `valFrames` (50 | 10), `model` ({ basis, hidden, cutoff, muMin, muMax }), and the system:
 * `system` ('morse-toy' | 'ethanol'), `dataset` (a data set file), `atoms` (6, toy),
 * `temperature` (500 K, toy), `seed`, `dataSeed`. `mlff-bias` options: `teacherWeights`, `frames`
 * (500), `gamma` (1), `normalizer` (1) and the system. With the defaults the whole arm set
 * (teacher, bias, two pretrain + fine-tune arms) takes about 30 s on 2 CPU cores (wasm).
 *
 * Frames are never shipped between stages: each stage regenerates (toy) or re-reads (data
 * set) them from `dataSeed` (default: `options.seed`, then the trial seed), which every stage
 * of one pipeline must share; the test set depends only on the data seed (same seed → same
 * test set in every arm). See data.ts.
 *
 * Model weights leave a stage as `info.outputs.checkpoint` (an `MlffWeights` JSON object,
 * ~1.7k numbers for the toy, ~8k for ethanol): a later stage is a different trial, so it cannot read this trial's
 * `ctx.checkpoint`, and the weights are small enough to travel as a stage output that the
 * pipeline substitutes into the next stage's `options.init` / `options.teacherWeights`.
 * `ctx.checkpoint` is still used, for what it is for: resuming this stage after a lost attempt
 * (weights + Adam state + epoch, as JSON, every `checkpointEvery` epochs but at most once per
 * `checkpointSeconds` (default 10 s; the epochs here are short), and after the last epoch).
 */
import type { AttemptContext } from '../../runtimes/base.js';
import { PermanentRunError } from '../../runtimes/base.js';
import { sampleRankCorrelation } from 'simple-statistics';
import type { Task } from '../base.js';
import type { TF } from './model.js';
import { biasErrors, biasWeights } from './losses.js';
import { framesHash, speciesOf, trainFrames } from './data.js';
import { predictWith, trainMlff } from './train.js';
import {
  biasOptionsSchema,
  checkStopped,
  parseOptions,
  systemOf,
  trainOptionsSchema,
  type BiasOptions,
} from './options.js';

export type MlffTask = Task;
export { parseBiasOptions, parseTrainOptions, STAGE_DEFAULTS, type BiasOptions, type TrainOptions } from './options.js';
export { framesHash, heldOutFrames, trainFrames, type SystemOptions } from './data.js';
export { predictWith, trainMlff, type TrainOutcome } from './train.js';

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

const mean = (a: number[]): number => a.reduce((s, v) => s + v, 0) / Math.max(1, a.length);

function median(a: number[]): number {
  const s = [...a].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length === 0 ? 0 : s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** The `mlff-bias` stage on parsed options. */
export function estimateBias(tf: TF, ctx: AttemptContext, opts: BiasOptions): BiasOutcome {
  const sys = systemOf(opts, ctx);
  const system = speciesOf(sys);
  const t = opts.teacherWeights.config;
  if (t.atoms !== system.atoms || JSON.stringify(t.species ?? null) !== JSON.stringify(system.species ?? null)) {
    throw new PermanentRunError(
      `mlff-bias: teacherWeights were trained for another system (${t.atoms} atoms), not this one (${system.atoms} atoms)`,
    );
  }
  const cheap = trainFrames(sys, 'cheap', opts.frames);
  const teacher = predictWith(tf, opts.teacherWeights, cheap.positions);
  const e = biasErrors(teacher.forces, cheap.forces);
  // γ = 'median': the median bias estimate (force errors of a real cheap level are tens of
  // kcal/(mol·Å), where γ = 1 would give every frame a weight of ~0); normalizer = 'mean'
  // rescales the weights to mean 1, so the weighting does not also shrink the learning rate.
  const gamma = opts.gamma === 'median' ? median(e) : opts.gamma;
  const raw = biasWeights(e, gamma > 0 ? gamma : 1, 1);
  const normalizer = opts.normalizer === 'mean' ? mean(raw) : opts.normalizer;
  const weights = raw.map((w) => w / (normalizer > 0 ? normalizer : 1));
  const trueBias = cheap.biasMagnitude ?? [];
  const metrics: Record<string, number> = {
    mean_e: mean(e),
    gamma,
    mean_weight: mean(weights),
    min_weight: Math.min(...weights),
    max_weight: Math.max(...weights),
  };
  if (trueBias.length > 0) metrics.mean_true_bias = mean(trueBias);
  if (e.length >= 3 && trueBias.length === e.length) {
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
