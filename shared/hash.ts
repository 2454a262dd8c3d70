/**
 * Small non-cryptographic hashes for deriving seeds and fingerprints, shared by the coordinator
 * (search randomness) and the workers (data and training streams). Their outputs are part of
 * what makes runs reproducible: changing them changes every seeded draw.
 */

/** MurmurHash3's 32-bit finaliser: a bijective avalanche mix of a 32-bit value. */
export function fmix32(value: number): number {
  let h = value >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** 32-bit FNV-1a of a string's UTF-16 code units, or of bytes. */
export function fnv1a(input: string | Uint8Array): number {
  let h = 0x811c9dc5;
  if (typeof input === 'string') {
    for (let i = 0; i < input.length; i++) h = Math.imul(h ^ input.charCodeAt(i), 0x01000193);
  } else {
    for (let i = 0; i < input.length; i++) h = Math.imul(h ^ input[i]!, 0x01000193);
  }
  return h >>> 0;
}

/**
 * mulberry32: a tiny seeded generator of uniform numbers in [0, 1), for synthetic data in
 * benchmarks and tests (the search algorithms use `coordinator/search/rng.ts`). The same seed
 * gives the same sequence; scripts/gen-spurious.mjs keeps its own copy, since the shipped data
 * set was generated with it by a plain script.
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
