/**
 * ASTEROID losses (shared/research/ALGORITHMS.md §1):
 *
 * - energy + force: `L = (1 − ρ)·MAE_E + ρ·F_term`, `F_term = mean_i [ w_i · mean_{a,d} |F̂ − F| ]`
 *   (w_i = 1 for the plain loss);
 * - bias estimate `e_i = mean_{a,d} |F_teacher − F_cheap|` and weights `w_i = exp(−e_i/γ)/normalizer`;
 * - sliced score matching on unlabeled frames:
 *   `L = k_B·T·mean_a(loss2) + mean_a(loss1)` with `loss1_a = ½‖F̂_a‖²`,
 *   `loss2_a = Σ_k Σ_d v_k[a,d]·g_k[a,d] / n`, `g_k = ∂(Σ F̂·v_k)/∂R`, `v_k ~ N(0, I)`;
 *   averaged over the frames of the batch as well. For a linear force F = −K·R this is, in
 *   expectation, `(½‖KR‖² − k_B·T·tr K) / atoms` — ALGORITHMS.md's hand check
 *   `½‖KR‖² − k_B·T·tr(K)` has no `1/atoms` because it drops the mean over atoms (they agree
 *   exactly for one atom; the tests check both).
 */
import type * as tfNs from '@tensorflow/tfjs';
import { K_B, Rng } from './system.js';

type TF = typeof tfNs;

export interface EnergyForceInputs {
  predEnergy: tfNs.Tensor; // [B]
  trueEnergy: tfNs.Tensor; // [B]
  predForces: tfNs.Tensor; // [B, atoms, 3]
  trueForces: tfNs.Tensor; // [B, atoms, 3]
  /** Per-frame weights [B]; default all 1. */
  weights?: tfNs.Tensor;
  /** Force fraction ρ; default 0.999. */
  rho?: number;
}

/** `(1 − ρ)·mean_i|Ê_i − E_i| + ρ·mean_i[w_i·mean_{a,d}|F̂ − F|]`. */
export function energyForceLoss(tf: TF, x: EnergyForceInputs): tfNs.Scalar {
  const rho = x.rho ?? 0.999;
  return tf.tidy(() => {
    const maeE = tf.mean(tf.abs(tf.sub(x.predEnergy, x.trueEnergy)));
    const perFrame = tf.mean(tf.abs(tf.sub(x.predForces, x.trueForces)), [1, 2]); // [B]
    const fTerm = tf.mean(x.weights ? tf.mul(x.weights, perFrame) : perFrame);
    return tf.add(tf.mul(1 - rho, maeE), tf.mul(rho, fTerm)) as tfNs.Scalar;
  });
}

/** Per-frame mean absolute force difference `mean_{a,d} |A − B|`. */
export function forceErrors(a: number[][][], b: number[][][]): number[] {
  if (a.length !== b.length) throw new Error(`forceErrors: ${a.length} frames vs ${b.length}`);
  return a.map((fa, i) => {
    const fb = b[i]!;
    let s = 0;
    let c = 0;
    fa.forEach((atom, j) =>
      atom.forEach((v, d) => {
        s += Math.abs(v - fb[j]![d]!);
        c++;
      }),
    );
    return c > 0 ? s / c : 0;
  });
}

/** `e_i = mean_{a,d} |F_teacher[i,a,d] − F_cheap[i,a,d]|`. */
export function biasErrors(teacherForces: number[][][], cheapForces: number[][][]): number[] {
  return forceErrors(teacherForces, cheapForces);
}

/** `w_i = exp(−e_i/γ) / normalizer` (γ = 1, normalizer = 1 by default). */
export function biasWeights(e: number[], gamma = 1, normalizer = 1): number[] {
  if (!(gamma > 0)) throw new Error('biasWeights: gamma must be > 0');
  if (!(normalizer > 0)) throw new Error('biasWeights: normalizer must be > 0');
  return e.map((v) => Math.exp(-v / gamma) / normalizer);
}

/** Mean absolute error of energies and forces (plain arrays). */
export function maes(
  pred: { energies: number[]; forces: number[][][] },
  truth: { energies: number[]; forces: number[][][] },
): { energy: number; force: number } {
  const n = truth.energies.length;
  let e = 0;
  for (let i = 0; i < n; i++) e += Math.abs(pred.energies[i]! - truth.energies[i]!);
  const f = forceErrors(pred.forces, truth.forces);
  return { energy: n ? e / n : 0, force: n ? f.reduce((a, b) => a + b, 0) / n : 0 };
}

/** Standard-normal probe vectors [n, B, atoms, 3] from a seeded stream. */
export function probeVectors(tf: TF, n: number, shape: [number, number, number], seed: number): tfNs.Tensor4D {
  const rng = new Rng(seed);
  const size = n * shape[0] * shape[1] * shape[2];
  const v = new Float32Array(size);
  for (let k = 0; k < size; k++) v[k] = rng.normal();
  return tf.tensor4d(v, [n, ...shape]);
}

export interface ScoreMatchingOptions {
  /** Probe vectors v ~ N(0, I), [n, B, atoms, 3]. */
  vectors: tfNs.Tensor;
  /** Kelvin; default 500. */
  temperature?: number;
}

/**
 * Sliced score matching for a force field `forceFn: R [B, atoms, 3] → F̂ [B, atoms, 3]`.
 * All n probes are evaluated in one pass by tiling the batch n times (frames are independent).
 * Differentiable w.r.t. whatever `forceFn` closes over (third order through the model).
 */
export function scoreMatchingLoss(
  tf: TF,
  forceFn: (R: tfNs.Tensor) => tfNs.Tensor,
  R: tfNs.Tensor,
  opts: ScoreMatchingOptions,
): tfNs.Scalar {
  const kT = K_B * (opts.temperature ?? 500);
  return tf.tidy(() => {
    const [batch, atoms] = [R.shape[0]!, R.shape[1]!];
    const n = opts.vectors.shape[0]!;
    if (opts.vectors.shape[1] !== batch || opts.vectors.shape[2] !== atoms || opts.vectors.shape[3] !== 3) {
      throw new Error(
        `scoreMatchingLoss: vectors must be [n, ${batch}, ${atoms}, 3], got [${opts.vectors.shape.join(', ')}]`,
      );
    }
    const F = forceFn(R);
    const loss1 = tf.mul(0.5, tf.sum(tf.square(F), -1)); // [B, atoms]
    const V = tf.reshape(opts.vectors, [n * batch, atoms, 3]);
    const Rt = tf.tile(R, [n, 1, 1]); // copy k holds rows k·B … k·B + B − 1
    const g = tf.grad((x: tfNs.Tensor) => tf.sum(tf.mul(forceFn(x), V)) as tfNs.Scalar)(Rt); // [n·B, atoms, 3]
    const vg = tf.sum(tf.mul(V, g), -1); // [n·B, atoms]
    const loss2 = tf.div(tf.sum(tf.reshape(vg, [n, batch, atoms]), 0), n); // [B, atoms]
    return tf.add(tf.mul(kT, tf.mean(loss2)), tf.mean(loss1)) as tfNs.Scalar;
  });
}
