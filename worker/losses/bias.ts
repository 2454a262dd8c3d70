import * as tf from '@tensorflow/tfjs';
import {
  classificationInputs,
  expectRows,
  numParam,
  perSampleCrossEntropy,
  requireInput,
  stateError,
  type LossImplementation,
  type LossInstance,
} from './base.js';

/** The running minimum starts here, as in the reference implementation. */
export const BIAS_INITIAL_GLOBAL_MIN = 1e5;

/**
 * Bias Loss (Abrahamyan et al., ICCV 2021). Samples whose last feature map has a low variance
 * carry little information; they are down-weighted:
 *
 *   v_i = unbiased variance of sample i's features (flattened)
 *   g   = min(g, min_i v_i)               (running "global mode", state, starts at 1e5)
 *   ṽ_i = (v_i − g) / (max v − min v)     (batch max/min; 0 when the batch range is 0)
 *   z_i = exp(α ṽ_i) − β
 *   L   = mean_i z_i · CE_i
 *
 * The weights are constants (features are detached), so gradients flow through CE only.
 */
class BiasLossInstance implements LossInstance {
  private globalMin = BIAS_INITIAL_GLOBAL_MIN;

  constructor(
    private readonly alpha: number,
    private readonly beta: number,
  ) {}

  compute(inputs: Parameters<LossInstance['compute']>[0]): tf.Scalar {
    return tf.tidy(() => {
      const { logits, labels } = classificationInputs('bias', inputs);
      const n = logits.shape[0];
      const features = requireInput('bias', inputs, 'features');
      expectRows('bias', 'features', features, n);
      const weights = this.weights(features.reshape([n, -1]).dataSync(), n);
      return tf.mean(tf.mul(tf.tensor1d(weights), perSampleCrossEntropy(logits, labels))) as tf.Scalar;
    });
  }

  /** Updates the running minimum and returns z_i (plain numbers, float64 arithmetic). */
  private weights(data: ArrayLike<number>, n: number): number[] {
    const d = n === 0 ? 0 : data.length / n;
    const variances: number[] = [];
    for (let i = 0; i < n; i++) {
      let mean = 0;
      for (let j = 0; j < d; j++) mean += data[i * d + j]!;
      mean /= d;
      let ss = 0;
      for (let j = 0; j < d; j++) ss += (data[i * d + j]! - mean) ** 2;
      variances.push(d > 1 ? ss / (d - 1) : 0); // guard 0/0 for a single feature
    }
    if (n === 0) return [];
    const lo = Math.min(...variances);
    const hi = Math.max(...variances);
    this.globalMin = Math.min(this.globalMin, lo);
    const range = hi - lo;
    return variances.map((v) => {
      const normalised = range > 0 ? (v - this.globalMin) / range : 0; // guard 0/0
      return Math.exp(this.alpha * normalised) - this.beta;
    });
  }

  saveState(): { globalMin: number } {
    return { globalMin: this.globalMin };
  }

  loadState(state: unknown): void {
    const g = (state as { globalMin?: unknown } | null)?.globalMin;
    if (typeof g !== 'number' || Number.isNaN(g)) throw stateError('bias', 'expected { globalMin: number }');
    this.globalMin = g;
  }
}

export const biasLoss: LossImplementation = {
  name: 'bias',
  create(params) {
    return new BiasLossInstance(numParam('bias', params, 'alpha'), numParam('bias', params, 'beta'));
  },
};
