/**
 * Seeded random numbers for everything data- and training-related (splits, label noise, init,
 * shuffling, dropout seeds). A thin wrapper over pure-rand's xoroshiro128+ whose state can be
 * saved into a checkpoint and restored, so a resumed attempt continues the same sequence.
 */
import { xoroshiro128plus, xoroshiro128plusFromState } from 'pure-rand/generator/xoroshiro128plus';
import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import type { JumpableRandomGenerator } from 'pure-rand/types/JumpableRandomGenerator';
import { fmix32, fnv1a } from '../../shared/hash.js';

/** A 32-bit seed for an independent stream (`split`, `noise`, `init`...) derived from the trial seed. */
export function deriveSeed(seed: number, stream: string): number {
  // FNV-1a over the stream name, mixed with the seed (murmur3 finaliser).
  return fmix32(fnv1a(stream) ^ (Math.floor(seed) | 0) ^ (Math.floor(seed / 0x100000000) | 0));
}

export class Rng {
  private constructor(private readonly gen: JumpableRandomGenerator) {}

  /** A generator for `stream` of the trial `seed`. */
  static create(seed: number, stream = ''): Rng {
    return new Rng(xoroshiro128plus(stream ? deriveSeed(seed, stream) : seed | 0));
  }

  /** Restores a generator saved with `getState()`. */
  static fromState(state: readonly number[]): Rng {
    return new Rng(xoroshiro128plusFromState(state));
  }

  /** The generator's position, for checkpoints. */
  getState(): number[] {
    return [...this.gen.getState()];
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    if (n <= 1) return 0;
    return uniformInt(this.gen, 0, n - 1);
  }

  /** Uniform float in [0, 1). */
  float(): number {
    return uniformFloat64(this.gen);
  }

  /** Unsigned 32-bit integer (e.g. a seed for a tfjs random op). */
  uint32(): number {
    return this.gen.next() >>> 0;
  }

  /** Standard normal (Box–Muller; one value per call so that `getState()` is the whole state). */
  normal(): number {
    let u = 0;
    while (u === 0) u = this.float();
    const v = this.float();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** Fisher–Yates shuffle in place; returns the same array. */
  shuffle<A extends { length: number; [index: number]: unknown }>(items: A): A {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = items[i];
      items[i] = items[j];
      items[j] = tmp;
    }
    return items;
  }

  /** A shuffled copy of 0..n-1. */
  permutation(n: number): Int32Array {
    const out = new Int32Array(n);
    for (let i = 0; i < n; i++) out[i] = i;
    this.shuffle(out);
    return out;
  }
}
