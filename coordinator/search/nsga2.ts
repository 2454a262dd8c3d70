/**
 * NSGA-II (Deb, Pratap, Agarwal and Meyarivan 2002): elitist non-dominated sorting with crowding
 * distance, binary tournaments, SBX crossover and polynomial mutation for numeric parameters
 * (in the internal space TPE uses: log space for log domains, ints as rounded reals), uniform
 * crossover and uniform resampling for choices.
 *
 * Generations in an asynchronous sweep (the same rule as Optuna's NSGAIISampler, which numbers
 * generations by trial): trial n belongs to generation g = floor(n / population). Generation 0 is
 * drawn at random. For a child of generation g ≥ 1 the parents are rebuilt from the history on
 * every call: P₀ = the finished trials of generation 0 cut to `population` by rank then crowding;
 * P_k = the same cut of P_{k−1} ∪ the finished trials of generation k; the child is bred from
 * P_{g−1}. Trials still running are left out, not waited for: a generation can start while the
 * last trials of the one before are running (with concurrency c, at most c − 1 of them), and they
 * join later generations' parents once finished. With fewer than 2 parents the child is random.
 *
 * Only complete trials with every objective finite are parents; failed and pruned ones are left
 * out (NSGA-II has no use for a pruned trial's partial value; schedulers are refused for
 * multi-objective sweeps anyway). A single-objective history works too (one value per point).
 *
 * Pure and deterministic: the parents are a function of the history, and every draw comes from a
 * generator keyed by (seed, trial number, purpose, parameter), so history order does not matter.
 * Settings: population (50), crossoverProb (0.9), crossoverEta (20), mutationEta (20),
 * mutationProb (default 1 / the number of parameters of the space) — Deb et al.'s values.
 */
import type { Params, Space } from '../../shared/spec/space.js';
import { conditionHolds } from '../../shared/spec/space.js';
import { selectByRankAndCrowding } from '../../shared/pareto.js';
import type { SearchAlgorithm, SearchOptions, TrialObservation } from './base.js';
import { SEARCH_STRUCTURAL_KEYS } from './base.js';
import { fromUnit, paramOrder } from './domains.js';
import { randomParams } from './random.js';
import { below, rngFor, uniform, type RandomGenerator } from './rng.js';
import { parseSettings, setting } from './settings.js';
import { makeDim, type Dim } from './tpe.js';

export interface Nsga2Settings {
  population: number;
  crossoverProb: number;
  crossoverEta: number;
  mutationEta: number;
  mutationProb: number;
}

interface Parent {
  params: Params;
  rank: number;
  crowding: number;
}

/** Bounds of a numeric dimension's internal space (choices have none). */
function boundsOf(dim: Dim): [number, number] | undefined {
  return dim.spec.kind === 'numeric' ? [dim.spec.low, dim.spec.high] : undefined;
}

/** SBX for one variable (Deb's bounded form); returns one of the two children at random. */
export function sbx(x1: number, x2: number, low: number, high: number, eta: number, rng: RandomGenerator): number {
  if (Math.abs(x1 - x2) <= 1e-14) return x1;
  const y1 = Math.min(x1, x2);
  const y2 = Math.max(x1, x2);
  const u = uniform(rng);
  const spread = (beta: number): number => {
    const alpha = 2 - Math.pow(beta, -(eta + 1));
    return u <= 1 / alpha ? Math.pow(u * alpha, 1 / (eta + 1)) : Math.pow(1 / (2 - u * alpha), 1 / (eta + 1));
  };
  const c1 = 0.5 * (y1 + y2 - spread(1 + (2 * (y1 - low)) / (y2 - y1)) * (y2 - y1));
  const c2 = 0.5 * (y1 + y2 + spread(1 + (2 * (high - y2)) / (y2 - y1)) * (y2 - y1));
  const child = uniform(rng) <= 0.5 ? c1 : c2;
  return Math.min(Math.max(child, low), high);
}

/** Polynomial mutation of one variable (Deb's bounded form). */
export function polynomialMutation(y: number, low: number, high: number, eta: number, rng: RandomGenerator): number {
  if (!(high > low)) return y;
  const d1 = (y - low) / (high - low);
  const d2 = (high - y) / (high - low);
  const u = uniform(rng);
  const power = 1 / (eta + 1);
  let delta: number;
  if (u <= 0.5) {
    const v = 2 * u + (1 - 2 * u) * Math.pow(1 - d1, eta + 1);
    delta = Math.pow(v, power) - 1;
  } else {
    const v = 2 * (1 - u) + 2 * (u - 0.5) * Math.pow(1 - d2, eta + 1);
    delta = 1 - Math.pow(v, power);
  }
  return Math.min(Math.max(y + delta * (high - low), low), high);
}

export class Nsga2Search implements SearchAlgorithm {
  readonly name = 'nsga2';
  readonly settings: Nsga2Settings;
  private readonly space: Space;
  private readonly seed: number;
  private readonly order: string[];
  private readonly dims: Map<string, Dim>;

