/**
 * The `losses` plug-in family: one small interface, one file per loss, a name → definition
 * registry (`registry.ts`) and the public surface (`index.ts`, exported as `trellis/losses`).
 *
 * Contract of a loss:
 * - What a loss is (name, family, inputs, params) is its entry in `shared/catalogue/losses.ts`;
 *   a file here implements it under the same name.
 * - `create(params)` receives params already resolved (defaults filled, ranges checked) by
 *   `resolveLoss`, i.e. by the catalogue's `resolveLossParams`; it returns a `LossInstance` that owns the loss's state, if any.
 * - `compute(inputs)` is called inside the optimizer's gradient tape and must return a
 *   differentiable scalar of the inputs that carry gradients (logits, embeddings, probs,
 *   scores, margins). Integer inputs (labels, groups, sampleIds) and side data (features,
 *   likelihoods) are treated as constants.
 * - Stateful losses update their state as a side effect of `compute` (values are read with
 *   `dataSync`), and `saveState()` → `loadState()` into a fresh instance must reproduce the next
 *   value exactly, so the state belongs in the trial's checkpoint.
 */
import * as tf from '@tensorflow/tfjs';

import type { LossDescriptor, LossInputName, LossParamValue } from '../../shared/catalogue/losses.js';
import { LossConfigError } from '../../shared/catalogue/loss-params.js';

export type {
  LossDescriptor,
  LossFamily,
  LossInputName,
  LossParamSpec,
  LossParamValue,
} from '../../shared/catalogue/losses.js';
export { describeAllowed, LossConfigError } from '../../shared/catalogue/loss-params.js';

export type LossTensors = Partial<Record<LossInputName, tf.Tensor>>;

/** One loss bound to its params (and, for stateful losses, its per-trial state). */
export interface LossInstance {
  /** A differentiable scalar; called inside the optimizer's gradient tape. */
  compute(inputs: LossTensors): tf.Scalar;
  /** JSON-serialisable state for checkpoints (stateful losses only). */
  saveState?(): unknown;
  /** Restores what `saveState` returned; throws `LossConfigError` on a malformed state. */
  loadState?(state: unknown): void;
}

/**
 * How a loss is computed, bound to its catalogue entry by name (shared/catalogue/losses.ts holds
 * everything else: family, inputs, params with ranges and defaults).
 */
export interface LossImplementation {
  name: string;
  create(params: Record<string, LossParamValue>): LossInstance;
}

/** A catalogue entry with its implementation. */
export type LossDefinition = LossDescriptor & LossImplementation;

// ---------------------------------------------------------------------------------------------
// Helpers shared by the implementations.

/** A numeric param of a resolved param record (defensive: `create` may be called directly). */
export function numParam(loss: string, params: Record<string, LossParamValue>, name: string): number {
  const v = params[name];
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    throw new LossConfigError(`loss ${loss}: param ${name} must be a finite number, got ${JSON.stringify(v)}`);
  }
  return v;
}

export function strParam(loss: string, params: Record<string, LossParamValue>, name: string): string {
  const v = params[name];
  if (typeof v !== 'string') {
    throw new LossConfigError(`loss ${loss}: param ${name} must be a string, got ${JSON.stringify(v)}`);
  }
  return v;
}

/** The named input, checked for presence and rank (`rank` may list several accepted ranks). */
export function requireInput(
  loss: string,
  inputs: LossTensors,
  name: LossInputName,
  rank?: number | number[],
): tf.Tensor {
  const t = inputs[name];
  if (!t) throw new LossConfigError(`loss ${loss}: missing input '${name}'`);
  if (rank !== undefined) {
    const ranks = Array.isArray(rank) ? rank : [rank];
    if (!ranks.includes(t.rank)) {
      throw new LossConfigError(
        `loss ${loss}: input '${name}' must have rank ${ranks.join(' or ')}, got shape [${t.shape.join(', ')}]`,
      );
    }
  }
  return t;
}

/** Checks that a per-sample input has `n` rows. */
export function expectRows(loss: string, name: LossInputName, t: tf.Tensor, n: number): void {
  if (t.shape[0] !== n) {
    throw new LossConfigError(`loss ${loss}: input '${name}' must have ${n} rows, got shape [${t.shape.join(', ')}]`);
  }
}

/** `logits` [N, K] and int32 `labels` [N], checked against each other. */
export function classificationInputs(
  loss: string,
  inputs: LossTensors,
): { logits: tf.Tensor2D; labels: tf.Tensor1D; numClasses: number } {
  const logits = requireInput(loss, inputs, 'logits', 2) as tf.Tensor2D;
  const labels = intVector(loss, inputs, 'labels');
  expectRows(loss, 'labels', labels, logits.shape[0]);
  if (logits.shape[1] < 2) {
    throw new LossConfigError(
      `loss ${loss}: input 'logits' must have at least 2 classes, got shape [${logits.shape.join(', ')}]`,
    );
  }
  return { logits, labels, numClasses: logits.shape[1] };
}

