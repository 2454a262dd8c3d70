import * as tf from '@tensorflow/tfjs';
import { classificationInputs, labelLogProb, numParam, type LossImplementation } from './base.js';

/**
 * Comp-sum losses (Mao, Mohri & Zhong, 2023; formula INFERRED in ALGORITHMS.md). With
 * `u = 1/p_y − 1 = Σ_{k≠y} e^{h_k − h_y}`:
 *   τ = 1: log(1 + u)                         (= cross-entropy)
 *   else : ((1 + u)^{1−τ} − 1) / (1 − τ)      (τ = 0: sum-exponential u; τ = 2: 1 − p_y)
 * Computed as expm1((τ − 1) log p_y) / (1 − τ) from log-softmax, so it neither overflows for
 * τ < 1 nor loses precision near p_y = 1. Default τ = 1 (cross-entropy) is the safe point of
 * the family; sweep τ in [0, 2] to move towards the bounded, noise-robust members.
 */
export const compsumLoss: LossImplementation = {
  name: 'compsum',
  create(params) {
    const tau = numParam('compsum', params, 'tau');
    return {
      compute: (inputs) =>
        tf.tidy(() => {
          const { logits, labels } = classificationInputs('compsum', inputs);
          const logp = labelLogProb(logits, labels);
          if (tau === 1) return tf.mean(tf.neg(logp)) as tf.Scalar;
          return tf.mean(tf.div(tf.expm1(tf.mul(tau - 1, logp)), 1 - tau)) as tf.Scalar;
        }),
    };
  },
};
