/**
 * Tree-structured Parzen Estimator, in the manner of Optuna's TPESampler (defaults included).
 *
 * - The first `startup` (default 10) suggestions, counted as finished (complete + pruned)
 *   trials in the history, are random (the `random` algorithm's draws on their own stream).
 * - The finished trials are ranked best first: complete trials by value, then pruned ones by
 *   the last step they reached and their value there (Optuna's rule: a pruned trial ranks below
 *   every complete one). The best `min(ceil(0.1·n), 25)` form the good set l, the rest the bad
 *   set g. With `constantLiar` (default true) running trials join g as if they had the worst
 *   value, so parallel suggestions avoid each other; failed trials are ignored.
 * - Observations are weighted by Optuna's default_weights (in trial-number order), and a prior
 *   kernel (weight `priorWeight`, default 1) is added to both estimators (see parzen.ts).
 * - `candidates` (default 24) points are drawn from l; the one maximising log l(x) − log g(x)
 *   wins.
 * - Univariate (default): each parameter is sampled on its own. `multivariate: true`: every
 *   unconditional parameter (numeric and categorical) is sampled jointly from product kernels
 *   sharing the component index; conditional parameters stay univariate.
 * - Conditional parameters: each estimator for a parameter is fitted only on the trials of l
 *   (or g) in which the parameter exists; the split itself is computed once over all trials.
 *
 * Deterministic: randomness comes from generators keyed by (seed, number, parameter names),
 * and history is canonicalised by trial number, so the order of `history` does not matter.
 */
import type { Domain, ParamValue, Params, Space } from '../../shared/spec/space.js';
import { conditionHolds } from '../../shared/spec/space.js';
import type { SearchAlgorithm, SearchOptions, TrialObservation } from './base.js';
import { SEARCH_STRUCTURAL_KEYS } from './base.js';
import { choiceIndex, clamp, paramOrder } from './domains.js';
import type { DimSpec, ParzenParameters } from './parzen.js';
import { defaultGamma, defaultWeights, ParzenEstimator } from './parzen.js';
import { randomParams } from './random.js';
import { rngFor } from './rng.js';
import { parseSettings, setting } from './settings.js';
import { InvalidArgumentError } from '../../shared/errors.js';

/** The most `candidates` TPE accepts at all (see the limit maxCandidates, default 10,000). */
export const TPE_MAX_CANDIDATES = 100_000;
export interface TpeSettings {
  startup: number;
  candidates: number;
  multivariate: boolean;
  constantLiar: boolean;
  priorWeight: number;
}

/** How one parameter maps between its values and the estimators' internal space (nsga2 uses it too). */
export interface Dim {
  name: string;
  domain: Domain;
  spec: DimSpec;
  /** The internal value of a param value, or undefined when it is not a valid value. */
  toInternal(value: ParamValue): number | undefined;
  toValue(x: number): ParamValue;
}

export function makeDim(name: string, domain: Domain): Dim {
  switch (domain.kind) {
    case 'choice':
      return {
        name,
        domain,
        spec: { kind: 'categorical', choices: domain.values.length },
        toInternal: (value) => {
          const index = choiceIndex(domain, value);
          return index < 0 ? undefined : index;
        },
        toValue: (x) => domain.values[x]!,
      };
    case 'uniform':
      return {
        name,
        domain,
        spec: { kind: 'numeric', low: domain.low, high: domain.high, discrete: false },
        toInternal: (value) => (typeof value === 'number' && Number.isFinite(value) ? value : undefined),
        toValue: (x) => clamp(x, domain.low, domain.high),
      };
    case 'loguniform':
      return {
        name,
        domain,
        spec: { kind: 'numeric', low: Math.log(domain.low), high: Math.log(domain.high), discrete: false },
        toInternal: (value) =>
          typeof value === 'number' && value > 0 && Number.isFinite(value) ? Math.log(value) : undefined,
        toValue: (x) => clamp(Math.exp(x), domain.low, domain.high),
      };
    case 'int':
      if (domain.log) {
        // Continuous in log space over [low − ½, high + ½], rounded to the nearest integer.
        return {
          name,
          domain,
          spec: {
            kind: 'numeric',
            low: Math.log(domain.low - 0.5),
            high: Math.log(domain.high + 0.5),
            discrete: false,
          },
          toInternal: (value) =>
            typeof value === 'number' && value > 0 && Number.isFinite(value) ? Math.log(value) : undefined,
          toValue: (x) => clamp(Math.round(Math.exp(x)), domain.low, domain.high),
        };
      }
      return {
        name,
        domain,
        spec: { kind: 'numeric', low: domain.low - 0.5, high: domain.high + 0.5, discrete: true },
        toInternal: (value) => (typeof value === 'number' && Number.isFinite(value) ? value : undefined),
        toValue: (x) => clamp(Math.round(x), domain.low, domain.high),
      };
  }
}

