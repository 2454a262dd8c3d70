/**
 * `classify`: supervised classification on a CSV dataset (or a built-in) with a linear model, an
 * MLP or a small CNN, trained with any classification loss from `worker/losses` on raw logits.
 *
 * The training loop is written by hand (optimizer.minimize over our own variables) because the
 * losses are custom functions of several inputs (logits, labels, features, sample ids, groups,
 * likelihoods). Everything random is seeded from the attempt's seed: the data split, label noise,
 * weight init, the per-epoch shuffle and the dropout masks. Checkpoints hold the weights, the
 * optimizer's state (Adam moments...), the loss state and the training RNG's position, so a
 * resumed attempt continues exactly where the checkpointed one was.
 */
import type * as tfType from '@tensorflow/tfjs';
import { lossName } from '../../shared/catalogue/tasks/base.js';
import { classifyOptionProblems, validateClassifyConfig } from '../../shared/catalogue/tasks/classify.js';
import { loadDataset, type DataSplit, type PreparedDataset } from '../data/load.js';
import { Rng } from '../data/rng.js';
import {
  LossConfigError,
  resolveLoss,
  type LossDefinition,
  type LossInputName,
  type LossInstance,
  type LossParamValue,
  type LossSpec,
  type LossTensors,
} from '../losses/index.js';
import { PermanentRunError, type AttemptContext, type RunResult } from '../runtimes/base.js';
import { encodeCheckpoint } from '../runtimes/tfjs/checkpoint.js';
import { throwIfStopped, type Task, type TaskBackend } from './base.js';
import {
  accuracy,
  aucBinary,
  balancedAccuracy,
  eceFromProbabilities,
  groupAccuracies,
  macroF1,
  argmaxRows,
} from './metrics.js';
import type { Model } from './models.js';
import {
  addAndDispose,
  batchBoundary,
  buildTaskModel,
  checkDiverged,
  finishEpoch,
  cnnInputShape,
  loadTraining,
  makeOptimizer,
  minimizeWithDecay,
  missingModelWeights,
  modelSpecOf,
  openCheckpoint,
  resumeTraining,
  trainingInfo,
  snapshotTraining,
} from './training.js';

const CHECKPOINT_FORMAT = 'trellis.classify/1';
const EVAL_CHUNK = 1024;

interface CheckpointMeta {
  format: string;
  epoch: number;
  rng: number[];
  signature: string;
  optimizer: string;
  loss: string;
  lossState?: unknown;
  modelNames: string[];
  optimizerNames: string[];
}

/** The training split restricted to (and repeated along) `indices`. */
function selectRows(
  split: DataSplit & { cleanY: Int32Array },
  indices: readonly number[],
  d: number,
): DataSplit & { cleanY: Int32Array } {
  const bad = indices.find((i) => !Number.isInteger(i) || i < 0 || i >= split.size);
  if (bad !== undefined) {
    throw new PermanentRunError(
      `trial.options.trainIndices: ${bad} is not a row of the training split (0..${split.size - 1})`,
    );
  }
  const x = new Float32Array(indices.length * d);
  const y = new Int32Array(indices.length);
  const cleanY = new Int32Array(indices.length);
  const ids = new Int32Array(indices.length);
  const groups = split.groups ? new Int32Array(indices.length) : undefined;
  indices.forEach((row, i) => {
    x.set(split.x.subarray(row * d, row * d + d), i * d);
    y[i] = split.y[row]!;
    cleanY[i] = split.cleanY[row]!;
    ids[i] = split.ids[row]!;
    if (groups) groups[i] = split.groups![row]!;
  });
  return { x, y, cleanY, ids, ...(groups ? { groups } : {}), size: indices.length };
}

/** Every example's raw logits, cross-entropy and label, in split order. */
async function trainOutputs(
  tf: typeof tfType,
  model: Model,
  split: DataSplit,
  d: number,
  k: number,
): Promise<{ logits: number[][]; losses: number[]; labels: number[] }> {
  const logits: number[][] = [];
  const losses: number[] = [];
  for (let start = 0; start < split.size; start += EVAL_CHUNK) {
    const end = Math.min(split.size, start + EVAL_CHUNK);
    const [l, ce] = tf.tidy(() => {
      const x = tf.tensor2d(split.x.subarray(start * d, end * d), [end - start, d]);
      const y = tf.tensor1d(split.y.subarray(start, end), 'int32');
      const out = model.apply(x).logits;
      const ce = tf.neg(tf.sum(tf.mul(tf.logSoftmax(out), tf.oneHot(y, k)), 1));
      return [out, ce];
    });
    const lv = (await l.data()) as Float32Array;
    const cv = (await ce.data()) as Float32Array;
    tf.dispose([l, ce]);
    for (let i = 0; i < end - start; i++) {
      logits.push(Array.from(lv.subarray(i * k, (i + 1) * k), (v) => Number(v.toFixed(5))));
      losses.push(Number(cv[i]!.toFixed(6)));
    }
  }
  return { logits, losses, labels: Array.from(split.y) };
}

