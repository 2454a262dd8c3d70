import type { Params, Space } from '../../shared/spec/space.js';

/** What a search algorithm may know about a trial that was already suggested. */
export interface TrialObservation {
  /** The number the params were suggested for (the configuration index under replicates). */
  number: number;
  params: Params;
  /**
   * running: suggested and not finished (TPE's constant liar treats it as the worst value);
   * pruned: stopped early by the scheduler (ranked by its last intermediate value, below every
   * complete trial); failed: ignored, unless `failure` says why (see there).
   */
  state: 'running' | 'complete' | 'pruned' | 'failed';
  /**
   * Why a failed configuration failed, when that says something about its params (from the
   * attempts' failure kinds): `diverged` (a non-finite or exploding objective) is a bad
   * observation; `infeasible` (out of memory) is a constraint violation: the params do not fit
   * the memory they ran with, which says nothing about their objective. TPE puts both in its
   * bad group; only `diverged` counts as a finished observation (README "Failure kinds").
   */
  failure?: 'diverged' | 'infeasible';
  /** Objective value, already oriented so that larger is better (mode applied once). */
  value?: number;
  /**
   * Multi-objective sweeps: every objective's value, oriented like `value` (larger is better),
   * in the order of `trial.objective`; `value` is then the first of them. Absent otherwise.
   */
  values?: number[];
  /** Intermediate objective values by step, oriented like `value` (for multi-fidelity use). */
  intermediate?: Record<number, number>;
}

export interface SearchOptions {
  space: Space;
  seed: number;
  /**
   * Algorithm-specific settings: the extra keys of the spec's `search` block (e.g. tpe's
   * `startup`). The structural keys `algorithm`, `seed`, `space` and `replicates` are ignored if
   * present; any other unknown key is an error naming it.
   */
  settings: Record<string, unknown>;
  /** How many objectives the sweep has (`trial.objective` as a list); default 1. */
  objectives?: number;
}

/**
 * A search algorithm proposes the parameters of trial `number`.
 *
 * Contract: `suggest` is a pure function of (options, number, history) — the same seed and
 * history give the same params — so a restarted coordinator resumes a sweep by asking again
 * for the next number. It returns `undefined` when the space is exhausted (grid).
 * Algorithms keep no state between calls; an entry of `history` with the requested number
 * itself is ignored.
 *
 * Replicates (`search.replicates: k`, see replicates.ts): the runner asks once per
 * *configuration*, not per trial. Trials `c·k … c·k + k − 1` share configuration `c` and differ
 * only in their seed; the runner calls `suggest(c, history)` where history holds one
 * observation per configuration (number = configuration index, value = the mean of its
 * completed replicates, state `running` until all k have finished), and reuses the params for
 * the k trials.
 */
export interface SearchAlgorithm {
  readonly name: string;
  suggest(number: number, history: readonly TrialObservation[]): Params | undefined;
  /** Number of configurations in the space if it is finite (grid), else undefined. */
  readonly size?: number;
  /**
   * False when `suggest` ignores the history (grid, random, sobol): the runner then skips
   * building it, which matters at thousands of trials. Default true.
   */
  readonly usesHistory?: boolean;
}

export type SearchFactory = (options: SearchOptions) => SearchAlgorithm;

/** Keys of the spec's `search` block that are not algorithm settings. */
export const SEARCH_STRUCTURAL_KEYS = ['algorithm', 'seed', 'space', 'replicates'] as const;
