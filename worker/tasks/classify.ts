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
import type { TrialConfig } from '../../shared/spec/schema.js';
import { datasetShape, datasetSpecProblems, getBuiltinDataset } from '../data/datasets.js';
import { loadDataset, type DataSplit, type PreparedDataset } from '../data/load.js';
import { Rng } from '../data/rng.js';
import {
  createLoss,
  LossConfigError,
  resolveLoss,
  type LossDefinition,
  type LossInputName,
  type LossInstance,
  type LossSpec,
  type LossTensors,
} from '../losses/index.js';
import { PermanentRunError, type AttemptContext, type RunResult } from '../runtimes/base.js';
import {
  decodeCheckpoint,
  encodeCheckpoint,
  recordToTensor,
  snapshotTensors,
  type TensorRecord,
} from '../runtimes/tfjs/checkpoint.js';
import { throwIfStopped, yieldToEventLoop, type Task, type TaskBackend } from './base.js';
import {
  accuracy,
  aucBinary,
  balancedAccuracy,
  eceFromProbabilities,
  groupAccuracies,
  macroF1,
  argmaxRows,
} from './metrics.js';
import { buildModel, imageShape, type Model, type ModelType } from './models.js';

/** Inputs `classify` can give a loss (`probs` only for two classes, `groups` only with a group column). */
const PROVIDED_INPUTS: readonly LossInputName[] = [
  'logits',
  'labels',
  'features',
  'sampleIds',
  'groups',
  'likelihoods',
  'probs',
];
const FAMILIES: readonly LossDefinition['family'][] = ['classification', 'group', 'binary'];

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

/**
 * classify's `options`:
 * - `trainIndices: number[]` — train on these rows of the training split (repeats allowed):
 *   USEFUL's upsampled distribution;
 * - `exportTrainOutputs: true` — after training, return every training example's logits, loss
 *   and label as `info.outputs.trainOutputs` (USEFUL's clustering input).
 * A value still holding a `${stages...}` reference is checked when the stage runs.
 */
const CLASSIFY_OPTIONS = ['trainIndices', 'exportTrainOutputs'];

function classifyOptionProblems(options: Record<string, unknown> | undefined): string[] {
  const problems: string[] = [];
  for (const [key, value] of Object.entries(options ?? {})) {
    if (!CLASSIFY_OPTIONS.includes(key)) {
      problems.push(`trial.options.${key}: unknown option for task classify; allowed: ${CLASSIFY_OPTIONS.join(', ')}`);
    } else if (typeof value === 'string' && value.includes('${')) {
      continue;
    } else if (key === 'trainIndices' && !(Array.isArray(value) && value.every((i) => Number.isInteger(i) && (i as number) >= 0))) {
      problems.push('trial.options.trainIndices: must be a list of row indices (integers >= 0) into the training split');
    } else if (key === 'exportTrainOutputs' && typeof value !== 'boolean') {
      problems.push('trial.options.exportTrainOutputs: must be true or false');
    }
  }
  return problems;
}

