/**
 * The audit trail: every submit and cancel, every use of a token, every authentication failure
 * and permission denial (including a worker's forged attempt token, a refused hello and a
 * clamped capacity claim) is logged with pino (identity, method, outcome) and published as an
 * `audit` event on `trellis.v1.audit.<kind>` (docs/events.md).
 *
 * Hot paths are aggregated so a busy or hostile caller cannot flood the log or the bus: `token`,
 * `denied` and `unauthenticated` records with the same kind, identity, method and outcome are
 * published at once the first time in a window (AUDIT_WINDOW_MS), then counted; at the end of the
 * window one record with `count` (how many more) goes out. `submit`, `cancel` and `clamped`
 * records always go out one by one.
 */
import type { Logger } from 'pino';
import type { EventLog } from '../event-log.js';
import type { AuditKind, EventPayloads } from '../../shared/events.js';

export const AUDIT_WINDOW_MS = 60_000;

export type AuditRecord = Omit<EventPayloads['audit'], 'count'>;

const AGGREGATED: ReadonlySet<AuditKind> = new Set(['token', 'denied', 'unauthenticated']);

export class Audit {
  /** key → uses since the record published at the start of its window. */
  private readonly windows = new Map<string, { record: AuditRecord; count: number }>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly events: EventLog,
    private readonly log: Logger,
    windowMs = AUDIT_WINDOW_MS,
  ) {
    this.timer = setInterval(() => this.flush(), windowMs);
    this.timer.unref();
  }

  record(record: AuditRecord): void {
    if (!AGGREGATED.has(record.kind)) return this.publish(record, 1);
    const key = `${record.kind}\u0000${record.identity}\u0000${record.method}\u0000${record.outcome}`;
    const seen = this.windows.get(key);
    if (seen) {
      seen.count += 1;
      return;
    }
    this.windows.set(key, { record, count: 0 });
    this.publish(record, 1);
  }

  /** Publishes the counts of the window that ends now; keys with no further use are forgotten. */
  flush(): void {
    for (const [key, entry] of this.windows) {
      if (entry.count > 0) this.publish(entry.record, entry.count);
      this.windows.delete(key);
    }
  }

  close(): void {
    clearInterval(this.timer);
    this.flush();
  }

  private publish(record: AuditRecord, count: number): void {
    const payload = { ...record, count };
    this.log[record.outcome === 'ok' ? 'info' : 'warn']({ audit: payload }, `audit ${record.kind}`);
    this.events.emit({ type: 'audit', payload });
  }
}
