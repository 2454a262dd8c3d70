import type { Params, Space } from '../../shared/spec/space.js';

/** What a search algorithm may know about a trial that was already suggested. */
export interface TrialObservation {
  number: number;
  params: Params;
  /** pending/running trials have no value yet; algorithms may treat them as "liars". */
  state: 'running' | 'complete' | 'pruned' | 'failed';
  /** Objective value, already oriented so that larger is better (mode applied once). */
  value?: number;
  /** Intermediate objective values by step, oriented like `value` (for multi-fidelity use). */
  intermediate?: Record<number, number>;
}

export interface SearchOptions {
  space: Space;
  seed: number;
  /** Algorithm-specific settings from the spec's `search` block (e.g. tpe.startup). */
  settings: Record<string, unknown>;
}

/**
 * A search algorithm proposes the parameters of trial `number`.
 *
 * Contract: `suggest` is a pure function of (options, number, history) — the same seed and
 * history give the same params — so a restarted coordinator resumes a sweep by asking again
 * for the next number. It returns `undefined` when the space is exhausted (grid).
 */
export interface SearchAlgorithm {
  readonly name: string;
  suggest(number: number, history: readonly TrialObservation[]): Params | undefined;
  /** Number of configurations in the space if it is finite (grid), else undefined. */
  readonly size?: number;
}

export type SearchFactory = (options: SearchOptions) => SearchAlgorithm;
