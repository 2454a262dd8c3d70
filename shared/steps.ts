/**
 * Steps on the wire and their rules. Every step field has an int32 form (v1, kept for old peers)
 * and an int64 form (`step64`, read first): a step is written to both, the int32 only when it
 * fits, so step 3e9 arrives as 3000000000 and never wraps. A step is a whole number from 0 to
 * 2^53 - 1 (what a JavaScript number holds exactly), and a report's step must not be before the
 * last one of its attempt; a report that breaks a rule is refused with a reason, never stored
 * wrong. (A step equal to the last is ignored, as the programs contract says: docs/programs.md.)
 */

const INT32_MAX = 2 ** 31 - 1;

/** The two wire forms of a step. */
export function stepOnWire(step: number): { step: number; step64: string } {
  return { step: step >= 0 && step <= INT32_MAX ? step : 0, step64: String(step) };
}

/** The step of a message: the int64 form when set, else the int32 form (an older peer). */
export function stepFromWire(step32: number | undefined, step64: string | number | undefined): number {
  const wide = Number(step64 ?? 0);
  return wide !== 0 && Number.isFinite(wide) ? wide : (step32 ?? 0);
}

/** Why `step` cannot follow a report of step `last` (-Infinity: none yet), or undefined when it can. */
export function stepProblem(step: number, last: number): string | undefined {
  if (typeof step !== 'number' || !Number.isFinite(step)) return `step ${String(step)} is not a finite number`;
  if (!Number.isInteger(step)) return `step ${step} is not a whole number`;
  if (step < 0) return `step ${step} is negative`;
  if (step > Number.MAX_SAFE_INTEGER) return `step ${step} is more than 2^53 - 1`;
  if (step < last) return `step ${step} is before the last step reported (${last})`;
  return undefined;
}