  constructor(options: SearchOptions) {
    const parsed = parseSettings(
      'search',
      {
        population: setting.integer(50, { min: 2, max: 10_000 }),
        crossoverProb: setting.number(0.9, { min: 0, max: 1 }),
        crossoverEta: setting.number(20, { min: 0 }),
        mutationEta: setting.number(20, { min: 0 }),
        mutationProb: setting.optionalNumber({ min: 0, max: 1 }),
      },
      options.settings,
      SEARCH_STRUCTURAL_KEYS,
    );
    this.space = options.space;
    this.seed = options.seed;
    this.order = paramOrder(options.space);
    this.dims = new Map(this.order.map((name) => [name, makeDim(name, options.space[name]!)]));
    this.settings = { ...parsed, mutationProb: parsed.mutationProb ?? 1 / Math.max(1, this.order.length) };
  }

  suggest(number: number, history: readonly TrialObservation[]): Params {
    const generation = Math.floor(number / this.settings.population);
    const parents = generation === 0 ? [] : this.parents(generation, history);
    if (parents.length < 2) return randomParams(this.space, this.seed, number, 'nsga2.random');
    return this.breed(number, parents);
  }

  /** P_{g−1}: the elitist population the children of generation g are bred from. */
  parents(generation: number, history: readonly TrialObservation[]): Parent[] {
    const population = this.settings.population;
    const byGeneration: { params: Params; point: number[]; number: number }[][] = [];
    for (const trial of history) {
      if (trial.state !== 'complete') continue;
      const g = Math.floor(trial.number / population);
      if (g >= generation) continue;
      const values = trial.values ?? (trial.value === undefined ? undefined : [trial.value]);
      if (!values || !values.every(Number.isFinite)) continue;
      (byGeneration[g] ??= []).push({ params: trial.params, point: values.map((v) => -v), number: trial.number });
    }
    let current: { params: Params; point: number[]; number: number; rank: number; crowding: number }[] = [];
    for (let g = 0; g < generation; g++) {
      // Candidates in trial-number order, so ties in the cut go to the lower number.
      const pool = [...current, ...(byGeneration[g] ?? [])].sort((a, b) => a.number - b.number);
      if (pool.length === 0) continue;
      const width = pool[0]!.point.length;
      const same = pool.filter((p) => p.point.length === width);
      current = selectByRankAndCrowding(
        same.map((p) => p.point),
        population,
      ).map((c) => ({ ...same[c.index]!, rank: c.rank, crowding: c.crowding }));
    }
    return current.sort((a, b) => a.number - b.number);
  }

  /** Binary tournament: lower rank wins, then larger crowding distance, then the first drawn. */
  private tournament(parents: readonly Parent[], rng: RandomGenerator): Parent {
    const a = parents[below(rng, parents.length)]!;
    const b = parents[below(rng, parents.length)]!;
    if (a.rank !== b.rank) return a.rank < b.rank ? a : b;
    return b.crowding > a.crowding ? b : a;
  }

  private breed(number: number, parents: readonly Parent[]): Params {
    const { crossoverProb, crossoverEta, mutationEta, mutationProb } = this.settings;
    const select = rngFor(this.seed, number, 'nsga2.select');
    const first = this.tournament(parents, select);
    const second = this.tournament(parents, select);
    const cross = uniform(select) < crossoverProb;
    const child: Params = {};
    for (const name of this.order) {
      const dim = this.dims.get(name)!;
      if (!conditionHolds(dim.domain, child)) continue;
      const rng = rngFor(this.seed, number, 'nsga2', name);
      const a = internal(dim, first.params[name]);
      const b = internal(dim, second.params[name]);
      const bounds = boundsOf(dim);
      let x: number | undefined;
      if (a === undefined && b === undefined) x = undefined;
      else if (a === undefined || b === undefined || !cross) x = a ?? b;
      else if (bounds) x = uniform(rng) <= 0.5 ? sbx(a, b, bounds[0], bounds[1], crossoverEta, rng) : a;
      else x = uniform(rng) < 0.5 ? a : b; // uniform crossover for a choice
      if (x === undefined) {
        // Neither parent had this (conditional) parameter: a fresh random value.
        child[name] = fromUnit(dim.domain, uniform(rngFor(this.seed, number, 'nsga2.fill', name)));
        continue;
      }
      if (uniform(rng) < mutationProb) {
        x = bounds
          ? polynomialMutation(x, bounds[0], bounds[1], mutationEta, rng)
          : below(rng, (dim.spec as { choices: number }).choices);
      }
      child[name] = dim.toValue(x);
    }
    return child;
  }
}

function internal(dim: Dim, value: Params[string] | undefined): number | undefined {
  return value === undefined ? undefined : dim.toInternal(value);
}

export function createNsga2(options: SearchOptions): SearchAlgorithm {
  return new Nsga2Search(options);
}
