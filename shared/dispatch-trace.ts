/**
 * Timestamps along the dispatch path of attempts, for the dispatch benchmark's breakdown of
 * where the time goes between one program's exit and the next program's start on a slot
 * (bench/dispatch-trace.ts). Off, and free, unless turned on: in the coordinator by
 * `dispatchTrace.enable()` (the benchmark, which runs it in process), in a worker by
 * TRELLIS_DISPATCH_TRACE=1 (its stages then travel in the result's info as `trace`).
 *
 * Stamps are wall-clock milliseconds with a fraction (performance.timeOrigin + now()), so the
 * coordinator's and its workers' stamps compare on one machine.
 */

/** The most attempts traced at once; more are not traced (the benchmark's runs stay far below). */
const MAX_ENTRIES = 100_000;

export function stamp(): number {
  return performance.timeOrigin + performance.now();
}

export class DispatchTrace {
  private on = false;
  private readonly entries = new Map<string, Record<string, number>>();

  enable(): void {
    this.on = true;
  }

  get enabled(): boolean {
    return this.on;
  }

  /** Records `stage` of an attempt now (or `value`, for a number that is not a time: a lane). */
  mark(attemptId: string, stage: string, value?: number): void {
    if (!this.on) return; // before reading the clock: free when off

    let entry = this.entries.get(attemptId);
    if (!entry) {
      if (this.entries.size >= MAX_ENTRIES) return;
      this.entries.set(attemptId, (entry = {}));
    }
    entry[stage] = value ?? stamp();
  }

  /** One attempt's stages, forgotten here. */
  take(attemptId: string): Record<string, number> | undefined {
    const entry = this.entries.get(attemptId);
    this.entries.delete(attemptId);
    return entry;
  }

  /** Every attempt's stages, forgotten here. */
  takeAll(): Map<string, Record<string, number>> {
    const all = new Map(this.entries);
    this.entries.clear();
    return all;
  }
}

export const dispatchTrace = new DispatchTrace();
