/**
 * Pieces shared by the hand-written tfjs training loops (`classify`, `embed`, `preference`):
 * model and optimizer construction (options are parsed by the catalogue's zod schemas), the per-batch step with weight decay, the
 * per-epoch bookkeeping (stop checks, divergence, checkpoint cadence, resume) and the checkpoint
 * building blocks (model + optimizer tensors, Adam's β powers, RNG position).
 *
 * Everything here is exactly what the tasks did inline: same tensor ops in the same order, same
 * checkpoint tensor names and meta fields, same messages.
 */
import type * as tfType from '@tensorflow/tfjs';
import type { ModelSpec, TrialConfig } from '../../shared/spec/schema.js';
import { Rng } from '../data/rng.js';
import { DivergedError, PermanentRunError, PREEMPTED, StoppedError, type AttemptContext } from '../runtimes/base.js';
import {
  decodeCheckpoint,
  encodeCheckpoint,
  recordToTensor,
  snapshotTensors,
  type TensorRecord,
} from '../runtimes/tfjs/checkpoint.js';
import { throwIfStopped, yieldToEventLoop, type TaskBackend } from './base.js';
import { buildModel, imageShape, type Model } from './models.js';

// ---------------------------------------------------------------------------------------------
// Model and optimizer.

/** `trial.model`, or the default MLP (one hidden layer of 128, no dropout). */
export function modelSpecOf(config: TrialConfig): ModelSpec {
  return config.model ?? { type: 'mlp', hidden: [128], dropout: 0 };
}

/**
 * For a cnn: the dataset's image shape as [H, W, C], checked against the feature count (throws
 * PermanentRunError when missing or mismatched); for other models `undefined`.
 */
export function cnnInputShape(
  spec: ModelSpec,
  datasetShape: number[] | undefined,
  features: number,
): number[] | undefined {
  if (spec.type !== 'cnn') return undefined;
  if (!datasetShape) throw new PermanentRunError('trial.model.type: cnn needs an image shape; give dataset.shape');
  const shape = imageShape(datasetShape);
  const size = shape.reduce((a, b) => a * b, 1);
  if (size !== features) {
    throw new PermanentRunError(
      `trial.dataset.shape: [${datasetShape.join(', ')}] holds ${size} values but the dataset has ${features} features`,
    );
  }
  return shape;
}

/**
 * `spec`'s network from `inputSize` features to `outputs` units, initialised from the `init`
 * stream of `seed`; convolutions use tf.conv2d on the native tensorflow backends.
 */
export function buildTaskModel(
  backend: TaskBackend,
  spec: ModelSpec,
  inputSize: number,
  outputs: number,
  shape: number[] | undefined,
  seed: number,
): Model {
  return buildModel(
    backend.tf,
    {
      type: spec.type,
      hidden: spec.hidden,
      dropout: spec.dropout,
      ...(spec.filters ? { filters: spec.filters } : {}),
      inputSize,
      numClasses: outputs,
      ...(shape ? { shape } : {}),
      nativeConv: backend.name === 'tensorflow' || backend.name === 'tensorflow-gpu',
    },
    Rng.create(seed, 'init'),
  );
}

