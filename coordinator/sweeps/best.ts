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
 * never changing after (both are terminal), and it holds O(running configurations), not O(N).
 */
import { primaryObjective, type Objective, type SweepSpec } from '../../shared/spec/schema.js';
import type { BestTrial, TrialDoc } from '../../shared/types.js';
import { configOfTrial, summarise } from '../search/replicates.js';
import { isTerminal } from '../../shared/states.js';

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
  /** Every trial of the configuration has ended: its mean can no longer change. */
  final: boolean;
}

/**
 * One pool (succeeded or pruned) of configurations, with its best kept up to date. Once the best
 * configuration is final, every other final one is dominated for good and is dropped, so the pool
 * holds the best plus the configurations still running (memory constant in the sweep's length).
 */
class Pool {
  readonly groups = new Map<number, Group>();
  private bestConfig: number | undefined;
  /** The best group gained a member, so its mean may have fallen below another's. */
  private stale = false;
  /** Final configurations not yet dropped. */
  private finals: number[] = [];

  constructor(private readonly sign: number) {}

  add(config: number, trial: TrialDoc, value: number): void {
    let group = this.groups.get(config);
    if (!group) this.groups.set(config, (group = { members: [], sum: 0, final: false }));
    group.members.push(trial);
    group.sum += value;
    if (this.stale) return;
    if (this.bestConfig === undefined) this.bestConfig = config;
    else if (config === this.bestConfig) this.stale = group.members.length > 1;
    else if (this.better(config, this.bestConfig)) this.bestConfig = config;
  }

  /** Every trial of `config` has ended (whatever their status). */
  finalize(config: number): void {
    const group = this.groups.get(config);
    if (!group) return;
    group.final = true;
    this.finals.push(config);
  }

  best(): Group | undefined {
    if (this.stale) {
      this.stale = false;
      this.bestConfig = undefined;
      for (const config of this.groups.keys()) {
        if (this.bestConfig === undefined || this.better(config, this.bestConfig)) this.bestConfig = config;
      }
    }
    if (this.bestConfig === undefined) return undefined;
    const best = this.groups.get(this.bestConfig)!;
    if (best.final && this.finals.length > 0) {
      for (const config of this.finals) if (config !== this.bestConfig) this.groups.delete(config);
      this.finals = [this.bestConfig];
    }
    return best;
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

/** A set of trial numbers, one bit each. */
export class NumberSet {
  private bits = new Uint8Array(1024);
  has(n: number): boolean {
    return n >> 3 < this.bits.length && (this.bits[n >> 3]! & (1 << (n & 7))) !== 0;
  }
  add(n: number): void {
    if (n >> 3 >= this.bits.length) {
      const grown = new Uint8Array(Math.max(this.bits.length * 2, (n >> 3) + 1));
      grown.set(this.bits);
      this.bits = grown;
    }
    this.bits[n >> 3]! |= 1 << (n & 7);
  }
}

export class BestTracker {
  private readonly metric: string;
  private readonly replicates: number;
  private readonly succeeded: Pool;
  private readonly pruned: Pool;
  /** Terminal trials seen (one bit per trial number: repeats are ignored). */
  private readonly counted = new NumberSet();
  /** Per configuration not yet final, how many of its trials have ended. */
  private readonly ended = new Map<number, number>();

  constructor(objective: Objective, replicates: number) {
    this.metric = objective.metric;
    this.replicates = Math.max(1, replicates);
    const sign = objective.mode === 'max' ? 1 : -1;
    this.succeeded = new Pool(sign);
    this.pruned = new Pool(sign);
  }

  /** Configurations held (both pools), and configurations with some but not all trials ended. */
  get sizes(): { groups: number; partlyEnded: number } {
    return { groups: this.succeeded.groups.size + this.pruned.groups.size, partlyEnded: this.ended.size };
  }

  /** Takes a trial's latest state into account; non-terminal states and repeats are ignored. */
  observe(trial: TrialDoc): void {
    if (!isTerminal('trial', trial.status)) return;
    if (this.counted.has(trial.number)) return;
    this.counted.add(trial.number);
    const config = configOfTrial(trial.number, this.replicates);
    const value = trial.metrics[this.metric];
    if ((trial.status === 'succeeded' || trial.status === 'pruned') && value !== undefined && Number.isFinite(value)) {
      (trial.status === 'succeeded' ? this.succeeded : this.pruned).add(config, trial, value);
    }
    const ended = (this.ended.get(config) ?? 0) + 1;
    if (ended < this.replicates) {
      this.ended.set(config, ended);
      return;
    }
    this.ended.delete(config);
    this.succeeded.finalize(config);
    this.pruned.finalize(config);
  }

  best(): BestTrial | undefined {
    // Both pools are asked, so that each drops its dominated configurations.
    const succeeded = this.succeeded.best();
    const pruned = this.pruned.best();
    const group = succeeded ?? pruned;
    return group ? describeGroup(group.members, this.metric, this.replicates) : undefined;
  }
}
