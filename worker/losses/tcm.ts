import * as tf from '@tensorflow/tfjs';
import { labelledSimilarities, numParam, type LossImplementation } from './base.js';

/**
 * Threshold-consistent margin (TCM) regulariser (Zhang et al., 2023) on cosine similarities of
 * L2-normalised embeddings over ordered pairs i ≠ j:
 *   λ⁺ mean{ m⁺ − s : same label, s ≤ m⁺ } + λ⁻ mean{ s − m⁻ : different label, s ≥ m⁻ }
 * An empty set contributes 0. The sets are chosen from the values (not differentiated).
 * TCM is a regulariser: in the paper it is added to a base metric-learning loss (e.g. ms);
 * on its own it only shapes the similarity distribution near the margins.
 */
export const tcmLoss: LossImplementation = {
  name: 'tcm',
  create(params) {
    const lambdaPos = numParam('tcm', params, 'lambdaPos');
    const lambdaNeg = numParam('tcm', params, 'lambdaNeg');
    const marginPos = numParam('tcm', params, 'marginPos');
    const marginNeg = numParam('tcm', params, 'marginNeg');
    return {
      compute: (inputs) =>
        tf.tidy(() => {
          const { b, labels, sim, s } = labelledSimilarities('tcm', inputs);
          const posMask = new Float32Array(b * b);
          const negMask = new Float32Array(b * b);
          let nPos = 0;
          let nNeg = 0;
          for (let i = 0; i < b; i++) {
            for (let j = 0; j < b; j++) {
              if (i === j) continue;
              const v = s[i * b + j]!;
              if (labels[i] === labels[j]) {
                if (v <= marginPos) {
                  posMask[i * b + j] = 1;
                  nPos++;
                }
              } else if (v >= marginNeg) {
                negMask[i * b + j] = 1;
                nNeg++;
              }
            }
          }
          const pos = tf.sum(tf.mul(tf.sub(marginPos, sim), tf.tensor2d(posMask, [b, b])));
          const neg = tf.sum(tf.mul(tf.sub(sim, marginNeg), tf.tensor2d(negMask, [b, b])));
          return tf.add(
            tf.mul(lambdaPos / Math.max(nPos, 1), pos),
            tf.mul(lambdaNeg / Math.max(nNeg, 1), neg),
          ) as tf.Scalar;
        }),
    };
  },
};
