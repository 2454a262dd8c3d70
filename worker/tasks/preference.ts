/**
 * `preference`: a toy Bradley–Terry preference-learning problem for DPO and robust DPO (`rdpo`).
 *
 * Data (generated deterministically from `options.dataSeed`, default the attempt's seed):
 * - `items` feature vectors x ∈ R^d, x ~ N(0, I);
 * - a hidden true reward r*(x) = s · (w*·x + c · tanh(v*·x)) with unit vectors w*, v*,
 *   s = `rewardScale` (default 2) and c = `nonlinearity` (default 0.5);
 * - the items are split 60 / 20 / 20 into train / validation / test items;
 * - `pairs` training pairs (a, b) of distinct training items, labelled by sampling the
 *   Bradley–Terry model P(a ≻ b) = σ(r*(a) − r*(b)); then exactly round(`flipRate` · pairs) of
 *   the labels, chosen at random, are flipped (preference noise, what rDPO corrects for);
 * - `evalPairs` clean validation and test pairs among the validation / test items, labelled by the
 *   true preference sign(r*(a) − r*(b)).
 *
 * Model: a scorer s_θ (linear by default; `model: {type: mlp, hidden}` for an MLP) whose log-ratio
 * against the reference is f_θ(x) = s_θ(x) − s_ref(x), with the reference the initial scorer
 * (`reference: init`, default; f starts at exactly 0) or zero (`reference: zero`). For a pair,
 * h = f_θ(chosen) − f_θ(rejected) and the loss is `rdpo` on `{margins: h}`: ε = 0 is plain DPO,
 * ε > 0 robust DPO.
 *
 * Metrics: per epoch `loss`, `val_pref_accuracy` (fraction of clean validation pairs where
 * sign(h) is the true preference; h = 0 counts one half) and `val_reward_corr`; at the end
 * `test_pref_accuracy` and `test_reward_corr` (Pearson between f_θ(x) and r*(x) on the test
 * items) and `test_reward_slope` (least-squares slope of the implied reward β·f_θ(x) on r*(x)
 * over the test items: 1 when the reward's scale is recovered; DPO on flipped labels shrinks it
 * towards (1 − 2·flipRate), which is the bias robust DPO removes). Natural objective: `val_pref_accuracy` (max), the catalogue's default for `preference`
 * (options and config checks: shared/catalogue/tasks/preference.ts).
 */
import type * as tfType from '@tensorflow/tfjs';
import {
  parsePreferenceOptions,
  validatePreferenceConfig,
  type PreferenceOptions,
} from '../../shared/catalogue/tasks/preference.js';
import { Rng } from '../data/rng.js';
import { createLoss, LossConfigError, resolveLoss, type LossInstance, type LossSpec } from '../losses/index.js';
import { PermanentRunError, type AttemptContext, type RunResult } from '../runtimes/base.js';
import { throwIfStopped, type Task, type TaskBackend } from './base.js';
import { buildModel, type Model } from './models.js';
import {
  addAndDispose,
  batchBoundary,
  checkDiverged,
  finishEpoch,
  makeOptimizer,
  minimizeWithDecay,
  restoreModelCheckpoint,
  resumeTraining,
  saveModelCheckpoint,
  trainingInfo,
} from './training.js';

const CHECKPOINT_FORMAT = 'trellis.preference/1';

// ---------------------------------------------------------------------------------------------
// Data.

export interface PreferencePairs {
  chosen: Int32Array;
  rejected: Int32Array;
  size: number;
}

export interface PreferenceData {
  d: number;
  /** Row-major [items, d]. */
  x: Float32Array;
  /** True reward r*(x) per item. */
  reward: Float64Array;
  trainItems: Int32Array;
  valItems: Int32Array;
  testItems: Int32Array;
  /** Training pairs after label noise. */
  train: PreferencePairs;
  /** Training pairs whose label was flipped (indices into `train`). */
  flipped: Int32Array;
  /** Training pairs whose (noisy) label disagrees with the true preference. */
  trainDisagree: number;
  validation: PreferencePairs;
  test: PreferencePairs;
}

