/**
 * Suite `suggest`: time per TPE suggestion against the number of finished trials.
 *
 * Space (4 dims, mixed): x uniform [0, 1], y uniform [-5, 5], lr loguniform [1e-5, 1e-1],
 * kind choice [a, b, c, d]. History: n finished trials whose params are the `random`
 * algorithm's draws (seed 7) and whose value is a fixed smooth function of them. The same
 * history (written to a JSON file) is loaded by the Optuna peer with `study.add_trials`, so
 * both samplers see identical trials.
 *
 * Trellis: `createSearch('tpe').suggest(n + r, history)` timed call by call (history built
 * beforehand, not timed), univariate (Trellis's default) and multivariate. Optuna:
 * `study.ask(fixed_distributions)` on the pre-filled in-memory study — sample_relative and
 * sample_independent for the 4 params — then `tell(FAIL)` (not timed), so the asked trial does
 * not join the history; TPESampler(multivariate=False) and (multivariate=True, Optuna 5's
 * default). Both with their defaults otherwise (24 candidates, 10 startup trials, prior 1).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Space } from '../shared/spec/space.js';
import type { TrialObservation } from '../coordinator/search/base.js';
import { createSearch } from '../coordinator/search/registry.js';
import { randomParams } from '../coordinator/search/random.js';
import { median, peerNumber, progress, ratio, round, runPeer, type PeerResult } from './common.js';
import { tempDir } from './harness.js';

export interface SuggestOptions {
  sizes: number[];
  peers: boolean;
}

export const SUGGEST_SPACE: Space = {
  x: { kind: 'uniform', low: 0, high: 1 },
  y: { kind: 'uniform', low: -5, high: 5 },
  lr: { kind: 'loguniform', low: 1e-5, high: 1e-1 },
  kind: { kind: 'choice', values: ['a', 'b', 'c', 'd'] },
};

const KIND_BONUS: Record<string, number> = { a: 0, b: 0.3, c: 0.1, d: -0.2 };

/** The objective of the pre-filled trials (maximised). */
function objective(p: Record<string, unknown>): number {
  const x = p.x as number;
  const y = p.y as number;
  const lr = p.lr as number;
  return -((x - 0.3) ** 2) - ((y - 1) / 5) ** 2 - (Math.log10(lr) + 3) ** 2 / 4 + (KIND_BONUS[p.kind as string] ?? 0);
}

export function suggestHistory(n: number): TrialObservation[] {
  const out: TrialObservation[] = [];
  for (let i = 0; i < n; i++) {
    const params = randomParams(SUGGEST_SPACE, 7, i);
    out.push({ number: i, params, state: 'complete', value: objective(params) });
  }
  return out;
}

interface Timing {
  n: number;
  calls: number;
  ms_median: number;
  ms_mean: number;
}

/** Calls `suggest` until ~`budgetMs` have passed (at least `minCalls`, at most `maxCalls`). */
function timeSuggest(
  multivariate: boolean,
  history: TrialObservation[],
  budgetMs = 1500,
  minCalls = 20,
  maxCalls = 400,
): Timing {
  const tpe = createSearch('tpe', {
    space: SUGGEST_SPACE,
    seed: 11,
    settings: multivariate ? { multivariate: true } : {},
  });
  const n = history.length;
  for (let i = 0; i < 5; i++) tpe.suggest(n + 1000 + i, history); // warm-up (JIT)
  const times: number[] = [];
  const start = performance.now();
  for (let r = 0; r < maxCalls; r++) {
    const t0 = performance.now();
    tpe.suggest(n + r, history);
    times.push(performance.now() - t0);
    if (r + 1 >= minCalls && performance.now() - start > budgetMs) break;
  }
  return {
    n,
    calls: times.length,
    ms_median: round(median(times)),
    ms_mean: round(times.reduce((s, t) => s + t, 0) / times.length),
  };
}

export async function runSuggest(options: SuggestOptions): Promise<Record<string, unknown>> {
  const temp = tempDir('suggest');
  try {
    const trellis: Record<string, Record<string, Timing>> = { univariate: {}, multivariate: {} };
    const files: string[] = [];
    for (const n of options.sizes) {
      const history = suggestHistory(n);
      const file = join(temp.dir, `history-${n}.json`);
      writeFileSync(file, JSON.stringify(history.map((t) => ({ params: t.params, value: t.value }))));
      files.push(file);
      for (const mode of ['univariate', 'multivariate'] as const) {
        const timing = timeSuggest(mode === 'multivariate', history);
        trellis[mode]![String(n)] = timing;
        progress(`suggest: trellis tpe ${mode}, ${n} trials: ${timing.ms_median} ms (median of ${timing.calls})`);
      }
    }
    let optuna: PeerResult;
    if (options.peers) {
      progress('suggest: Optuna TPESampler');
      optuna = await runPeer('suggest.py', files, 600_000);
    } else {
      optuna = { missing: 'skipped (--no-peers)' };
    }
    const ratios: Record<string, Record<string, number | null>> = {
      univariate: {},
      multivariate: {},
      default_vs_default: {},
    };
    for (const n of options.sizes) {
      const key = String(n);
      for (const mode of ['univariate', 'multivariate'] as const) {
        ratios[mode]![key] = ratio(peerNumber(optuna, mode, key, 'ms_median'), trellis[mode]![key]!.ms_median);
      }
      ratios.default_vs_default![key] = ratio(
        peerNumber(optuna, 'multivariate', key, 'ms_median'),
        trellis.univariate![key]!.ms_median,
      );
    }
    const at1000 = trellis.univariate!['1000']?.ms_median;
    const speedup1000 = ratios.univariate!['1000'] ?? null;
    const speedupMv1000 = ratios.multivariate!['1000'] ?? null;
    return {
      settings: {
        space: 'x uniform[0,1], y uniform[-5,5], lr loguniform[1e-5,1e-1], kind choice{a,b,c,d}',
        sizes: options.sizes,
        trellis:
          'tpe defaults (startup 10, candidates 24, priorWeight 1, constantLiar true); univariate is the default',
        optuna:
          "TPESampler defaults (n_startup_trials 10, n_ei_candidates 24); multivariate=True is Optuna 5's default",
      },
      trellis: { ms_per_suggestion: trellis },
      peers: { optuna },
      ratios: { optuna_ms_over_trellis_ms: ratios },
      goals: {
        ms_at_1000_le_5: { value: at1000 ?? null, target: '<= 5 ms', met: at1000 === undefined ? null : at1000 <= 5 },
        speedup_vs_optuna_univariate_ge_5: {
          value: speedup1000,
          target: '>= 5 (at 1000 trials)',
          met: speedup1000 === null ? null : speedup1000 >= 5,
        },
        speedup_vs_optuna_multivariate_ge_5: {
          value: speedupMv1000,
          target: '>= 5 (at 1000 trials)',
          met: speedupMv1000 === null ? null : speedupMv1000 >= 5,
        },
      },
    };
  } finally {
    temp.remove();
  }
}
