import * as tf from '@tensorflow/tfjs';
import { floatVector, logSigmoid, numParam, type LossDefinition } from './base.js';

/**
 * Robust DPO (Chowdhury et al., 2024): DPO corrected for preference labels flipped with rate ε.
 * Input `margins` h = (log π(y_w) − log π_ref(y_w)) − (log π(y_l) − log π_ref(y_l)):
 *   L = mean [ −(1 − ε) log σ(βh) + ε log σ(−βh) ] / (1 − 2ε)
 * ε = 0 is plain DPO, −log σ(βh).
 */
export const rdpoLoss: LossDefinition = {
  name: 'rdpo',
  description: 'Robust DPO: [−(1−ε) log σ(βh) + ε log σ(−βh)]/(1 − 2ε) on chosen-minus-rejected log-ratio margins h.',
  inputs: ['margins'],
  params: [
    {
      name: 'beta',
      description: 'inverse temperature β of the implicit reward',
      default: 0.1,
      min: 0,
      exclusiveMin: true,
    },
    {
      name: 'epsilon',
      description: 'assumed preference label-flip rate ε (0 = DPO)',
      default: 0,
      min: 0,
      max: 0.5,
      exclusiveMax: true,
    },
  ],
  stateful: false,
  family: 'preference',
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
