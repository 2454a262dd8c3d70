/**
 * Retrieval metrics of the `embed` task on plain arrays (row-major embeddings [n, dim]): recall@1
 * and N-way K-shot episodes classified by the nearest class prototype.
 */
import { Rng } from '../data/rng.js';

/**
 * Per-row nearest-neighbour credit: 1 when the nearest other row (squared Euclidean distance,
 * i.e. cosine for L2-normalised rows) has the row's label, 0 when not; when several rows tie for
 * nearest, the fraction of them with the row's label (the expected hit under random tie-breaking).
 * A row with no other row gets NaN.
 */
export function nearestNeighbourHits(
  embeddings: ArrayLike<number>,
  labels: ArrayLike<number>,
  dim: number,
): Float64Array {
  const n = labels.length;
  if (embeddings.length !== n * dim)
    throw new RangeError(`nearestNeighbourHits: ${embeddings.length} values for ${n} rows of ${dim}`);
  const hits = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let best = Infinity;
    let tied = 0;
    let same = 0;
    const oi = i * dim;
    for (let j = 0; j < n; j++) {
      if (j === i) continue;
      const oj = j * dim;
      let dist = 0;
      for (let k = 0; k < dim; k++) {
        const diff = embeddings[oi + k]! - embeddings[oj + k]!;
        dist += diff * diff;
      }
      if (dist < best) {
        best = dist;
        tied = 1;
        same = labels[j] === labels[i] ? 1 : 0;
      } else if (dist === best) {
        tied++;
        if (labels[j] === labels[i]) same++;
      }
    }
    hits[i] = tied > 0 ? same / tied : NaN;
  }
  return hits;
}

/** Recall@1: mean nearest-neighbour credit over the rows (optionally only rows where `include`). */
export function recallAt1(
  embeddings: ArrayLike<number>,
  labels: ArrayLike<number>,
  dim: number,
  include?: (row: number) => boolean,
): number {
  const hits = nearestNeighbourHits(embeddings, labels, dim);
  let sum = 0;
  let count = 0;
  for (let i = 0; i < hits.length; i++) {
    if (include && !include(i)) continue;
    if (Number.isNaN(hits[i]!)) continue;
    sum += hits[i]!;
    count++;
  }
  return count > 0 ? sum / count : NaN;
}

export interface FewShotOptions {
  ways: number;
  shots: number;
  /** Queries per class per episode (capped by the examples the class has after its shots). */
  queries: number;
  episodes: number;
  seed: number;
  /** Only these classes take part (default: all labels present). */
  classes?: readonly number[];
}

export interface FewShotResult {
  /** Mean credit over all queries of all episodes. */
  accuracy: number;
  episodes: number;
  ways: number;
  queries: number;
}

/**
 * N-way K-shot episodes: per episode `ways` classes are drawn (among those with more than `shots`
 * examples); per class a random `shots` examples form the support, whose mean embedding is the
 * prototype, and up to `queries` other examples are queries; each query is classified by its
 * nearest prototype (squared Euclidean; a tie of t prototypes including the right one scores
 * 1/t). Seeded by `seed` (stream `fewshot`). `undefined` when fewer than 2 classes are eligible;
 * with fewer than `ways` eligible classes every episode uses all of them (reported in `ways`).
 */
export function fewShotAccuracy(
  embeddings: ArrayLike<number>,
  labels: ArrayLike<number>,
  dim: number,
  options: FewShotOptions,
): FewShotResult | undefined {
  const n = labels.length;
  if (embeddings.length !== n * dim)
    throw new RangeError(`fewShotAccuracy: ${embeddings.length} values for ${n} rows of ${dim}`);
  const allowed = options.classes ? new Set(options.classes) : undefined;
  const members = new Map<number, number[]>();
  for (let i = 0; i < n; i++) {
    const y = labels[i]!;
    if (allowed && !allowed.has(y)) continue;
    const list = members.get(y);
    if (list) list.push(i);
    else members.set(y, [i]);
  }
  const eligible = [...members.entries()]
    .filter(([, rows]) => rows.length > options.shots)
    .map(([y]) => y)
    .sort((a, b) => a - b);
  if (eligible.length < 2) return undefined;
  const ways = Math.min(options.ways, eligible.length);
  const rng = Rng.create(options.seed, 'fewshot');
  const protos = new Float64Array(ways * dim);
  const dists = new Float64Array(ways);
  let credit = 0;
  let total = 0;
  for (let e = 0; e < options.episodes; e++) {
    const picked = rng.permutation(eligible.length).subarray(0, ways);
    const queryRows: number[][] = [];
    protos.fill(0);
    for (let w = 0; w < ways; w++) {
      const rows = members.get(eligible[picked[w]!]!)!;
      const order = rng.permutation(rows.length);
      for (let s = 0; s < options.shots; s++) {
        const o = rows[order[s]!]! * dim;
        for (let k = 0; k < dim; k++) protos[w * dim + k]! += embeddings[o + k]!;
      }
      for (let k = 0; k < dim; k++) protos[w * dim + k]! /= options.shots;
      const q = Math.min(options.queries, rows.length - options.shots);
      queryRows.push(Array.from(order.subarray(options.shots, options.shots + q), (r) => rows[r]!));
    }
    for (let w = 0; w < ways; w++) {
      for (const row of queryRows[w]!) {
        const o = row * dim;
        let best = Infinity;
        for (let c = 0; c < ways; c++) {
          let dist = 0;
          for (let k = 0; k < dim; k++) {
            const diff = embeddings[o + k]! - protos[c * dim + k]!;
            dist += diff * diff;
          }
          dists[c] = dist;
          if (dist < best) best = dist;
        }
        let tied = 0;
        for (let c = 0; c < ways; c++) if (dists[c] === best) tied++;
        if (dists[w] === best) credit += 1 / tied;
        total++;
      }
    }
  }
  return { accuracy: total > 0 ? credit / total : NaN, episodes: options.episodes, ways, queries: total };
}
