/**
 * The numbers the dashboard derives from trials: replicate folding (mean ± 95% CI, as the
 * coordinator's best), best-so-far history, parameter importance and group metrics. Pure, so
 * they are unit-tested in Node and bundled into the browser unchanged. The CI maths is the
 * coordinator's own (coordinator/search/replicates.ts), so the page and `best` agree.
 */
import { summarise } from '../../coordinator/search/replicates.js';
import type { TrialDoc } from '../../shared/types.js';

/** What the statistics read of a trial: a list row (DashTrial) and a full document both have it. */
export type StatTrial = Pick<TrialDoc, 'id' | 'number' | 'status' | 'params' | 'metrics' | 'seed' | 'config'>;
import type { Objective } from '../../shared/dashboard.js';

export { objectiveOf, replicatesOf, type Objective } from '../../shared/dashboard.js';

/** One leaderboard row: a configuration and its seeds (one trial without replicates). */
export interface Row {
  config: number;
  trials: StatTrial[];
  /** Mean of the objective over seeds that reported it (undefined when none has). */
  value: number | undefined;
  /** 95% CI half-width (Student t) when two or more seeds reported. */
  ci: number | undefined;
  status: string;
}

/** Folds trials into configurations: trial n belongs to configuration floor(n / k). */
export function foldReplicates(trials: readonly StatTrial[], k: number, metric: string): Row[] {
  const groups = new Map<number, StatTrial[]>();
  for (const t of trials) {
    const config = Math.floor(t.number / k);
    const group = groups.get(config);
    if (group) group.push(t);
    else groups.set(config, [t]);
  }
  return [...groups].map(([config, members]) => rowOf(config, members, metric));
}

export function rowOf(config: number, members: StatTrial[], metric: string): Row {
  members.sort((a, b) => a.number - b.number);
  const values = members.map((t) => t.metrics[metric]).filter((v): v is number => Number.isFinite(v));
  const stats = values.length > 0 ? summarise(values) : undefined;
  return {
    config,
    trials: members,
    value: stats?.mean,
    ci: values.length > 1 ? stats?.ci95 : undefined,
    status: statusOfGroup(members),
  };
}

/** A group is as far as its least advanced member: running beats pending beats finished. */
function statusOfGroup(members: readonly StatTrial[]): string {
  if (members.length === 1) return members[0]!.status;
  if (members.some((t) => t.status === 'running')) return 'running';
  if (members.some((t) => t.status === 'pending')) return 'pending';
  const statuses = new Set(members.map((t) => t.status));
  return statuses.size === 1 ? members[0]!.status : 'mixed';
}

/** Rows ranked best first; rows without a value last, by configuration. */
export function rankRows(rows: Row[], mode: 'min' | 'max'): Row[] {
  const sign = mode === 'max' ? -1 : 1;
  return rows.sort((a, b) => {
    if (a.value === undefined || b.value === undefined) {
      if (a.value === b.value) return a.config - b.config;
      return a.value === undefined ? 1 : -1;
    }
    return sign * (a.value - b.value) || a.config - b.config;
  });
}

/** Objective by trial number and the best so far, for finished trials (succeeded or pruned). */
export function history(
  trials: readonly StatTrial[],
  objective: Objective,
): { numbers: number[]; values: number[]; best: number[] } {
  const out = { numbers: [] as number[], values: [] as number[], best: [] as number[] };
  let best: number | undefined;
  for (const t of [...trials].sort((a, b) => a.number - b.number)) {
    const v = t.metrics[objective.metric];
    if ((t.status !== 'succeeded' && t.status !== 'pruned') || !Number.isFinite(v)) continue;
    if (best === undefined || (objective.mode === 'max' ? v! > best : v! < best)) best = v!;
    out.numbers.push(t.number);
    out.values.push(v!);
    out.best.push(best);
  }
  return out;
}

/**
 * Parameter importance as first-order variance decomposition (the main effects fANOVA reports,
 * estimated by binning): for each parameter, the share of the objective's variance explained by
 * the parameter's value alone, η² = Σ n_b (mean_b − mean)² / Σ (y − mean)². Categorical values are
 * their own bins; numbers go into up to `bins` equal-count bins. Shares are normalised to sum 1
 * (all 0 when the objective does not vary). Needs at least 3 finished trials.
 */
export function importance(
  trials: readonly StatTrial[],
  metric: string,
  bins = 8,
): { param: string; importance: number }[] {
  const done = trials.filter((t) => Number.isFinite(t.metrics[metric]));
  if (done.length < 3) return [];
  const ys = done.map((t) => t.metrics[metric]!);
  const mean = ys.reduce((s, y) => s + y, 0) / ys.length;
  const total = ys.reduce((s, y) => s + (y - mean) ** 2, 0);
  const params = [...new Set(done.flatMap((t) => Object.keys(t.params)))].sort();
  const raw = params.map((param) => {
    const bucketOf = bucketer(
      done.map((t) => t.params[param]),
      bins,
    );
    const sums = new Map<string, { n: number; sum: number }>();
    done.forEach((t, i) => {
      const key = bucketOf(t.params[param]);
      const s = sums.get(key) ?? { n: 0, sum: 0 };
      s.n++;
      s.sum += ys[i]!;
      sums.set(key, s);
    });
    let between = 0;
    for (const s of sums.values()) between += s.n * (s.sum / s.n - mean) ** 2;
    return { param, importance: total > 0 ? between / total : 0 };
  });
  const sum = raw.reduce((s, r) => s + r.importance, 0);
  return raw
    .map((r) => ({ param: r.param, importance: sum > 0 ? r.importance / sum : 0 }))
    .sort((a, b) => b.importance - a.importance);
}

function bucketer(values: unknown[], bins: number): (value: unknown) => string {
  const numbers = values.filter((v): v is number => typeof v === 'number').sort((a, b) => a - b);
  if (numbers.length === 0 || new Set(numbers).size <= bins) return (v) => JSON.stringify(v) ?? 'undefined';
  const edges = Array.from({ length: bins - 1 }, (_, i) => numbers[Math.floor(((i + 1) * numbers.length) / bins)]!);
  return (v) => {
    if (typeof v !== 'number') return JSON.stringify(v) ?? 'undefined';
    let b = 0;
    while (b < edges.length && v >= edges[b]!) b++;
    return `#${b}`;
  };
}

/** Group metrics a task reported: `<prefix>_group_accuracy.<g>`, worst group and gap. */
export function groupMetrics(trials: readonly StatTrial[]): { perGroup: string[]; summary: string[] } {
  const names = new Set(trials.flatMap((t) => Object.keys(t.metrics)));
  const perGroup = [...names].filter((m) => /_group_accuracy\./.test(m)).sort();
  const summary = [...names].filter((m) => /_worst_group_accuracy$|_group_gap$/.test(m)).sort();
  return { perGroup, summary };
}
