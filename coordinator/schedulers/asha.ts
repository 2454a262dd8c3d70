/**
 * ASHA (asynchronous successive halving, as Ray Tune's AsyncHyperBandScheduler).
 *
 * Settings: `grace` (minimum resource in steps, default 1), `reduction` (η, default 3), `max`
 * (default the trial's steps, else 100). Rungs sit at the milestones grace·η^k below `max`; a
 * milestone at `max` itself is left out, because a decision there could only relabel a trial
 * that has already finished (Ray stops every trial at max anyway).
 *
 * When a trial first reports a step >= a milestone (the highest such rung it is not yet in), its
 * value is recorded at that rung; it continues if fewer than η values are recorded there
 * (itself included), or if its value is >= the cut, the (1 − 1/η) quantile (linear
 * interpolation) of the rung's recorded values, i.e. it is in the top 1/η. Otherwise it stops.
 * Deterministic: decisions depend only on the order of reports.
 */
import { parseSettings, setting } from '../search/settings.js';
import type { Scheduler, SchedulerDecision, SchedulerOptions, SchedulerTrial } from './base.js';
import { SCHEDULER_STRUCTURAL_KEYS } from './base.js';
import { CONTINUE, DecisionLog, fmt, quantile } from './decisions.js';

export interface AshaSettings {
  grace: number;
  reduction: number;
  max: number;
}

/** Rung milestones grace·η^k < max, ascending. */
export function rungMilestones(grace: number, reduction: number, max: number): number[] {
  const milestones: number[] = [];
  for (let milestone = grace; milestone < max * (1 - 1e-12); milestone *= reduction) milestones.push(milestone);
  return milestones;
}

/** One bracket of successive halving: rungs of (trial → value). */
export class Rungs {
  readonly milestones: number[];
  private readonly recorded: Map<number, number>[];

  constructor(
    grace: number,
    private readonly reduction: number,
    max: number,
  ) {
    this.milestones = rungMilestones(grace, reduction, max);
    this.recorded = this.milestones.map(() => new Map<number, number>());
  }

  /** The decision for a new (trial, step, value) report; records it at its rung. */
  report(trial: number, step: number, value: number, label: string): SchedulerDecision {
    for (let r = this.milestones.length - 1; r >= 0; r--) {
      const milestone = this.milestones[r]!;
      if (step < milestone) continue;
      const rung = this.recorded[r]!;
      if (rung.has(trial)) return CONTINUE;
      rung.set(trial, value);
      if (rung.size < this.reduction) return CONTINUE;
      const cut = quantile([...rung.values()], 1 - 1 / this.reduction);
      if (value < cut) {
        return {
          action: 'stop',
          reason: `${label}: ${fmt(value)} at rung ${fmt(milestone)} is below the cut ${fmt(cut)} (top 1/${fmt(this.reduction)} of ${rung.size} continue)`,
        };
      }
      return CONTINUE;
    }
    return CONTINUE;
  }

  /** Values recorded at rung r (for inspection and tests). */
  rung(r: number): ReadonlyMap<number, number> {
    return this.recorded[r] ?? new Map();
  }
}

/** ASHA's (and Hyperband's) settings: `grace`, `reduction`, `max` (default: the trial's epochs). */
export function parseAshaSettings(options: SchedulerOptions): AshaSettings {
  return parseSettings(
    'scheduler',
    {
      grace: setting.integer(1, { min: 1 }),
      reduction: setting.number(3, { min: 2 }),
      max: setting.integer(options.maxSteps ?? 100, { min: 1 }),
    },
    options.settings,
    SCHEDULER_STRUCTURAL_KEYS,
    ({ grace, max }) => [{ ok: max >= grace, name: 'max', rule: `must be >= grace (${grace})`, value: max }],
  );
}

export class AshaScheduler implements Scheduler {
  readonly name = 'asha';
  readonly settings: AshaSettings;
  readonly rungs: Rungs;
  private readonly log = new DecisionLog();

  constructor(options: SchedulerOptions) {
    this.settings = parseAshaSettings(options);
    this.rungs = new Rungs(this.settings.grace, this.settings.reduction, this.settings.max);
  }

  onTrialAdd(): void {}

  onResult(trial: SchedulerTrial, step: number, value: number): SchedulerDecision {
    return this.log.decide(trial.number, step, () => this.rungs.report(trial.number, step, value, 'asha'));
  }

  onTrialComplete(): void {}
}

export function createAsha(options: SchedulerOptions): Scheduler {
  return new AshaScheduler(options);
}
