/**
 * LocalBus: the in-process event bus of embedded mode.
 *
 * Keeps every experiment event in memory, per experiment in publish order, for `fromSeq`
 * replay; drops a re-published event (same `eventId`); hands each subscriber its own queue.
 *
 * Known limits (fine for one process running a sweep, not for a long-lived server):
 * - the history grows with every experiment event published and is never trimmed;
 * - a subscriber that does not read keeps every event published since in its queue
 *   (no back-pressure, no drop policy);
 * - worker events are de-duplicated against the last `workerDedupWindow` worker event ids only.
 */
import type { TrellisEvent } from '../../shared/events.js';
import { eventId } from '../../shared/events.js';
import type { EventBus, SubscribeOptions } from './base.js';

export interface LocalBusOptions {
  /** How many recent worker-event ids are remembered for de-duplication. Default 10 000. */
  workerDedupWindow?: number;
}

interface ExperimentHistory {
  events: TrellisEvent[];
  seqs: Set<number>;
}

export class LocalBus implements EventBus {
  readonly kind = 'local';
  private readonly workerDedupWindow: number;
  private readonly history = new Map<string, ExperimentHistory>();
  private readonly recentWorkerIds = new Set<string>();
  private readonly subscribers = new Set<Subscription>();
  private closed = false;

  constructor(options: LocalBusOptions = {}) {
    this.workerDedupWindow = options.workerDedupWindow ?? 10_000;
    if (!(this.workerDedupWindow >= 1)) {
      throw new TypeError(`LocalBus: workerDedupWindow is ${options.workerDedupWindow}, but must be >= 1`);
    }
  }

  async start(): Promise<void> {
    if (this.closed) throw new Error('LocalBus: already closed');
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const sub of [...this.subscribers]) sub.end();
    this.subscribers.clear();
  }

  async publish(event: TrellisEvent): Promise<void> {
    if (this.closed) throw new Error('LocalBus: closed');
    const stored = structuredClone(event);
    if (stored.experimentId !== undefined) {
      let h = this.history.get(stored.experimentId);
      if (!h) this.history.set(stored.experimentId, (h = { events: [], seqs: new Set() }));
      if (h.seqs.has(stored.seq)) return;
      h.seqs.add(stored.seq);
      h.events.push(stored);
    } else {
      const id = eventId(stored);
      if (this.recentWorkerIds.has(id)) return;
      this.recentWorkerIds.add(id);
      if (this.recentWorkerIds.size > this.workerDedupWindow) {
        const oldest = this.recentWorkerIds.values().next().value;
        if (oldest !== undefined) this.recentWorkerIds.delete(oldest);
      }
    }
    for (const sub of this.subscribers) if (sub.wants(stored)) sub.push(stored);
  }

  /**
   * The subscription starts when this is called (not at the first `next()`): events published
   * from then on are queued for it. Delivered events are shared between subscribers: do not
   * mutate them.
   */
  subscribe(options: SubscribeOptions = {}): AsyncIterable<TrellisEvent> {
    const sub = new Subscription(options, () => this.subscribers.delete(sub));
    if (this.closed || options.signal?.aborted) {
      sub.end();
      return sub;
    }
    if (options.fromSeq !== undefined) {
      const from = options.fromSeq;
      const sources = options.experimentId !== undefined ? [this.history.get(options.experimentId)] : [...this.history.values()];
      for (const h of sources) if (h) for (const e of h.events) if (e.seq >= from) sub.push(e);
    }
    this.subscribers.add(sub);
    return sub;
  }
}

class Subscription implements AsyncIterable<TrellisEvent> {
  private queue: TrellisEvent[] = [];
  private head = 0;
  private waiter: ((r: IteratorResult<TrellisEvent>) => void) | undefined;
  private ended = false;
  private iterated = false;
  private readonly onAbort = (): void => this.end();

  constructor(
    private readonly options: SubscribeOptions,
    private readonly detach: () => void,
  ) {
    options.signal?.addEventListener('abort', this.onAbort, { once: true });
  }

  wants(e: TrellisEvent): boolean {
    if (this.options.experimentId !== undefined && e.experimentId !== this.options.experimentId) return false;
    // A replaying subscriber asked for seq >= fromSeq; worker events (seq 0) are live only
    // and only go to subscribers of every experiment.
    if (this.options.fromSeq !== undefined && e.experimentId !== undefined && e.seq < this.options.fromSeq) return false;
    return true;
  }

  push(e: TrellisEvent): void {
    if (this.ended) return;
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = undefined;
      w({ value: e, done: false });
    } else {
      this.queue.push(e);
    }
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.options.signal?.removeEventListener('abort', this.onAbort);
    this.detach();
    this.queue = [];
    this.head = 0;
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = undefined;
      w({ value: undefined, done: true });
    }
  }

  [Symbol.asyncIterator](): AsyncIterator<TrellisEvent> {
    if (this.iterated) throw new Error('LocalBus: a subscription can be iterated once');
    this.iterated = true;
    return {
      next: () => {
        if (this.head < this.queue.length) {
          const value = this.queue[this.head]!;
          this.head++;
          if (this.head > 1024 && this.head * 2 > this.queue.length) {
            this.queue = this.queue.slice(this.head);
            this.head = 0;
          }
          return Promise.resolve({ value, done: false });
        }
        if (this.ended) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve) => {
          this.waiter = resolve;
        });
      },
      return: () => {
        this.end();
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }
}
