/**
 * Assignments a worker holds until the attempt they follow ends (Assignment.after_attempt_id,
 * the coordinator's prefetch: coordinator/dispatch/prefetch.ts). One per running attempt; held
 * ones are leased like running ones (the heartbeat names them), and never start after a drain.
 */
import type { Assignment__Output } from '../shared/generated/trellis/v1/Assignment.js';

export class QueuedAssignments {
  /** Host attempt id → the assignment held behind it. */
  private readonly byHost = new Map<string, Assignment__Output>();
  /** Held attempt id → its host. */
  private readonly hostOf = new Map<string, string>();

  has(attemptId: string): boolean {
    return this.hostOf.has(attemptId);
  }

  ids(): string[] {
    return [...this.hostOf.keys()];
  }

  all(): Assignment__Output[] {
    return [...this.byHost.values()];
  }

  /**
   * Holds `assignment` behind `host`. The coordinator queues one per host; a second one (a
   * coordinator that lost track) replaces nothing: it is held behind the first's end too.
   */
  hold(host: string, assignment: Assignment__Output): void {
    let key = host;
    while (this.byHost.has(key)) key = this.byHost.get(key)!.attempt_id;
    this.byHost.set(key, assignment);
    this.hostOf.set(assignment.attempt_id, key);
  }

  /** The assignment held behind `host`, now leaving the queue (its host ended). */
  take(host: string): Assignment__Output | undefined {
    const next = this.byHost.get(host);
    if (!next) return undefined;
    this.byHost.delete(host);
    this.hostOf.delete(next.attempt_id);
    return next;
  }

  /**
   * Removes a held assignment (a stop); one held behind it moves up behind its host. Returns
   * it, or undefined when it is not held.
   */
  drop(attemptId: string): Assignment__Output | undefined {
    const host = this.hostOf.get(attemptId);
    if (host === undefined) return undefined;
    const dropped = this.take(host)!;
    const behind = this.take(attemptId);
    if (behind) this.hold(host, behind);
    return dropped;
  }

  takeAll(): Assignment__Output[] {
    const all = this.all();
    this.byHost.clear();
    this.hostOf.clear();
    return all;
  }
}
