/**
 * SearchHistory: what the search algorithm sees of the sweep so far, one observation per
 * configuration (see coordinator/search/base.ts). With replicates, a configuration's value is
 * the mean of its succeeded seeds. Pruned trials carry their learning curve (oriented values
 * by step), which TPE uses to rank them.
 *
 * The history is cached and only the configurations whose trials changed since the last call
 * are rebuilt, so each suggestion costs O(changed), not O(trials). Algorithms that ignore the
 * history (`usesHistory === false`) keep nothing.
 */
import type { Objective } from '../../shared/spec/schema.js';
import type { TrialDoc } from '../../shared/types.js';
import type { TrialObservation } from '../search/base.js';
import { configOfTrial, trialsOfConfig } from '../search/replicates.js';

export class SearchHistory {
  /** Oriented objective value by step, per trial: the learning curves TPE uses for pruned trials. */
  private readonly curves = new Map<number, Record<number, number>>();
  private readonly cache: TrialObservation[] = [];
  private readonly stale = new Set<number>();
  private observed = 0;

  private readonly metric: string;
  /** +1 to maximise the objective, −1 to minimise it. */
  private readonly sign: number;
  /** Multi-objective: every objective (metric, sign); undefined for a single objective. */
  private readonly many: { metric: string; sign: number }[] | undefined;

  /**
   * `enabled`: false when the search algorithm ignores the history (nothing is kept);
   * `trial`: the latest copy of a trial (TrialWriter).
   */
  constructor(
    objective: Objective | readonly Objective[],
    private readonly replicates: number,
    private readonly enabled: boolean,
    private readonly trial: (number: number) => TrialDoc | undefined,
  ) {
    const list: readonly Objective[] = Array.isArray(objective)
      ? (objective as readonly Objective[])
      : [objective as Objective];
    this.metric = list[0]!.metric;
    this.sign = list[0]!.mode === 'max' ? 1 : -1;
    if (list.length > 1) this.many = list.map((o) => ({ metric: o.metric, sign: o.mode === 'max' ? 1 : -1 }));
  }

  /** Trial `number` changed: its configuration's entry must be rebuilt. */
  markStale(number: number): void {
    if (this.enabled) this.stale.add(configOfTrial(number, this.replicates));
  }

  /** A point of trial `number`'s learning curve (the raw objective value at `step`). */
  addCurvePoint(number: number, step: number, value: number): void {
    if (!this.enabled) return;
    const curve = this.curves.get(number) ?? {};
    curve[step] = value * this.sign;
    this.curves.set(number, curve);
    this.markStale(number);
  }

  /** The observations in configuration order (empty when the history is not kept). */
  observations(): readonly TrialObservation[] {
    for (const config of this.stale) {
      if (this.cache[config] === undefined) this.observed++;
      this.cache[config] = this.observe(config);
    }
    this.stale.clear();
    // A coordinator killed while creating trials concurrently can leave a number unused.
    return this.observed === this.cache.length ? this.cache : this.cache.filter(Boolean);
  }

  private observe(config: number): TrialObservation {
    const { metric, sign, replicates } = this;
    const group: TrialDoc[] = [];
    for (const number of trialsOfConfig(config, replicates)) {
      const trial = this.trial(number);
      if (trial) group.push(trial);
    }
    const first = group[0]!;
    const { many } = this;
    if (many) {
      // Multi-objective: `values` holds each objective's mean (oriented), over the seeds that
      // reported all of them; `value` the first's, for rules that need one number.
      const done = group.filter(
        (t) => t.status === 'succeeded' && many.every((o) => Number.isFinite(t.metrics[o.metric])),
      );
      if (done.length > 0) {
        const values = many.map((o) => (o.sign * done.reduce((s, t) => s + t.metrics[o.metric]!, 0)) / done.length);
        return { number: config, params: first.params, state: 'complete', value: values[0]!, values };
      }
    } else {
      const done = group.filter((t) => t.status === 'succeeded' && t.metrics[metric] !== undefined);
      if (done.length > 0) {
        const mean = done.reduce((s, t) => s + t.metrics[metric]!, 0) / done.length;
        return { number: config, params: first.params, state: 'complete', value: mean * sign };
      }
    }
    if (group.some((t) => t.status === 'pruned')) {
      const value = first.metrics[metric];
      const intermediate = this.curves.get(first.number);
      return {
        number: config,
        params: first.params,
        state: 'pruned',
        ...(value !== undefined ? { value: value * sign } : {}),
        ...(intermediate ? { intermediate: { ...intermediate } } : {}),
      };
    }
    if (group.every((t) => t.status === 'failed' || t.status === 'cancelled')) {
      const kinds = new Set(group.map((t) => t.attempts.at(-1)?.failureKind));
      const failure = kinds.has('diverged') ? 'diverged' : kinds.has('oom') ? 'infeasible' : undefined;
      return { number: config, params: first.params, state: 'failed', ...(failure ? { failure } : {}) };
    }
    return { number: config, params: first.params, state: 'running' };
  }
}