/** Per-sample `likelihoods`: the frequency of the sample's class over the largest class frequency. */
function classLikelihoods(labels: Int32Array, numClasses: number): Float32Array {
  const counts = new Float64Array(numClasses);
  for (const y of labels) counts[y]!++;
  const largest = Math.max(...counts);
  return Float32Array.from(labels, (y) => (largest > 0 ? counts[y]! / largest : 0));
}

interface Evaluation {
  probs: Float32Array;
  predictions: Int32Array;
  /** Mean cross-entropy. */
  loss: number;
}

async function evaluate(
  tf: typeof tfType,
  model: Model,
  split: DataSplit,
  numFeatures: number,
  numClasses: number,
): Promise<Evaluation> {
  const probs = new Float32Array(split.size * numClasses);
  let lossSum = 0;
  for (let start = 0; start < split.size; start += EVAL_CHUNK) {
    const end = Math.min(split.size, start + EVAL_CHUNK);
    const [p, ce] = tf.tidy(() => {
      const x = tf.tensor2d(split.x.subarray(start * numFeatures, end * numFeatures), [end - start, numFeatures]);
      const y = tf.tensor1d(split.y.subarray(start, end), 'int32');
      const { logits } = model.apply(x);
      const logp = tf.logSoftmax(logits);
      const ce = tf.neg(tf.sum(tf.mul(logp, tf.oneHot(y, numClasses)))) as tfType.Scalar;
      return [tf.exp(logp), ce];
    });
    probs.set((await p.data()) as Float32Array, start * numClasses);
    lossSum += (await ce.data())[0]!;
    p.dispose();
    ce.dispose();
  }
  return { probs, predictions: argmaxRows(probs, numClasses), loss: split.size > 0 ? lossSum / split.size : NaN };
}

function finalMetrics(
  data: PreparedDataset,
  split: DataSplit,
  evaluation: Evaluation,
  prefix: string,
): Record<string, number> {
  const metrics: Record<string, number> = {};
  if (split.size === 0) return metrics;
  const k = data.numClasses;
  const { predictions, probs } = evaluation;
  metrics[`${prefix}_accuracy`] = accuracy(split.y, predictions);
  metrics[`${prefix}_loss`] = evaluation.loss;
  metrics[`${prefix}_macro_f1`] = macroF1(split.y, predictions);
  metrics[`${prefix}_balanced_accuracy`] = balancedAccuracy(split.y, predictions);
  metrics[`${prefix}_ece`] = eceFromProbabilities(probs, k, split.y);
  if (k === 2) {
    const scores = Float32Array.from({ length: split.size }, (_, i) => probs[i * 2 + 1]!);
    const auc = aucBinary(split.y, scores);
    if (Number.isFinite(auc)) metrics[`${prefix}_auc`] = auc;
  }
  if (split.groups && data.groupNames) {
    const names = data.groupNames;
    const groups = Array.from(split.groups, (g) => names[g]!);
    const result = groupAccuracies(split.y, predictions, groups);
    metrics[`${prefix}_worst_group_accuracy`] = result.worst;
    metrics[`${prefix}_group_gap`] = result.gap;
    for (const [g, value] of Object.entries(result.perGroup)) metrics[`${prefix}_group_accuracy.${g}`] = value;
  }
  for (const [key, value] of Object.entries(metrics)) if (!Number.isFinite(value)) delete metrics[key];
  return metrics;
}

/** Saves the weights, the optimizer's state with Adam's β powers, the loss state and the RNG position. */
async function saveCheckpoint(
  ctx: AttemptContext,
  model: Model,
  optimizer: tfType.Optimizer,
  loss: LossInstance,
  rng: Rng,
  epoch: number,
): Promise<void> {
  const { tensors, optimizerNames } = await snapshotTraining(model, optimizer, true);
  const meta: CheckpointMeta = {
    format: CHECKPOINT_FORMAT,
    epoch,
    rng: rng.getState(),
    signature: model.signature,
    optimizer: ctx.config.optimizer,
    loss: JSON.stringify(ctx.config.loss),
    ...(loss.saveState ? { lossState: loss.saveState() } : {}),
    modelNames: model.names,
    optimizerNames,
  };
  await ctx.checkpoint.save({ step: epoch, data: encodeCheckpoint(meta, tensors) });
}

