import * as tf from '@tensorflow/tfjs';
import { expectRows, intVector, numParam, requireInput, LossConfigError, type LossImplementation } from './base.js';

/** Large distance added to the true prototype so that `min` picks the nearest other one. */
const EXCLUDE = 1e9;

/**
 * Prototype triplet loss for few-shot learning: each query is an anchor, its class prototype
 * the positive and the nearest other prototype the negative,
 *   d(x, y) = sqrt(‖x − y‖² + 1e-6),  L = mean_q max(d(q, p_y) − min_{c≠y} d(q, p_c) + m, 0).
 * Differentiable in both queries and prototypes.
 */
export const prototripletLoss: LossImplementation = {
  name: 'prototriplet',
  create(params) {
    const margin = numParam('prototriplet', params, 'margin');
    return {
      compute: (inputs) =>
        tf.tidy(() => {
          const queries = requireInput('prototriplet', inputs, 'queries', 2) as tf.Tensor2D;
          const protos = requireInput('prototriplet', inputs, 'prototypes', 2) as tf.Tensor2D;
          if (protos.shape[1] !== queries.shape[1]) {
            throw new LossConfigError(
              `loss prototriplet: input 'prototypes' must have ${queries.shape[1]} columns like 'queries', got shape [${protos.shape.join(', ')}]`,
            );
          }
          const labels = intVector('prototriplet', inputs, 'labels');
          expectRows('prototriplet', 'labels', labels, queries.shape[0]);
          const diff = tf.sub(tf.expandDims(queries, 1), tf.expandDims(protos, 0));
          const dist = tf.sqrt(tf.add(tf.sum(tf.square(diff), 2), 1e-6));
          const oneHot = tf.oneHot(labels, protos.shape[0]);
          const dPos = tf.sum(tf.mul(dist, oneHot), 1);
          const dNeg = tf.min(tf.add(dist, tf.mul(oneHot, EXCLUDE)), 1);
          return tf.mean(tf.relu(tf.add(tf.sub(dPos, dNeg), margin))) as tf.Scalar;
        }),
    };
  },
};
