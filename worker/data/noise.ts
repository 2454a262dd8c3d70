/**
 * Training-set corruptions for robustness experiments: label noise and class imbalance. Both
 * act on the training split only and are seeded.
 */
import { Rng } from './rng.js';

export type LabelNoiseKind = 'symmetric' | 'asymmetric';

/**
 * Flips `round(rate * n)` labels chosen at random (in place). Symmetric: to a uniformly random
 * other class; asymmetric: class c → (c + 1) mod K. Returns how many labels were flipped.
 */
export function applyLabelNoise(
  labels: Int32Array,
  numClasses: number,
  noise: { rate: number; kind: LabelNoiseKind },
  seed: number,
): number {
  if (numClasses < 2 || noise.rate <= 0 || labels.length === 0) return 0;
  const rng = Rng.create(seed, 'label-noise');
  const count = Math.min(labels.length, Math.round(noise.rate * labels.length));
  const chosen = rng.permutation(labels.length).subarray(0, count);
  for (const i of chosen) {
    const c = labels[i]!;
    if (noise.kind === 'asymmetric') {
      labels[i] = (c + 1) % numClasses;
    } else {
      const r = rng.int(numClasses - 1);
      labels[i] = r >= c ? r + 1 : r;
    }
  }
  return count;
}

/**
 * Keeps `fraction` (rounded) of the rows of each class in `classes`, chosen at random; rows of
 * other classes are all kept. Returns the kept positions (ascending) into `labels`.
 */
export function applyImbalance(labels: Int32Array, classes: Set<number>, fraction: number, seed: number): Int32Array {
  const rng = Rng.create(seed, 'imbalance');
  const byClass = new Map<number, number[]>();
  for (let i = 0; i < labels.length; i++) {
    const c = labels[i]!;
    if (!classes.has(c)) continue;
    let list = byClass.get(c);
    if (!list) byClass.set(c, (list = []));
    list.push(i);
  }
  const drop = new Uint8Array(labels.length);
  for (const c of [...byClass.keys()].sort((a, b) => a - b)) {
    const rows = rng.shuffle(byClass.get(c)!);
    const keep = Math.round(fraction * rows.length);
    for (const i of rows.slice(keep)) drop[i] = 1;
  }
  const kept: number[] = [];
  for (let i = 0; i < labels.length; i++) if (!drop[i]) kept.push(i);
  return Int32Array.from(kept);
}
