import * as tf from '@tensorflow/tfjs';
import { classificationInputs, groupMembership, perSampleCrossEntropy, type LossImplementation } from './base.js';

/**
 * GroupDRO-style reweighting (formula INFERRED): each sample is weighted by the inverse size of
 * its group in the batch, `L = Σ_i w_{g(i)} CE_i / Σ_i w_{g(i)}` with `w_g = 1/n_g`, i.e. the
 * unweighted mean of the group losses. This is the static importance-weighting form, not the
 * online exponentiated-gradient group weights of Sagawa et al. (2020).
 */
export const groupdroLoss: LossImplementation = {
  name: 'groupdro',
  create() {
    return {
      compute: (inputs) =>
        tf.tidy(() => {
          const { logits, labels } = classificationInputs('groupdro', inputs);
          const { counts, index } = groupMembership('groupdro', inputs, logits.shape[0]);
          const weights = index.map((g) => 1 / counts[g]!);
          const total = weights.reduce((a, b) => a + b, 0);
          const w = tf.tensor1d(weights.map((x) => x / total));
          return tf.sum(tf.mul(w, perSampleCrossEntropy(logits, labels))) as tf.Scalar;
        }),
    };
  },
};
