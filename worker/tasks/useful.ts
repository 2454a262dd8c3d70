/**
 * USEFUL — upsample what is not learned early (Nguyen et al., NeurIPS 2024;
 * shared/research/ALGORITHMS.md §2), the data step between the two training runs:
 *
 *   after a short early run, in each class separately, k-means (k = 2) on the examples' output
 *   vectors (logits); the cluster with the higher mean loss is "not learned early" and each of
 *   its examples gets one extra copy (upsampling factor 2, once).
 *
 * `clusterAndUpsample` is pure and deterministic for a given seed (ml-kmeans with seeded
 * k-means++ initialisation, one seed per class). Clusters are renumbered so that cluster 0 is
 * the one holding the class's first example (by index), which makes the report independent of
 * the initialisation's ordering. A class with fewer than 2 examples, or whose logits are all
 * identical (nothing to split), is left alone and listed in `skipped`. On a tie in mean loss the
 * lower cluster id is chosen.
 *
 * `usefulClusterTask` (`useful-cluster`) is the pipeline stage around it: options
 * `{ trainOutputs: { logits, losses, labels }, seed? }` (classify's `exportTrainOutputs`), outputs
 * `indices` (classify's `trainIndices` for the retraining), `upsampled` and `perClass`.
 */
import { kmeans } from 'ml-kmeans';
import { PermanentRunError } from '../runtimes/base.js';
import { clusterOptionsSchema } from '../../shared/catalogue/tasks/useful.js';
import { throwIfStopped, type Task } from './base.js';

export interface UsefulInput {
  /** [n][K] output vectors of the early model. */
  logits: number[][];
  /** [n] per-example losses of the early model. */
  losses: number[];
  /** [n] integer class labels. */
  labels: number[];
  seed: number;
}

export interface UsefulClassReport {
  class: number;
  /** Examples in cluster 0 and cluster 1. */
  sizes: [number, number];
  /** The upsampled (higher mean loss) cluster. */
  chosen: 0 | 1;
  meanLoss: [number, number];
  /** Indices of the examples that got an extra copy. */
  upsampledIndices: number[];
}

export interface UsefulResult {
  /** The new training index list: 0..n−1 in order, then one extra copy of each chosen example (ascending). */
  indices: number[];
  /** Extra copies added (= indices.length − n). */
  upsampled: number;
  perClass: UsefulClassReport[];
  /** Classes left alone (fewer than 2 examples, or identical logits). */
  skipped: number[];
}

function seedFor(seed: number, cls: number): number {
  // ml-kmeans passes the seed to ml-random (a 32-bit seeded generator).
  let h = (Math.imul(seed | 0, 0x9e3779b1) ^ Math.imul((cls | 0) + 0x632be5ab, 0x85ebca77)) | 0;
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  h ^= h >>> 12;
  return h >>> 0;
}

