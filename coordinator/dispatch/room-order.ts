/**
 * The workers with room, kept in placement order (slots.ts `compareLoad`: fewest running, most
 * free CPUs, lowest id), so a placement takes the first one it fits instead of comparing every
 * worker (issue 15 §3: 4,000 placements over 1,000 idle workers were 4 million comparisons).
 * The dispatcher calls `set` whenever a worker's load changes and `delete` when it has no room.
 */
import { compareLoad, loadOf, type Load, type WorkerCapacity } from './slots.js';

export class RoomOrder {
  private readonly list: WorkerCapacity[] = [];
  /** The load each listed worker was placed by (its position is found with it). */
  private readonly placedBy = new Map<WorkerCapacity, Load>();

  get size(): number {
    return this.list.length;
  }

  /** Listed workers in placement order (read-only; changes with the next `set`/`delete`). */
  get workers(): readonly WorkerCapacity[] {
    return this.list;
  }

  /** Lists the worker at the place its load now gives it (moves it when it was listed). */
  set(worker: WorkerCapacity): void {
    this.delete(worker);
    const load = loadOf(worker);
    this.list.splice(this.lowerBound(load), 0, worker);
    this.placedBy.set(worker, load);
  }

  delete(worker: WorkerCapacity): void {
    const load = this.placedBy.get(worker);
    if (!load) return;
    const i = this.lowerBound(load);
    // Loads are unique (ids are), so the search finds it; indexOf only guards that contract.
    this.list.splice(this.list[i] === worker ? i : this.list.indexOf(worker), 1);
    this.placedBy.delete(worker);
  }

  /** The first index whose load is not before `load`. */
  private lowerBound(load: Load): number {
    let lo = 0;
    let hi = this.list.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareLoad(this.placedBy.get(this.list[mid]!)!, load) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
