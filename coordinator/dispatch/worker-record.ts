/**
 * A worker's record in the store, kept by its session: hello, draining and disconnect each write
 * it and emit a `worker.state` event; heartbeats move lastSeenAt, at most once per
 * LAST_SEEN_EVERY_MS. A failed write is only logged. The session's last write is reused, so a
 * heartbeat does not read every worker's record.
 */
import type { Logger } from 'pino';
import type { WorkerMessage__Output } from '../../shared/generated/trellis/v1/WorkerMessage.js';
import type { WorkerDoc } from '../../shared/types.js';
import type { Store } from '../store/base.js';
import type { EventLog } from '../event-log.js';

/** How often a heartbeat may move workers.lastSeenAt in the store (per worker). */
export const LAST_SEEN_EVERY_MS = 5_000;

export type Hello = NonNullable<WorkerMessage__Output['hello']>;

/** The capacity a worker announces in its hello. */
export function capacityOf(hello: Hello): WorkerDoc['slots'] {
  return {
    cpus: hello.slots?.cpus ?? 1,
    gpus: (hello.slots?.gpus ?? []).map((g) => g.id),
    memoryBytes: Number(hello.slots?.memory_bytes ?? 0),
  };
}

export class WorkerRecord {
  /** When a heartbeat last moved this worker's lastSeenAt (see LAST_SEEN_EVERY_MS). */
  private lastSeenWritten = 0;
  /**
   * The worker record this session last wrote: heartbeats and state changes update it without
   * reading every worker's record from the store (O(workers) per heartbeat at 1,000 workers).
   */
  private stored: WorkerDoc | undefined;

  /** `log`: the session's logger as it is now (it gains the worker id at hello). */
  constructor(
    private readonly ctx: { store: Store; events: EventLog },
    private readonly log: () => Logger,
  ) {}

  /**
   * Heartbeats move workers.lastSeenAt, at most once per LAST_SEEN_EVERY_MS per worker: the
   * store sees a write per worker every few seconds, not one per heartbeat.
   */
  seen(workerId: string, now = Date.now()): void {
    if (now - this.lastSeenWritten < LAST_SEEN_EVERY_MS) return;
    this.lastSeenWritten = now;
    void this.known(workerId)
      .then(async (known) => {
        if (known && known.status !== 'disconnected') await this.write({ ...known, lastSeenAt: now });
      })
      .catch((err: unknown) => this.log().warn({ err, workerId }, 'worker lastSeenAt not recorded'));
  }

  /** This worker's record: the one this session wrote, else read from the store. */
  private async known(workerId: string): Promise<WorkerDoc | undefined> {
    return this.stored ?? (await this.ctx.store.listWorkers()).find((w) => w.id === workerId);
  }

  private async write(doc: WorkerDoc): Promise<void> {
    await this.ctx.store.upsertWorker(doc);
    this.stored = doc;
  }

  /** Stores the worker's record and emits its `worker.state` event; a failure is only logged. */
  async record(
    workerId: string,
    status: 'connected' | 'draining' | 'disconnected',
    hello?: Hello,
    slots?: WorkerDoc['slots'],
  ): Promise<void> {
    const { events } = this.ctx;
    try {
      if (hello) {
        await this.write({
          id: workerId,
          status,
          slots: slots ?? capacityOf(hello),
          labels: hello.labels ?? {},
          runtimes: hello.runtimes ?? [],
          lastSeenAt: Date.now(),
          draining: false,
        });
      } else {
        const known = await this.known(workerId);
        if (known) {
          await this.write({
            ...known,
            status,
            // A drained worker stays marked draining once gone, until its next hello.
            draining: status === 'draining' || (status === 'disconnected' && known.draining === true),
            lastSeenAt: Date.now(),
          });
        }
      }
      events.emit({ type: 'worker.state', workerId, payload: { status } });
    } catch (err) {
      this.log().warn({ err, workerId }, 'worker state not recorded');
    }
  }
}
