/**
 * Leases: each running attempt is leased to one worker until `expiresAt`; the worker's
 * heartbeats renew it. The table is pure bookkeeping; the coordinator's lease timer asks it
 * for expired leases and ends those attempts as `lost`.
 */
export interface Lease {
  attemptId: string;
  trialId: string;
  experimentId: string;
  workerId: string;
  expiresAt: number;
}

export class LeaseTable {
  private readonly leases = new Map<string, Lease>();

  constructor(readonly leaseMs: number) {}

  grant(lease: Omit<Lease, 'expiresAt'>, now: number): Lease {
    const full = { ...lease, expiresAt: now + this.leaseMs };
    this.leases.set(lease.attemptId, full);
    return full;
  }

  /** Renews the leases the worker holds among `attemptIds`; returns the ids it does not hold. */
  renew(workerId: string, attemptIds: readonly string[], now: number): string[] {
    const unknown: string[] = [];
    for (const id of attemptIds) {
      const lease = this.leases.get(id);
      if (lease && lease.workerId === workerId && lease.expiresAt > now) lease.expiresAt = now + this.leaseMs;
      else unknown.push(id);
    }
    return unknown;
  }

  /** Moves a lease to another worker session (a reconnect); false when it already expired. */
  adopt(attemptId: string, workerId: string, now: number): boolean {
    const lease = this.leases.get(attemptId);
    if (!lease || lease.expiresAt <= now) return false;
    lease.workerId = workerId;
    lease.expiresAt = now + this.leaseMs;
    return true;
  }

  get(attemptId: string): Lease | undefined {
    return this.leases.get(attemptId);
  }

  holds(attemptId: string, workerId: string, now: number): boolean {
    const lease = this.leases.get(attemptId);
    return !!lease && lease.workerId === workerId && lease.expiresAt > now;
  }

  release(attemptId: string): void {
    this.leases.delete(attemptId);
  }

  /** Removes and returns the leases that expired at `now`. */
  takeExpired(now: number): Lease[] {
    const expired: Lease[] = [];
    for (const lease of this.leases.values()) if (lease.expiresAt <= now) expired.push(lease);
    for (const lease of expired) this.leases.delete(lease.attemptId);
    return expired;
  }

  get size(): number {
    return this.leases.size;
  }
}
