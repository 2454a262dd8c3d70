/**
 * Parzen estimators for TPE, after Optuna's `_ParzenEstimator` (optuna/samplers/_tpe):
 * a weighted mixture of one kernel per observation plus a prior kernel; each kernel is a product
 * over dimensions of a truncated Gaussian (numeric) or a smoothed one-hot (categorical).
 *
 * Numeric dimensions work in an internal space (log for loguniform and log ints) on
 * [low, high]; `discrete` dimensions (ints) have bounds already widened by half a step, and
 * their kernels give the probability mass of [x − ½, x + ½].
 *
 * Bandwidths: univariate — Optuna's neighbour rule (the larger gap to the sorted neighbours,
 * prior included, end points ignored) — multivariate — Scott-like 0.2·n^(−1/(d+4))·range, shared
 * by all kernels. Both then go through the "magic clip" to [range / min(100, 1 + K), range].
 * The prior kernel sits at the centre with σ = range and weight `priorWeight`.
 * Categorical kernels: each row is prior_weight/K on every choice plus 1 on the observed one,
 * normalised; the prior row is uniform.
 *
 * Everything is stored in typed arrays; evaluating C candidates costs O(C·K·d).
 */
import { LOG_SQRT_2PI, logNormalMass, normalCdf, normalQuantile } from './normal.js';
import type { RandomGenerator } from './rng.js';
import { uniform } from './rng.js';

export type DimSpec =
  { kind: 'numeric'; low: number; high: number; discrete: boolean } | { kind: 'categorical'; choices: number };

export interface ParzenParameters {
  priorWeight: number;
  /** Multivariate bandwidths (shared σ per dimension) instead of the neighbour rule. */
  multivariate: boolean;
}

/** Optuna's default_weights: flat for n < 25, else a ramp from 1/n up to 1 for older trials. */
export function defaultWeights(n: number): Float64Array {
  const out = new Float64Array(n).fill(1);
  if (n < 25) return out;
  const ramp = n - 25;
  if (ramp === 1) out[0] = 1 / n;
  else for (let i = 0; i < ramp; i++) out[i] = 1 / n + ((1 - 1 / n) * i) / (ramp - 1);
  return out;
}

/** Optuna's default_gamma: the size of the "good" set. */
export function defaultGamma(n: number): number {
  return Math.min(Math.ceil(0.1 * n), 25);
}

interface Kernels {
  /** terms[k] += log kernel_k(x) for every component k. */
  addLog(x: number, terms: Float64Array): void;
  sample(k: number, rng: RandomGenerator): number;
}

class NumericKernels implements Kernels {
  readonly mu: Float64Array;
  readonly sigma: Float64Array;
  private readonly invSigma: Float64Array;
  private readonly logInvSigma: Float64Array;
  private readonly logCoef: Float64Array;
  /** Discrete dimensions: log masses of every kernel at each integer evaluated so far. */
  private readonly massCache = new Map<number, Float64Array>();

  constructor(
    observations: Float64Array,
    private readonly spec: Extract<DimSpec, { kind: 'numeric' }>,
    parameters: ParzenParameters,
    jointDims: number,
  ) {
    const { low, high } = spec;
    const m = observations.length;
    const K = m + 1;
    const range = high - low;
    const priorMu = 0.5 * (low + high);
    this.mu = new Float64Array(K);
    for (let i = 0; i < m; i++) this.mu[i] = Math.min(high, Math.max(low, observations[i]!));
    this.mu[m] = priorMu;
    this.sigma = new Float64Array(K);
    if (parameters.multivariate) {
      this.sigma.fill(0.2 * Math.max(m, 1) ** (-1 / (jointDims + 4)) * range);
    } else {
      neighbourBandwidths(this.mu, low, high, this.sigma);
    }
    const minSigma = range / Math.min(100, 1 + K);
    for (let k = 0; k < m; k++) this.sigma[k] = Math.min(range, Math.max(minSigma, this.sigma[k]!));
    this.sigma[m] = range;
    this.invSigma = new Float64Array(K);
    this.logInvSigma = new Float64Array(K);
    this.logCoef = new Float64Array(K);
    for (let k = 0; k < K; k++) {
      const s = this.sigma[k]!;
      const mu = this.mu[k]!;
      this.invSigma[k] = 1 / s;
      this.logInvSigma[k] = -Math.log(s);
      // The centres lie inside [low, high], so a <= 0 <= b and the mass is at least ~0.34.
      const logZ = logNormalMass((low - mu) / s, (high - mu) / s);
      this.logCoef[k] = spec.discrete ? -logZ : -Math.log(s) - LOG_SQRT_2PI - logZ;
    }
  }