/** Restores a checkpoint into the model, optimizer and loss; returns the epoch and RNG, or why not. */
async function restoreCheckpoint(
  tf: typeof tfType,
  data: Buffer,
  ctx: AttemptContext,
  model: Model,
  optimizer: tfType.Optimizer,
  loss: LossInstance,
): Promise<{ epoch: number; rng: Rng } | string> {
  const opened = openCheckpoint<CheckpointMeta>(data, CHECKPOINT_FORMAT, model);
  if (typeof opened === 'string') return opened;
  const { meta, byName } = opened;
  if (meta.optimizer !== ctx.config.optimizer) return `checkpoint is from optimizer ${meta.optimizer}`;
  if (meta.loss !== JSON.stringify(ctx.config.loss)) return 'checkpoint is from a different loss';
  const missing = missingModelWeights(model, byName);
  if (missing) return missing;
  // The loss state first: if it is rejected, nothing has been changed yet (the caller makes a new loss).
  if (meta.lossState !== undefined && loss.loadState) {
    try {
      loss.loadState(meta.lossState);
    } catch (err) {
      return `the loss rejected its saved state (${(err as Error).message})`;
    }
  }
  await loadTraining(tf, byName, meta.optimizerNames, model, optimizer);
  return { epoch: meta.epoch, rng: Rng.fromState(meta.rng) };
}

function wantedInputs(definition: LossDefinition): Set<LossInputName> {
  return new Set([...definition.inputs, ...(definition.optionalInputs ?? [])]);
}