/** A rank-1 (or [N, 1]) integer input as int32 [N]. */
export function intVector(loss: string, inputs: LossTensors, name: LossInputName): tf.Tensor1D {
  let t = requireInput(loss, inputs, name, [1, 2]);
  if (t.rank === 2) {
    if (t.shape[1] !== 1)
      throw new LossConfigError(`loss ${loss}: input '${name}' must be [N], got shape [${t.shape.join(', ')}]`);
    t = tf.reshape(t, [-1]);
  }
  return (t.dtype === 'int32' ? t : tf.cast(t, 'int32')) as tf.Tensor1D;
}

/** A rank-1 (or [N, 1]) float input as float32 [N]. */
export function floatVector(loss: string, inputs: LossTensors, name: LossInputName): tf.Tensor1D {
  let t = requireInput(loss, inputs, name, [1, 2]);
  if (t.rank === 2) {
    if (t.shape[1] !== 1)
      throw new LossConfigError(`loss ${loss}: input '${name}' must be [N], got shape [${t.shape.join(', ')}]`);
    t = tf.reshape(t, [-1]);
  }
  return (t.dtype === 'float32' ? t : tf.cast(t, 'float32')) as tf.Tensor1D;
}

/** log p_y for each row: [N]. */
export function labelLogProb(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Tensor1D {
  const oneHot = tf.oneHot(labels, logits.shape[1]);
  return tf.sum(tf.mul(tf.logSoftmax(logits), oneHot), 1) as tf.Tensor1D;
}

/** Per-sample cross-entropy −log p_y: [N]. */
export function perSampleCrossEntropy(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Tensor1D {
  return tf.neg(labelLogProb(logits, labels));
}

/** Rows scaled to unit L2 norm (a zero row stays zero instead of 0/0). */
/**
 * Embedding losses' common start: the batch's L2-normalised cosine similarity matrix (tensor,
 * for the gradient, and its values, for mining) and the labels. Call inside tf.tidy.
 */
export function labelledSimilarities(
  loss: string,
  inputs: LossTensors,
): {
  b: number;
  labels: Int32Array | Float32Array | Uint8Array;
  sim: tf.Tensor2D;
  s: Float32Array | Int32Array | Uint8Array;
} {
  const emb = requireInput(loss, inputs, 'embeddings', 2) as tf.Tensor2D;
  const b = emb.shape[0];
  const labelsT = intVector(loss, inputs, 'labels');
  expectRows(loss, 'labels', labelsT, b);
  const labels = labelsT.dataSync();
  const e = l2Normalize(emb);
  const sim = tf.matMul(e, e, false, true) as tf.Tensor2D;
  return { b, labels, sim, s: sim.dataSync() };
}

export function l2Normalize(x: tf.Tensor2D): tf.Tensor2D {
  const norm = tf.sqrt(tf.maximum(tf.sum(tf.square(x), 1, true), 1e-12));
  return tf.div(x, norm) as tf.Tensor2D;
}

/** Numerically stable log σ(x) = −softplus(−x). */
export function logSigmoid(x: tf.Tensor): tf.Tensor {
  return tf.neg(tf.softplus(tf.neg(x)));
}

/**
 * Group ids of a batch mapped to 0..G−1 in order of first appearance, with a constant one-hot
 * membership matrix [N, G] and the group sizes.
 */
export function groupMembership(
  loss: string,
  inputs: LossTensors,
  n: number,
): { membership: tf.Tensor2D; counts: number[]; index: number[] } {
  const groups = intVector(loss, inputs, 'groups');
  expectRows(loss, 'groups', groups, n);
  const ids = groups.dataSync();
  const slot = new Map<number, number>();
  const index: number[] = [];
  const counts: number[] = [];
  for (const id of ids) {
    let g = slot.get(id);
    if (g === undefined) {
      g = slot.size;
      slot.set(id, g);
      counts.push(0);
    }
    index.push(g);
    counts[g] = (counts[g] ?? 0) + 1;
  }
  const membership = tf.cast(
    tf.oneHot(tf.tensor1d(index, 'int32'), Math.max(counts.length, 1)),
    'float32',
  ) as tf.Tensor2D;
  return { membership, counts, index };
}

/** Mean per-sample loss of each group: [G]. */
export function groupMeans(perSample: tf.Tensor1D, membership: tf.Tensor2D, counts: number[]): tf.Tensor1D {
  const sums = tf.reshape(tf.matMul(tf.reshape(perSample, [1, -1]), membership), [-1]);
  return tf.div(sums, tf.tensor1d(counts)) as tf.Tensor1D;
}

/** A finite-number check for state loaded from a checkpoint. */
export function stateError(loss: string, what: string): LossConfigError {
  return new LossConfigError(`loss ${loss}: invalid saved state: ${what}`);
}