  addLog(x: number, terms: Float64Array): void {
    const { mu, invSigma, logCoef } = this;
    const K = mu.length;
    if (this.spec.discrete) {
      // Candidates are integers and repeat: each distinct value's K masses are computed once.
      let row = this.massCache.get(x);
      if (!row) {
        row = new Float64Array(K);
        for (let k = 0; k < K; k++) {
          const inv = invSigma[k]!;
          const d = x - mu[k]!;
          const z = d * inv;
          // Beyond 8σ the kernel is negligible against the near ones: the midpoint density
          // (no erfc) is accurate enough there and keeps the term finite.
          row[k] =
            logCoef[k]! +
            (z > 8 || z < -8
              ? -0.5 * z * z - LOG_SQRT_2PI + this.logInvSigma[k]!
              : logNormalMass((d - 0.5) * inv, (d + 0.5) * inv));
        }
        this.massCache.set(x, row);
      }
      for (let k = 0; k < K; k++) terms[k]! += row[k]!;
      return;
    }
    for (let k = 0; k < K; k++) {
      const z = (x - mu[k]!) * invSigma[k]!;
      terms[k]! += logCoef[k]! - 0.5 * z * z;
    }
  }

  /** Inverse-CDF draw from kernel k truncated to [low, high]. */
  sample(k: number, rng: RandomGenerator): number {
    const mu = this.mu[k]!;
    const s = this.sigma[k]!;
    const lo = normalCdf((this.spec.low - mu) / s);
    const hi = normalCdf((this.spec.high - mu) / s);
    const x = mu + s * normalQuantile(lo + uniform(rng) * (hi - lo));
    return Math.min(this.spec.high, Math.max(this.spec.low, Number.isFinite(x) ? x : mu));
  }
}

/**
 * Optuna's univariate bandwidths: sort the centres (prior included), take for each the larger
 * gap to its neighbours (with low/high as outer neighbours), except that the first and last
 * centres use their inner gap only (consider_endpoints = false). Equal centres all take the gap
 * of the first of them (numpy's unstable argsort leaves this arbitrary). Writes sigma for every
 * centre; the caller overwrites the prior's.
 */
function neighbourBandwidths(mu: Float64Array, low: number, high: number, sigma: Float64Array): void {
  const K = mu.length;
  const sorted = Float64Array.from(mu).sort();
  const gap = new Float64Array(K);
  for (let j = 0; j < K; j++) {
    const left = j === 0 ? low : sorted[j - 1]!;
    const right = j === K - 1 ? high : sorted[j + 1]!;
    gap[j] = Math.max(sorted[j]! - left, right - sorted[j]!);
  }
  if (K >= 2) {
    gap[0] = sorted[1]! - sorted[0]!;
    gap[K - 1] = sorted[K - 1]! - sorted[K - 2]!;
  }
  // Map each centre back to its sorted slot (binary search; equal centres share the first slot).
  for (let k = 0; k < K; k++) {
    const x = mu[k]!;
    let lo = 0;
    let hi = K - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (sorted[mid]! < x) lo = mid + 1;
      else hi = mid;
    }
    sigma[k] = gap[lo]!;
  }
}

class CategoricalKernels implements Kernels {
  /** Row-major K × C log probabilities. */
  private readonly logP: Float64Array;
  private readonly p: Float64Array;

  constructor(
    observations: Float64Array,
    private readonly choices: number,
    parameters: ParzenParameters,
  ) {
    const m = observations.length;
    const K = m + 1;
    const C = choices;
    this.p = new Float64Array(K * C);
    this.logP = new Float64Array(K * C);
    const base = parameters.priorWeight / K;
    const rowSum = 1 + C * base;
    // An observation's row holds only two values: the smoothed mass of its own choice and of
    // every other one; their logs are taken once.
    const other = base / rowSum;
    const own = (base + 1) / rowSum;
    const logOther = Math.log(other);
    const logOwn = Math.log(own);
    for (let k = 0; k < m; k++) {
      const row = k * C;
      this.p.fill(other, row, row + C);
      this.logP.fill(logOther, row, row + C);
      this.p[row + observations[k]!] = own;
      this.logP[row + observations[k]!] = logOwn;
    }
    this.p.fill(1 / C, m * C, K * C);
    this.logP.fill(-Math.log(C), m * C, K * C);
  }

