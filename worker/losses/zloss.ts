import * as tf from '@tensorflow/tfjs';
import { classificationInputs, numParam, type LossImplementation } from './base.js';

/** Added to the variance before the square root: keeps z and its gradient finite for constant logits. */
const VARIANCE_EPS = 1e-8;

/**
 * Z-loss (de Brébisson & Vincent, 2016), a shift- and scale-invariant member of the spherical
 * family: `z = (h − mean h) / std h` (population std), `L = softplus(a (b − z_y)) / a`, batch mean.
 *
 * Defaults a = 1, b = 0: the paper tunes both per task and gives no universal values; a = 1 is
 * the plain softplus and b = 0 asks the target's logit to sit above the mean logit, which is a
 * task-independent choice (b is bounded by z_y ≤ √(K − 1), so large b depends on K). Sweep them.
 */
export const zLoss: LossImplementation = {
  name: 'zloss',
  create(params) {
    const a = numParam('zloss', params, 'a');
    const b = numParam('zloss', params, 'b');
    return {
      compute: (inputs) =>
        tf.tidy(() => {
          const { logits, labels, numClasses } = classificationInputs('zloss', inputs);
          const centered = tf.sub(logits, tf.mean(logits, 1, true));
          const std = tf.sqrt(tf.add(tf.mean(tf.square(centered), 1, true), VARIANCE_EPS));
          const z = tf.div(centered, std);
          const zy = tf.sum(tf.mul(z, tf.oneHot(labels, numClasses)), 1);
          return tf.mean(tf.div(tf.softplus(tf.mul(a, tf.sub(b, zy))), a)) as tf.Scalar;
        }),
    };
  },
};
