import * as tf from '@tensorflow/tfjs';
import {
  classificationInputs,
  expectRows,
  floatVector,
  numParam,
  perSampleCrossEntropy,
  type LossImplementation,
} from './base.js';

/**
 * Generalized focal loss as used by DatasetEquity: each sample's cross-entropy is weighted by
 * `w(p_s) = (η + (1 − p_s)^γ) / (η + 1)`, where `p_s` (the `likelihoods` input, in [0, 1]) is the
 * size of the sample's cluster over the size of the largest cluster. Rare samples (p_s → 0) get
 * weight 1, the most common ones η / (η + 1). Batch mean of `w · CE`.
 */
export const gflLoss: LossImplementation = {
  name: 'gfl',
  create(params) {
    const eta = numParam('gfl', params, 'eta');
    const gamma = numParam('gfl', params, 'gamma');
    return {
      compute: (inputs) =>
        tf.tidy(() => {
          const { logits, labels } = classificationInputs('gfl', inputs);
          const ps = floatVector('gfl', inputs, 'likelihoods');
          expectRows('gfl', 'likelihoods', ps, logits.shape[0]);
          const rare = tf.sub(1, tf.clipByValue(ps, 0, 1));
          const w = tf.div(tf.add(eta, tf.pow(rare, gamma)), eta + 1);
          return tf.mean(tf.mul(w, perSampleCrossEntropy(logits, labels))) as tf.Scalar;
        }),
    };
  },
};

/** The weight `w(p_s)` on its own (for tests and reports). */
export function gflWeight(ps: number, eta = 1, gamma = 5): number {
  return (eta + (1 - ps) ** gamma) / (eta + 1);
}
