import * as tf from '@tensorflow/tfjs';
import { classificationInputs, perSampleCrossEntropy, type LossDefinition } from './base.js';

/** Softmax cross-entropy `−log p_y`, the batch mean. */
export const ceLoss: LossDefinition = {
  name: 'ce',
  description: 'Softmax cross-entropy −log p_y (batch mean).',
  inputs: ['logits', 'labels'],
  params: [],
  stateful: false,
  family: 'classification',
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
