import * as tf from '@tensorflow/tfjs';
import { classificationInputs, labelLogProb, numParam, type LossImplementation } from './base.js';

/**
 * Generalized cross-entropy (Zhang & Sabuncu, 2018) `(1 − p_y^q) / q`, batch mean; q → 0 gives
 * CE, q = 1 gives MAE (1 − p_y). Computed as −expm1(q log p_y)/q.
 */
export const gceLoss: LossImplementation = {
  name: 'gce',
  create(params) {
    const q = numParam('gce', params, 'q');
    return {
      compute: (inputs) =>
        tf.tidy(() => {
          const { logits, labels } = classificationInputs('gce', inputs);
          const logp = labelLogProb(logits, labels);
          return tf.mean(tf.div(tf.neg(tf.expm1(tf.mul(q, logp))), q)) as tf.Scalar;
        }),
    };
  },
};
