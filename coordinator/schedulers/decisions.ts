import type { SchedulerDecision } from './base.js';

export const CONTINUE: SchedulerDecision = Object.freeze({ action: 'continue' }) as SchedulerDecision;

/**
 * Remembers each (trial, step) decision so that a replayed report gets the same answer (the
 * Scheduler contract), even if other trials reported in between.
 */
export class DecisionLog {
  private readonly decisions = new Map<number, Map<number, SchedulerDecision>>();

  decide(trial: number, step: number, compute: () => SchedulerDecision): SchedulerDecision {
    let byStep = this.decisions.get(trial);
    if (!byStep) {
      byStep = new Map();
      this.decisions.set(trial, byStep);
    }
    const known = byStep.get(step);
    if (known) return known;
    const decision = compute();
    byStep.set(step, decision);
    return decision;
  }
}

/** Linear-interpolation quantile of unsorted values (numpy's default, as Ray's ASHA uses). */
export function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo]! + (pos - lo) * (sorted[hi]! - sorted[lo]!);
}

export function median(values: readonly number[]): number {
  return quantile(values, 0.5);
}

/** A short number for reasons. */
export function fmt(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toPrecision(4);
}
