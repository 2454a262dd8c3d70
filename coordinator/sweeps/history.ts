/**
 * SearchHistory: what the search algorithm sees of the sweep so far, one observation per
 * configuration (see coordinator/search/base.ts). With replicates, a configuration's value is
 * the mean of its succeeded seeds. Pruned trials carry their learning curve (oriented values
 * by step), which TPE uses to rank them.
 *
 * The history is cached and only the configurations whose trials changed since the last call
 * are rebuilt, so each suggestion costs O(changed), not O(trials). Algorithms that ignore the
 * history (`usesHistory === false`) keep nothing.
 *
 * It keeps its own small summary of each trial (status, objective value, failure kind; the
 * params of a configuration's first trial), not the trial documents, which the trial writer
 * drops once a trial has ended: the history is the algorithm's input, so it holds one entry per
 * configuration by design. A learning curve is dropped once nothing can read it (curveDone).
 */
import type { Objective } from '../../shared/spec/schema.js';
import type { TrialDoc } from '../../shared/types.js';
import type { Params } from '../../shared/spec/space.js';
import { isTerminal } from '../../shared/states.js';
import type { TrialObservation } from '../search/base.js';
import { configOfTrial, trialsOfConfig } from '../search/replicates.js';

/** What the history needs of one trial. */
interface Member {
  status: TrialDoc['status'];
  /** The raw objective value, when the trial has one. */
  value: number | undefined;
  /** Multi-objective: every objective's raw value (when all are finite). */
  values?: number[];
  failureKind: string | undefined;
}

export class SearchHistory {
  /** Oriented objective value by step, per trial: the learning curves TPE uses for pruned trials. */
  private readonly curves = new Map<number, Record<number, number>>();
  /** Per trial number, its summary; per configuration, the params of its first trial. */
  private readonly members = new Map<number, Member>();
  private readonly params = new Map<number, Params>();
  private readonly cache: TrialObservation[] = [];
  private readonly stale = new Set<number>();
  private observed = 0;

  private readonly metric: string;
  /** +1 to maximise the objective, −1 to minimise it. */
  private readonly sign: number;
  /** Multi-objective: every objective (metric, sign); undefined for a single objective. */
  private readonly many: { metric: string; sign: number }[] | undefined;

  /** `enabled`: false when the search algorithm ignores the history (nothing is kept). */
  constructor(
    objective: Objective | readonly Objective[],
    private readonly replicates: number,
    private readonly enabled: boolean,
  ) {
    const list: readonly Objective[] = Array.isArray(objective)
      ? (objective as readonly Objective[])
      : [objective as Objective];
    this.metric = list[0]!.metric;
    this.sign = list[0]!.mode === 'max' ? 1 : -1;
    if (list.length > 1) this.many = list.map((o) => ({ metric: o.metric, sign: o.mode === 'max' ? 1 : -1 }));
  }

  /** Entries held: trial summaries, configurations' params, learning curves (for the bound's test). */
  get sizes(): { members: number; params: number; curves: number } {
    return { members: this.members.size, params: this.params.size, curves: this.curves.size };
  }

  /** A trial's latest stored copy: its configuration's entry must be rebuilt. */
  observe(trial: TrialDoc): void {
    if (!this.enabled) return;
    const config = configOfTrial(trial.number, this.replicates);
    if (trial.number === trialsOfConfig(config, this.replicates)[0]) this.params.set(config, trial.params);
    const values = this.many?.map((o) => trial.metrics[o.metric]);
    this.members.set(trial.number, {
      status: trial.status,
      value: trial.metrics[this.metric],
      ...(values?.every((v) => Number.isFinite(v)) ? { values: values as number[] } : {}),
      failureKind: trial.attempts.at(-1)?.failureKind,
    });
    if (this.curveDone(trial)) this.curves.delete(trial.number);
    this.stale.add(config);
  }

  /**
   * True when the trial's learning curve can no longer be read: its configuration is complete for
   * good (it succeeded with a value), or it was the configuration's only trial and failed.
   */
  private curveDone(trial: TrialDoc): boolean {
    if (trial.status === 'succeeded') return trial.metrics[this.metric] !== undefined;
    return this.replicates <= 1 && (trial.status === 'failed' || trial.status === 'cancelled');
  }

  /** A point of trial `number`'s learning curve (the raw objective value at `step`). */
  addCurvePoint(number: number, step: number, value: number): void {
    if (!this.enabled) return;
    const member = this.members.get(number);
    if (member && isTerminal('trial', member.status)) return;
    const curve = this.curves.get(number) ?? {};
    curve[step] = value * this.sign;
    this.curves.set(number, curve);
    this.stale.add(configOfTrial(number, this.replicates));
  }

  /** The observations in configuration order (empty when the history is not kept). */
  observations(): readonly TrialObservation[] {
    for (const config of this.stale) {
      const observation = this.observeConfig(config);
      if (!observation) continue;
      if (this.cache[config] === undefined) this.observed++;
      this.cache[config] = observation;
    }
    this.stale.clear();
    // A coordinator killed while creating trials concurrently can leave a number unused.
    return this.observed === this.cache.length ? this.cache : this.cache.filter(Boolean);
  }

  private observeConfig(config: number): TrialObservation | undefined {
    const { sign, replicates } = this;
    const numbers = trialsOfConfig(config, replicates);
    const group: Member[] = [];
    for (const number of numbers) {
      const member = this.members.get(number);
      if (member) group.push(member);
    }
    const params = this.params.get(config);
    if (group.length === 0 || !params) return undefined;
    const first = this.members.get(numbers[0]!) ?? group[0]!;
    const { many } = this;
    if (many) {
      // Multi-objective: `values` holds each objective's mean (oriented), over the seeds that
      // reported all of them; `value` the first's, for rules that need one number.
      const all = group.filter((t) => t.status === 'succeeded' && t.values !== undefined);
      if (all.length > 0) {
        const values = many.map((o, i) => (o.sign * all.reduce((s, t) => s + t.values![i]!, 0)) / all.length);
        return { number: config, params, state: 'complete', value: values[0]!, values };
      }
    }
    const done = many ? [] : group.filter((t) => t.status === 'succeeded' && t.value !== undefined);
    if (done.length > 0) {
      const mean = done.reduce((s, t) => s + t.value!, 0) / done.length;
      return { number: config, params, state: 'complete', value: mean * sign };
    }
    if (group.some((t) => t.status === 'pruned')) {
      const intermediate = this.curves.get(numbers[0]!);
      return {
        number: config,
        params,
        state: 'pruned',
        ...(first.value !== undefined ? { value: first.value * sign } : {}),
        ...(intermediate ? { intermediate: { ...intermediate } } : {}),
      };
    }
    if (group.every((t) => t.status === 'failed' || t.status === 'cancelled')) {
      const kinds = new Set(group.map((t) => t.failureKind));
      const failure = kinds.has('diverged') ? 'diverged' : kinds.has('oom') ? 'infeasible' : undefined;
      return { number: config, params, state: 'failed', ...(failure ? { failure } : {}) };
    }
    return { number: config, params, state: 'running' };
  }
}