function unitVector(rng: Rng, d: number): Float64Array {
  const v = new Float64Array(d);
  let norm = 0;
  for (let k = 0; k < d; k++) {
    v[k] = rng.normal();
    norm += v[k]! * v[k]!;
  }
  norm = Math.sqrt(norm) || 1;
  for (let k = 0; k < d; k++) v[k]! /= norm;
  return v;
}

function sigmoid(z: number): number {
  return z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
}

/** Two distinct items of `items`, uniformly. */
function drawPair(rng: Rng, items: Int32Array): [number, number] {
  const i = rng.int(items.length);
  let j = rng.int(items.length - 1);
  if (j >= i) j++;
  return [items[i]!, items[j]!];
}

/** Clean pairs: the truly preferred item is `chosen` (pairs with equal true reward are redrawn). */
function cleanPairs(rng: Rng, items: Int32Array, count: number, reward: Float64Array): PreferencePairs {
  const chosen = new Int32Array(count);
  const rejected = new Int32Array(count);
  for (let p = 0; p < count; p++) {
    let [a, b] = drawPair(rng, items);
    for (let tries = 0; reward[a] === reward[b] && tries < 100; tries++) [a, b] = drawPair(rng, items);
    chosen[p] = reward[a]! >= reward[b]! ? a : b;
    rejected[p] = reward[a]! >= reward[b]! ? b : a;
  }
  return { chosen, rejected, size: count };
}

/** The synthetic dataset of a seed (pure, deterministic). */
export function generatePreferenceData(options: PreferenceOptions, seed: number): PreferenceData {
  const { items, d } = options;
  const rng = Rng.create(seed, 'preference-data');
  const w = unitVector(rng, d);
  const v = unitVector(rng, d);
  const x = new Float32Array(items * d);
  const reward = new Float64Array(items);
  for (let i = 0; i < items; i++) {
    let wx = 0;
    let vx = 0;
    for (let k = 0; k < d; k++) {
      const value = rng.normal();
      x[i * d + k] = value;
      wx += w[k]! * value;
      vx += v[k]! * value;
    }
    reward[i] = options.rewardScale * (wx + options.nonlinearity * Math.tanh(vx));
  }
  const order = rng.permutation(items);
  const nVal = Math.max(2, Math.round(items * 0.2));
  const nTest = Math.max(2, Math.round(items * 0.2));
  const testItems = order.slice(0, nTest).sort();
  const valItems = order.slice(nTest, nTest + nVal).sort();
  const trainItems = order.slice(nTest + nVal).sort();
  if (trainItems.length < 2)
    throw new PermanentRunError(`trial.options.items: ${items} items leave fewer than 2 training items`);

  const chosen = new Int32Array(options.pairs);
  const rejected = new Int32Array(options.pairs);
  for (let p = 0; p < options.pairs; p++) {
    const [a, b] = drawPair(rng, trainItems);
    const aWins = rng.float() < sigmoid(reward[a]! - reward[b]!);
    chosen[p] = aWins ? a : b;
    rejected[p] = aWins ? b : a;
  }
  const flipCount = Math.round(options.flipRate * options.pairs);
  const flipped = rng.permutation(options.pairs).slice(0, flipCount).sort();
  for (const p of flipped) {
    const c = chosen[p]!;
    chosen[p] = rejected[p]!;
    rejected[p] = c;
  }
  let trainDisagree = 0;
  for (let p = 0; p < options.pairs; p++) if (reward[chosen[p]!]! < reward[rejected[p]!]!) trainDisagree++;
  return {
    d,
    x,
    reward,
    trainItems,
    valItems,
    testItems,
    train: { chosen, rejected, size: options.pairs },
    flipped,
    trainDisagree,
    validation: cleanPairs(rng, valItems, options.evalPairs, reward),
    test: cleanPairs(rng, testItems, options.evalPairs, reward),
  };
}

/** Fraction of pairs with f(chosen) > f(rejected) (a tie counts one half). */
export function preferenceAccuracy(f: ArrayLike<number>, pairs: PreferencePairs): number {
  if (pairs.size === 0) return NaN;
  let credit = 0;
  for (let p = 0; p < pairs.size; p++) {
    const h = f[pairs.chosen[p]!]! - f[pairs.rejected[p]!]!;
    credit += h > 0 ? 1 : h === 0 ? 0.5 : 0;
  }
  return credit / pairs.size;
}

