/**
 * A small in-process simulator of a sweep on the learning-curve surrogate (bench/curve.ts),
 * driving Trellis's search algorithms and schedulers through their registries the way the
 * SweepRunner does, with the timing replaced by a round-robin clock:
 *
 * - `concurrency` trials run at once; each tick, every running trial (in slot order) trains one
 *   epoch and reports it (`scheduler.onResult`); one report = one epoch of the budget.
 * - A trial ends when the scheduler says stop (pruned, value = its last report) or at
 *   `maxEpochs` (complete); `scheduler.onTrialComplete` is called and its slot immediately
 *   gets a new trial from `search.suggest(number, history)`.
 * - History as the runner builds it (coordinator/sweeps/history.ts `SearchHistory.observations`):
 *   complete trials with their value, pruned trials with their last value and their per-epoch
 *   values (`intermediate`, what TPE's split ranks them by), running trials as `running` (TPE's
 *   constant liar). `intermediates: false` leaves the per-epoch values out, as the runner did
 *   before commit 6f65a56.
 * - The run stops when the budget of epochs is spent; the result is, after each epoch, the best
 *   accuracy reported so far and the true (noiseless, full-training) value of the config that
 *   reported it — the incumbent a user would pick.
 */
import type { Params } from '../shared/spec/space.js';
import type { TrialObservation } from '../coordinator/search/base.js';
import { createSearch } from '../coordinator/search/registry.js';
import { createScheduler } from '../coordinator/schedulers/registry.js';
import { accuracy, asCurveParams, CURVE_SPACE, trueValue } from './curve.js';

export interface SimulationOptions {
  algorithm: string;
  searchSettings?: Record<string, unknown>;
  scheduler: string;
  schedulerSettings?: Record<string, unknown>;
  seed: number;
  budget: number;
  maxEpochs: number;
  concurrency: number;
  /**
   * Give TPE the per-epoch values of pruned trials, as the runner does (default true); false is
   * the runner before commit 6f65a56, which passed pruned trials with their last value only.
   */
  intermediates?: boolean;
}

export interface SimulationResult {
  /** best[t] = best accuracy reported after t + 1 epochs. */
  best: number[];
  /** incumbent[t] = true value (curve.ts trueValue at maxEpochs) of the config that reported best[t]. */
  incumbent: number[];
  trials: number;
  completed: number;
  pruned: number;
}

interface Running {
  number: number;
  params: Params;
  epoch: number;
  values: Record<number, number>;
}

export function simulate(options: SimulationOptions): SimulationResult {
  const search = createSearch(options.algorithm, {
    space: CURVE_SPACE,
    seed: options.seed,
    settings: options.searchSettings ?? {},
  });
  const scheduler = createScheduler(options.scheduler, {
    settings: options.schedulerSettings ?? {},
    seed: options.seed,
    maxSteps: options.maxEpochs,
    space: CURVE_SPACE,
  });
  const history = new Map<number, TrialObservation>();
  const slots: (Running | undefined)[] = [];
  let next = 0;
  let completed = 0;
  let pruned = 0;

  const start = (): Running => {
    const number = next++;
    const params = search.suggest(number, [...history.values()]);
    if (!params) throw new Error(`${options.algorithm} returned no params for trial ${number}`);
    history.set(number, { number, params, state: 'running' });
    scheduler.onTrialAdd({ number, params });
    return { number, params, epoch: 0, values: {} };
  };

  for (let s = 0; s < options.concurrency; s++) slots.push(start());

  const best: number[] = [];
  const incumbent: number[] = [];
  let top = -Infinity;
  let topTrue = NaN;
  while (best.length < options.budget) {
    for (let s = 0; s < slots.length && best.length < options.budget; s++) {
      const trial = slots[s]!;
      trial.epoch += 1;
      const value = accuracy(asCurveParams(trial.params), trial.epoch);
      trial.values[trial.epoch] = value;
      if (value > top) {
        top = value;
        topTrue = trueValue(asCurveParams(trial.params), options.maxEpochs);
      }
      best.push(top);
      incumbent.push(topTrue);
      const decision = scheduler.onResult({ number: trial.number, params: trial.params }, trial.epoch, value);
      const stop = decision.action === 'stop';
      if (!stop && trial.epoch < options.maxEpochs) continue;
      const observation: TrialObservation = stop
        ? {
            number: trial.number,
            params: trial.params,
            state: 'pruned',
            value,
            ...(options.intermediates !== false ? { intermediate: { ...trial.values } } : {}),
          }
        : { number: trial.number, params: trial.params, state: 'complete', value };
      history.set(trial.number, observation);
      if (stop) pruned++;
      else completed++;
      scheduler.onTrialComplete({ number: trial.number, params: trial.params }, value);
      slots[s] = start();
    }
  }
  return { best, incumbent, trials: next, completed, pruned };
}
