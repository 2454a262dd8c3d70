import type { TrellisEvent } from '../../shared/events.js';

export interface SubscribeOptions {
  /** Only this experiment's events (all experiments and workers when omitted). */
  experimentId?: string;
  /**
   * Replay stored events with seq >= fromSeq first (1 = from the start), then go on live;
   * live only when omitted. Worker events (seq 0) are never replayed.
   */
  fromSeq?: number;
  signal?: AbortSignal;
}

/**
 * The event stream. Two implementations (LocalBus in-process, NatsBus on JetStream) pass one
 * contract suite (test/contract/bus.contract.test.ts).
 *
 * Contract:
 * - `publish` resolves once the bus holds the event (JetStream: acknowledged by the stream).
 *   Publishing the same event again (same `eventId`) is a no-op for subscribers.
 *   It rejects with BusUnavailableError when the bus cannot take the event in time (the
 *   caller keeps it in the store's outbox and publishes it again later).
 * - A subscriber sees one experiment's events in publish order, each once.
 * - A live subscription (no `fromSeq`) sees every event published after `subscribe` was
 *   called (NatsBus may also deliver a few published just before; consumers de-duplicate on
 *   seq anyway).
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

/** Raised when the bus cannot be reached (mapped to gRPC UNAVAILABLE). */
export class BusUnavailableError extends Error {
  override readonly name = 'BusUnavailableError';
}
