/**
 * LocalBus: the in-process event bus of embedded mode.
 *
 * Keeps the most recent `historyLimit` experiment events in memory (across experiments, the
 * oldest published dropped first), per experiment in publish order, for `fromSeq` replay; drops
 * a re-published event (same `eventId`); hands each subscriber its own queue. The coordinator
 * replays from its store, so the bus's history only serves direct subscribers.
 *
 * Known limits:
 * - replay covers only the events still held; an event re-published after events of its
 *   experiment with a higher-or-equal seq were dropped from the history is treated as a
 *   duplicate (the outbox re-publishes at start, long before that many events follow);
 * - a subscriber that does not read keeps every event published since in its queue
 *   (no back-pressure, no drop policy);
 * - worker events are de-duplicated against the last `workerDedupWindow` worker event ids only.
 */
import type { TrellisEvent } from '../../shared/events.js';
import { eventId } from '../../shared/events.js';
import type { EventBus, SubscribeOptions } from './base.js';
import { clonePlain } from '../../shared/clone.js';

export interface LocalBusOptions {
  /** How many recent worker-event ids are remembered for de-duplication. Default 10 000. */
  workerDedupWindow?: number;
  /**
   * How many experiment events are kept for replay, over all experiments. Default 10 000: a held
   * event costs ~800 B of heap (its clone, the seq set entry), so 100 000 held ~80 MB, most of a
   * million-trial run's RSS; `watch` and the dashboard replay from the store, not from here.
   */
  historyLimit?: number;
}

/** LocalBus's default `historyLimit`. */
export const LOCAL_BUS_HISTORY_LIMIT = 10_000;

interface ExperimentHistory {
  /** Held events in publish order; those before `head` have been dropped. */
  events: TrellisEvent[];
  head: number;
  seqs: Set<number>;
  /** The highest seq dropped from the history: anything at or below it counts as seen. */
  droppedThrough: number;
}

export class LocalBus implements EventBus {
  readonly kind = 'local';
  private readonly workerDedupWindow: number;
  private readonly historyLimit: number;
  private readonly history = new Map<string, ExperimentHistory>();
  /** The experiment of every held event, oldest first (from `publishedHead` on). */
  private published: ExperimentHistory[] = [];
  private publishedHead = 0;
  private readonly recentWorkerIds = new Set<string>();
  private readonly subscribers = new Set<Subscription>();
  private closed = false;

  constructor(options: LocalBusOptions = {}) {
    this.workerDedupWindow = options.workerDedupWindow ?? 10_000;
    if (!(this.workerDedupWindow >= 1)) {
      throw new TypeError(`LocalBus: workerDedupWindow is ${options.workerDedupWindow}, but must be >= 1`);
    }
    this.historyLimit = options.historyLimit ?? LOCAL_BUS_HISTORY_LIMIT;
    if (!Number.isInteger(this.historyLimit) || this.historyLimit < 1) {
      throw new TypeError(`LocalBus: historyLimit is ${options.historyLimit}, but must be an integer >= 1`);
    }
  }

  /** How many experiment events the history holds now (at most `historyLimit`). */
  get historySize(): number {
    return this.published.length - this.publishedHead;
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
    const stored = clonePlain(event);
    if (stored.experimentId !== undefined) {
      let h = this.history.get(stored.experimentId);
      if (!h) this.history.set(stored.experimentId, (h = { events: [], head: 0, seqs: new Set(), droppedThrough: 0 }));
      if (h.seqs.has(stored.seq) || stored.seq <= h.droppedThrough) return;
      h.seqs.add(stored.seq);
      h.events.push(stored);
      this.published.push(h);
      if (this.historySize > this.historyLimit) this.dropOldest();
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

  private dropOldest(): void {
    const h = this.published[this.publishedHead]!;
    this.publishedHead++;
    const dropped = h.events[h.head]!;
    h.head++;
    h.seqs.delete(dropped.seq);
    h.droppedThrough = Math.max(h.droppedThrough, dropped.seq);
    if (h.head === h.events.length) {
      h.events = [];
      h.head = 0;
    } else if (h.head > 1024 && h.head * 2 > h.events.length) {
      h.events = h.events.slice(h.head);
      h.head = 0;
    }
    if (this.publishedHead > 1024 && this.publishedHead * 2 > this.published.length) {
      this.published = this.published.slice(this.publishedHead);
      this.publishedHead = 0;
    }
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
      const sources =
        options.experimentId !== undefined ? [this.history.get(options.experimentId)] : [...this.history.values()];
      for (const h of sources) {
        if (!h) continue;
        for (let i = h.head; i < h.events.length; i++) if (h.events[i]!.seq >= from) sub.push(h.events[i]!);
      }
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
    if (this.options.fromSeq !== undefined && e.experimentId !== undefined && e.seq < this.options.fromSeq)
      return false;
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