/** `trial.optimizer` at `trial.lr`: sgd is momentum 0.9; adam is the default. */
export function makeOptimizer(tf: typeof tfType, config: TrialConfig): tfType.Optimizer {
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

// ---------------------------------------------------------------------------------------------
// The training loop.

/** Between batches: throws if the attempt was stopped, lets the event loop run, checks again. */
export async function batchBoundary(ctx: AttemptContext, epoch: number): Promise<void> {
  throwIfStopped(ctx.signal, `in epoch ${epoch}`);
  await yieldToEventLoop();
  throwIfStopped(ctx.signal, `in epoch ${epoch}`);
}

/**
 * One optimizer step over `model.variables` on `objective()` plus, when `weightDecay` > 0,
 * ½·weightDecay·Σ‖kernel‖². `objective` keeps (tf.keep) whatever it wants to report; the decay
 * term is added after it. Call inside tf.tidy.
 */
export function minimizeWithDecay(
  tf: typeof tfType,
  optimizer: tfType.Optimizer,
  model: Model,
  weightDecay: number,
  objective: () => tfType.Scalar,
): void {
  optimizer.minimize(
    () => {
      const value = objective();
      if (weightDecay > 0) return tf.add(value, tf.mul(model.sumSquaredKernels(), 0.5 * weightDecay)) as tfType.Scalar;
      return value;
    },
    false,
    model.variables,
  );
}

/** `sum + value` as a new scalar; disposes both inputs (running per-epoch sums). */
export function addAndDispose(tf: typeof tfType, sum: tfType.Scalar, value: tfType.Scalar): tfType.Scalar {
  const next = tf.add(sum, value) as tfType.Scalar;
  tf.dispose([sum, value]);
  return next;
}

/** Throws the DivergedError `training diverged: …` when the epoch's loss is not finite. */
export function checkDiverged(trainLoss: number, epoch: number): void {
  if (!Number.isFinite(trainLoss)) {
    throw new DivergedError(`training diverged: the loss is ${trainLoss} in epoch ${epoch} (try a lower lr)`);
  }
}

/** Whether `epoch` gets a checkpoint: every `checkpointEvery` epochs and the last (0 = never). */
function checkpointDue(config: TrialConfig, epoch: number): boolean {
  const every = config.checkpointEvery;
  return every > 0 && (epoch % every === 0 || epoch === config.epochs);
}

/**
 * Ends an epoch: records its seconds since `epochStart` in `epochTimes`, reports `metrics` at step
 * `epoch`, then, when `checkpointDue`, awaits `save()`. When the worker is being drained
 * (`ctx.preempt`), saves the epoch's checkpoint (unless checkpoints are off) and stops with
 * StoppedError('preempted'): the next attempt, on another worker, resumes after this epoch.
 */
export async function finishEpoch(
  ctx: AttemptContext,
  epoch: number,
  metrics: Record<string, number>,
  epochTimes: number[],
  epochStart: number,
  save: () => Promise<void>,
): Promise<void> {
  epochTimes.push((Date.now() - epochStart) / 1000);
  ctx.report(epoch, metrics);
  const due = checkpointDue(ctx.config, epoch);
  if (due) await save();
  if (ctx.preempt?.aborted && epoch < ctx.config.epochs) {
    if (!due && ctx.config.checkpointEvery > 0) await save();
    throw new StoppedError(PREEMPTED);
  }
}

/**
 * The last entries of a task's result info, in this order: `epochsRun`, `resumedFromEpoch` (when
 * resumed), `epochSeconds` (mean, 4 decimals; when an epoch ran), `durationMs` since `started`.
 */
export function trainingInfo(
  epochTimes: readonly number[],
  resumedFrom: number | undefined,
  started: number,
): { epochsRun: number; resumedFromEpoch?: number; epochSeconds?: number; durationMs: number } {
  const meanEpoch = epochTimes.length > 0 ? epochTimes.reduce((a, b) => a + b, 0) / epochTimes.length : undefined;
  return {
    epochsRun: epochTimes.length,
    ...(resumedFrom !== undefined ? { resumedFromEpoch: resumedFrom } : {}),
    ...(meanEpoch !== undefined ? { epochSeconds: Number(meanEpoch.toFixed(4)) } : {}),
    durationMs: Date.now() - started,
  };
}

export interface TrainingStart {
  /** The training RNG: the checkpoint's, else stream `train` of the attempt's seed. */
  rng: Rng;
  startEpoch: number;
  /** The checkpoint's epoch when resumed. */
  resumedFrom?: number;
}

/**
 * Loads the attempt's checkpoint, if any, through `restore`; logs `TASK: resumed …` or
 * `TASK: ignoring the checkpoint …` (then calls `onRejected`, and training starts at epoch 1).
 */
export async function resumeTraining(
  ctx: AttemptContext,
  task: string,
  restore: (data: Buffer) => Promise<{ epoch: number; rng: Rng } | string>,
  onRejected?: () => void,
): Promise<TrainingStart> {
  const start: TrainingStart = { rng: Rng.create(ctx.seed, 'train'), startEpoch: 1 };
  const saved = await ctx.checkpoint.load();
  if (saved) {
    const restored = await restore(saved.data);
    if (typeof restored === 'string') {
      ctx.log(`${task}: ignoring the checkpoint at step ${saved.step} (${restored}); starting from epoch 1`);
      onRejected?.();
    } else {
      start.rng = restored.rng;
      start.startEpoch = restored.epoch + 1;
      start.resumedFrom = restored.epoch;
      ctx.log(`${task}: resumed from the checkpoint of epoch ${restored.epoch}`);
    }
  }
  return start;
}

// ---------------------------------------------------------------------------------------------
// Checkpoint building blocks. Tensors are named `model/NAME` (model.names) and `optimizer/I`
// (optimizer.getWeights() order, names kept in the meta); with Adam's β powers also
// `optimizer/accBeta1` and `optimizer/accBeta2`.

/**
 * Adam keeps β₁ᵗ and β₂ᵗ in variables that getWeights() leaves out (setWeights recomputes them
 * with pow(), which differs from the running product in the last float32 bits). Saving them makes
 * a resumed run bit-identical to an uninterrupted one. Empty for other optimizers.
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

/** The model's and the optimizer's tensors (plus Adam's β powers when asked), and the optimizer's weight names. */
export async function snapshotTraining(
  model: Model,
  optimizer: tfType.Optimizer,
  withBetaPowers: boolean,
): Promise<{ tensors: TensorRecord[]; optimizerNames: string[] }> {
  const optimizerWeights = await optimizer.getWeights();
  const tensors: TensorRecord[] = [
    ...(await snapshotTensors(model.variables.map((tensor, i) => ({ name: `model/${model.names[i]!}`, tensor })))),
    ...(await snapshotTensors(optimizerWeights.map((w, i) => ({ name: `optimizer/${i}`, tensor: w.tensor })))),
    ...(withBetaPowers ? await snapshotTensors(adamBetaPowers(optimizer)) : []),
  ];
  // getWeights() returns the iteration count as a fresh scalar; the moments are the optimizer's own.
  optimizerWeights[0]?.tensor.dispose();
  return { tensors, optimizerNames: optimizerWeights.map((w) => w.name) };
}

/**
 * Decodes a checkpoint and checks its `format` and model `signature`; returns the meta and the
 * tensors by name, or why it does not apply.
 */
export function openCheckpoint<M extends { format: string; signature: string }>(
  data: Buffer,
  format: string,
  model: Model,
): { meta: M; byName: Map<string, TensorRecord> } | string {
  let decoded;
  try {
    decoded = decodeCheckpoint<M>(data);
  } catch (err) {
    return (err as Error).message;
  }
  const { meta, tensors } = decoded;
  if (meta?.format !== format) return `unknown checkpoint format ${JSON.stringify(meta?.format)}`;
  if (meta.signature !== model.signature) return 'checkpoint is from a different model architecture';
  return { meta, byName: new Map(tensors.map((t) => [t.name, t])) };
}

/** Why the checkpoint's tensors cannot fill the model (a weight missing or of another shape), or undefined. */
export function missingModelWeights(model: Model, byName: Map<string, TensorRecord>): string | undefined {
  for (const [i, variable] of model.variables.entries()) {
    const record = byName.get(`model/${model.names[i]!}`);
    if (!record || record.shape.join('x') !== variable.shape.join('x'))
      return `checkpoint lacks weights for ${model.names[i]!}`;
  }
  return undefined;
}

/**
 * Assigns the model's weights and the optimizer's state (and Adam's β powers when saved) from a
 * checkpoint already checked with `missingModelWeights`. A missing optimizer tensor throws
 * PermanentRunError `corrupt checkpoint: …` (after the model's weights were assigned).
 */
export async function loadTraining(
  tf: typeof tfType,
  byName: Map<string, TensorRecord>,
  optimizerNames: readonly string[],
  model: Model,
  optimizer: tfType.Optimizer,
): Promise<void> {
  for (const [i, variable] of model.variables.entries()) {
    const value = recordToTensor(tf, byName.get(`model/${model.names[i]!}`)!);
    variable.assign(value);
    value.dispose();
  }
  const optimizerTensors = optimizerNames.map((name, i) => {
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
}

// ---------------------------------------------------------------------------------------------
// The model checkpoint of `embed` and `preference`: weights, optimizer state, RNG position, and a
// fingerprint of what else must match (optimizer, loss, task options...). No Adam β powers.

interface ModelCheckpointMeta {
  format: string;
  epoch: number;
  rng: number[];
  signature: string;
  /** What else must match for the checkpoint to apply (optimizer, loss, task options...). */
  fingerprint: string;
  modelNames: string[];
  optimizerNames: string[];
}

/** Saves the model's weights, the optimizer's state and the RNG position as the checkpoint of `epoch`. */
export async function saveModelCheckpoint(
  ctx: AttemptContext,
  format: string,
  fingerprint: string,
  model: Model,
  optimizer: tfType.Optimizer,
  rng: Rng,
  epoch: number,
): Promise<void> {
  const { tensors, optimizerNames } = await snapshotTraining(model, optimizer, false);
  const meta: ModelCheckpointMeta = {
    format,
    epoch,
    rng: rng.getState(),
    signature: model.signature,
    fingerprint,
    modelNames: model.names,
    optimizerNames,
  };
  await ctx.checkpoint.save({ step: epoch, data: encodeCheckpoint(meta, tensors) });
}

/** Restores a checkpoint saved by `saveModelCheckpoint`; returns its epoch and RNG, or why not. */
export async function restoreModelCheckpoint(
  tf: typeof tfType,
  data: Buffer,
  format: string,
  fingerprint: string,
  model: Model,
  optimizer: tfType.Optimizer,
): Promise<{ epoch: number; rng: Rng } | string> {
  const opened = openCheckpoint<ModelCheckpointMeta>(data, format, model);
  if (typeof opened === 'string') return opened;
  const { meta, byName } = opened;
  if (meta.fingerprint !== fingerprint) return 'checkpoint is from a different optimizer, loss or task options';
  const missing = missingModelWeights(model, byName);
  if (missing) return missing;
  for (let i = 0; i < meta.optimizerNames.length; i++) {
    if (!byName.has(`optimizer/${i}`)) return `checkpoint lacks optimizer tensor ${i}`;
  }
  await loadTraining(tf, byName, meta.optimizerNames, model, optimizer);
  return { epoch: meta.epoch, rng: Rng.fromState(meta.rng) };
}
