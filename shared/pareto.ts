/**
 * Pareto dominance, non-dominated sorting, crowding distance and hypervolume: the pure
 * arithmetic of multi-objective search (coordinator/search/nsga2.ts, motpe.ts), of the sweep's
 * Pareto-front leaderboard (coordinator/sweeps/pareto-front.ts) and of the ZDT bench.
 *
 * Convention: every point is in MINIMISATION orientation (callers negate `max` objectives
 * first, `toMinimise`). A point a dominates b when a ≤ b in every objective and a < b in one.
 */

export type Point = readonly number[];

/**
 * The most final non-dominated configurations a sweep's Pareto front keeps; past it the most
 * crowded are thinned out and counted (coordinator/sweeps/pareto-front.ts, ParetoFront.thinned).
 */
export const FRONT_LIMIT = 256;

/** The point with `max` objectives negated, so that smaller is better everywhere. */
export function toMinimise(values: readonly number[], modes: readonly ('max' | 'min')[]): number[] {
  return values.map((v, i) => (modes[i] === 'max' ? -v : v));
}

export function dominates(a: Point, b: Point): boolean {
  let strictly = false;
  for (let i = 0; i < a.length; i++) {
    if (a[i]! > b[i]!) return false;
    if (a[i]! < b[i]!) strictly = true;
  }
  return strictly;
}

/**
 * Indices of the non-dominated points (the first front), in index order. Equal points are all
 * kept (none dominates another). O(N·F) comparisons for a front of F points.
 */
export function paretoFront(points: readonly Point[]): number[] {
  const front: number[] = [];
  for (let i = 0; i < points.length; i++) {
    const p = points[i]!;
    let dominated = false;
    for (let f = front.length - 1; f >= 0; f--) {
      const q = points[front[f]!]!;
      if (dominates(q, p)) {
        dominated = true;
        break;
      }
      if (dominates(p, q)) front.splice(f, 1);
    }
    if (!dominated) front.push(i);
  }
  return front;
}

/**
 * Deb et al.'s fast non-dominated sort: rank 0 is the Pareto front, rank r the front of what
 * is left after removing ranks < r. Returns each point's rank. O(M·N²).
 */
export function nonDominatedRanks(points: readonly Point[]): number[] {
  const n = points.length;
  const dominatedBy = new Array<number>(n).fill(0);
  const dominatesList: number[][] = Array.from({ length: n }, () => []);
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      if (dominates(points[i]!, points[j]!)) {
        dominatesList[i]!.push(j);
        dominatedBy[j]!++;
      } else if (dominates(points[j]!, points[i]!)) {
        dominatesList[j]!.push(i);
        dominatedBy[i]!++;
      }
    }
  }
  const ranks = new Array<number>(n).fill(-1);
  let current = [];
  for (let i = 0; i < n; i++) if (dominatedBy[i] === 0) current.push(i);
  for (let rank = 0; current.length > 0; rank++) {
    const next: number[] = [];
    for (const i of current) {
      ranks[i] = rank;
      for (const j of dominatesList[i]!) if (--dominatedBy[j]! === 0) next.push(j);
    }
    current = next;
  }
  return ranks;
}

/**
 * Crowding distance (Deb et al. 2002) of the points `members` (indices into `points`, usually
 * one front): per objective, the boundary points get Infinity and the others the gap between
 * their neighbours over the objective's range; summed over objectives. Returned in the order of
 * `members`. Ties in an objective are broken by index so the result is deterministic.
 */
export function crowdingDistance(points: readonly Point[], members: readonly number[]): number[] {
  const n = members.length;
  const distance = new Array<number>(n).fill(0);
  if (n === 0) return distance;
  const m = points[members[0]!]!.length;
  const order = members.map((_, k) => k);
  for (let obj = 0; obj < m; obj++) {
    const value = (k: number): number => points[members[k]!]![obj]!;
    order.sort((a, b) => value(a) - value(b) || members[a]! - members[b]!);
    const low = value(order[0]!);
    const high = value(order[n - 1]!);
    distance[order[0]!] = Infinity;
    distance[order[n - 1]!] = Infinity;
    if (!(high > low)) continue;
    for (let k = 1; k < n - 1; k++) {
      distance[order[k]!]! += (value(order[k + 1]!) - value(order[k - 1]!)) / (high - low);
    }
  }
  return distance;
}

