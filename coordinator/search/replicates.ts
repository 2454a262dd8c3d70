/**
 * Replicates (`search.replicates: k`): every configuration runs k times with different seeds and
 * configurations are ranked by their mean.
 *
 * Numbering: trial n belongs to configuration floor(n / k) and is its replicate n mod k, so
 * trials c·k … c·k + k − 1 share params. The search algorithm is asked once per configuration
 * (see the contract in base.ts). The sweep runner (coordinator/sweeps/) numbers, seeds and
 * groups trials with these functions, and ranks configurations with `summarise` (best.ts).
 */
import type { Params } from '../../shared/spec/space.js';

/** The configuration index of trial n. */
export function configOfTrial(n: number, k: number): number {
  return Math.floor(n / k);
}

/** The trial numbers of configuration c. */
export function trialsOfConfig(c: number, k: number): number[] {
  return Array.from({ length: k }, (_, r) => c * k + r);
}

/**
 * The training seed of trial `number`. Without replicates, a swept `seed` param sets it, then
 * the spec's `trial.seed`; otherwise (and always with replicates, so the k seeds of one
 * configuration differ) it is derived from the search seed and the trial number.
 */
export function seedOfTrial(
  number: number,
  options: { searchSeed: number; replicates: number; params: Params; fixedSeed?: number | undefined },
): number {
  const { searchSeed, replicates, params, fixedSeed } = options;
  if (replicates > 1) return derivedSeed(searchSeed, number);
  if (typeof params.seed === 'number') return params.seed;
  return fixedSeed ?? derivedSeed(searchSeed, number);
}

/**
 * A stable mix of the search seed and the trial number, in [0, 2^31 − 1) like a spec's seed
 * (numpy, for one, refuses negative seeds).
 */
export function derivedSeed(searchSeed: number, number: number): number {
  let h = (searchSeed ^ 0x9e3779b9) >>> 0;
  h = Math.imul(h ^ (number + 0x7f4a7c15), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  // `^` gives a signed 32-bit int: unsigned first, or half of all seeds come out negative.
  return ((h ^ (h >>> 16)) >>> 0) % 2147483647;
}

/** Two-sided 95% Student-t quantiles t(0.975, df) for df = 1..30. */
const T975 = [
  12.706204736, 4.30265273, 3.182446305, 2.776445105, 2.570581836, 2.446911851, 2.364624252, 2.306004135, 2.262157163,
  2.228138852, 2.20098516, 2.17881283, 2.160368656, 2.144786688, 2.131449546, 2.119905299, 2.109815578, 2.10092204,
  2.093024054, 2.085963447, 2.079613845, 2.073873068, 2.06865761, 2.063898562, 2.059538553, 2.055529439, 2.051830516,
  2.048407142, 2.045229642, 2.042272456,
];
const Z975 = 1.959963984540054;

/**
 * t(0.975, df): the table up to 30 degrees of freedom, then the Cornish–Fisher expansion
 * (error below 1e-5 from df = 31 on).
 */
export function tQuantile975(df: number): number {
  if (df < 1) return NaN;
  const whole = Math.floor(df);
  if (whole <= T975.length) return T975[whole - 1]!;
  const z = Z975;
  const z3 = z ** 3;
  const z5 = z ** 5;
  const z7 = z ** 7;
  return (
    z +
    (z3 + z) / (4 * df) +
    (5 * z5 + 16 * z3 + 3 * z) / (96 * df ** 2) +
    (3 * z7 + 19 * z5 + 17 * z3 - 15 * z) / (384 * df ** 3)
  );
}

export interface Summary {
  mean: number;
  /** Sample standard deviation (n − 1); 0 for one value. */
  sd: number;
  /** Half-width of the 95% confidence interval of the mean (Student t); 0 for one value. */
  ci95: number;
  n: number;
}

export function summarise(values: readonly number[]): Summary {
  const n = values.length;
  if (n === 0) return { mean: NaN, sd: NaN, ci95: NaN, n: 0 };
  const mean = values.reduce((a, b) => a + b, 0) / n;
  if (n === 1) return { mean, sd: 0, ci95: 0, n };
  const ss = values.reduce((a, v) => a + (v - mean) ** 2, 0);
  const sd = Math.sqrt(ss / (n - 1));
  return { mean, sd, ci95: (tQuantile975(n - 1) * sd) / Math.sqrt(n), n };
}
