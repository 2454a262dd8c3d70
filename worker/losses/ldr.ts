import * as tf from '@tensorflow/tfjs';
import { classificationInputs, numParam, type LossImplementation } from './base.js';

/**
 * LDR-KL loss (Zhu, Xu & Yang, ICML 2023), label-distributionally robust with a KL penalty:
 *   f = softplus(h) / mean_k softplus(h_k)
 *   d_k = c·[k ≠ y] + f_k − f_y
 *   L = λ log((1/K) Σ_k exp(d_k / λ))            (batch mean)
 * Computed with log-sum-exp. Defaults c = 2, λ = 1 (the reference table); the paper's runs
 * use c = 0.1, λ = 10.
 */
export const ldrLoss: LossImplementation = {
  name: 'ldr',
  create(params) {
    const c = numParam('ldr', params, 'c');
    const lambda = numParam('ldr', params, 'lambda');
    return {
      compute: (inputs) =>
        tf.tidy(() => {
          const { logits, labels, numClasses } = classificationInputs('ldr', inputs);
          const sp = tf.softplus(logits);
          const f = tf.div(sp, tf.maximum(tf.mean(sp, 1, true), 1e-12)) as tf.Tensor2D;
          return tf.mean(ldrPerSample(f, labels, numClasses, c, lambda)) as tf.Scalar;
        }),
    };
  },
};

/**
 * `λ (logsumexp(d/λ) − log K)` per row, with `d_k = c·[k≠y] + f_k − f_y`; `lambda` may be a
 * number or a per-row [N, 1] tensor.
 */
export function ldrPerSample(
  f: tf.Tensor2D,
  labels: tf.Tensor1D,
  numClasses: number,
  c: number,
  lambda: number | tf.Tensor,
): tf.Tensor1D {
  const oneHot = tf.oneHot(labels, numClasses);
  const fy = tf.sum(tf.mul(f, oneHot), 1, true);
  const d = tf.add(tf.mul(c, tf.sub(1, oneHot)), tf.sub(f, fy));
  const lam = typeof lambda === 'number' ? lambda : tf.reshape(lambda, [-1, 1]);
  const lse = tf.logSumExp(tf.div(d, lam), 1, true);
  return tf.reshape(tf.mul(lam, tf.sub(lse, Math.log(numClasses))), [-1]) as tf.Tensor1D;
}
