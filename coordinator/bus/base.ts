import type { TrellisEvent } from '../../shared/events.js';

export interface SubscribeOptions {
  /** Only this experiment's events (all experiments and workers when omitted). */
  experimentId?: string;
  /** Replay stored events with seq >= fromSeq first (1 = from the start); live only when omitted. */
  fromSeq?: number;
  signal?: AbortSignal;
}

/**
 * The event stream. Two implementations (LocalBus in-process, NatsBus on JetStream) pass one
 * contract suite (test/contract/bus.contract.ts).
 *
 * Contract:
 * - `publish` resolves once the bus holds the event (JetStream: acknowledged by the stream).
 *   Publishing the same event again (same `eventId`) is a no-op for subscribers.
 * - A subscriber sees one experiment's events in publish order.
 * - `subscribe` ends when `signal` aborts or the bus closes.
 * - `start` and `close` are idempotent.
 */
export interface EventBus {
  readonly kind: string;
  start(): Promise<void>;
  close(): Promise<void>;
  publish(event: TrellisEvent): Promise<void>;
  subscribe(options: SubscribeOptions): AsyncIterable<TrellisEvent>;
}
