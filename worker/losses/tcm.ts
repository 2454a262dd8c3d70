import * as tf from '@tensorflow/tfjs';
import { labelledSimilarities, numParam, type LossDefinition } from './base.js';

/**
 * Threshold-consistent margin (TCM) regulariser (Zhang et al., 2023) on cosine similarities of
 * L2-normalised embeddings over ordered pairs i ≠ j:
 *   λ⁺ mean{ m⁺ − s : same label, s ≤ m⁺ } + λ⁻ mean{ s − m⁻ : different label, s ≥ m⁻ }
 * An empty set contributes 0. The sets are chosen from the values (not differentiated).
 * TCM is a regulariser: in the paper it is added to a base metric-learning loss (e.g. ms);
 * on its own it only shapes the similarity distribution near the margins.
 */
export const tcmLoss: LossDefinition = {
  name: 'tcm',
  description:
    'Threshold-consistent margin regulariser: penalises positive pairs below m⁺ and negative pairs above m⁻ (cosine).',
  inputs: ['embeddings', 'labels'],
  params: [
    { name: 'lambdaPos', description: 'weight λ⁺ of the positive-pair term', default: 1, min: 0 },
    { name: 'lambdaNeg', description: 'weight λ⁻ of the negative-pair term', default: 1, min: 0 },
    { name: 'marginPos', description: 'positive margin m⁺ (cosine)', default: 0.9, min: -1, max: 1 },
    { name: 'marginNeg', description: 'negative margin m⁻ (cosine)', default: 0.5, min: -1, max: 1 },
  ],
  stateful: false,
  family: 'embedding',
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
