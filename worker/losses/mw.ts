import * as tf from '@tensorflow/tfjs';
import { floatVector, type LossImplementation } from './base.js';

/**
 * Mann–Whitney / AUC surrogate (formula INFERRED): the logistic loss over every
 * (positive, negative) score pair, `mean_{p,n} softplus(−(s_p − s_n))`. With no positive or no
 * negative in the batch there is no pair and the loss is 0.
 */
export const mwLoss: LossImplementation = {
  name: 'mw',
  create() {
    return {
      compute: (inputs) =>
        tf.tidy(() => {
          const pos = floatVector('mw', inputs, 'positives');
          const neg = floatVector('mw', inputs, 'negatives');
          if (pos.shape[0] === 0 || neg.shape[0] === 0) return tf.scalar(0);
          const diff = tf.sub(tf.reshape(pos, [-1, 1]), tf.reshape(neg, [1, -1]));
          return tf.mean(tf.softplus(tf.neg(diff))) as tf.Scalar;
        }),
    };
  },
};