/** The good and bad sets, each ordered by trial number. */
export interface Split {
  below: TrialObservation[];
  above: TrialObservation[];
  /** Finished (complete + pruned) trials considered. */
  finished: number;
}

function lastIntermediate(trial: TrialObservation): { step: number; value: number } {
  let step = -Infinity;
  let value = -Infinity;
  for (const [key, v] of Object.entries(trial.intermediate ?? {})) {
    const s = Number(key);
    if (Number.isFinite(s) && Number.isFinite(v) && s > step) {
      step = s;
      value = v;
    }
  }
  return { step, value };
}

/**
 * Optuna's split: finished trials ranked best first — complete ones by value (ties: lower
 * number first), then pruned ones by (last step, value at it) — the first
 * `defaultGamma(n)` are good, the rest bad; running trials (constant liar) are bad. Failed
 * trials with a `failure` are bad too: a diverged one is a finished (worst) observation, an
 * infeasible (OOM) one a constraint violation that is never good but not counted as finished
 * (as Optuna's constrained TPE ranks infeasible trials below every feasible one).
 * O(n log n) on plain numbers: the good set is found through a value threshold.
 */
export function splitTrials(number: number, history: readonly TrialObservation[], constantLiar: boolean): Split {
  let trials = history.filter((t) => t.number !== number && (t.state !== 'failed' || t.failure !== undefined));
  for (let i = 1; i < trials.length; i++) {
    if (trials[i]!.number < trials[i - 1]!.number) {
      trials = [...trials].sort((a, b) => a.number - b.number);
      break;
    }
  }
  const isComplete = (t: TrialObservation): boolean =>
    t.state === 'complete' && typeof t.value === 'number' && Number.isFinite(t.value);
  const values: number[] = [];
  const pruned: { trial: TrialObservation; step: number; value: number }[] = [];
  for (const trial of trials) {
    if (isComplete(trial)) values.push(trial.value!);
    else if (trial.state === 'pruned') pruned.push({ trial, ...lastIntermediate(trial) });
  }
  const diverged = trials.filter((t) => t.failure === 'diverged').length;
  const finished = values.length + pruned.length + diverged;
  let quota = defaultGamma(finished);
  const good = new Set<TrialObservation>();
  if (values.length > 0 && quota > 0) {
    const sorted = Float64Array.from(values).sort();
    const take = Math.min(quota, values.length);
    const threshold = sorted[values.length - take]!;
    let ties = take - (values.length - lowerBound(sorted, threshold) - countEqual(sorted, threshold));
    for (const trial of trials) {
      if (!isComplete(trial)) continue;
      if (trial.value! > threshold) good.add(trial);
      else if (trial.value === threshold && ties > 0) {
        good.add(trial);
        ties--;
      }
    }
    quota -= take;
  }
  if (quota > 0) {
    pruned.sort((a, b) => b.step - a.step || b.value - a.value || a.trial.number - b.trial.number);
    for (const p of pruned.slice(0, quota)) good.add(p.trial);
  }
  const below: TrialObservation[] = [];
  const above: TrialObservation[] = [];
  for (const trial of trials) {
    if (good.has(trial)) below.push(trial);
    else if (
      isComplete(trial) ||
      trial.state === 'pruned' ||
      trial.failure !== undefined ||
      (trial.state === 'running' && constantLiar)
    )
      above.push(trial);
  }
  return { below, above, finished };
}

