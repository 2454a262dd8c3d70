/**
 * The slot of a held attempt (prefetch, worker/queued.ts) prepared ahead of its turn: the
 * runner opens it in the step where the attempt ahead releases the slot (its program exited),
 * and the prepared attempt's program is asked for in that same step; or refuses it when the
 * held attempt is dropped or handed back.
 */
import type { Slot } from './runtimes/base.js';

type State = { kind: 'held' } | { kind: 'open' } | { kind: 'refused'; reason: unknown };

export class HeldSlot implements Slot {
  private state: State = { kind: 'held' };
  private waiter: { start: () => void; refused: (reason: unknown) => void } | undefined;

  /** `onWaiting`: the attempt is ready and waits at its slot (taken while still held). */
  constructor(private readonly onWaiting?: () => void) {}

  take(start: () => void, refused: (reason: unknown) => void): void {
    if (this.waiter) throw new Error('a slot is taken once');
    if (this.state.kind === 'open') return start();
    if (this.state.kind === 'refused') return refused(this.state.reason);
    this.waiter = { start, refused };
    this.onWaiting?.();
  }

  /** The slot is free: the waiting start runs now (one that throws is refused with its error). */
  open(): void {
    if (this.state.kind !== 'held') return;
    this.state = { kind: 'open' };
    const waiter = this.waiter;
    if (!waiter) return;
    try {
      waiter.start();
    } catch (err) {
      waiter.refused(err);
    }
  }

  /** The attempt will never have the slot here. */
  refuse(reason: unknown): void {
    if (this.state.kind !== 'held') return;
    this.state = { kind: 'refused', reason };
    this.waiter?.refused(reason);
  }
}
