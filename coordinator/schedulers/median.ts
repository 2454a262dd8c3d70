/**
 * Median stopping rule (Google Vizier): at a step s >= `grace` (default 1), a trial is stopped
 * when its best value so far (over its reports at steps <= s) is strictly below the median of
 * the other trials' running averages up to step s (the mean of their reports at steps <= s).
 * Only other trials that have reached step s count (their latest report is at a step >= s),
 * running or finished, and the rule applies once at least `minTrials` (default 3) of them have.
 */
import { parseSettings, setting } from '../search/settings.js';
import type { Scheduler, SchedulerDecision, SchedulerOptions, SchedulerTrial } from './base.js';
import { SCHEDULER_STRUCTURAL_KEYS } from './base.js';
import { CONTINUE, DecisionLog, fmt, median } from './decisions.js';

export class MedianStoppingScheduler implements Scheduler {
  readonly name = 'median';
  readonly grace: number;
  readonly minTrials: number;
  /** Per trial: value by step. */
  private readonly reports = new Map<number, Map<number, number>>();
  private readonly log = new DecisionLog();

  constructor(options: SchedulerOptions) {
    ({ grace: this.grace, minTrials: this.minTrials } = parseSettings(
      'scheduler',
      { grace: setting.integer(1, { min: 0 }), minTrials: setting.integer(3, { min: 1 }) },
      options.settings,
      SCHEDULER_STRUCTURAL_KEYS,
    ));
  }

  onTrialAdd(trial: SchedulerTrial): void {
    if (!this.reports.has(trial.number)) this.reports.set(trial.number, new Map());
  }

  onResult(trial: SchedulerTrial, step: number, value: number): SchedulerDecision {
    return this.log.decide(trial.number, step, () => {
      let own = this.reports.get(trial.number);
      if (!own) {
        own = new Map();
        this.reports.set(trial.number, own);
      }
      own.set(step, value);
      if (step < this.grace) return CONTINUE;
      const means: number[] = [];
      for (const [number, reports] of this.reports) {
        if (number === trial.number) continue;
        const mean = runningMean(reports, step);
        if (mean !== undefined) means.push(mean);
      }
      if (means.length < this.minTrials) return CONTINUE;
      let best = -Infinity;
      for (const [s, v] of own) if (s <= step && v > best) best = v;
      const threshold = median(means);
      if (best < threshold) {
        return {
          action: 'stop',
          reason: `median stopping rule: best ${fmt(best)} by step ${step} < median ${fmt(threshold)} of ${means.length} other trials' running means`,
        };
      }
      return CONTINUE;
    });
  }

  onTrialComplete(): void {}
}

/** Mean of the reports at steps <= s, if the trial has reached step s; else undefined. */
function runningMean(reports: ReadonlyMap<number, number>, s: number): number | undefined {
  let reached = false;
  let sum = 0;
  let count = 0;
  for (const [step, value] of reports) {
    if (step >= s) reached = true;
    if (step <= s) {
      sum += value;
      count++;
    }
  }
  return reached && count > 0 ? sum / count : undefined;
}

export function createMedian(options: SchedulerOptions): Scheduler {
  return new MedianStoppingScheduler(options);
}
