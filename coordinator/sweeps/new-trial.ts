/**
 * The document of a sweep's next trial, not yet stored. A replicate takes its configuration's
 * params; any other trial asks the search algorithm at that moment, so it sees every result so
 * far. Undefined: the search is exhausted (a grid) and the trial number stays free.
 */
import type { SweepSpec } from '../../shared/spec/schema.js';
import type { Params } from '../../shared/spec/space.js';
import type { TrialDoc } from '../../shared/types.js';
import type { SearchAlgorithm } from '../search/base.js';
import { configOfTrial, seedOfTrial, trialsOfConfig } from '../search/replicates.js';
import type { Store } from '../store/base.js';
import type { SearchHistory } from './history.js';
import type { TrialWriter } from './trial-writer.js';

export interface NewTrialContext {
  experimentId: string;
  spec: SweepSpec;
  store: Store;
  writer: TrialWriter;
  search: SearchAlgorithm;
  history: SearchHistory;
}

export async function newTrial(number: number, ctx: NewTrialContext): Promise<TrialDoc | undefined> {
  const { experimentId, spec } = ctx;
  const { replicates: k, seed: searchSeed } = spec.search;
  const config = configOfTrial(number, k);
  const firstOfConfig = trialsOfConfig(config, k)[0]!;
  let params: Params | undefined;
  // A replicate takes its configuration's params (from the store once that trial left memory).
  if (number !== firstOfConfig) {
    params =
      ctx.writer.get(firstOfConfig)?.params ?? (await ctx.store.getTrial(`${experimentId}-t${firstOfConfig}`))?.params;
  }
  params ??= ctx.search.suggest(config, ctx.history.observations());
  if (!params) return undefined;
  const now = Date.now();
  return {
    id: `${experimentId}-t${number}`,
    experimentId,
    number,
    status: 'pending',
    params,
    seed: seedOfTrial(number, { searchSeed, replicates: k, params, fixedSeed: spec.trial.seed }),
    attempts: [],
    metrics: {},
    ...(k > 1 ? { config } : {}),
    createdAt: now,
    updatedAt: now,
  };
}
