/** Search algorithms by name: the names the spec's `search.algorithm` accepts. */
import { InvalidArgumentError } from '../../shared/errors.js';
import type { SearchAlgorithm, SearchFactory, SearchOptions } from './base.js';
import { createGrid } from './grid.js';
import { createMotpe } from './motpe.js';
import { createNsga2 } from './nsga2.js';
import { createRandom } from './random.js';
import { createSobol } from './sobol.js';
import { createTpe } from './tpe.js';

const FACTORIES: ReadonlyMap<string, SearchFactory> = new Map([
  ['grid', createGrid],
  ['motpe', createMotpe],
  ['nsga2', createNsga2],
  ['random', createRandom],
  ['sobol', createSobol],
  ['tpe', createTpe],
]);

export function searchAlgorithmNames(): string[] {
  return [...FACTORIES.keys()];
}

/**
 * Creates an algorithm, validating its settings. Throws an InvalidArgumentError naming the
 * field: `search.algorithm: unknown algorithm "X"; allowed: grid, motpe, nsga2, random, sobol, tpe`, or the
 * setting (`search.startup: must be an integer >= 1, got 0`).
 */
export function createSearch(name: string, options: SearchOptions): SearchAlgorithm {
  const factory = FACTORIES.get(name);
  if (!factory) {
    throw new InvalidArgumentError([
      `search.algorithm: unknown algorithm ${JSON.stringify(name)}; allowed: ${searchAlgorithmNames().join(', ')}`,
    ]);
  }
  return factory(options);
}
