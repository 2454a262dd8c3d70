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
 * Bounded (`ParetoTracker`): a configuration is final once every one of its trials has ended
 * (trials reach a terminal state once); its point can no longer move. Final points dominated by
 * another final point are dropped for good (dominance is transitive, so the front is unchanged);
 * the final non-dominated ones form an archive of at most `FRONT_LIMIT` points: past that, the
 * member with the smallest crowding distance (NSGA-II's rule; the extremes of each objective are
 * never dropped) is thinned out and counted in `thinned`. Below the limit the front is exactly
 * the from-scratch one (`computeFront`); past it, it is a spread-out subset of the non-dominated
 * points, still mutually non-dominated, and a later point that only a thinned one dominated may
 * join it (the known cost of a bounded archive, Knowles and Corne 2004). Held: the archive, the
 * configurations with trials still running, one bit per trial number seen, and the worst value
 * of each objective (the nadir reference).
 *
 * Work: a final point costs O(F) dominance checks against the archive (plus a crowding sort when
 * it overflows); `front()` recomputes from the archive and the open configurations only when a
 * trial ended since the last call.
 */
import { objectivesOf, type Objective, type SweepSpec } from '../../shared/spec/schema.js';
import {
  crowdingDistance,
  dominates,
  FRONT_LIMIT,
  hypervolume,
  nadir,
  paretoFront,
  toMinimise,
} from '../../shared/pareto.js';
import type { BestTrial, ParetoFront, ParetoPoint, TrialDoc } from '../../shared/types.js';
import { isTerminal } from '../../shared/states.js';
import { configOfTrial, summarise } from '../search/replicates.js';
import { BestTracker, NumberSet } from './best.js';

interface OpenConfig {
  /** Slim copies of its succeeded trials with every objective finite. */
  members: TrialDoc[];
  /** Its trials seen in a terminal state, whatever the state. */
  ended: number;
}

interface Archived {
  point: ParetoPoint;
  minimised: number[];
}

export class ParetoTracker {
  private readonly counted = new NumberSet();
  private readonly open = new Map<number, OpenConfig>();
  private archive: Archived[] = [];
  /** Final configurations with a point, ever (archived, dominated or thinned). */
  private finalPoints = 0;
  /** The worst minimised value of each objective over every final point, ever. */
  private worst: number[] | undefined;
  private thinned = 0;
  private readonly modes: ('max' | 'min')[];
  private readonly replicates: number;
  private cached: ParetoFront | undefined;
  private dirty = false;

  constructor(
    private readonly objectives: readonly Objective[],
    replicates: number,
    private readonly reference?: readonly number[],
    private readonly limit = FRONT_LIMIT,
  ) {
    if (!(Number.isInteger(limit) && limit >= 2))
      throw new RangeError(`front limit must be an integer ≥ 2, got ${limit}`);
    this.modes = objectives.map((o) => o.mode);
    this.replicates = Math.max(1, replicates);
  }

  /** Takes a trial's latest state into account; non-terminal states and repeats are ignored. */
  observe(trial: TrialDoc): void {
    if (!isTerminal('trial', trial.status) || this.counted.has(trial.number)) return;
    this.counted.add(trial.number);
    const config = configOfTrial(trial.number, this.replicates);
    let entry = this.open.get(config);
    if (!entry) this.open.set(config, (entry = { members: [], ended: 0 }));
    entry.ended++;
    if (trial.status === 'succeeded' && this.objectives.every((o) => Number.isFinite(trial.metrics[o.metric]))) {
      // A slim copy: the trial writer drops ended trial documents, and the front needs only these.
      const metrics = Object.fromEntries(this.objectives.map((o) => [o.metric, trial.metrics[o.metric]!]));
      entry.members.push({ id: trial.id, number: trial.number, params: trial.params, metrics } as TrialDoc);
      this.dirty = true;
    }
    if (entry.ended < this.replicates) return;
    this.open.delete(config);
    if (entry.members.length > 0) this.finalize(entry.members);
  }

