/**
 * Grid search: every combination of the choice values, the integers of each int range, and
 * `gridPoints` (default 3) evenly spaced points of each continuous domain (log-evenly for
 * loguniform; endpoints included; one point is the (geometric) midpoint).
 *
 * Order: parameters are visited parent-first (`orderedParams`: alphabetical, parents before
 * their conditional children); the first parameter varies slowest, the last fastest, and each
 * domain's values go in their listed / ascending order. Trial n (0-based) gets the n-th
 * combination; `size` is the number of combinations, and `suggest` returns undefined beyond it.
 *
 * Conditional parameters appear only where their condition holds, so a combination is never
 * repeated with different values of an absent parameter. The n-th combination is decoded
 * without enumerating the grid: subtree sizes are counted once per distinct assignment of the
 * parents that later conditions read (memoised), so large int ranges cost nothing.
 */
import type { Domain, ParamValue, Params, Space } from '../../shared/spec/space.js';
import { conditionHolds } from '../../shared/spec/space.js';
import type { SearchAlgorithm, SearchOptions } from './base.js';
import { SEARCH_STRUCTURAL_KEYS } from './base.js';
import { paramOrder } from './domains.js';
import { parseSettings, setting } from './settings.js';

interface Axis {
  name: string;
  domain: Domain;
  count: number;
  at(index: number): ParamValue;
  /** True when a later parameter's condition reads this one. */
  isParent: boolean;
}

/** The grid values of one domain. */
export function gridAxis(domain: Domain, points: number): { count: number; at(index: number): ParamValue } {
  switch (domain.kind) {
    case 'choice':
      return { count: domain.values.length, at: (i) => domain.values[i]! };
    case 'int':
      return { count: domain.high - domain.low + 1, at: (i) => domain.low + i };
    case 'uniform': {
      const { low, high } = domain;
      if (points === 1) return { count: 1, at: () => (low + high) / 2 };
      return { count: points, at: (i) => (i === points - 1 ? high : low + ((high - low) * i) / (points - 1)) };
    }
    case 'loguniform': {
      const lo = Math.log(domain.low);
      const hi = Math.log(domain.high);
      if (points === 1) return { count: 1, at: () => Math.exp((lo + hi) / 2) };
      return {
        count: points,
        at: (i) =>
          i === 0 ? domain.low : i === points - 1 ? domain.high : Math.exp(lo + ((hi - lo) * i) / (points - 1)),
      };
    }
  }
}

export class GridSearch implements SearchAlgorithm {
  readonly name = 'grid';
  readonly usesHistory = false;
  readonly size: number;
  private readonly axes: Axis[];
  /** For each position, the already-assigned parents that conditions at or after it read. */
  private readonly relevant: string[][];
  private readonly memo = new Map<string, number>();

  constructor(options: SearchOptions) {
    const { gridPoints: points } = parseSettings(
      'search',
      { gridPoints: setting.integer(3, { min: 1 }) },
      options.settings,
      SEARCH_STRUCTURAL_KEYS,
    );
    const space: Space = options.space;
    const order = paramOrder(space);
    const parents = new Set(order.flatMap((name) => Object.keys(space[name]!.when ?? {})));
    this.axes = order.map((name) => ({
      name,
      domain: space[name]!,
      isParent: parents.has(name),
      ...gridAxis(space[name]!, points),
    }));
    this.relevant = order.map((_, i) => {
      const later = new Set(order.slice(i).flatMap((name) => Object.keys(space[name]!.when ?? {})));
      return order.slice(0, i).filter((name) => later.has(name));
    });
    this.size = this.count(0, {});
  }

  /** Number of combinations of the parameters from position i on, given the values so far. */
  private count(i: number, params: Params): number {
    if (i === this.axes.length) return 1;
    const key = `${i}|${JSON.stringify(this.relevant[i]!.map((name) => params[name] ?? null))}`;
    const cached = this.memo.get(key);
    if (cached !== undefined) return cached;
    const axis = this.axes[i]!;
    let total: number;
    if (!conditionHolds(axis.domain, params)) {
      total = this.count(i + 1, params);
    } else if (!axis.isParent) {
      total = axis.count * this.count(i + 1, params);
    } else {
      total = 0;
      for (let v = 0; v < axis.count; v++) total += this.count(i + 1, { ...params, [axis.name]: axis.at(v) });
    }
    this.memo.set(key, total);
    return total;
  }

  suggest(number: number): Params | undefined {
    if (!Number.isInteger(number) || number < 0 || number >= this.size) return undefined;
    let rest = number;
    const params: Params = {};
    for (let i = 0; i < this.axes.length; i++) {
      const axis = this.axes[i]!;
      if (!conditionHolds(axis.domain, params)) continue;
      if (!axis.isParent) {
        const below = this.count(i + 1, params);
        params[axis.name] = axis.at(Math.floor(rest / below));
        rest %= below;
        continue;
      }
      for (let v = 0; v < axis.count; v++) {
        const candidate = axis.at(v);
        const below = this.count(i + 1, { ...params, [axis.name]: candidate });
        if (rest < below) {
          params[axis.name] = candidate;
          break;
        }
        rest -= below;
      }
    }
    return params;
  }
}

export function createGrid(options: SearchOptions): SearchAlgorithm {
  return new GridSearch(options);
}
