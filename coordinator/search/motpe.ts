/**
 * Multi-objective TPE (Ozaki et al. 2020, "Multiobjective tree-structured Parzen estimator for
 * computationally expensive optimization problems"), as Optuna's TPESampler does it for several
 * objectives, with one documented simplification:
 *
 * - The good set l holds `defaultGamma(n)` of the n finished trials (Optuna's gamma), chosen by
 *   non-domination rank: whole fronts while they fit, then the boundary front's members by
 *   descending crowding distance (ties: lower trial number) — the rank-then-crowding split.
 *   Optuna breaks the boundary front by hypervolume subset selection (HSSP) instead and weights
 *   l by hypervolume contribution; here l keeps TPE's default weights. Both prefer the spread-out
 *   members of the front; the bench (bench/README.md "pareto") measures the difference.
 * - Everything else is TPE's (tpe.ts): startup trials, candidates, the Parzen estimators, the
 *   constant liar (running trials join the bad set g), conditional parameters, multivariate.
 * - Failed trials: a diverged one is a finished bad observation, an infeasible (OOM) one bad
 *   and not counted, as in tpe.ts; pruned trials (a single-objective spec only: schedulers are
 *   refused for multi-objective sweeps) are bad.
 *
 * Single-objective histories work too (each trial's one value is its point): the split is then
 * TPE's by value, with ties broken by crowding instead of trial number.
 */
import { selectByRankAndCrowding } from '../../shared/pareto.js';
import type { SearchAlgorithm, SearchOptions, TrialObservation } from './base.js';
import { defaultGamma } from './parzen.js';
import { TpeSearch, type Split } from './tpe.js';

function pointOf(trial: TrialObservation): number[] | undefined {
  if (trial.state !== 'complete') return undefined;
  const values = trial.values ?? (trial.value === undefined ? undefined : [trial.value]);
  if (!values || !values.every(Number.isFinite)) return undefined;
  return values.map((v) => -v); // observations are larger-is-better; pareto.ts minimises
}

/** The rank-then-crowding split of the history into TPE's good (below) and bad (above) sets. */
export function splitMultiObjective(
  number: number,
  history: readonly TrialObservation[],
  constantLiar: boolean,
): Split {
  const trials = history
    .filter((t) => t.number !== number && (t.state !== 'failed' || t.failure !== undefined))
    .sort((a, b) => a.number - b.number);
  const complete: { trial: TrialObservation; point: number[] }[] = [];
  const width = new Map<number, number>();
  for (const trial of trials) {
    const point = pointOf(trial);
    if (point) {
      complete.push({ trial, point });
      width.set(point.length, (width.get(point.length) ?? 0) + 1);
    }
  }
  // A history mixing widths (never from one sweep) is ranked on its most common width.
  const m = [...width.entries()].sort((a, b) => b[1] - a[1] || a[0] - b[0])[0]?.[0];
  const ranked = complete.filter((c) => c.point.length === m);
  const pruned = trials.filter((t) => t.state === 'pruned').length;
  const diverged = trials.filter((t) => t.failure === 'diverged').length;
  const finished = ranked.length + pruned + diverged;
  const quota = Math.min(defaultGamma(finished), ranked.length);
  const good = new Set(
    selectByRankAndCrowding(
      ranked.map((c) => c.point),
      quota,
    ).map((c) => ranked[c.index]!.trial),
  );
  const below: TrialObservation[] = [];
  const above: TrialObservation[] = [];
  for (const trial of trials) {
    if (good.has(trial)) below.push(trial);
    else if (
      trial.state === 'complete' ||
      trial.state === 'pruned' ||
      trial.failure !== undefined ||
      (trial.state === 'running' && constantLiar)
    )
      above.push(trial);
  }
  return { below, above, finished };
}

export function createMotpe(options: SearchOptions): SearchAlgorithm {
  return new TpeSearch(options, { name: 'motpe', split: splitMultiObjective });
}