  /** Configurations held: archived final ones and ones with trials still to end. */
  get groupCount(): number {
    return this.archive.length + this.open.size;
  }

  front(): ParetoFront | undefined {
    if (!this.dirty) return this.cached;
    this.dirty = false;
    const open = [...this.open.values()].filter((e) => e.members.length > 0);
    const points = [
      ...this.archive.map((a) => a.point),
      ...open.map((e) => pointOf(sortByNumber(e.members), this.objectives, this.replicates)),
    ];
    const minimised = points.map((p) => toMinimise(p.values, this.modes));
    // The nadir of every measured configuration: the final ones' running worst (dropped ones
    // included, as computeFront counts them) and the open ones' current means.
    const nadirNow = nadir(this.worst ? [this.worst, ...minimised] : minimised);
    this.cached = frontOf(points, minimised, this.objectives, this.reference, {
      nadir: nadirNow,
      configurations: this.finalPoints + open.length,
      thinned: this.thinned,
    });
    return this.cached;
  }

  private finalize(members: TrialDoc[]): void {
    const point = pointOf(sortByNumber(members), this.objectives, this.replicates);
    const minimised = toMinimise(point.values, this.modes);
    this.finalPoints++;
    this.worst = this.worst ? this.worst.map((w, i) => Math.max(w, minimised[i]!)) : [...minimised];
    if (this.archive.some((a) => dominates(a.minimised, minimised))) return;
    this.archive = this.archive.filter((a) => !dominates(minimised, a.minimised));
    this.archive.push({ point, minimised });
    if (this.archive.length > this.limit) {
      // Crowding over the archive alone (one front); ties go to the later configuration.
      const crowding = crowdingDistance(
        this.archive.map((a) => a.minimised),
        this.archive.map((_, i) => i),
      );
      let drop = 0;
      for (let i = 1; i < crowding.length; i++) {
        const better = crowding[i]! < crowding[drop]!;
        const tieLater =
          crowding[i] === crowding[drop] && this.archive[i]!.point.number > this.archive[drop]!.point.number;
        if (better || tieLater) drop = i;
      }
      this.archive.splice(drop, 1);
      this.thinned++;
    }
  }
}

function sortByNumber(group: readonly TrialDoc[]): TrialDoc[] {
  return [...group].sort((a, b) => a.number - b.number);
}

/** The front of configuration groups (each the succeeded trials of one configuration), from scratch. */
export function computeFront(
  groups: readonly (readonly TrialDoc[])[],
  objectives: readonly Objective[],
  replicates: number,
  reference?: readonly number[],
): ParetoFront | undefined {
  if (groups.length === 0) return undefined;
  const points = groups.map(sortByNumber).map((group) => pointOf(group, objectives, replicates));
  const minimised = points.map((p) =>
    toMinimise(
      p.values,
      objectives.map((o) => o.mode),
    ),
  );
  return frontOf(points, minimised, objectives, reference, {
    nadir: nadir(minimised),
    configurations: points.length,
    thinned: 0,
  });
}

/** The front among `points` (`minimised`: the same, minimisation orientation). */
function frontOf(
  points: readonly ParetoPoint[],
  minimised: readonly number[][],
  objectives: readonly Objective[],
  reference: readonly number[] | undefined,
  context: { nadir: number[]; configurations: number; thinned: number },
): ParetoFront | undefined {
  if (points.length === 0) return undefined;
  const modes = objectives.map((o) => o.mode);
  const members = paretoFront(minimised);
  // The nadir is in minimisation orientation; toMinimise maps it back to the metrics' units (it is its own inverse).
  const refUnits = reference ? [...reference] : toMinimise(context.nadir, modes);
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
    configurations: context.configurations,
    ...(context.thinned > 0 ? { thinned: context.thinned } : {}),
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
