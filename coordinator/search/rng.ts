/**
 * Seeded randomness for the search algorithms and schedulers.
 *
 * Every random draw comes from a generator derived from a hash of its keys (the spec seed, the
 * trial number, a purpose label...), never from a generator that advances with history, so a
 * suggestion is a pure function of its keys: the same seed and trial number give the same
 * draws whatever was asked before, in whatever order.
 */
import { xoroshiro128plusFromState } from 'pure-rand/generator/xoroshiro128plus';
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import type { RandomGenerator } from 'pure-rand/types/RandomGenerator';
import { fmix32, fnv1a } from '../../shared/hash.js';

export type { RandomGenerator };

const GOLDEN = 0x9e3779b9;

/** Hashes a list of keys (integers up to 2^53, negative allowed, or strings) into 32 bits. */
export function hashKeys(keys: readonly (number | string)[], salt = 0): number {
  let h = fmix32(GOLDEN ^ salt);
  for (const key of keys) {
    if (typeof key === 'string') {
      h = fmix32(h ^ fnv1a(key)) + GOLDEN; // purpose labels ("tpe.candidates") hash by FNV-1a
      continue;
    }
    const lo = key >>> 0;
    const hi = Math.floor(key / 4294967296) >>> 0;
    h = fmix32((h ^ lo) >>> 0);
    h = fmix32((h + hi + GOLDEN) >>> 0);
  }
  return fmix32(h);
}

/** A xoroshiro128+ generator whose 128-bit state is a hash of the keys. */
export function rngFor(...keys: (number | string)[]): RandomGenerator {
  const state: number[] = [0, 1, 2, 3].map((word) => hashKeys(keys, word + 1) | 0);
  // xoroshiro's all-zero state is a fixed point; a 2^-128 event, but cheap to rule out.
  if ((state[0]! | state[1]! | state[2]! | state[3]!) === 0) state[0] = 1;
  const rng = xoroshiro128plusFromState(state);
  // xoroshiro128+'s first outputs are weakly mixed functions of the state (s0 + s1): related
  // keys then give near-identical first draws. Discarding a few outputs decorrelates them.
  for (let i = 0; i < 4; i++) rng.next();
  return rng;
}

/** A uniform draw in [0, 1) with 53 random bits. */
export function uniform(rng: RandomGenerator): number {
  return uniformFloat64(rng);
}

/** A uniform integer in [0, n). */
export function below(rng: RandomGenerator, n: number): number {
  return Math.min(n - 1, Math.floor(uniformFloat64(rng) * n));
}
