import * as tf from '@tensorflow/tfjs';
import { labelledSimilarities, numParam, type LossImplementation } from './base.js';

/** Same-label similarities at or above 1 − this are the anchor itself (or a duplicate). */
const SELF_EPS = 1e-5;
/** Fill for masked-out entries before log-sum-exp: exp of it is exactly 0 in float32. */
const MASKED = -1e9;

/**
 * Multi-similarity loss (Wang et al., CVPR 2019) on L2-normalised embeddings, S = E Eᵀ.
 * For each anchor i: P = same-label sims < 1 − 1e-5, N = other-label sims; hard-pair mining
 * N' = {n ∈ N : n > min P − ε}, P' = {p ∈ P : p < max N + ε}; an anchor with an empty P, N,
 * P' or N' is skipped (contributes 0 but still counts in B);
 *   l_i = log(1 + Σ_{P'} e^{−α(p−λ)}) / α + log(1 + Σ_{N'} e^{β(n−λ)}) / β,   L = Σ l_i / B.
 * The mining masks are computed from the values (not differentiated); the sums use log-sum-exp
 * with a zero column for the "1 +", so large β does not overflow.
 */
export const msLoss: LossImplementation = {
  name: 'ms',
  create(params) {
    const alpha = numParam('ms', params, 'alpha');
    const beta = numParam('ms', params, 'beta');
    const lambda = numParam('ms', params, 'lambda');
    const eps = numParam('ms', params, 'epsilon');
    return {
      compute: (inputs) =>
        tf.tidy(() => {
          const { b, labels, sim, s } = labelledSimilarities('ms', inputs);

          const posMask = new Float32Array(b * b);
          const negMask = new Float32Array(b * b);
          const valid = new Float32Array(b);
          for (let i = 0; i < b; i++) {
            let minP = Infinity;
            let maxN = -Infinity;
            for (let j = 0; j < b; j++) {
              const v = s[i * b + j]!;
              if (labels[j] === labels[i]) {
                if (v < 1 - SELF_EPS) minP = Math.min(minP, v);
              } else maxN = Math.max(maxN, v);
            }
            if (minP === Infinity || maxN === -Infinity) continue;
            let nP = 0;
            let nN = 0;
            for (let j = 0; j < b; j++) {
              const v = s[i * b + j]!;
              if (labels[j] === labels[i]) {
                if (v < 1 - SELF_EPS && v < maxN + eps) {
                  posMask[i * b + j] = 1;
                  nP++;
                }
              } else if (v > minP - eps) {
                negMask[i * b + j] = 1;
                nN++;
              }
            }
            if (nP > 0 && nN > 0) valid[i] = 1;
          }

          const posTerm = softLogSum(tf.mul(-alpha, tf.sub(sim, lambda)), tf.tensor2d(posMask, [b, b]));
          const negTerm = softLogSum(tf.mul(beta, tf.sub(sim, lambda)), tf.tensor2d(negMask, [b, b]));
          const perAnchor = tf.add(tf.div(posTerm, alpha), tf.div(negTerm, beta));
          return tf.div(tf.sum(tf.mul(perAnchor, tf.tensor1d(valid))), b) as tf.Scalar;
        }),
    };
  },
};

/** Row-wise log(1 + Σ_{mask} exp(x)), stable. */
function softLogSum(x: tf.Tensor, mask: tf.Tensor2D): tf.Tensor1D {
  const masked = tf.where(tf.cast(mask, 'bool'), x, tf.fill(mask.shape, MASKED));
  const withOne = tf.concat([tf.zeros([mask.shape[0], 1]), masked], 1);
  return tf.logSumExp(withOne, 1) as tf.Tensor1D;
}
