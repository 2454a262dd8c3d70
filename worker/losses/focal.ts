import * as tf from '@tensorflow/tfjs';
import { classificationInputs, labelLogProb, numParam, type LossImplementation } from './base.js';

/**
 * Focal loss (Lin et al., 2017) `−(1 − p_y)^γ log p_y`, batch mean. `1 − p_y` is computed as the
 * sum of the other classes' probabilities (accurate when p_y → 1) and floored at 1e-12 so that
 * the gradient of `x^γ` stays finite for γ < 1. γ = 0 is exactly cross-entropy.
 */
export const focalLoss: LossImplementation = {
  name: 'focal',
  create(params) {
    const gamma = numParam('focal', params, 'gamma');
    return {
      compute: (inputs) =>
        tf.tidy(() => {
          const { logits, labels, numClasses } = classificationInputs('focal', inputs);
          const logp = labelLogProb(logits, labels);
          if (gamma === 0) return tf.mean(tf.neg(logp)) as tf.Scalar;
          const others = tf.sub(1, tf.oneHot(labels, numClasses));
          const rest = tf.maximum(tf.sum(tf.mul(tf.softmax(logits), others), 1), 1e-12);
          return tf.mean(tf.neg(tf.mul(tf.pow(rest, gamma), logp))) as tf.Scalar;
        }),
    };
  },
};