  addLog(x: number, terms: Float64Array): void {
    const C = this.choices;
    for (let k = 0; k < terms.length; k++) terms[k]! += this.logP[k * C + x]!;
  }

  sample(k: number, rng: RandomGenerator): number {
    const C = this.choices;
    let u = uniform(rng);
    for (let c = 0; c < C - 1; c++) {
      u -= this.p[k * C + c]!;
      if (u < 0) return c;
    }
    return C - 1;
  }
}

/** A weighted mixture of product kernels over `dims` (observations + prior). */
export class ParzenEstimator {
  private readonly logW: Float64Array;
  private readonly cumW: Float64Array;
  private readonly kernels: Kernels[];
  private readonly terms: Float64Array;
  /** Every dimension takes few distinct values (ints, choices). */
  private readonly discrete: boolean;

  /**
   * @param observations one array per dimension, internal values (category indexes for
   *   categorical), all of the same length m
   * @param weights m observation weights (before the prior is added and all are normalised)
   */
  constructor(observations: Float64Array[], weights: Float64Array, specs: DimSpec[], parameters: ParzenParameters) {
    const m = weights.length;
    const K = m + 1;
    let total = parameters.priorWeight;
    for (let i = 0; i < m; i++) total += weights[i]!;
    this.logW = new Float64Array(K);
    this.cumW = new Float64Array(K);
    let acc = 0;
    for (let k = 0; k < K; k++) {
      const w = (k < m ? weights[k]! : parameters.priorWeight) / total;
      this.logW[k] = Math.log(w);
      acc += w;
      this.cumW[k] = acc;
    }
    this.discrete = specs.every((spec) => spec.kind === 'categorical' || spec.discrete);
    this.kernels = specs.map((spec, d) =>
      spec.kind === 'numeric'
        ? new NumericKernels(observations[d]!, spec, parameters, specs.length)
        : new CategoricalKernels(observations[d]!, spec.choices, parameters),
    );
    this.terms = new Float64Array(K);
  }

  /** `count` points drawn from the mixture: one array per dimension. */
  sample(rng: RandomGenerator, count: number): Float64Array[] {
    const out = this.kernels.map(() => new Float64Array(count));
    const K = this.cumW.length;
    for (let i = 0; i < count; i++) {
      const u = uniform(rng);
      let k = 0;
      while (k < K - 1 && this.cumW[k]! <= u) k++;
      this.kernels.forEach((kernel, d) => {
        out[d]![i] = kernel.sample(k, rng);
      });
    }
    return out;
  }

  /**
   * log density (mass for discrete dimensions) of each point; points given per dimension.
   * One-dimensional estimators of a discrete dimension (ints, choices) evaluate each distinct
   * value once, as those repeat; continuous candidates practically never do.
   */
  logPdf(points: Float64Array[], count: number): Float64Array {
    const out = new Float64Array(count);
    const seen = this.kernels.length === 1 && this.discrete ? new Map<number, number>() : undefined;
    for (let i = 0; i < count; i++) {
      if (seen) {
        const x = points[0]![i]!;
        let value = seen.get(x);
        if (value === undefined) {
          value = this.logPdfAt(points, i);
          seen.set(x, value);
        }
        out[i] = value;
      } else {
        out[i] = this.logPdfAt(points, i);
      }
    }
    return out;
  }

  private logPdfAt(points: Float64Array[], i: number): number {
    const terms = this.terms;
    const K = terms.length;
    terms.set(this.logW);
    for (let d = 0; d < this.kernels.length; d++) this.kernels[d]!.addLog(points[d]![i]!, terms);
    let max = -Infinity;
    for (let k = 0; k < K; k++) if (terms[k]! > max) max = terms[k]!;
    if (max === -Infinity) return -Infinity;
    // Terms more than 40 nats below the largest change the sum by less than 1e-17 each.
    const cut = max - 40;
    let sum = 0;
    for (let k = 0; k < K; k++) {
      const t = terms[k]!;
      if (t > cut) sum += Math.exp(t - max);
    }
    return max + Math.log(sum);
  }
}
