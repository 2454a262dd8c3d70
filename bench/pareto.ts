/**
 * Suite `pareto`: multi-objective search on ZDT1 and ZDT2 (Zitzler, Deb and Thiele 2000: 30
 * variables in [0, 1], two objectives minimised), hypervolume after the same number of trials.
 *
 * Like the `search` suite, Trellis runs in-process: the search registry (nsga2, motpe, random)
 * is asked for trial n with the history of trials 0..n−1 and told the objectives — no dispatch,
 * which would only add the time of starting programs, not change the suggestions. Peers
 * (bench/peers/pareto.py): Optuna's NSGAIISampler and its multi-objective TPESampler, ask/tell
 * one trial at a time. Every hypervolume, Trellis's and Optuna's, is computed here by
 * shared/pareto.ts from the points, against the same reference point (1.1, 11): f1 ≤ 1 and
 * f2 ≤ 10 on [0, 1]^30, so every evaluated point counts.
 *
 * Figures per method and problem: hypervolume mean ± 95% CI (Student t) over seeds; seconds
 * per run. Same trial budget and seeds for every method.
 */
import type { Params, Space } from '../shared/spec/space.js';
import { hypervolume } from '../shared/pareto.js';
import { createSearch } from '../coordinator/search/registry.js';
import type { TrialObservation } from '../coordinator/search/base.js';
import { summarise } from '../coordinator/search/replicates.js';
import { progress, round, runPeer, type PeerResult } from './common.js';

export interface ParetoOptions {
  seeds: number;
  trials: number;
  peers: boolean;
}

const DIMS = 30;
export const REFERENCE = [1.1, 11];
const PROBLEMS = ['zdt1', 'zdt2'] as const;
type Problem = (typeof PROBLEMS)[number];

/** ZDT1 / ZDT2 on x in [0, 1]^30, both objectives minimised (the same function as pareto.py). */
export function zdt(problem: Problem, x: readonly number[]): [number, number] {
  const f1 = x[0]!;
  let sum = 0;
  for (let i = 1; i < x.length; i++) sum += x[i]!;
  const g = 1 + (9 * sum) / (x.length - 1);
  const h = problem === 'zdt1' ? 1 - Math.sqrt(f1 / g) : 1 - (f1 / g) ** 2;
  return [f1, g * h];
}

const SPACE: Space = Object.fromEntries(
  Array.from({ length: DIMS }, (_, i) => [`x${String(i).padStart(2, '0')}`, { kind: 'uniform', low: 0, high: 1 }]),
);

function trellisRun(algorithm: string, problem: Problem, seed: number, trials: number): number[][] {
  const search = createSearch(algorithm, { space: SPACE, seed, settings: {}, objectives: 2 });
  const history: TrialObservation[] = [];
  const points: number[][] = [];
  for (let n = 0; n < trials; n++) {
    const params: Params = search.suggest(n, history)!;
    const f = zdt(
      problem,
      Object.keys(SPACE)
        .sort()
        .map((k) => params[k] as number),
    );
    points.push(f);
    const values = f.map((v) => -v); // observations are larger-is-better
    history.push({ number: n, params, state: 'complete', value: values[0]!, values });
  }
  return points;
}

function figures(runs: { seed: number; points: number[][]; seconds: number }[]): Record<string, unknown> {
  const volumes = runs.map((r) => hypervolume(r.points, REFERENCE));
  const stats = summarise(volumes);
  return {
    hypervolume: { mean: round(stats.mean, 4), ci95: round(stats.ci95, 4), n: stats.n },
    per_seed: volumes.map((v) => round(v, 4)),
    seconds_per_run: round(runs.reduce((s, r) => s + r.seconds, 0) / runs.length, 2),
  };
}

export async function runPareto(o: ParetoOptions): Promise<Record<string, unknown>> {
  const seeds = Array.from({ length: o.seeds }, (_, i) => i);
  const results: Record<string, Record<string, unknown>> = {};
  let peerVersions: unknown;
  for (const problem of PROBLEMS) {
    const row: Record<string, unknown> = {};
    for (const algorithm of ['nsga2', 'motpe', 'random']) {
      const runs = seeds.map((seed) => {
        const start = performance.now();
        const points = trellisRun(algorithm, problem, seed, o.trials);
        return { seed, points, seconds: (performance.now() - start) / 1000 };
      });
      row[`trellis ${algorithm}`] = figures(runs);
      progress(
        `${problem} trellis ${algorithm}: ${JSON.stringify((row[`trellis ${algorithm}`] as { hypervolume: unknown }).hypervolume)}`,
      );
    }
    if (o.peers) {
      for (const sampler of ['nsga2', 'tpe']) {
        const peer: PeerResult = await runPeer(
          'pareto.py',
          ['--sampler', sampler, '--problem', problem, '--trials', String(o.trials), '--seeds', seeds.join(',')],
          30 * 60_000,
        );
        const label = sampler === 'nsga2' ? 'optuna NSGAIISampler' : 'optuna TPESampler (multi-objective)';
        if (peer.missing || peer.error) row[label] = peer;
        else {
          peerVersions = peer.versions;
          row[label] = figures(peer.runs as { seed: number; points: number[][]; seconds: number }[]);
        }
        progress(
          `${problem} ${label}: ${JSON.stringify((row[label] as { hypervolume?: unknown }).hypervolume ?? row[label])}`,
        );
      }
    }
    results[problem] = row;
  }
  return {
    settings: {
      problems: PROBLEMS,
      variables: DIMS,
      trials: o.trials,
      seeds,
      reference: REFERENCE,
      trellis:
        'in-process, sequential: nsga2 (population 50, SBX η 20 p 0.9, polynomial mutation η 20 p 1/30), motpe (defaults), random',
      optuna: 'ask/tell, sequential, sampler defaults (NSGAIISampler population 50)',
    },
    ...(peerVersions ? { peers: peerVersions } : {}),
    results,
  };
}