/** The training split restricted to (and repeated along) `indices`. */
function selectRows(split: DataSplit & { cleanY: Int32Array }, indices: readonly number[], d: number): DataSplit & { cleanY: Int32Array } {
  const bad = indices.find((i) => !Number.isInteger(i) || i < 0 || i >= split.size);
  if (bad !== undefined) {
    throw new PermanentRunError(`trial.options.trainIndices: ${bad} is not a row of the training split (0..${split.size - 1})`);
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
  let definition: LossDefinition | undefined;
  try {
    definition = resolveLoss(config.loss as LossSpec).definition;
  } catch (err) {
    if (err instanceof LossConfigError) problems.push(`trial.loss: ${err.message}`);
    else throw err;
  }
  if (definition) {
    if (!FAMILIES.includes(definition.family)) {
      problems.push(
        `trial.loss: ${definition.name} (family ${definition.family}) does not fit task classify, which takes ${FAMILIES.join(', ')} losses`,
      );
    } else {
      for (const input of definition.inputs) {
        if (!PROVIDED_INPUTS.includes(input)) {
          problems.push(`trial.loss: ${definition.name} needs input ${input}, which task classify does not provide`);
        } else if (input === 'groups' && config.dataset !== undefined && !hasGroupColumn(config)) {
          problems.push(`trial.dataset.group: loss ${definition.name} needs a group column (dataset.group)`);
        }
      }
    }
  }
  return problems;
}

function lossName(spec: unknown): string {
  return typeof spec === 'string' ? spec : ((spec as { name?: string }).name ?? '?');
}

function makeOptimizer(tf: typeof tfType, config: TrialConfig): tfType.Optimizer {
  switch (config.optimizer) {
    case 'sgd':
      return tf.train.momentum(config.lr, 0.9);
    case 'rmsprop':
      return tf.train.rmsprop(config.lr);
    case 'adam':
    default:
      return tf.train.adam(config.lr);
  }
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

async function evaluate(tf: typeof tfType, model: Model, split: DataSplit, numFeatures: number, numClasses: number): Promise<Evaluation> {
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

function finalMetrics(data: PreparedDataset, split: DataSplit, evaluation: Evaluation, prefix: string): Record<string, number> {
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

/**
 * Adam keeps β₁ᵗ and β₂ᵗ in variables that getWeights() leaves out (setWeights recomputes them
 * with pow(), which differs from the running product in the last float32 bits). Saving them makes
 * a resumed run bit-identical to an uninterrupted one.
 */
function adamBetaPowers(optimizer: tfType.Optimizer): Array<{ name: string; tensor: tfType.Variable }> {
  const internals = optimizer as unknown as { accBeta1?: tfType.Variable; accBeta2?: tfType.Variable };
  const out: Array<{ name: string; tensor: tfType.Variable }> = [];
  if (internals.accBeta1 && internals.accBeta2) {
    out.push({ name: 'optimizer/accBeta1', tensor: internals.accBeta1 });
    out.push({ name: 'optimizer/accBeta2', tensor: internals.accBeta2 });
  }
  return out;
}

async function saveCheckpoint(
  ctx: AttemptContext,
  model: Model,
  optimizer: tfType.Optimizer,
  loss: LossInstance,
  rng: Rng,
  epoch: number,
): Promise<void> {
  const optimizerWeights = await optimizer.getWeights();
  const tensors: TensorRecord[] = [
    ...(await snapshotTensors(model.variables.map((tensor, i) => ({ name: `model/${model.names[i]!}`, tensor })))),
    ...(await snapshotTensors(optimizerWeights.map((w, i) => ({ name: `optimizer/${i}`, tensor: w.tensor })))),
    ...(await snapshotTensors(adamBetaPowers(optimizer))),
  ];
  // getWeights() returns the iteration count as a fresh scalar; the moments are the optimizer's own.
  optimizerWeights[0]?.tensor.dispose();
  const meta: CheckpointMeta = {
    format: CHECKPOINT_FORMAT,
    epoch,
    rng: rng.getState(),
    signature: model.signature,
    optimizer: ctx.config.optimizer,
    loss: JSON.stringify(ctx.config.loss),
    ...(loss.saveState ? { lossState: loss.saveState() } : {}),
    modelNames: model.names,
    optimizerNames: optimizerWeights.map((w) => w.name),
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
  let decoded;
  try {
    decoded = decodeCheckpoint<CheckpointMeta>(data);
  } catch (err) {
    return (err as Error).message;
  }
  const { meta, tensors } = decoded;
  if (meta?.format !== CHECKPOINT_FORMAT) return `unknown checkpoint format ${JSON.stringify(meta?.format)}`;
  if (meta.signature !== model.signature) return 'checkpoint is from a different model architecture';
  if (meta.optimizer !== ctx.config.optimizer) return `checkpoint is from optimizer ${meta.optimizer}`;
  if (meta.loss !== JSON.stringify(ctx.config.loss)) return 'checkpoint is from a different loss';
  const byName = new Map(tensors.map((t) => [t.name, t]));
  for (const [i, variable] of model.variables.entries()) {
    const record = byName.get(`model/${model.names[i]!}`);
    if (!record || record.shape.join('x') !== variable.shape.join('x')) {
      return `checkpoint lacks weights for ${model.names[i]!}`;
    }
  }
  // The loss state first: if it is rejected, nothing has been changed yet (the caller makes a new loss).
  if (meta.lossState !== undefined && loss.loadState) {
    try {
      loss.loadState(meta.lossState);
    } catch (err) {
      return `the loss rejected its saved state (${(err as Error).message})`;
    }
  }
  for (const [i, variable] of model.variables.entries()) {
    const value = recordToTensor(tf, byName.get(`model/${model.names[i]!}`)!);
    variable.assign(value);
    value.dispose();
  }
  const optimizerTensors = meta.optimizerNames.map((name, i) => {
    const record = byName.get(`optimizer/${i}`);
    if (!record) throw new PermanentRunError(`corrupt checkpoint: optimizer tensor ${i} missing`);
    return { name, tensor: recordToTensor(tf, record) };
  });
  await optimizer.setWeights(optimizerTensors);
  for (const { tensor } of optimizerTensors) tensor.dispose();
  for (const { name, tensor } of adamBetaPowers(optimizer)) {
    const record = byName.get(name);
    if (record && record.shape.length === tensor.shape.length) {
      const value = recordToTensor(tf, record);
      tensor.assign(value);
      value.dispose();
    }
  }
  return { epoch: meta.epoch, rng: Rng.fromState(meta.rng) };
}

function wantedInputs(definition: LossDefinition): Set<LossInputName> {
  return new Set([...definition.inputs, ...(definition.optionalInputs ?? [])]);
}

export async function runClassify(ctx: AttemptContext, backend: TaskBackend): Promise<RunResult> {
  const { tf } = backend;
  const config = ctx.config;
  const started = Date.now();
  const problems = validateClassifyConfig(config);
  if (problems.length > 0) throw new PermanentRunError(problems.join('; '));

  const data = loadDataset(config, ctx.seed);
  const k = data.numClasses;
  const d = data.numFeatures;
  const optionProblems = classifyOptionProblems(config.options);
  if (optionProblems.length > 0) throw new PermanentRunError(optionProblems.join('; '));
  const originalTrainSize = data.train.size;
  const trainIndices = config.options?.trainIndices as number[] | undefined;
  if (trainIndices) data.train = selectRows(data.train, trainIndices, d);
  if (k < 2) throw new PermanentRunError(`trial.dataset: ${data.name} has ${k} class; classify needs at least 2`);

  const modelSpec = config.model ?? { type: 'mlp' as ModelType, hidden: [128], dropout: 0 };
  let shape: number[] | undefined;
  if (modelSpec.type === 'cnn') {
    if (!data.shape) throw new PermanentRunError('trial.model.type: cnn needs an image shape; give dataset.shape');
    shape = imageShape(data.shape);
    const size = shape.reduce((a, b) => a * b, 1);
    if (size !== d) {
      throw new PermanentRunError(
        `trial.dataset.shape: [${data.shape.join(', ')}] holds ${size} values but the dataset has ${d} features`,
      );
    }
  }

  let definition: LossDefinition;
  let loss: LossInstance;
  try {
    definition = resolveLoss(config.loss as LossSpec).definition;
    loss = createLoss(config.loss as LossSpec);
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

  const model = buildModel(
    tf,
    {
      type: modelSpec.type,
      hidden: modelSpec.hidden,
      dropout: modelSpec.dropout,
      ...(modelSpec.filters ? { filters: modelSpec.filters } : {}),
      inputSize: d,
      numClasses: k,
      ...(shape ? { shape } : {}),
      nativeConv: backend.name === 'tensorflow' || backend.name === 'tensorflow-gpu',
    },
    Rng.create(ctx.seed, 'init'),
  );
  const optimizer = makeOptimizer(tf, config);
  const epochTimes: number[] = [];
  let resumedFrom: number | undefined;

  try {
    let rng = Rng.create(ctx.seed, 'train');
    let startEpoch = 1;
    const saved = await ctx.checkpoint.load();
    if (saved) {
      const restored = await restoreCheckpoint(tf, saved.data, ctx, model, optimizer, loss);
      if (typeof restored === 'string') {
        ctx.log(`classify: ignoring the checkpoint at step ${saved.step} (${restored}); starting from epoch 1`);
        loss = createLoss(config.loss as LossSpec);
      } else {
        rng = restored.rng;
        startEpoch = restored.epoch + 1;
        resumedFrom = restored.epoch;
        ctx.log(`classify: resumed from the checkpoint of epoch ${restored.epoch}`);
      }
    }

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
        throwIfStopped(ctx.signal, `in epoch ${epoch}`);
        await yieldToEventLoop();
        throwIfStopped(ctx.signal, `in epoch ${epoch}`);
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
          optimizer.minimize(
            () => {
              const { logits, features } = model.apply(x, { training: true, seed: dropoutSeed });
              const inputs: LossTensors = { ...extra, logits, labels: y };
              if (wanted.has('features')) inputs.features = features;
              if (wanted.has('probs') && k === 2) inputs.probs = tf.softmax(logits).slice([0, 1], [b, 1]).reshape([b]);
              const value = loss.compute(inputs);
              dataLoss = tf.keep(value.mul(b)) as tfType.Scalar;
              correct = tf.keep(tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), y), 'float32'))) as tfType.Scalar;
              if (weightDecay > 0) return tf.add(value, tf.mul(model.sumSquaredKernels(), 0.5 * weightDecay)) as tfType.Scalar;
              return value;
            },
            false,
            model.variables,
          );
          return [dataLoss!, correct!];
        });
        const nextLoss = tf.add(lossSum, batchLoss) as tfType.Scalar;
        const nextCorrect = tf.add(correctSum, batchCorrect) as tfType.Scalar;
        tf.dispose([lossSum, correctSum, batchLoss, batchCorrect]);
        lossSum = nextLoss;
        correctSum = nextCorrect;
      }
      const trainLoss = (await lossSum.data())[0]! / n;
      const trainAccuracy = (await correctSum.data())[0]! / n;
      tf.dispose([lossSum, correctSum]);
      if (!Number.isFinite(trainLoss)) {
        throw new PermanentRunError(`training diverged: the loss is ${trainLoss} in epoch ${epoch} (try a lower lr)`);
      }
      const metrics: Record<string, number> = { loss: trainLoss, accuracy: trainAccuracy };
      if (data.validation.size > 0) {
        const val = await evaluate(tf, model, data.validation, d, k);
        metrics.val_loss = val.loss;
        metrics.val_accuracy = accuracy(data.validation.y, val.predictions);
      }
      epochTimes.push((Date.now() - epochStart) / 1000);
      ctx.report(epoch, metrics);
      const every = config.checkpointEvery;
      if (every > 0 && (epoch % every === 0 || epoch === config.epochs)) {
        await saveCheckpoint(ctx, model, optimizer, loss, rng, epoch);
      }
    }

    throwIfStopped(ctx.signal, 'before the final evaluation');
    const metrics: Record<string, number> = {};
    if (data.test.size > 0) {
      Object.assign(metrics, finalMetrics(data, data.test, await evaluate(tf, model, data.test, d, k), 'test'));
    }
    const meanEpoch = epochTimes.length > 0 ? epochTimes.reduce((a, b) => a + b, 0) / epochTimes.length : undefined;
    const outputs = config.options?.exportTrainOutputs === true ? { trainOutputs: await trainOutputs(tf, model, data.train, d, k) } : undefined;
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
        epochsRun: epochTimes.length,
        ...(resumedFrom !== undefined ? { resumedFromEpoch: resumedFrom } : {}),
        ...(meanEpoch !== undefined ? { epochSeconds: Number(meanEpoch.toFixed(4)) } : {}),
        durationMs: Date.now() - started,
      },
    };
  } finally {
    model.dispose();
    optimizer.dispose();
  }
}

export const classifyTask: Task = {
  name: 'classify',
  description: 'Supervised classification (linear, MLP or CNN) on a CSV or built-in dataset with any classification loss',
  run: runClassify,
  validate: validateClassifyConfig,
};
