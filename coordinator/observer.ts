/**
 * What the coordinator tells an observer (the Prometheus metrics, coordinator/metrics.ts) that
 * its stored state and events do not say on their own. Everything else the metrics read from the
 * event log, the dispatcher and the store.
 */
import type { AttemptStatus } from '../shared/states.js';

export interface CoordinatorObserver {
  /** An attempt ended with this status (called once per attempt, after its trial was stored). */
  attemptEnded(status: AttemptStatus): void;
}
