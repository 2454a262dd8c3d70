import * as tf from '@tensorflow/tfjs';
import {
  classificationInputs,
  groupMeans,
  groupMembership,
  perSampleCrossEntropy,
  type LossImplementation,
} from './base.js';

/**
 * Worst-group loss (formula INFERRED): the mean cross-entropy of each group present in the
 * batch, `L_g = mean_{i ∈ g} CE_i`, and `L = max_g L_g`. The gradient flows to the worst group.
 */
export const worstgroupLoss: LossImplementation = {
  name: 'worstgroup',
  create() {
    return {
      compute: (inputs) =>
        tf.tidy(() => {
          const { logits, labels } = classificationInputs('worstgroup', inputs);
          const { membership, counts } = groupMembership('worstgroup', inputs, logits.shape[0]);
          return tf.max(groupMeans(perSampleCrossEntropy(logits, labels), membership, counts)) as tf.Scalar;
        }),
    };
  },
};
