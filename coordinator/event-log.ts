/**
 * EventLog: gives each experiment's events a gap-free `seq`, stores them (the outbox, the
 * system of record for replay), then publishes them on the bus and marks them published.
 *
 * Order of work (invariant 1, "state first, then event"): callers emit after their state
 * change is stored. Per experiment, events are handled by one sequential drain loop, so seq
 * order is emit order. A bus that is down delays publishing, never storing: the loop retries
 * with backoff, and `start()` re-publishes what a previous coordinator stored but did not
 * publish (the bus drops duplicates by message id).
 *
 * Readers: `follow` (stored replay, then live events, without gaps) and `waitForEnd`.
 */
import type { Logger } from 'pino';
import type { EventBus } from './bus/base.js';
import type { Store } from './store/base.js';
import { isFinalEvent, type NewEvent, type TrellisEvent } from '../shared/events.js';
import { NotFoundError } from '../shared/errors.js';
import { isTerminal } from '../shared/states.js';
import type { ExperimentDoc } from '../shared/types.js';

type Pending = NewEvent & { time?: number };

/** Events published at once (each waits for its acknowledgement). */
const PUBLISH_WINDOW = 256;

interface Lane {
  next: number | undefined;
  queue: Pending[];
  draining: Promise<void> | undefined;
  waiters: (() => void)[];
}

export class EventLog {
  private readonly lanes = new Map<string, Lane>();
  private closed = false;
  private readonly listeners = new Set<(event: TrellisEvent) => void>();

  constructor(
    private readonly store: Store,
    private readonly bus: EventBus,
    private readonly log: Logger,
  ) {}

  /** Re-publishes events stored but not yet acknowledged by the bus (after a restart). */
  async republishPending(): Promise<number> {
    let total = 0;
    for (;;) {
      const batch = await this.store.unpublishedEvents(500);
      if (batch.length === 0) return total;
      const byExperiment = new Map<string, number[]>();
      for (const event of batch) {
        await this.bus.publish(event);
        const id = event.experimentId ?? '_';
        byExperiment.set(id, [...(byExperiment.get(id) ?? []), event.seq]);
      }
      for (const [experimentId, seqs] of byExperiment) await this.store.markPublished(experimentId, seqs);
      total += batch.length;
    }
  }

