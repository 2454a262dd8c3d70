import * as tf from '@tensorflow/tfjs';
import { floatVector, logSigmoid, numParam, type LossImplementation } from './base.js';

/**
 * Robust DPO (Chowdhury et al., 2024): DPO corrected for preference labels flipped with rate ε.
 * Input `margins` h = (log π(y_w) − log π_ref(y_w)) − (log π(y_l) − log π_ref(y_l)):
 *   L = mean [ −(1 − ε) log σ(βh) + ε log σ(−βh) ] / (1 − 2ε)
 * ε = 0 is plain DPO, −log σ(βh).
 */
export const rdpoLoss: LossImplementation = {
  name: 'rdpo',
  create(params) {
    const beta = numParam('rdpo', params, 'beta');
    const eps = numParam('rdpo', params, 'epsilon');
    return {
      compute: (inputs) =>
        tf.tidy(() => {
          const h = tf.mul(beta, floatVector('rdpo', inputs, 'margins'));
          const perPair = tf.add(tf.mul(-(1 - eps), logSigmoid(h)), tf.mul(eps, logSigmoid(tf.neg(h))));
          return tf.div(tf.mean(perPair), 1 - 2 * eps) as tf.Scalar;
        }),
    };
  },
};