/** Centred sums of squares and products of a and b over `items`. */
function comomentsOver(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  items: ArrayLike<number>,
): { sab: number; saa: number; sbb: number } {
  const n = items.length;
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < n; i++) {
    ma += a[items[i]!]!;
    mb += b[items[i]!]!;
  }
  ma /= n;
  mb /= n;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    const da = a[items[i]!]! - ma;
    const db = b[items[i]!]! - mb;
    sab += da * db;
    saa += da * da;
    sbb += db * db;
  }
  return { sab, saa, sbb };
}

/** Least-squares slope of `scale`·a on b over `items` (NaN when b is constant). */
export function slopeOver(a: ArrayLike<number>, b: ArrayLike<number>, items: ArrayLike<number>, scale = 1): number {
  if (items.length < 2) return NaN;
  const { sab, sbb } = comomentsOver(a, b, items);
  return sbb > 0 ? (scale * sab) / sbb : NaN;
}

/** Pearson correlation of a and b over `items` (NaN when either is constant). */
export function pearsonOver(a: ArrayLike<number>, b: ArrayLike<number>, items: ArrayLike<number>): number {
  if (items.length < 2) return NaN;
  const { sab, saa, sbb } = comomentsOver(a, b, items);
  return saa > 0 && sbb > 0 ? sab / Math.sqrt(saa * sbb) : NaN;
}

// ---------------------------------------------------------------------------------------------
// The task.

/** s(x) for every item. */
async function scoreItems(tf: typeof tfType, model: Model, x: tfType.Tensor2D): Promise<Float32Array> {
  const s = tf.tidy(() => model.apply(x).logits);
  const out = Float32Array.from((await s.data()) as Float32Array);
  s.dispose();
  return out;
}