  /** In-process observers (the experiment runners' own waiting, tests). Called after storing. */
  onStored(listener: (event: TrellisEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * An experiment's events: stored history from `fromSeq` (0 = none), then live ones, with the
   * same seq as on the bus; ends after the experiment's terminal state event. Events stored
   * between the replay and the first live one are fetched from the store (no gap). With
   * `fromSeq` 0 and `ended` (the experiment is already terminal) it yields nothing. `source` is
   * the store history is read from: for a client's call, one that fails at once in an outage
   * (UNAVAILABLE), not the event log's own, which waits outages out.
   */
  async *follow(
    experimentId: string,
    fromSeq: number,
    ended: boolean,
    signal?: AbortSignal,
    source: Pick<Store, 'listEvents'> = this.store,
    maxBuffered = 1000,
  ): AsyncGenerator<TrellisEvent> {
    // Live events wait here while the reader is busy (a watcher whose stream is full). Past
    // `maxBuffered` they are dropped from memory, not lost: they are stored, and the next one
    // read finds the gap and fetches it from the store. A slow reader costs bounded memory.
    const buffered: TrellisEvent[] = [];
    let wake: (() => void) | undefined;
    const unsubscribe = this.onStored((event) => {
      if (event.experimentId !== experimentId) return;
      if (buffered.length >= maxBuffered) buffered.splice(0, buffered.length - 1);
      buffered.push(event);
      wake?.();
    });
    const onAbort = (): void => wake?.();
    signal?.addEventListener('abort', onAbort);
    try {
      let last = 0;
      if (fromSeq > 0) {
        for (const event of await source.listEvents(experimentId, fromSeq)) {
          yield event;
          last = event.seq;
          if (isFinalEvent(event)) return;
        }
      } else {
        if (ended) return;
        last = Number.POSITIVE_INFINITY;
      }
      for (;;) {
        if (signal?.aborted) return;
        const event = buffered.shift();
        if (!event) {
          await new Promise<void>((resolve) => (wake = resolve));
          wake = undefined;
          continue;
        }
        if (last === Number.POSITIVE_INFINITY) last = event.seq - 1;
        if (event.seq <= last) continue;
        if (event.seq > last + 1) {
          // Stored between our replay and the listener: fetch the gap from the store.
          for (const missed of await source.listEvents(experimentId, last + 1)) {
            if (missed.seq >= event.seq) break;
            yield missed;
            last = missed.seq;
          }
        }
        yield event;
        last = event.seq;
        if (isFinalEvent(event)) return;
      }
    } finally {
      unsubscribe();
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /** Resolves with the experiment once it is terminal (from its state event, or the store). */
  waitForEnd(experimentId: string): Promise<ExperimentDoc> {
    return new Promise((resolve, reject) => {
      let settled = false;
      const check = (): void => {
        this.store.getExperiment(experimentId).then(
          (doc) => {
            if (settled) return;
            if (!doc) {
              settled = true;
              unsubscribe();
              reject(new NotFoundError(`experiment ${experimentId} not found`));
            } else if (isTerminal('experiment', doc.status)) {
              settled = true;
              unsubscribe();
              resolve(doc);
            }
          },
          (err: unknown) => {
            if (settled) return;
            settled = true;
            unsubscribe();
            reject(err as Error);
          },
        );
      };
      const unsubscribe = this.onStored((event) => {
        if (event.experimentId === experimentId && isFinalEvent(event)) check();
      });
      check();
    });
  }

  emit(event: Pending): void {
    if (this.closed) return;
    // Worker and audit events belong to no experiment: published, not stored in an outbox.
    const key = event.experimentId ?? (event.type === 'audit' ? '_audit' : '_workers');
    let lane = this.lanes.get(key);
    if (!lane) {
      lane = { next: undefined, queue: [], draining: undefined, waiters: [] };
      this.lanes.set(key, lane);
    }
    lane.queue.push(event);
    if (!lane.draining) lane.draining = this.drain(key, lane);
  }

  /** Resolves when every event emitted so far for the experiment is stored and published. */
  async flush(experimentId?: string): Promise<void> {
    const lanes = experimentId ? [this.lanes.get(experimentId)] : [...this.lanes.values()];
    await Promise.all(lanes.map((lane) => lane?.draining ?? Promise.resolve()));
  }

  async close(): Promise<void> {
    await this.flush();
    this.closed = true;
  }

  private async drain(key: string, lane: Lane): Promise<void> {
    const isWorkerLane = key === '_workers' || key === '_audit';
    let delay = 100;
    while (lane.queue.length > 0 && !this.closed) {
      const batch = lane.queue.splice(0, lane.queue.length);
      let events: TrellisEvent[] | undefined;
      // Seqs are handed out once; a failed store write is retried with the same events
      // (appendEvents is idempotent on seq), so no gap and no duplicate can appear.
      for (;;) {
        try {
          if (!events) {
            if (!isWorkerLane && lane.next === undefined) lane.next = (await this.store.lastEventSeq(key)) + 1;
            const now = Date.now();
            events = batch.map((e) => ({ ...e, time: e.time ?? now, seq: isWorkerLane ? 0 : lane.next!++ }));
          }
          if (!isWorkerLane) await this.store.appendEvents(events);
          break;
        } catch (err) {
          this.log.warn({ err, experimentId: key }, 'storing events failed; retrying');
          await new Promise((resolve) => setTimeout(resolve, delay));
          delay = Math.min(delay * 2, 5000);
          if (this.closed) return;
        }
      }
      delay = 100;
      for (const event of events) for (const listener of this.listeners) listener(event);
      await this.publishAll(events, isWorkerLane ? undefined : key);
    }
    lane.draining = undefined;
  }

  private async publishAll(events: TrellisEvent[], experimentId: string | undefined): Promise<void> {
    let delay = 100;
    for (;;) {
      try {
        // Sent together, not one acknowledgement after another: NATS keeps one connection's
        // messages in order, and after a retry subscribers order by seq (the bus drops duplicates).
        for (let i = 0; i < events.length; i += PUBLISH_WINDOW) {
          await Promise.all(events.slice(i, i + PUBLISH_WINDOW).map((event) => this.bus.publish(event)));
        }
        if (experimentId)
          await this.store.markPublished(
            experimentId,
            events.map((e) => e.seq),
          );
        return;
      } catch (err) {
        if (this.closed) return;
        this.log.warn({ err }, 'publishing events failed; retrying');
        await new Promise((resolve) => setTimeout(resolve, delay));
        delay = Math.min(delay * 2, 5000);
      }
    }
  }
}