export async function runClassify(ctx: AttemptContext, backend: TaskBackend): Promise<RunResult> {
  const { tf } = backend;
  const config = ctx.config;
  const started = Date.now();
  // Checked again on the worker: the references in options are resolved by now.
  const problems = [...validateClassifyConfig(config), ...classifyOptionProblems(config.options, false)];
  if (problems.length > 0) throw new PermanentRunError([...new Set(problems)].join('; '));

  const data = loadDataset(config, ctx.seed, ctx.limits?.data);
  const k = data.numClasses;
  const d = data.numFeatures;
  const originalTrainSize = data.train.size;
  const trainIndices = config.options?.trainIndices as number[] | undefined;
  if (trainIndices) data.train = selectRows(data.train, trainIndices, d);
  if (k < 2) throw new PermanentRunError(`trial.dataset: ${data.name} has ${k} class; classify needs at least 2`);

  const modelSpec = modelSpecOf(config);
  const shape = cnnInputShape(modelSpec, data.shape, d);

  let definition: LossDefinition;
  let lossParams: Record<string, LossParamValue>;
  let loss: LossInstance;
  try {
    const resolved = resolveLoss(config.loss as LossSpec);
    definition = resolved.definition;
    lossParams = resolved.params;
    loss = definition.create(lossParams);
  } catch (err) {
    if (err instanceof LossConfigError) throw new PermanentRunError(`trial.loss: ${err.message}`);
    throw err;
  }
  const wanted = wantedInputs(definition);
  if (definition.inputs.includes('probs') && k !== 2) {
    throw new PermanentRunError(`trial.loss: ${definition.name} is a binary loss but ${data.name} has ${k} classes`);
  }
  if (definition.inputs.includes('groups') && !data.train.groups) {
    throw new PermanentRunError(`trial.dataset.group: loss ${definition.name} needs a group column (dataset.group)`);
  }

  const model = buildTaskModel(backend, modelSpec, d, k, shape, ctx.seed);
  const optimizer = makeOptimizer(tf, config);
  const epochTimes: number[] = [];
  let resumedFrom: number | undefined;

  try {
    const start = await resumeTraining(
      ctx,
      'classify',
      (saved) => restoreCheckpoint(tf, saved, ctx, model, optimizer, loss),
      () => {
        loss = definition.create(lossParams);
      },
    );
    const { rng, startEpoch } = start;
    resumedFrom = start.resumedFrom;

    const train = data.train;
    const n = train.size;
    const batchSize = Math.max(1, Math.min(config.batchSize, n));
    const likelihoods = wanted.has('likelihoods') ? classLikelihoods(train.y, k) : undefined;
    const weightDecay = config.weightDecay;
    const xBatch = new Float32Array(batchSize * d);
    const yBatch = new Int32Array(batchSize);
    const idBatch = new Int32Array(batchSize);
    const groupBatch = new Int32Array(batchSize);
    const likelihoodBatch = new Float32Array(batchSize);

    for (let epoch = startEpoch; epoch <= config.epochs; epoch++) {
      const epochStart = Date.now();
      const order = rng.permutation(n);
      let lossSum: tfType.Scalar = tf.scalar(0);
      let correctSum: tfType.Scalar = tf.scalar(0);
      for (let start = 0; start < n; start += batchSize) {
        await batchBoundary(ctx, epoch);
        const b = Math.min(batchSize, n - start);
        for (let i = 0; i < b; i++) {
          const row = order[start + i]!;
          xBatch.set(train.x.subarray(row * d, row * d + d), i * d);
          yBatch[i] = train.y[row]!;
          idBatch[i] = train.ids[row]!;
          if (train.groups) groupBatch[i] = train.groups[row]!;
          if (likelihoods) likelihoodBatch[i] = likelihoods[row]!;
        }
        const dropoutSeed = rng.uint32();
        const [batchLoss, batchCorrect] = tf.tidy(() => {
          const x = tf.tensor2d(xBatch.subarray(0, b * d), [b, d]);
          const y = tf.tensor1d(yBatch.subarray(0, b), 'int32');
          const extra: LossTensors = {};
          if (wanted.has('sampleIds')) extra.sampleIds = tf.tensor1d(idBatch.subarray(0, b), 'int32');
          if (wanted.has('groups') && train.groups) extra.groups = tf.tensor1d(groupBatch.subarray(0, b), 'int32');
          if (likelihoods) extra.likelihoods = tf.tensor1d(likelihoodBatch.subarray(0, b), 'float32');
          let dataLoss: tfType.Scalar | undefined;
          let correct: tfType.Scalar | undefined;
          minimizeWithDecay(tf, optimizer, model, weightDecay, () => {
            const { logits, features } = model.apply(x, { training: true, seed: dropoutSeed });
            const inputs: LossTensors = { ...extra, logits, labels: y };
            if (wanted.has('features')) inputs.features = features;
            if (wanted.has('probs') && k === 2) inputs.probs = tf.softmax(logits).slice([0, 1], [b, 1]).reshape([b]);
            const value = loss.compute(inputs);
            dataLoss = tf.keep(value.mul(b)) as tfType.Scalar;
            correct = tf.keep(tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), y), 'float32'))) as tfType.Scalar;
            return value;
          });
          return [dataLoss!, correct!];
        });
        lossSum = addAndDispose(tf, lossSum, batchLoss);
        correctSum = addAndDispose(tf, correctSum, batchCorrect);
      }
      const trainLoss = (await lossSum.data())[0]! / n;
      const trainAccuracy = (await correctSum.data())[0]! / n;
      tf.dispose([lossSum, correctSum]);
      checkDiverged(trainLoss, epoch);
      const metrics: Record<string, number> = { loss: trainLoss, accuracy: trainAccuracy };
      if (data.validation.size > 0) {
        const val = await evaluate(tf, model, data.validation, d, k);
        metrics.val_loss = val.loss;
        metrics.val_accuracy = accuracy(data.validation.y, val.predictions);
        // Grouped data: the group figures per epoch too, so a sweep can select on them (a
        // fairness objective on the validation split, not the test split).
        if (data.validation.groups && data.groupNames) {
          const names = data.groupNames;
          const groups = Array.from(data.validation.groups, (g) => names[g]!);
          const result = groupAccuracies(data.validation.y, val.predictions, groups);
          metrics.val_worst_group_accuracy = result.worst;
          metrics.val_group_gap = result.gap;
        }
      }
      await finishEpoch(ctx, epoch, metrics, epochTimes, epochStart, () =>
        saveCheckpoint(ctx, model, optimizer, loss, rng, epoch),
      );
    }

    throwIfStopped(ctx.signal, 'before the final evaluation');
    const metrics: Record<string, number> = {};
    if (data.test.size > 0) {
      Object.assign(metrics, finalMetrics(data, data.test, await evaluate(tf, model, data.test, d, k), 'test'));
    }
    const outputs =
      config.options?.exportTrainOutputs === true
        ? { trainOutputs: await trainOutputs(tf, model, data.train, d, k) }
        : undefined;
    return {
      metrics,
      info: {
        ...(outputs ? { outputs } : {}),
        ...(trainIndices ? { trainIndicesFrom: originalTrainSize } : {}),
        backend: backend.name,
        task: 'classify',
        dataset: data.name,
        droppedRows: data.droppedRows,
        flippedLabels: data.flippedLabels,
        imbalanceRemoved: data.imbalanceRemoved,
        trainSize: data.train.size,
        valSize: data.validation.size,
        testSize: data.test.size,
        classes: data.classes,
        features: d,
        params: model.params,
        model: modelSpec.type,
        loss: lossName(config.loss),
        ...trainingInfo(epochTimes, resumedFrom, started),
      },
    };
  } finally {
    model.dispose();
    optimizer.dispose();
  }
}

export const classifyTask: Task = { name: 'classify', run: runClassify };
