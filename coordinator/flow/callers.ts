/**
 * Per-caller accounting: open streams and the unary call rate of each caller, plus counters of
 * what was refused or slowed (`FlowStats`, read by the metrics and logged). A caller is its
 * token's name when the coordinator authenticates, else the peer's host (all connections from
 * one host share a budget, so opening more connections buys nothing).
 */
import { ResourceExhaustedError } from '../../shared/errors.js';
import { TokenBucket } from './token-bucket.js';
import type { FlowLimits } from './limits.js';

export interface FlowStats {
  /** Streams refused for a caller's stream limit. */
  streamsRefused: number;
  /** Unary calls refused for a caller's rate. */
  callsRefused: number;
  /** Watch streams ended for not reading (slow consumers). */
  slowWatchers: number;
  /** Worker streams ended for leaving their replies unread. */
  slowWorkers: number;
  /** Worker messages that waited for their stream's rate (the stream was paused; none dropped). */
  reportsThrottled: number;
  /** Uploads ended: idle, past the deadline, or over a byte bound. */
  uploadsRefused: number;
  /** Calls ended for a message over its size limit, refused from its frame header (messages.ts). */
  messagesRefused: number;
  /** Dashboard HTTP requests refused for a caller's rate (429). */
  httpRefused: number;
}

/** The caller key of a gRPC peer string ("ipv4:1.2.3.4:5", "ipv6:[::1]:5", "1.2.3.4:5"). */
export function peerHost(peer: string): string {
  const bare = peer.replace(/^ipv[46]:/, '');
  const at = bare.lastIndexOf(':');
  return at > 0 && /^\d+$/.test(bare.slice(at + 1)) ? bare.slice(0, at) : bare;
}

export class Callers {
  readonly stats: FlowStats = {
    streamsRefused: 0,
    callsRefused: 0,
    slowWatchers: 0,
    slowWorkers: 0,
    reportsThrottled: 0,
    uploadsRefused: 0,
    messagesRefused: 0,
    httpRefused: 0,
  };
  private readonly streams = new Map<string, number>();
  private readonly buckets = new Map<string, TokenBucket>();

  constructor(readonly limits: FlowLimits) {}

  /**
   * Counts a stream against the caller's limit; returns its release (call once, when the stream
   * closes). Throws ResourceExhaustedError over the limit.
   */
  openStream(caller: string, what: string): () => void {
    const open = this.streams.get(caller) ?? 0;
    if (open >= this.limits.streamsPerCaller) {
      this.stats.streamsRefused++;
      throw new ResourceExhaustedError(
        `${what}: caller ${caller} already has ${open} open streams; the limit is ${this.limits.streamsPerCaller} ` +
          `(TRELLIS_STREAMS_PER_CALLER); close some first`,
      );
    }
    this.streams.set(caller, open + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.streams.get(caller) ?? 1) - 1;
      if (left > 0) this.streams.set(caller, left);
      else this.streams.delete(caller);
    };
  }

  openStreams(caller: string): number {
    return this.streams.get(caller) ?? 0;
  }

  /** Spends one of the caller's unary calls; throws ResourceExhaustedError when none is left. */
  admitCall(caller: string, method: string, now = Date.now()): void {
    const wait = this.spend(caller, now);
    if (wait === 0) return;
    this.stats.callsRefused++;
    throw new ResourceExhaustedError(
      `${method}: caller ${caller} is over ${this.limits.callsPerSecond} calls per second ` +
        `(TRELLIS_CALLS_PER_SECOND); retry in ${wait} ms`,
    );
  }

  /** Spends one call of the caller's budget: 0 when admitted, else the ms until one is left. */
  spend(caller: string, now = Date.now()): number {
    let bucket = this.buckets.get(caller);
    if (!bucket) {
      if (this.buckets.size > 10_000) this.forgetIdle(now);
      bucket = new TokenBucket(this.limits.callsPerSecond, 2 * this.limits.callsPerSecond, now);
      this.buckets.set(caller, bucket);
    }
    return bucket.take(1, now) ? 0 : Math.max(1, bucket.waitMs(1, now));
  }

  /** Drops the buckets of callers that are idle (full again): the map stays bounded. */
  private forgetIdle(now: number): void {
    for (const [caller, bucket] of this.buckets) if (bucket.full(now)) this.buckets.delete(caller);
  }
}
