/**
 * The leaderboard of a sweep: `best` (best.ts) for one objective, and for a list of objectives
 * the Pareto front of the configurations, with its hypervolume.
 *
 * Multi-objective rule: a configuration is a point when at least one of its trials succeeded
 * reporting every objective finite; with replicates the point is the mean over those seeds, each
 * objective with its Student-t 95% half-width. The front is the non-dominated points (ties in
 * every objective all stay). `best`, the field older clients read, is the front's member best on
 * the first objective (ties: the lower configuration). Pruned trials are not points: schedulers
 * are refused for multi-objective sweeps, so none is pruned.
 *
 * The hypervolume's reference point is `trial.objectiveReference` when the spec gives one, else
 * the nadir of every measured configuration (the worst value of each objective): with the nadir,
 * the figure moves as worse points arrive, so compare runs with a fixed reference.
 *
 * Work: each update recomputes the front from the configurations' means — O(C·F) for C
 * configurations and a front of F, plus the hypervolume — only when a trial ended since the last.
 */
import { objectivesOf, type Objective, type SweepSpec } from '../../shared/spec/schema.js';
import { hypervolume, nadir, paretoFront, toMinimise } from '../../shared/pareto.js';
import type { BestTrial, ParetoFront, ParetoPoint, TrialDoc } from '../../shared/types.js';
import { configOfTrial, summarise } from '../search/replicates.js';
import { BestTracker } from './best.js';

export class ParetoTracker {
  private readonly groups = new Map<number, TrialDoc[]>();
  private readonly counted = new Set<string>();
  private cached: ParetoFront | undefined;
  private dirty = false;

  constructor(
    private readonly objectives: readonly Objective[],
    private readonly replicates: number,
    private readonly reference?: readonly number[],
  ) {}

  observe(trial: TrialDoc): void {
    if (trial.status !== 'succeeded' || this.counted.has(trial.id)) return;
    this.counted.add(trial.id);
    if (!this.objectives.every((o) => Number.isFinite(trial.metrics[o.metric]))) return;
    const config = configOfTrial(trial.number, Math.max(1, this.replicates));
    // A slim copy: the trial writer drops ended trial documents, and the front needs only these.
    const metrics = Object.fromEntries(this.objectives.map((o) => [o.metric, trial.metrics[o.metric]!]));
    const slim = { id: trial.id, number: trial.number, params: trial.params, metrics } as TrialDoc;
    const group = this.groups.get(config);
    if (group) group.push(slim);
    else this.groups.set(config, [slim]);
    this.dirty = true;
  }

  get groupCount(): number {
    return this.groups.size;
  }

  front(): ParetoFront | undefined {
    if (!this.dirty) return this.cached;
    this.dirty = false;
    this.cached = computeFront([...this.groups.values()], this.objectives, this.replicates, this.reference);
    return this.cached;
  }
}

/** The front of configuration groups (each the succeeded trials of one configuration). */
export function computeFront(
  groups: readonly (readonly TrialDoc[])[],
  objectives: readonly Objective[],
  replicates: number,
  reference?: readonly number[],
): ParetoFront | undefined {
  if (groups.length === 0) return undefined;
  const modes = objectives.map((o) => o.mode);
  const points: ParetoPoint[] = [...groups]
    .map((group) => [...group].sort((a, b) => a.number - b.number))
    .sort((a, b) => a[0]!.number - b[0]!.number)
    .map((group) => pointOf(group, objectives, replicates));
  const minimised = points.map((p) => toMinimise(p.values, modes));
  const members = paretoFront(minimised);
  // nadir() works on minimised points; toMinimise maps it back to the metrics' units (it is its own inverse).
  const refUnits = reference ? [...reference] : toMinimise(nadir(minimised), modes);
  const front = members
    .map((i) => points[i]!)
    .sort(
      (a, b) => (modes[0] === 'max' ? b.values[0]! - a.values[0]! : a.values[0]! - b.values[0]!) || a.number - b.number,
    );
  return {
    metrics: objectives.map((o) => o.metric),
    modes,
    points: front,
    reference: refUnits,
    referenceSource: reference ? 'spec' : 'nadir',
    hypervolume: hypervolume(
      members.map((i) => minimised[i]!),
      toMinimise(refUnits, modes),
    ),
    configurations: points.length,
  };
}

function pointOf(group: readonly TrialDoc[], objectives: readonly Objective[], replicates: number): ParetoPoint {
  const first = group[0]!;
  const base = { trialId: first.id, number: first.number, params: first.params };
  if (replicates <= 1) return { ...base, values: objectives.map((o) => first.metrics[o.metric]!) };
  const stats = objectives.map((o) => summarise(group.map((t) => t.metrics[o.metric]!)));
  return { ...base, values: stats.map((s) => s.mean), ci: stats.map((s) => s.ci95), replicates: group.length };
}

/** `best` of a multi-objective sweep: the front's first member (best on the first objective). */
export function bestOfFront(front: ParetoFront): BestTrial {
  const top = front.points[0]!;
  return {
    trialId: top.trialId,
    number: top.number,
    params: top.params,
    metric: front.metrics[0]!,
    value: top.values[0]!,
    ...(top.replicates !== undefined ? { ci: top.ci![0]!, replicates: top.replicates } : {}),
  };
}

/**
 * What the runner keeps up to date on the experiment: `best`, and `pareto` for a list of
 * objectives. `changes` answers the fields that differ from the stored ones, or undefined.
 */
export class SweepLeaderboard {
  private readonly single: BestTracker | undefined;
  private readonly pareto: ParetoTracker | undefined;

  constructor(spec: SweepSpec) {
    const objectives = objectivesOf(spec.trial);
    const k = spec.search.replicates;
    if (objectives.length > 1) this.pareto = new ParetoTracker(objectives, k, spec.trial.objectiveReference);
    else this.single = new BestTracker(objectives[0]!, k);
  }

  observe(trial: TrialDoc): void {
    this.single?.observe(trial);
    this.pareto?.observe(trial);
  }

  /** Entries held (the runner's cacheSizes): configuration groups, and best.ts's partly ended ones. */
  get sizes(): { groups: number; partlyEnded: number } {
    return this.single?.sizes ?? { groups: this.pareto!.groupCount, partlyEnded: 0 };
  }

  changes(stored: { best?: BestTrial; pareto?: ParetoFront }): { best: BestTrial; pareto?: ParetoFront } | undefined {
    if (this.single) {
      const best = this.single.best();
      if (!best || JSON.stringify(best) === JSON.stringify(stored.best)) return undefined;
      return { best };
    }
    const pareto = this.pareto!.front();
    if (!pareto || JSON.stringify(pareto) === JSON.stringify(stored.pareto)) return undefined;
    return { best: bestOfFront(pareto), pareto };
  }
}