export async function runPreference(ctx: AttemptContext, backend: TaskBackend): Promise<RunResult> {
  const { tf } = backend;
  const config = ctx.config;
  const started = Date.now();
  const problems = validatePreferenceConfig(config);
  // Checked again without skipping `${...}`: the references in options are resolved by now.
  const options = parsePreferenceOptions(config.options, problems);
  if (problems.length > 0) throw new PermanentRunError([...new Set(problems)].join('; '));
  const dataSeed = options.dataSeed ?? ctx.seed;
  const data = generatePreferenceData(options, dataSeed);
  const d = data.d;
  const itemCount = options.items;

  let loss: LossInstance;
  try {
    loss = createLoss(config.loss as LossSpec);
  } catch (err) {
    if (err instanceof LossConfigError) throw new PermanentRunError(`trial.loss: ${err.message}`);
    throw err;
  }
  const { params: lossParams } = resolveLoss(config.loss as LossSpec);
  const beta = Number(lossParams.beta);

  const scorer = config.model?.type === 'mlp' ? 'mlp' : 'linear';
  const model = buildModel(
    tf,
    {
      type: scorer,
      hidden: config.model?.hidden ?? [],
      dropout: config.model?.dropout ?? 0,
      inputSize: d,
      numClasses: 1,
    },
    Rng.create(ctx.seed, 'init'),
  );
  const optimizer = makeOptimizer(tf, config);
  const x = tf.tensor2d(data.x, [itemCount, d]);
  const fingerprint = JSON.stringify({ optimizer: config.optimizer, loss: config.loss, options, dataSeed });
  const epochTimes: number[] = [];
  let resumedFrom: number | undefined;

  try {
    // The reference scorer: the initial weights (deterministic from the seed), before any restore.
    const reference = options.reference === 'init' ? await scoreItems(tf, model, x) : new Float32Array(itemCount);
    const logRatios = async (): Promise<Float32Array> => {
      const s = await scoreItems(tf, model, x);
      for (let i = 0; i < itemCount; i++) s[i] = s[i]! - reference[i]!;
      return s;
    };

    const start = await resumeTraining(ctx, 'preference', (saved) =>
      restoreModelCheckpoint(tf, saved, CHECKPOINT_FORMAT, fingerprint, model, optimizer),
    );
    const { rng, startEpoch } = start;
    resumedFrom = start.resumedFrom;

    const train = data.train;
    const n = train.size;
    const batchSize = Math.max(1, Math.min(config.batchSize, n));
    const weightDecay = config.weightDecay;
    const chosenBatch = new Int32Array(batchSize);
    const rejectedBatch = new Int32Array(batchSize);
    const refBatch = new Float32Array(batchSize);

    for (let epoch = startEpoch; epoch <= config.epochs; epoch++) {
      const epochStart = Date.now();
      const order = rng.permutation(n);
      let lossSum: tfType.Scalar = tf.scalar(0);
      for (let start = 0; start < n; start += batchSize) {
        await batchBoundary(ctx, epoch);
        const b = Math.min(batchSize, n - start);
        for (let i = 0; i < b; i++) {
          const p = order[start + i]!;
          chosenBatch[i] = train.chosen[p]!;
          rejectedBatch[i] = train.rejected[p]!;
          refBatch[i] = reference[train.chosen[p]!]! - reference[train.rejected[p]!]!;
        }
        const dropoutSeed = rng.uint32();
        const batchLoss = tf.tidy(() => {
          const idx = tf.concat([
            tf.tensor1d(chosenBatch.subarray(0, b), 'int32'),
            tf.tensor1d(rejectedBatch.subarray(0, b), 'int32'),
          ]);
          const xb = tf.gather(x, idx) as tfType.Tensor2D;
          const ref = tf.tensor1d(refBatch.subarray(0, b));
          let value: tfType.Scalar | undefined;
          minimizeWithDecay(tf, optimizer, model, weightDecay, () => {
            const s = model.apply(xb, { training: true, seed: dropoutSeed }).logits.reshape([2 * b]);
            const margins = tf.sub(tf.sub(s.slice([0], [b]), s.slice([b], [b])), ref);
            const l = loss.compute({ margins });
            value = tf.keep(tf.mul(l, b)) as tfType.Scalar;
            return l;
          });
          return value!;
        });
        lossSum = addAndDispose(tf, lossSum, batchLoss);
      }
      const trainLoss = (await lossSum.data())[0]! / n;
      lossSum.dispose();
      checkDiverged(trainLoss, epoch);
      const f = await logRatios();
      const metrics: Record<string, number> = {
        loss: trainLoss,
        val_pref_accuracy: preferenceAccuracy(f, data.validation),
      };
      const corr = pearsonOver(f, data.reward, data.valItems);
      if (Number.isFinite(corr)) metrics.val_reward_corr = corr;
      await finishEpoch(ctx, epoch, metrics, epochTimes, epochStart, () =>
        saveModelCheckpoint(ctx, CHECKPOINT_FORMAT, fingerprint, model, optimizer, rng, epoch),
      );
    }

    throwIfStopped(ctx.signal, 'before the final evaluation');
    const f = await logRatios();
    const metrics: Record<string, number> = { test_pref_accuracy: preferenceAccuracy(f, data.test) };
    const corr = pearsonOver(f, data.reward, data.testItems);
    if (Number.isFinite(corr)) metrics.test_reward_corr = corr;
    const slope = slopeOver(f, data.reward, data.testItems, beta);
    if (Number.isFinite(slope)) metrics.test_reward_slope = slope;
    return {
      metrics,
      info: {
        backend: backend.name,
        task: 'preference',
        loss: 'rdpo',
        beta: lossParams.beta,
        epsilon: lossParams.epsilon,
        scorer,
        params: model.params,
        reference: options.reference,
        dataSeed,
        items: itemCount,
        d,
        trainItems: data.trainItems.length,
        valItems: data.valItems.length,
        testItems: data.testItems.length,
        trainPairs: n,
        flipRate: options.flipRate,
        flippedPairs: data.flipped.length,
        trainLabelDisagreement: n > 0 ? data.trainDisagree / n : 0,
        evalPairs: options.evalPairs,
        ...trainingInfo(epochTimes, resumedFrom, started),
      },
    };
  } finally {
    x.dispose();
    model.dispose();
    optimizer.dispose();
  }
}

export const preferenceTask: Task = { name: 'preference', run: runPreference };
