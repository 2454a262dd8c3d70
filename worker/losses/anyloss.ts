import * as tf from '@tensorflow/tfjs';
import type { AnyLossMetric } from '../../shared/catalogue/losses.js';
import { expectRows, floatVector, numParam, strParam, type LossImplementation } from './base.js';

/** Smoothing constant in the denominators (as in the paper). */
const S = 1e-5;

export { ANYLOSS_METRICS, type AnyLossMetric } from '../../shared/catalogue/losses.js';

/**
 * AnyLoss (Han et al., 2024): a confusion-matrix metric made differentiable by replacing the
 * 0/1 predictions with an amplified sigmoid of the probability, `A(p) = σ(L (p − 0.5))`:
 *   TP = Σ y A, FP = Σ A − TP, FN = y1 − TP, TN = N − y1 − Σ A + TP   (y1 positives, y0 negatives)
 *   f1                : 1 − 2TP / (y1 + ΣA + s)
 *   accuracy          : 1 − (TP + TN) / N
 *   balanced_accuracy : 1 − (y0 TP + y1 TN) / (2 y1 y0 + s)
 *   gmean             : 1 − sqrt(TP TN / (y1 y0 + s))       (√(TPR·TNR); +1e-12 under the root)
 * One value for the whole batch (the metrics are not per-sample averages).
 */
export const anyLoss: LossImplementation = {
  name: 'anyloss',
  create(params) {
    const metric = strParam('anyloss', params, 'metric') as AnyLossMetric;
    const amp = numParam('anyloss', params, 'L');
    return {
      compute: (inputs) =>
        tf.tidy(() => {
          const p = floatVector('anyloss', inputs, 'probs');
          const y = floatVector('anyloss', inputs, 'labels');
          const n = p.shape[0];
          expectRows('anyloss', 'labels', y, n);
          const a = tf.sigmoid(tf.mul(amp, tf.sub(p, 0.5)));
          const y1 = tf.sum(y);
          const y0 = tf.sub(n, y1);
          const sumA = tf.sum(a);
          const tp = tf.sum(tf.mul(y, a));
          const tn = tf.add(tf.sub(tf.sub(n, y1), sumA), tp);
          let score: tf.Tensor;
          switch (metric) {
            case 'f1':
              score = tf.div(tf.mul(2, tp), tf.add(tf.add(y1, sumA), S));
              break;
            case 'accuracy':
              score = tf.div(tf.add(tp, tn), n);
              break;
            case 'balanced_accuracy':
              score = tf.div(tf.add(tf.mul(y0, tp), tf.mul(y1, tn)), tf.add(tf.mul(2, tf.mul(y1, y0)), S));
              break;
            case 'gmean':
              score = tf.sqrt(tf.add(tf.div(tf.mul(tp, tf.relu(tn)), tf.add(tf.mul(y1, y0), S)), 1e-12));
              break;
            default:
              throw new Error(`unreachable anyloss metric ${String(metric)}`);
          }
          return tf.sub(1, score) as tf.Scalar;
        }),
    };
  },
};