/**
 * Selects `count` indices by NSGA-II's survival rule: whole fronts by rank while they fit, then
 * the last front by descending crowding distance (ties: lower index). Returns the chosen
 * indices with their rank and crowding distance (the tournament's keys).
 */
export function selectByRankAndCrowding(
  points: readonly Point[],
  count: number,
): { index: number; rank: number; crowding: number }[] {
  const ranks = nonDominatedRanks(points);
  const fronts: number[][] = [];
  ranks.forEach((rank, i) => (fronts[rank] ??= []).push(i));
  const chosen: { index: number; rank: number; crowding: number }[] = [];
  for (let rank = 0; rank < fronts.length && chosen.length < count; rank++) {
    const front = fronts[rank]!;
    const crowding = crowdingDistance(points, front);
    const members = front.map((index, k) => ({ index, rank, crowding: crowding[k]! }));
    if (chosen.length + members.length > count) {
      members.sort((a, b) => b.crowding - a.crowding || a.index - b.index);
      members.length = count - chosen.length;
    }
    chosen.push(...members);
  }
  return chosen;
}

/**
 * The hypervolume dominated by `points` and bounded by `reference` (minimisation): the measure
 * of the union of the boxes [p, reference]. Points not strictly better than the reference in
 * every objective add nothing. Exact: a sweep for 2 objectives, WFG (While, Bradstreet and
 * Barone 2012) for more — exponential in the worst case, fast for the fronts of a sweep (tens to
 * a few hundred points in 3–4 objectives).
 */
export function hypervolume(points: readonly Point[], reference: Point): number {
  const m = reference.length;
  const inside = points.filter((p) => p.length === m && p.every((v, i) => Number.isFinite(v) && v < reference[i]!));
  if (inside.length === 0) return 0;
  const front = paretoFront(inside).map((i) => inside[i]!);
  if (m === 1) return reference[0]! - Math.min(...front.map((p) => p[0]!));
  return wfg(front, reference);
}

function sweep2d(points: readonly Point[], reference: Point): number {
  const sorted = [...points].sort((a, b) => a[0]! - b[0]! || a[1]! - b[1]!);
  let volume = 0;
  let ceiling = reference[1]!;
  for (const p of sorted) {
    if (p[1]! < ceiling) {
      volume += (reference[0]! - p[0]!) * (ceiling - p[1]!);
      ceiling = p[1]!;
    }
  }
  return volume;
}

/** WFG on a non-dominated set: the sum of each point's exclusive volume over the ones after it. */
function wfg(front: readonly Point[], reference: Point): number {
  if (front.length === 0) return 0;
  if (reference.length === 2) return sweep2d(front, reference);
  // Sorting by the last objective, worst first, keeps the limit sets small (the paper's order).
  const m = reference.length;
  const sorted = [...front].sort((a, b) => b[m - 1]! - a[m - 1]!);
  let volume = 0;
  for (let k = 0; k < sorted.length; k++) {
    const p = sorted[k]!;
    let box = 1;
    for (let i = 0; i < m; i++) box *= reference[i]! - p[i]!;
    const limited: number[][] = [];
    for (let j = k + 1; j < sorted.length; j++) limited.push(sorted[j]!.map((v, i) => Math.max(v, p[i]!)));
    const rest = paretoFront(limited).map((i) => limited[i]!);
    volume += box - wfg(rest, reference);
  }
  return volume;
}

/**
 * The default reference point when the spec gives none (`trial.objectiveReference`): the
 * nadir of `points` — the worst value of each objective among them — so the extreme points
 * of a front add no volume along their worst objective. Comparable only between runs that
 * share it; benchmarks fix the reference explicitly.
 */
export function nadir(points: readonly Point[]): number[] {
  const m = points[0]?.length ?? 0;
  return Array.from({ length: m }, (_, i) => Math.max(...points.map((p) => p[i]!)));
}
