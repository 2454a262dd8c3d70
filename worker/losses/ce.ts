import * as tf from '@tensorflow/tfjs';
import { classificationInputs, perSampleCrossEntropy, type LossImplementation } from './base.js';

/** Softmax cross-entropy `−log p_y`, the batch mean. */
export const ceLoss: LossImplementation = {
  name: 'ce',
  create() {
    return {
      compute: (inputs) =>
        tf.tidy(() => {
          const { logits, labels } = classificationInputs('ce', inputs);
          return tf.mean(perSampleCrossEntropy(logits, labels)) as tf.Scalar;
        }),
    };
  },
};
