/**
 * LeaseExpiry: what the coordinator's lease timer does each tick. Expired leases lose their
 * attempts (the worker went silent); with `stuckAfterMs` > 0, attempts with no progress report
 * for that long on a worker that still heartbeats are stopped as stuck; and attempts that no
 * connected worker could ever run are warned about, once per kind of request.
 */
import type { Logger } from 'pino';
import type { Dispatcher } from './dispatch/dispatcher.js';
import type { LeaseTable } from './dispatch/leases.js';

/** The attempts of a running sweep, as the lease timer tells them of lost and stuck ones. */
export interface LeasedAttempts {
  lose(attemptId: string, reason: string): void;
  stuck(attemptId: string, reason: string): void;
}

export interface LeaseExpiryContext {
  leases: LeaseTable;
  dispatcher: Dispatcher;
  log: Logger;
  /** 0: never stopped as stuck. */
  stuckAfterMs: number;
  /** The running sweep's attempts (undefined: no sweep of that id runs here). */
  attemptsOf(experimentId: string): LeasedAttempts | undefined;
}

export class LeaseExpiry {
  private readonly warnedUnplaceable = new Set<string>();

  constructor(private readonly ctx: LeaseExpiryContext) {}

  /** Warns (once per kind of request) about attempts that no connected worker could ever run. */
  private warnUnplaceable(): void {
    for (const request of this.ctx.dispatcher.unplaceable()) {
      const key = JSON.stringify(request);
      if (this.warnedUnplaceable.has(key)) continue;
      this.warnedUnplaceable.add(key);
      this.ctx.log.warn(
        { request },
        'trials are waiting for resources that no connected worker has (runtime, labels, cpus, gpus or memory)',
      );
    }
  }

  tick(): void {
    const { leases, dispatcher, log, stuckAfterMs } = this.ctx;
    this.warnUnplaceable();
    const now = Date.now();
    const expired = leases.takeExpired(now);
    for (const lease of expired) {
      log.warn({ attemptId: lease.attemptId, workerId: lease.workerId }, 'lease expired; attempt lost');
      this.ctx.attemptsOf(lease.experimentId)?.lose(lease.attemptId, `lease expired on worker ${lease.workerId}`);
    }
    // Released after all are judged: releasing a running one first would start the attempt
    // queued behind it (prefetch), which then would count as lost instead of never started.
    for (const lease of expired) dispatcher.release(lease.attemptId);
    if (stuckAfterMs <= 0) return;
    for (const lease of leases.stuck(now, stuckAfterMs)) {
      const reason =
        `stuck: no progress report for ${Math.round((now - lease.lastProgressAt) / 1000)} s on worker ${lease.workerId}, ` +
        `which still heartbeats (limit --stuck-after ${stuckAfterMs / 1000} s); stopped and retried`;
      log.warn({ attemptId: lease.attemptId, workerId: lease.workerId, identity: lease.identity }, reason);
      // Counted from now again, so a runner that is not (yet) settling it is not told twice a tick.
      leases.progressed(lease.attemptId, now);
      this.ctx.attemptsOf(lease.experimentId)?.stuck(lease.attemptId, reason);
    }
  }
}
