import * as tf from '@tensorflow/tfjs';
import {
  classificationInputs,
  expectRows,
  intVector,
  numParam,
  stateError,
  type LossImplementation,
  type LossInstance,
  type LossTensors,
} from './base.js';
import { ldrPerSample } from './ldr.js';

/** Smoothing added to q before the KL, as in the reference. */
const Q_SMOOTHING = 1e-5;
/** λ_i is kept ≥ this fraction of λ0 (only reachable when α = 1 and q is nearly one-hot). */
const LAMBDA_FLOOR = 1e-6;

/**
 * Adaptive LDR-KL (ALDR-KL, Zhu, Xu & Yang, ICML 2023): LDR-KL with a per-sample λ_i that
 * shrinks for samples whose prediction is far from uniform.
 *
 *   f   = h / (‖h‖₁ / K)                                   (no softplus, unlike ldr)
 *   q   = normalize_L1(softmax(f / λ_i) + 1e-5)             (λ_i: the stored value, λ0 at first)
 *   KL  = Σ_k q_k log(K q_k)
 *   λ_i ← λ0 (1 − KL / (α log K))                           (stored; treated as a constant)
 *   L   = mean_i [ λ_i log((1/K) Σ_k exp(d_k/λ_i)) − (α log K / (2 λ0)) (λ_i − λ0)² ]
 *
 * State: λ_i keyed by the `sampleIds` input (dataset row ids) or, when absent, by the position
 * in the batch. Since KL < log K, α ≥ 1 keeps λ_i > 0.
 */
class AldrLossInstance implements LossInstance {
  private readonly lambdas = new Map<number, number>();

  constructor(
    private readonly c: number,
    private readonly lambda0: number,
    private readonly alpha: number,
  ) {}

  compute(inputs: LossTensors): tf.Scalar {
    return tf.tidy(() => {
      const { logits, labels, numClasses } = classificationInputs('aldr', inputs);
      const n = logits.shape[0];
      let keys: ArrayLike<number>;
      if (inputs.sampleIds) {
        const ids = intVector('aldr', inputs, 'sampleIds');
        expectRows('aldr', 'sampleIds', ids, n);
        keys = ids.dataSync();
      } else {
        keys = Array.from({ length: n }, (_, i) => i);
      }
      const current = Array.from(keys, (k) => this.lambdas.get(k) ?? this.lambda0);

      const scale = tf.maximum(tf.mean(tf.abs(logits), 1, true), 1e-12);
      const f = tf.div(logits, scale) as tf.Tensor2D;

      // λ update (not differentiated).
      const logK = Math.log(numClasses);
      const kl = tf.tidy(() => {
        const q0 = tf.add(tf.softmax(tf.div(f, tf.tensor2d(current, [n, 1]))), Q_SMOOTHING);
        const q = tf.div(q0, tf.sum(q0, 1, true));
        return tf.sum(tf.mul(q, tf.log(tf.mul(q, numClasses))), 1).dataSync();
      });
      const updated = current.map((_, i) => {
        const lam = this.lambda0 * (1 - kl[i]! / (this.alpha * logK));
        return Math.max(lam, LAMBDA_FLOOR * this.lambda0);
      });
      for (let i = 0; i < n; i++) this.lambdas.set(keys[i]!, updated[i]!);

      const lam = tf.tensor1d(updated);
      const dro = ldrPerSample(f, labels, numClasses, this.c, lam);
      const penalty = tf.mul((this.alpha * logK) / (2 * this.lambda0), tf.square(tf.sub(lam, this.lambda0)));
      return tf.mean(tf.sub(dro, penalty)) as tf.Scalar;
    });
  }

  /** `{ lambdas: [[sampleId, λ], ...] }`, sorted by id. */
  saveState(): { lambdas: Array<[number, number]> } {
    return { lambdas: [...this.lambdas.entries()].sort((a, b) => a[0] - b[0]) };
  }

  loadState(state: unknown): void {
    const entries = (state as { lambdas?: unknown } | null)?.lambdas;
    if (!Array.isArray(entries)) throw stateError('aldr', 'expected { lambdas: [[id, lambda], ...] }');
    const next = new Map<number, number>();
    for (const e of entries) {
      if (
        !Array.isArray(e) ||
        e.length !== 2 ||
        typeof e[0] !== 'number' ||
        typeof e[1] !== 'number' ||
        !Number.isFinite(e[1])
      ) {
        throw stateError('aldr', `bad entry ${JSON.stringify(e)}`);
      }
      next.set(e[0], e[1]);
    }
    this.lambdas.clear();
    for (const [k, v] of next) this.lambdas.set(k, v);
  }
}

export const aldrLoss: LossImplementation = {
  name: 'aldr',
  create(params) {
    return new AldrLossInstance(
      numParam('aldr', params, 'c'),
      numParam('aldr', params, 'lambda0'),
      numParam('aldr', params, 'alpha'),
    );
  },
};
