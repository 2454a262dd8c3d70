/**
 * Suite `search`: best-so-far against epochs spent on the learning-curve surrogate
 * (bench/curve.ts; the same function in bench/peers/curve.py), per method, over several seeds.
 *
 * Trellis methods run in the in-process simulator (bench/simulate.ts) that drives the search
 * and scheduler registries; concurrency 4, ASHA/Hyperband with grace 1, η 3, max = max epochs.
 * Peers (bench/peers/search.py): Optuna — TPESampler + HyperbandPruner (min 1, max = max
 * epochs, η 3) via ask/tell with trial.report / should_prune in the same round-robin clock;
 * Ray Tune — Tuner with ASHAScheduler (grace 1, η 3, max_t = max epochs) and random search, a
 * function trainable reporting every epoch, max_concurrent_trials 4, a Stopper that ends the
 * run when the budget of epochs is spent.
 *
 * Regret is measured on the incumbent — the config with the best report so far, what a user
 * would pick — by its true value: its noiseless accuracy after max epochs (curve.ts trueValue);
 * f* is the best true value over the space. regret(t) = f* − true(incumbent after t epochs).
 * Measuring the reported best instead would reward methods that merely see more noisy reports.
 *
 * Figures per method (mean ± sd over seeds): final reported best; final true value and regret;
 * regret AUC = the mean of regret(t) over the budget (t = 1..budget, in accuracy units);
 * epochs until regret ≤ target; epochs until the incumbent is as good as Optuna's final
 * incumbent (same seed).
 */
import { accuracy, optimumAt, TEST_VECTOR } from './curve.js';
import { simulate, type SimulationOptions } from './simulate.js';
import { mean, peerNumber, progress, round, runPeer, sd, type PeerResult } from './common.js';

export interface SearchOptions {
  seeds: number;
  budget: number;
  maxEpochs: number;
  concurrency: number;
  raySeeds: number;
  peers: boolean;
  target?: number;
}

type Method = Omit<SimulationOptions, 'seed' | 'budget' | 'maxEpochs' | 'concurrency'> & {
  label: string;
  note?: string;
};

function methods(maxEpochs: number): Method[] {
  const asha = { grace: 1, reduction: 3, max: maxEpochs };
  return [
    { label: 'random', algorithm: 'random', scheduler: 'fifo' },
    { label: 'tpe', algorithm: 'tpe', scheduler: 'fifo' },
    { label: 'asha', algorithm: 'random', scheduler: 'asha', schedulerSettings: asha },
    { label: 'tpe+asha', algorithm: 'tpe', scheduler: 'asha', schedulerSettings: asha },
    { label: 'hyperband', algorithm: 'random', scheduler: 'hyperband', schedulerSettings: asha },
    {
      label: 'tpe+hyperband',
      algorithm: 'tpe',
      scheduler: 'hyperband',
      schedulerSettings: asha,
      note: 'like for like with Optuna TPE + HyperbandPruner',
    },
    {
      label: 'tpe+asha (no intermediates)',
      algorithm: 'tpe',
      scheduler: 'asha',
      schedulerSettings: asha,
      intermediates: false,
      note: 'diagnostic: the runner before commit 6f65a56, which passed pruned trials to TPE with their last value only',
    },
  ];
}

interface RunCurve {
  seed: number;
  best: number[];
  incumbent: number[];
  trials?: number;
  completed?: number;
  pruned?: number;
}

interface RunFigures {
  final_best: number;
  final_true: number;
  regret_auc: number;
  epochs_to_target: number | null;
  epochs_to_optuna_best: number | null;
}

/** Epochs (1-based) until the incumbent's true value first reaches `threshold`; null if never. */
function firstReach(incumbent: number[], threshold: number): number | null {
  const i = incumbent.findIndex((v) => v >= threshold - 1e-12);
  return i < 0 ? null : i + 1;
}