function lowerBound(sorted: Float64Array, x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function countEqual(sorted: Float64Array, x: number): number {
  let i = lowerBound(sorted, x);
  let n = 0;
  while (i < sorted.length && sorted[i] === x) {
    i++;
    n++;
  }
  return n;
}

/** How TPE divides the history into its good and bad sets (single- or multi-objective). */
export type SplitRule = (number: number, history: readonly TrialObservation[], constantLiar: boolean) => Split;

export class TpeSearch implements SearchAlgorithm {
  readonly name: string;
  readonly settings: TpeSettings;
  private readonly split: SplitRule;
  private readonly space: Space;
  private readonly seed: number;
  private readonly order: string[];
  private readonly dims: Map<string, Dim>;
  /** Multivariate: the unconditional parameters, sampled jointly. */
  private readonly joint: Dim[];
  private readonly parzen: ParzenParameters;

  constructor(
    options: SearchOptions,
    variant: { name: string; split: SplitRule } = { name: 'tpe', split: splitTrials },
  ) {
    this.name = variant.name;
    this.split = variant.split;
    this.settings = parseSettings(
      'search',
      {
        startup: setting.integer(10, { min: 1 }),
        // A hard ceiling whatever the limit table says (its maxCandidates is lower by default):
        // one suggestion's work grows with it, and a stored spec is read again after a restart.
        candidates: setting.integer(24, { min: 1, max: TPE_MAX_CANDIDATES }),
        multivariate: setting.boolean(false),
        constantLiar: setting.boolean(true),
        priorWeight: setting.number(1, { min: 0, minExclusive: true }),
      },
      options.settings,
      SEARCH_STRUCTURAL_KEYS,
    );
    this.space = options.space;
    this.seed = options.seed;
    this.order = paramOrder(options.space);
    this.dims = new Map(this.order.map((name) => [name, makeDim(name, options.space[name]!)]));
    this.joint = this.settings.multivariate
      ? this.order.filter((name) => !options.space[name]!.when).map((name) => this.dims.get(name)!)
      : [];
    this.parzen = { priorWeight: this.settings.priorWeight, multivariate: this.settings.multivariate };
  }

  suggest(number: number, history: readonly TrialObservation[]): Params {
    const split = this.split(number, history, this.settings.constantLiar);
    if (split.finished < this.settings.startup) return randomParams(this.space, this.seed, number, 'tpe.startup');
    const params: Params = {};
    if (this.joint.length > 0) this.sampleGroup(number, this.joint, split, params);
    for (const name of this.order) {
      if (name in params) continue;
      const dim = this.dims.get(name)!;
      if (conditionHolds(dim.domain, params)) this.sampleGroup(number, [dim], split, params);
    }
    return params;
  }

  /** Observations of `dims` in the trials that have all of them, with their weights. */
  private observe(
    trials: readonly TrialObservation[],
    dims: readonly Dim[],
  ): { values: Float64Array[]; weights: Float64Array } {
    const columns = dims.map(() => new Float64Array(trials.length));
    let count = 0;
    for (const trial of trials) {
      let d = 0;
      for (; d < dims.length; d++) {
        const dim = dims[d]!;
        const value = trial.params[dim.name];
        const x = value === undefined ? undefined : dim.toInternal(value);
        if (x === undefined) break;
        columns[d]![count] = x;
      }
      if (d === dims.length) count++;
    }
    return { values: columns.map((column) => column.subarray(0, count)), weights: defaultWeights(count) };
  }

  private sampleGroup(number: number, dims: Dim[], split: Split, params: Params): void {
    const specs = dims.map((dim) => dim.spec);
    const good = this.observe(split.below, dims);
    const bad = this.observe(split.above, dims);
    const l = new ParzenEstimator(good.values, good.weights, specs, this.parzen);
    const g = new ParzenEstimator(bad.values, bad.weights, specs, this.parzen);
    const rng = rngFor(this.seed, number, 'tpe', ...dims.map((dim) => dim.name));
    const count = this.settings.candidates;
    const candidates = l.sample(rng, count);
    // Evaluate each candidate at the value it will become (ints rounded, bounds clipped).
    dims.forEach((dim, d) => {
      const column = candidates[d]!;
      for (let i = 0; i < count; i++) column[i] = dim.toInternal(dim.toValue(column[i]!))!;
    });
    const logL = l.logPdf(candidates, count);
    const logG = g.logPdf(candidates, count);
    let best = 0;
    let bestScore = -Infinity;
    for (let i = 0; i < count; i++) {
      const score = logL[i]! - logG[i]!;
      if (score > bestScore) {
        bestScore = score;
        best = i;
      }
    }
    dims.forEach((dim, d) => {
      params[dim.name] = dim.toValue(candidates[d]![best]!);
    });
  }
}

export function createTpe(options: SearchOptions): SearchAlgorithm {
  const objectives = options.objectives ?? 1;
  if (objectives > 1) {
    throw new InvalidArgumentError([
      `search.algorithm: tpe optimises one objective and trial.objective lists ${objectives}; ` +
        'use motpe (multi-objective TPE) or nsga2, or random, sobol or grid',
    ]);
  }
  return new TpeSearch(options);
}
