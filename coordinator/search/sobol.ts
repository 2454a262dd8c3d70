/**
 * Sobol quasi-random search, computed on the coordinator: trial n gets point n of one
 * sequence, so trials suggested in parallel still fill the space with low discrepancy.
 *
 * Direction numbers: Joe & Kuo (2008), file new-joe-kuo-6.21201, dimensions 1–32 (one
 * dimension per parameter of the space, conditional ones included; an inactive parameter
 * simply ignores its coordinate). Points are 32-bit, generated directly from the Gray code of
 * the index (no state, so any n can be asked in any order).
 *
 * Scrambling (`scramble`, default true): a random digital shift — every coordinate's 32 bits
 * are XORed with a per-dimension word drawn from the seed. It keeps the (t, m, s)-net
 * structure, so the first 2^m points stay balanced, while making different seeds give
 * different point sets. Scrambled, trial n is point n (the origin is shifted like any other
 * point). Unscrambled (`scramble: false`), trial n is point n + 1: the all-zero first point is
 * skipped, as in Joe & Kuo's reference tables, so the sequence starts
 * (0.5, 0.5), (0.75, 0.25), (0.25, 0.75), (0.375, 0.375), (0.875, 0.875)…
 *
 * A coordinate u in [0, 1) maps onto its domain with `fromUnit` (choices and ints by equal
 * cells, loguniform in log space).
 */
import type { Params, Space } from '../../shared/spec/space.js';
import type { SearchAlgorithm, SearchOptions } from './base.js';
import { SEARCH_STRUCTURAL_KEYS } from './base.js';
import { assign, fromUnit, paramOrder } from './domains.js';
import { hashKeys } from './rng.js';
import { parseSettings, setting } from './settings.js';

/** Joe–Kuo new-joe-kuo-6.21201, dimensions 2..32: [s (degree), a (coefficients), m_1..m_s]. */
const JOE_KUO: readonly (readonly number[])[] = [
  [1, 0, 1],
  [2, 1, 1, 3],
  [3, 1, 1, 3, 1],
  [3, 2, 1, 1, 1],
  [4, 1, 1, 1, 3, 3],
  [4, 4, 1, 3, 5, 13],
  [5, 2, 1, 1, 5, 5, 17],
  [5, 4, 1, 1, 5, 5, 5],
  [5, 7, 1, 1, 7, 11, 19],
  [5, 11, 1, 1, 5, 1, 1],
  [5, 13, 1, 1, 1, 3, 11],
  [5, 14, 1, 3, 5, 5, 31],
  [6, 1, 1, 3, 3, 9, 7, 49],
  [6, 13, 1, 1, 1, 15, 21, 21],
  [6, 16, 1, 3, 1, 13, 27, 49],
  [6, 19, 1, 1, 1, 15, 7, 5],
  [6, 22, 1, 3, 1, 15, 13, 25],
  [6, 25, 1, 1, 5, 5, 19, 61],
  [7, 1, 1, 3, 7, 11, 23, 15, 103],
  [7, 4, 1, 3, 7, 13, 13, 15, 69],
  [7, 7, 1, 1, 3, 13, 7, 35, 63],
  [7, 8, 1, 3, 5, 9, 1, 25, 53],
  [7, 14, 1, 3, 1, 13, 9, 35, 107],
  [7, 19, 1, 3, 1, 5, 27, 61, 31],
  [7, 21, 1, 1, 5, 11, 19, 41, 61],
  [7, 28, 1, 3, 5, 3, 3, 13, 69],
  [7, 31, 1, 1, 7, 13, 1, 19, 1],
  [7, 32, 1, 3, 7, 5, 13, 19, 59],
  [7, 37, 1, 1, 3, 9, 25, 29, 41],
  [7, 41, 1, 3, 5, 13, 23, 1, 55],
  [7, 42, 1, 3, 7, 3, 13, 59, 17],
];

export const SOBOL_MAX_DIMENSIONS = JOE_KUO.length + 1;
const BITS = 32;
const TWO_32 = 4294967296;

/** Direction numbers V_1..V_32 of one dimension (0-based), scaled by 2^32. */
function directions(dimension: number): Uint32Array {
  const v = new Uint32Array(BITS + 1);
  if (dimension === 0) {
    for (let i = 1; i <= BITS; i++) v[i] = 2 ** (BITS - i);
    return v;
  }
  const row = JOE_KUO[dimension - 1]!;
  const s = row[0]!;
  const a = row[1]!;
  for (let i = 1; i <= Math.min(s, BITS); i++) v[i] = row[1 + i]! * 2 ** (BITS - i);
  for (let i = s + 1; i <= BITS; i++) {
    let value = v[i - s]! ^ (v[i - s]! >>> s);
    for (let k = 1; k <= s - 1; k++) if ((a >>> (s - 1 - k)) & 1) value ^= v[i - k]!;
    v[i] = value >>> 0;
  }
  return v;
}

/** A Sobol sequence generator: point(n) in [0,1)^d, optionally digitally shifted. */
export class SobolSequence {
  private readonly v: Uint32Array[];
  private readonly shift: Uint32Array;

  constructor(
    readonly dimensions: number,
    shiftSeed?: number,
  ) {
    if (dimensions > SOBOL_MAX_DIMENSIONS) throw new Error(`sobol supports at most ${SOBOL_MAX_DIMENSIONS} dimensions`);
    this.v = Array.from({ length: dimensions }, (_, d) => directions(d));
    this.shift = new Uint32Array(dimensions);
    if (shiftSeed !== undefined)
      for (let d = 0; d < dimensions; d++) this.shift[d] = hashKeys([shiftSeed, 'sobol.shift', d]);
  }

  /** Point `index` (0-based; index 0 is the origin before shifting); index < 2^32. */
  point(index: number): Float64Array {
    const gray = (index ^ Math.floor(index / 2)) >>> 0;
    const out = new Float64Array(this.dimensions);
    for (let d = 0; d < this.dimensions; d++) {
      const v = this.v[d]!;
      let x = 0;
      for (let bit = 1, g = gray; g !== 0; bit++, g >>>= 1) if (g & 1) x ^= v[bit]!;
      out[d] = ((x ^ this.shift[d]!) >>> 0) / TWO_32;
    }
    return out;
  }
}

export class SobolSearch implements SearchAlgorithm {
  readonly name = 'sobol';
  readonly usesHistory = false;
  private readonly space: Space;
  private readonly order: string[];
  private readonly sequence: SobolSequence;
  private readonly scramble: boolean;

  constructor(options: SearchOptions) {
    this.order = paramOrder(options.space);
    const dimensions = this.order.length;
    ({ scramble: this.scramble } = parseSettings(
      'search',
      { scramble: setting.boolean(true) },
      options.settings,
      SEARCH_STRUCTURAL_KEYS,
      () => [
        {
          ok: dimensions <= SOBOL_MAX_DIMENSIONS,
          name: 'space',
          rule: `sobol supports at most ${SOBOL_MAX_DIMENSIONS} parameters`,
          value: dimensions,
        },
      ],
    ));
    this.space = options.space;
    this.sequence = new SobolSequence(this.order.length, this.scramble ? options.seed : undefined);
  }

  suggest(number: number): Params | undefined {
    const index = this.scramble ? number : number + 1;
    if (!Number.isInteger(number) || number < 0 || index >= TWO_32) return undefined;
    const u = this.sequence.point(index);
    return assign(this.space, this.order, (_name, domain, i) => fromUnit(domain, u[i]!));
  }
}

export function createSobol(options: SearchOptions): SearchAlgorithm {
  return new SobolSearch(options);
}