function figures(run: RunCurve, fStar: number, target: number, optunaBest: number | undefined): RunFigures {
  const regret = run.incumbent.map((v) => (Number.isFinite(v) ? Math.max(0, fStar - v) : fStar));
  return {
    final_best: run.best[run.best.length - 1] ?? NaN,
    final_true: run.incumbent[run.incumbent.length - 1] ?? NaN,
    regret_auc: mean(regret),
    epochs_to_target: firstReach(run.incumbent, fStar - target),
    epochs_to_optuna_best: optunaBest === undefined ? null : firstReach(run.incumbent, optunaBest),
  };
}

function aggregate(
  runs: RunCurve[],
  fStar: number,
  target: number,
  optunaBestBySeed: Map<number, number>,
  budget: number,
): Record<string, unknown> {
  const per = runs.map((r) => ({ seed: r.seed, ...figures(r, fStar, target, optunaBestBySeed.get(r.seed)) }));
  const stat = (values: number[]): { mean: number; sd: number } => ({
    mean: round(mean(values)),
    sd: round(sd(values)),
  });
  const reached = (key: 'epochs_to_target' | 'epochs_to_optuna_best'): Record<string, unknown> => {
    const values = per.map((p) => p[key]).filter((v): v is number => v !== null);
    return {
      ...stat(values),
      reached: `${values.length}/${per.length}`,
      median_unreached_as_inf: medianWithInf(
        per.map((p) => p[key]),
        budget,
      ),
    };
  };
  return {
    seeds: runs.length,
    final_best: stat(per.map((p) => p.final_best)),
    final_true: stat(per.map((p) => p.final_true)),
    final_regret: stat(per.map((p) => fStar - p.final_true)),
    regret_auc: stat(per.map((p) => p.regret_auc)),
    epochs_to_target: reached('epochs_to_target'),
    epochs_to_optuna_best: optunaBestBySeed.size > 0 ? reached('epochs_to_optuna_best') : null,
    trials: stat(runs.map((r) => r.trials ?? NaN).filter(Number.isFinite)),
    per_seed: per.map((p) => ({
      seed: p.seed,
      final_best: round(p.final_best),
      final_true: round(p.final_true),
      regret_auc: round(p.regret_auc),
      epochs_to_target: p.epochs_to_target,
      epochs_to_optuna_best: p.epochs_to_optuna_best,
    })),
  };
}

/** Median where null (never reached) counts as larger than any budget; null if that is the median. */
function medianWithInf(values: (number | null)[], budget: number): number | null {
  const sorted = values.map((v) => v ?? Infinity).sort((a, b) => a - b);
  if (sorted.length === 0) return null;
  const mid = sorted.length / 2;
  const m = sorted.length % 2 === 1 ? sorted[Math.floor(mid)]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return Number.isFinite(m) && m <= budget ? m : null;
}

async function checkSurrogate(): Promise<Record<string, unknown>> {
  const ts = TEST_VECTOR.map((c) => accuracy(c.params, c.epoch));
  const py = await runPeer('curve.py', [JSON.stringify(TEST_VECTOR)], 30_000, { anyPython: true });
  const values = Array.isArray(py) ? (py as number[]) : (py.values as number[] | undefined);
  if (!values) return { typescript: ts, python: py, agree: null };
  const diff = Math.max(...values.map((v, i) => Math.abs(v - ts[i]!)));
  return { typescript: ts, python: values, max_abs_difference: diff, agree: diff < 1e-12 };
}

