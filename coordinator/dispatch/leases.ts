/**
 * Leases: each running attempt is leased to one worker until `expiresAt`; the worker's
 * heartbeats renew it. The table is pure bookkeeping; the coordinator's lease timer asks it
 * for expired leases and ends those attempts as `lost`, and for stuck ones (no progress report
 * for `stuckMs` while the worker heartbeats).
 *
 * A lease is also the attempt's binding to a worker identity (like Kubernetes' node
 * restriction): the authenticated identity that claimed it and the SHA-256 of its attempt token
 * (coordinator/dispatch/attempt-token.ts). `verify` is the one check every message, artifact
 * call and re-adoption about the attempt passes; `artifacts` lists what the attempt may read.
 */
import { attemptTokenMatches } from './attempt-token.js';

export interface Lease {
  attemptId: string;
  trialId: string;
  experimentId: string;
  workerId: string;
  /** The worker identity (token name; later the mTLS subject) the attempt is bound to. */
  identity: string;
  /** SHA-256 (hex) of the attempt token; '' when none is known (then nothing verifies). */
  tokenHash: string;
  /** Artifact ids the attempt may read: its resolved inputs and the checkpoint it resumes from. */
  artifacts: ReadonlySet<string>;
  expiresAt: number;
  /** Last progress report or checkpoint (or the grant, or its start): what stuck detection measures from. */
  lastProgressAt: number;
  /** Queued behind another attempt on its worker (prefetch): not started, so never stuck. */
  queued?: boolean;
}

export type LeaseGrant = Omit<Lease, 'expiresAt' | 'lastProgressAt' | 'artifacts'> & {
  artifacts?: Iterable<string>;
};

export class LeaseTable {
  private readonly leases = new Map<string, Lease>();

  constructor(readonly leaseMs: number) {}

  grant(lease: LeaseGrant, now: number): Lease {
    const full: Lease = {
      ...lease,
      artifacts: new Set(lease.artifacts ?? []),
      expiresAt: now + this.leaseMs,
      lastProgressAt: now,
    };
    this.leases.set(lease.attemptId, full);
    return full;
  }

  /** Sets what the attempt may read (known once its assignment is built). */
  allowArtifacts(attemptId: string, ids: Iterable<string>): void {
    const lease = this.leases.get(attemptId);
    if (lease) lease.artifacts = new Set(ids);
  }

  /**
   * True when `identity` holds the attempt and `token` is its attempt token. The token is
   * compared by hash in constant time.
   */
  verify(attemptId: string, identity: string, token: string | undefined): boolean {
    const lease = this.leases.get(attemptId);
    return !!lease && lease.identity === identity && attemptTokenMatches(token, lease.tokenHash);
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

  /** A queued attempt started (its host ended): stuck detection measures from now. */
  started(attemptId: string, now: number): void {
    const lease = this.leases.get(attemptId);
    if (!lease?.queued) return;
    delete lease.queued;
    lease.lastProgressAt = now;
  }

  /** A progress report or checkpoint of the attempt arrived: it is not stuck. */
  progressed(attemptId: string, now: number): void {
    const lease = this.leases.get(attemptId);
    if (lease) lease.lastProgressAt = now;
  }

  /**
   * Moves a lease to another worker session (a reconnect); false when it already expired, or
   * when `identity`/`token` are not the ones it is bound to.
   */
  adopt(attemptId: string, workerId: string, identity: string, token: string | undefined, now: number): boolean {
    const lease = this.leases.get(attemptId);
    if (!lease || lease.expiresAt <= now || !this.verify(attemptId, identity, token)) return false;
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

  /**
   * Live leases (the worker still heartbeats) with no progress for `stuckMs` or more. They stay
   * in the table: the runner stops and settles them, which releases the lease.
   */
  stuck(now: number, stuckMs: number): Lease[] {
    const out: Lease[] = [];
    for (const lease of this.leases.values()) {
      if (lease.expiresAt > now && !lease.queued && now - lease.lastProgressAt >= stuckMs) out.push(lease);
    }
    return out;
  }

  get size(): number {
    return this.leases.size;
  }
}
