/**
 * The best trial of a sweep, by its objective (the first one of a multi-objective sweep: there
 * `best` is the Pareto front's member best on it, for clients that read one trial; the front
 * itself is pareto-front.ts's).
 *
 * Rule (`computeBest`, the reference): succeeded trials with a finite objective first; only when
 * there are none, pruned ones (they ran at lower fidelity). Without replicates the best value
 * wins; with `replicates: k`, configurations (`configOfTrial`) are ranked by the mean over
 * their seeds and reported with a Student-t 95% CI. Ties go to the lower configuration number.
 *
 * `BestTracker` keeps the same answer incrementally, so a sweep of N trials does O(N) work for
 * its leaderboard instead of O(N²): it relies on trials reaching succeeded or pruned once and
 * never changing after (both are terminal).
 */
import { primaryObjective, type Objective, type SweepSpec } from '../../shared/spec/schema.js';
import type { BestTrial, TrialDoc } from '../../shared/types.js';
import { configOfTrial, summarise } from '../search/replicates.js';

/** The best trial of `trials`, computed from scratch. */
export function computeBest(trials: readonly TrialDoc[], spec: SweepSpec): BestTrial | undefined {
  const { metric, mode } = primaryObjective(spec.trial);
  const sign = mode === 'max' ? 1 : -1;
  const k = spec.search.replicates;
  const pool = trials.filter((t) => t.status === 'succeeded' && Number.isFinite(t.metrics[metric]));
  const candidates =
    pool.length > 0 ? pool : trials.filter((t) => t.status === 'pruned' && Number.isFinite(t.metrics[metric]));
  if (candidates.length === 0) return undefined;
  const groups = new Map<number, TrialDoc[]>();
  for (const t of candidates) {
    const config = configOfTrial(t.number, k);
    const group = groups.get(config);
    if (group) group.push(t);
    else groups.set(config, [t]);
  }
  let best: { config: number; mean: number } | undefined;
  for (const [config, group] of groups) {
    const mean = group.reduce((s, t) => s + t.metrics[metric]!, 0) / group.length;
    if (!best || mean * sign > best.mean * sign || (mean === best.mean && config < best.config))
      best = { config, mean };
  }
  return describeGroup(groups.get(best!.config)!, metric, k);
}

function describeGroup(group: readonly TrialDoc[], metric: string, k: number): BestTrial {
  const first = group.reduce((a, b) => (a.number < b.number ? a : b));
  if (k <= 1)
    return { trialId: first.id, number: first.number, params: first.params, metric, value: first.metrics[metric]! };
  const stats = summarise(group.map((t) => t.metrics[metric]!));
  return {
    trialId: first.id,
    number: first.number,
    params: first.params,
    metric,
    value: stats.mean,
    ci: stats.ci95,
    replicates: group.length,
  };
}

interface Group {
  members: TrialDoc[];
  sum: number;
}

/** One pool (succeeded or pruned) of configurations, with its best kept up to date. */
class Pool {
  readonly groups = new Map<number, Group>();
  private bestConfig: number | undefined;
  /** The best group gained a member, so its mean may have fallen below another's. */
  private stale = false;

  constructor(private readonly sign: number) {}

  add(config: number, trial: TrialDoc, value: number): void {
    let group = this.groups.get(config);
    if (!group) this.groups.set(config, (group = { members: [], sum: 0 }));
    group.members.push(trial);
    group.sum += value;
    if (this.stale) return;
    if (this.bestConfig === undefined) this.bestConfig = config;
    else if (config === this.bestConfig) this.stale = group.members.length > 1;
    else if (this.better(config, this.bestConfig)) this.bestConfig = config;
  }

  best(): Group | undefined {
    if (this.stale) {
      this.stale = false;
      this.bestConfig = undefined;
      for (const config of this.groups.keys()) {
        if (this.bestConfig === undefined || this.better(config, this.bestConfig)) this.bestConfig = config;
      }
    }
    return this.bestConfig === undefined ? undefined : this.groups.get(this.bestConfig);
  }

  private better(a: number, b: number): boolean {
    const ma = this.mean(a);
    const mb = this.mean(b);
    return ma * this.sign > mb * this.sign || (ma === mb && a < b);
  }

  private mean(config: number): number {
    const group = this.groups.get(config)!;
    return group.sum / group.members.length;
  }
}

export class BestTracker {
  private readonly metric: string;
  private readonly replicates: number;
  private readonly succeeded: Pool;
  private readonly pruned: Pool;
  private readonly counted = new Set<string>();

  constructor(objective: Objective, replicates: number) {
    this.metric = objective.metric;
    this.replicates = Math.max(1, replicates);
    const sign = objective.mode === 'max' ? 1 : -1;
    this.succeeded = new Pool(sign);
    this.pruned = new Pool(sign);
  }

  /** Takes a trial's latest state into account; non-terminal states and repeats are ignored. */
  observe(trial: TrialDoc): void {
    if (trial.status !== 'succeeded' && trial.status !== 'pruned') return;
    if (this.counted.has(trial.id)) return;
    this.counted.add(trial.id);
    const value = trial.metrics[this.metric];
    if (value === undefined || !Number.isFinite(value)) return;
    const pool = trial.status === 'succeeded' ? this.succeeded : this.pruned;
    pool.add(configOfTrial(trial.number, this.replicates), trial, value);
  }

  best(): BestTrial | undefined {
    const group = this.succeeded.best() ?? this.pruned.best();
    return group ? describeGroup(group.members, this.metric, this.replicates) : undefined;
  }
}