export function clusterAndUpsample(input: UsefulInput): UsefulResult {
  const { logits, losses, labels, seed } = input;
  const n = labels.length;
  if (logits.length !== n || losses.length !== n) {
    throw new Error(
      `clusterAndUpsample: ${logits.length} logits, ${losses.length} losses, ${n} labels — they must match`,
    );
  }
  const dim = logits[0]?.length ?? 0;
  logits.forEach((row, i) => {
    if (row.length !== dim)
      throw new Error(`clusterAndUpsample: logits row ${i} has ${row.length} values, expected ${dim}`);
    if (row.some((v) => !Number.isFinite(v))) throw new Error(`clusterAndUpsample: logits row ${i} is not finite`);
  });
  losses.forEach((l, i) => {
    if (!Number.isFinite(l)) throw new Error(`clusterAndUpsample: loss ${i} is not finite`);
  });
  labels.forEach((y, i) => {
    if (!Number.isInteger(y)) throw new Error(`clusterAndUpsample: label ${i} (${y}) is not an integer`);
  });

  const byClass = new Map<number, number[]>();
  labels.forEach((y, i) => {
    const list = byClass.get(y);
    if (list) list.push(i);
    else byClass.set(y, [i]);
  });
  const classes = [...byClass.keys()].sort((a, b) => a - b);

  const perClass: UsefulClassReport[] = [];
  const skipped: number[] = [];
  const extra: number[] = [];
  for (const cls of classes) {
    const members = byClass.get(cls)!;
    const points = members.map((i) => logits[i]!);
    const first = points[0]!;
    if (members.length < 2 || points.every((p) => p.every((v, d) => v === first[d]))) {
      skipped.push(cls);
      continue;
    }
    const result = kmeans(points, 2, { seed: seedFor(seed, cls), initialization: 'kmeans++' });
    // Renumber so that the cluster of the class's first example is 0.
    const flip = result.clusters[0] !== 0;
    const assign = result.clusters.map((c) => ((flip ? 1 - c : c) === 0 ? 0 : 1));
    const sizes: [number, number] = [0, 0];
    const sums: [number, number] = [0, 0];
    assign.forEach((c, j) => {
      sizes[c]++;
      sums[c] += losses[members[j]!]!;
    });
    if (sizes[0] === 0 || sizes[1] === 0) {
      skipped.push(cls);
      continue;
    }
    const meanLoss: [number, number] = [sums[0] / sizes[0], sums[1] / sizes[1]];
    const chosen: 0 | 1 = meanLoss[1] > meanLoss[0] ? 1 : 0;
    const upsampledIndices = members.filter((_, j) => assign[j] === chosen);
    extra.push(...upsampledIndices);
    perClass.push({ class: cls, sizes, chosen, meanLoss, upsampledIndices });
  }
  extra.sort((a, b) => a - b);
  const indices = Array.from({ length: n }, (_, i) => i).concat(extra);
  return { indices, upsampled: extra.length, perClass, skipped };
}

/** Per-example cross-entropy `−log softmax(h)_y` (stable), for the early model's losses. */
export function perExampleCrossEntropy(logits: number[][], labels: number[]): number[] {
  if (logits.length !== labels.length) throw new Error('perExampleCrossEntropy: logits and labels differ in length');
  return logits.map((h, i) => {
    const y = labels[i]!;
    if (!Number.isInteger(y) || y < 0 || y >= h.length)
      throw new Error(`perExampleCrossEntropy: label ${y} out of range`);
    const m = Math.max(...h);
    const lse = m + Math.log(h.reduce((s, v) => s + Math.exp(v - m), 0));
    return lse - h[y]!;
  });
}

/** The USEFUL clustering stage: trainOutputs of the early run → upsampled training index list. */
export const usefulClusterTask: Task = {
  name: 'useful-cluster',
  async run(ctx) {
    const started = Date.now();
    throwIfStopped(ctx.signal, 'before clustering');
    const parsed = clusterOptionsSchema.safeParse(ctx.config.options ?? {});
    if (!parsed.success) {
      const msg = parsed.error.issues.map((i) => `options.${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
      throw new PermanentRunError(`useful-cluster: ${msg}`);
    }
    const { trainOutputs, seed } = parsed.data;
    let result: UsefulResult;
    try {
      result = clusterAndUpsample({ ...trainOutputs, seed: seed ?? ctx.seed });
    } catch (err) {
      throw new PermanentRunError(`useful-cluster: ${(err as Error).message}`);
    }
    const n = trainOutputs.labels.length;
    const perClass = result.perClass.map(({ class: cls, sizes, chosen, meanLoss }) => ({
      class: cls,
      sizes,
      chosen,
      meanLoss,
    }));
    const metrics = {
      upsampled: result.upsampled,
      upsampled_fraction: n > 0 ? result.upsampled / n : 0,
      classes_clustered: result.perClass.length,
      classes_skipped: result.skipped.length,
    };
    ctx.report(1, metrics);
    ctx.log(
      `useful-cluster: ${result.upsampled} of ${n} examples upsampled (${result.perClass.length} classes clustered, ${result.skipped.length} skipped)`,
    );
    return {
      metrics,
      info: {
        seconds: (Date.now() - started) / 1000,
        skipped: result.skipped,
        outputs: { indices: result.indices, upsampled: result.upsampled, perClass },
      },
    };
  },
};