export async function runSearch(options: SearchOptions): Promise<Record<string, unknown>> {
  const target = options.target ?? 0.01;
  const surrogate = await checkSurrogate();
  progress(`search: surrogate TS vs Python test vector agree: ${String(surrogate.agree)}`);
  if (surrogate.agree === false) throw new Error(`the TS and Python surrogates disagree: ${JSON.stringify(surrogate)}`);
  const optimum = optimumAt(options.maxEpochs);
  const fStar = optimum.value;
  const seeds = Array.from({ length: options.seeds }, (_, i) => i);

  const peers: Record<string, PeerResult> = {};
  const common = [
    '--budget',
    String(options.budget),
    '--max-epochs',
    String(options.maxEpochs),
    '--concurrency',
    String(options.concurrency),
  ];
  if (options.peers) {
    progress('search: Optuna TPE + HyperbandPruner');
    peers.optuna = await runPeer('search.py', ['optuna', '--seeds', seeds.join(','), ...common], 300_000);
  } else {
    peers.optuna = { missing: 'skipped (--no-peers)' };
    peers.ray_tune = { missing: 'skipped (--no-peers)' };
  }
  const optunaRuns = (peers.optuna.runs as RunCurve[] | undefined) ?? [];
  // Optuna's best: the true value of its final incumbent, per seed.
  const optunaBestBySeed = new Map(optunaRuns.map((r) => [r.seed, r.incumbent[r.incumbent.length - 1]!]));

  const results: Record<string, Record<string, unknown>> = {};
  const t0 = performance.now();
  for (const method of methods(options.maxEpochs)) {
    const runs: RunCurve[] = seeds.map((seed) => {
      const { label: _label, note: _note, ...sim } = method;
      return {
        seed,
        ...simulate({
          ...sim,
          seed,
          budget: options.budget,
          maxEpochs: options.maxEpochs,
          concurrency: options.concurrency,
        }),
      };
    });
    results[method.label] = {
      ...(method.note ? { note: method.note } : {}),
      ...aggregate(runs, fStar, target, optunaBestBySeed, options.budget),
    };
    progress(
      `search: trellis ${method.label}: mean final best ${round(mean(runs.map((r) => r.best[r.best.length - 1]!)))}`,
    );
  }
  const simSeconds = (performance.now() - t0) / 1000;

  if (options.peers) {
    const raySeeds = seeds.slice(0, options.raySeeds);
    progress(`search: Ray Tune ASHA + random (${raySeeds.length} seeds; slow on 2 cores)`);
    peers.ray_tune = await runPeer('search.py', ['ray', '--seeds', raySeeds.join(','), ...common], 900_000);
  }
  const peerFigures: Record<string, unknown> = {};
  for (const [name, peer] of Object.entries(peers)) {
    const runs = peer.runs as RunCurve[] | undefined;
    peerFigures[name] = runs
      ? {
          ...Object.fromEntries(Object.entries(peer).filter(([k]) => k !== 'runs')),
          ...aggregate(runs, fStar, target, optunaBestBySeed, options.budget),
        }
      : peer;
  }

  const tpeAsha = results['tpe+asha']!;
  const mine =
    (tpeAsha.epochs_to_optuna_best as { median_unreached_as_inf: number | null } | null)?.median_unreached_as_inf ??
    null;
  const theirs =
    (peerFigures.optuna as { epochs_to_optuna_best?: { median_unreached_as_inf: number | null } } | undefined)
      ?.epochs_to_optuna_best?.median_unreached_as_inf ?? null;
  const optunaRan = optunaRuns.length > 0;
  return {
    settings: {
      budget_epochs: options.budget,
      max_epochs_per_trial: options.maxEpochs,
      concurrency: options.concurrency,
      seeds: options.seeds,
      ray_seeds: options.peers ? Math.min(options.raySeeds, options.seeds) : 0,
      regret_target: target,
      asha: { grace: 1, reduction: 3, max: options.maxEpochs },
      driver: 'in-process simulator over the search + scheduler registries, round-robin epochs (bench/simulate.ts)',
    },
    surrogate: { check: surrogate, f_star: round(fStar, 6), f_star_params: optimum.params },
    trellis: { methods: results, simulator_seconds: round(simSeconds) },
    peers: peerFigures,
    goals: {
      tpe_asha_reaches_optuna_best_no_later: {
        value: optunaRan ? { trellis_tpe_asha_median_epochs: mine, optuna_median_epochs: theirs } : null,
        target:
          "median over seeds of epochs until Optuna's final best (same seed): TPE+ASHA <= Optuna (never reached counts as infinite)",
        met: !optunaRan ? null : theirs === null ? mine !== null || null : mine !== null && mine <= theirs,
      },
      ray_tune_epochs_to_target: {
        value: peerNumber(peerFigures.ray_tune as PeerResult, 'epochs_to_target', 'mean') ?? null,
        target: 'reference only',
        met: null,
      },
    },
  };
}
