/**
 * Random search: the params of trial n are a pure function of (seed, n). Each parameter draws
 * from its own generator keyed by (seed, n, name), so the value of one parameter does not
 * depend on history, on the order of requests, or on which conditional parameters are active.
 * Ints are uniform over low..high inclusive (log-uniform cells when `log`), loguniform is
 * uniform in log space.
 */
import type { Params, Space } from '../../shared/spec/space.js';
import type { SearchAlgorithm, SearchOptions } from './base.js';
import { SEARCH_STRUCTURAL_KEYS } from './base.js';
import { assign, fromUnit, paramOrder } from './domains.js';
import { rngFor, uniform } from './rng.js';
import { parseSettings } from './settings.js';

/** The random configuration for (seed, number); `purpose` separates independent streams. */
export function randomParams(space: Space, seed: number, number: number, purpose = 'random'): Params {
  return assign(space, paramOrder(space), (name, domain) =>
    fromUnit(domain, uniform(rngFor(seed, number, purpose, name))),
  );
}

export class RandomSearch implements SearchAlgorithm {
  readonly name = 'random';
  readonly usesHistory = false;
  private readonly space: Space;
  private readonly seed: number;

  constructor(options: SearchOptions) {
    parseSettings('search', {}, options.settings, SEARCH_STRUCTURAL_KEYS);
    paramOrder(options.space);
    this.space = options.space;
    this.seed = options.seed;
  }

  suggest(number: number): Params {
    return randomParams(this.space, this.seed, number);
  }
}

export function createRandom(options: SearchOptions): SearchAlgorithm {
  return new RandomSearch(options);
}
