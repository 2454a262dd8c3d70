/**
 * Hyperband as brackets of ASHA (Ray Tune's asynchronous Hyperband). With s_max =
 * floor(log_η(max / grace)), bracket b (0..s_max) is an ASHA whose minimum resource is
 * grace·η^b: bracket 0 is the most aggressive, bracket s_max starts its first rung the latest
 * (or has none when grace·η^s_max reaches max, so its trials always run to the end).
 * Trials are assigned to brackets round-robin by trial number: bracket = number mod (s_max + 1),
 * so the assignment is deterministic and survives a restart. Settings as ASHA's.
 */
import type { Scheduler, SchedulerDecision, SchedulerOptions, SchedulerTrial } from './base.js';
import type { AshaSettings } from './asha.js';
import { parseAshaSettings, Rungs } from './asha.js';
import { DecisionLog } from './decisions.js';

export class HyperbandScheduler implements Scheduler {
  readonly name = 'hyperband';
  readonly settings: AshaSettings;
  readonly brackets: Rungs[];
  private readonly log = new DecisionLog();

  constructor(options: SchedulerOptions) {
    this.settings = parseAshaSettings(options);
    const { grace, reduction, max } = this.settings;
    const sMax = Math.max(0, Math.floor(Math.log(max / grace) / Math.log(reduction) + 1e-9));
    this.brackets = Array.from({ length: sMax + 1 }, (_, b) => new Rungs(grace * reduction ** b, reduction, max));
  }

  bracketOf(trial: number): number {
    return trial % this.brackets.length;
  }

  onTrialAdd(): void {}

  onResult(trial: SchedulerTrial, step: number, value: number): SchedulerDecision {
    const bracket = this.bracketOf(trial.number);
    return this.log.decide(trial.number, step, () =>
      this.brackets[bracket]!.report(trial.number, step, value, `hyperband bracket ${bracket}`),
    );
  }

  onTrialComplete(): void {}
}

export function createHyperband(options: SchedulerOptions): Scheduler {
  return new HyperbandScheduler(options);
}
