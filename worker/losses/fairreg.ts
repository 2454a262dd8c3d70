import * as tf from '@tensorflow/tfjs';
import {
  classificationInputs,
  groupMeans,
  groupMembership,
  numParam,
  perSampleCrossEntropy,
  type LossImplementation,
} from './base.js';

/**
 * Fairness-regularised loss (formula INFERRED): the mean cross-entropy plus λ times the total
 * absolute deviation of the group losses from their (unweighted) mean,
 *   L = mean_i CE_i + λ Σ_g |L_g − L̄|,   L_g = mean_{i ∈ g} CE_i,   L̄ = mean_g L_g.
 */
export const fairregLoss: LossImplementation = {
  name: 'fairreg',
  create(params) {
    const lambda = numParam('fairreg', params, 'lambda');
    return {
      compute: (inputs) =>
        tf.tidy(() => {
          const { logits, labels } = classificationInputs('fairreg', inputs);
          const { membership, counts } = groupMembership('fairreg', inputs, logits.shape[0]);
          const perSample = perSampleCrossEntropy(logits, labels);
          const groupLoss = groupMeans(perSample, membership, counts);
          const disparity = tf.sum(tf.abs(tf.sub(groupLoss, tf.mean(groupLoss))));
          return tf.add(tf.mean(perSample), tf.mul(lambda, disparity)) as tf.Scalar;
        }),
    };
  },
};
