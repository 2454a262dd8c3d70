/**
 * Server-sent events for the dashboard, fed by the coordinator's event log.
 *
 * - `/api/experiments/ID/events`: one experiment's events, each with `id: SEQ`. A browser that
 *   reconnects sends `Last-Event-ID` and gets every event after it from the store (then live
 *   ones): nothing is missed and nothing repeated. The stream ends (`event: end`) after the
 *   experiment's final event.
 * - `/api/events`: state changes of every experiment and worker (no per-step metrics), without
 *   ids: on a reconnect the page re-reads the lists it shows.
 *
 * Bounded: at most `maxClients` streams at once (more get 503). A client with more than
 * `maxBufferedBytes` unread is given `drainTimeoutMs` to catch up (experiment streams) or dropped
 * at once (the global stream, which is not paced); a dropped experiment stream resumes from its
 * last id on reconnect, so a slow page loses nothing but time.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Coordinator } from '../coordinator.js';
import type { TrellisEvent } from '../../shared/events.js';
import { isTerminal } from '../../shared/states.js';

export interface LiveLimits {
  /** Concurrent event streams (default 64). */
  maxClients: number;
  /** Bytes queued for one client before it is dropped (default 1 MiB). */
  maxBufferedBytes: number;
  /** How long a client over `maxBufferedBytes` may take to catch up before it is dropped (default 10 s). */
  drainTimeoutMs: number;
  /** Comment line sent this often so idle connections stay open (default 15 s). */
  keepAliveMs: number;
}

export const DEFAULT_LIVE_LIMITS: LiveLimits = {
  maxClients: 64,
  maxBufferedBytes: 1 << 20,
  drainTimeoutMs: 10_000,
  keepAliveMs: 15_000,
};

export class TooManyClientsError extends Error {
  override readonly name = 'TooManyClientsError';
}

interface Client {
  res: ServerResponse;
  abort: AbortController;
}

export class LiveFeed {
  private readonly clients = new Set<Client>();
  private readonly global = new Set<Client>();
  private readonly unsubscribe: () => void;
  private readonly timer: NodeJS.Timeout;
  private readonly watchers = new Set<() => void>();
  /** Streams dropped for reading too slowly. */
  dropped = 0;

  constructor(
    private readonly coordinator: Coordinator,
    private readonly limits: LiveLimits = DEFAULT_LIVE_LIMITS,
  ) {
    this.unsubscribe = coordinator.events.onStored((event) => {
      if (event.type === 'trial.metric' || this.global.size === 0) return;
      const frame = `event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`;
      for (const client of this.global) this.send(client, frame);
    });
    this.timer = setInterval(() => {
      for (const client of this.clients) this.send(client, ': keep-alive\n\n');
    }, limits.keepAliveMs).unref();
  }

  get size(): number {
    return this.clients.size;
  }

  /** Called after a stream opens, closes or is dropped (tests and metrics observe this). */
  onChange(listener: () => void): () => void {
    this.watchers.add(listener);
    return () => this.watchers.delete(listener);
  }

  private changed(): void {
    for (const listener of this.watchers) listener();
  }

  /** Streams state changes of everything; never ends on its own. */
  serveGlobal(req: IncomingMessage, res: ServerResponse): void {
    const client = this.open(req, res);
    this.global.add(client);
    client.abort.signal.addEventListener('abort', () => this.global.delete(client));
  }

  /** Streams one experiment from after `afterSeq` (0: live events only). */
  async serveExperiment(req: IncomingMessage, res: ServerResponse, id: string, afterSeq: number): Promise<void> {
    const experiment = await this.coordinator.get(id); // NOT_FOUND before any header is sent
    const client = this.open(req, res);
    try {
      if (isTerminal('experiment', experiment.status) && (await this.coordinator.store.lastEventSeq(id)) <= afterSeq) {
        res.end('event: end\ndata: {}\n\n');
        return;
      }
      // watch() replays stored events from afterSeq + 1 and then follows the log gap-free.
      for await (const event of this.coordinator.watch(id, afterSeq + 1, client.abort.signal)) {
        if (!(await this.sendPaced(client, frameOf(event)))) return;
      }
      if (!client.abort.signal.aborted) res.end('event: end\ndata: {}\n\n');
    } finally {
      this.close(client);
    }
  }

  /** Ends every stream (the server is closing). */
  closeAll(): void {
    clearInterval(this.timer);
    this.unsubscribe();
    for (const client of [...this.clients]) this.close(client);
  }

  private open(req: IncomingMessage, res: ServerResponse): Client {
    if (this.clients.size >= this.limits.maxClients) {
      throw new TooManyClientsError(`too many live streams: the limit is ${this.limits.maxClients}; retry later`);
    }
    const client: Client = { res, abort: new AbortController() };
    this.clients.add(client);
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.write('retry: 1000\n\n');
    const onClose = (): void => this.close(client);
    req.on('close', onClose);
    res.on('close', onClose);
    this.changed();
    return client;
  }

  /**
   * Writes a frame; over the buffer cap, waits for the client to catch up (a replay is written
   * faster than any network reads) and drops it when it has not within `drainTimeoutMs`.
   */
  private async sendPaced(client: Client, frame: string): Promise<boolean> {
    if (client.abort.signal.aborted) return false;
    client.res.write(frame);
    if (client.res.writableLength <= this.limits.maxBufferedBytes) return true;
    const drained = await new Promise<boolean>((resolve) => {
      const done = (ok: boolean): void => {
        clearTimeout(timer);
        client.res.off('drain', onDrain);
        client.abort.signal.removeEventListener('abort', onAbort);
        resolve(ok);
      };
      const onDrain = (): void => done(true);
      const onAbort = (): void => done(false);
      const timer = setTimeout(() => done(false), this.limits.drainTimeoutMs);
      client.res.on('drain', onDrain);
      client.abort.signal.addEventListener('abort', onAbort);
    });
    if (drained) return true;
    this.drop(client);
    return false;
  }

  private drop(client: Client): void {
    if (!this.clients.has(client)) return;
    this.dropped++;
    this.close(client);
    client.res.destroy();
  }

  /** Writes a frame without waiting; a client with too much unread is dropped (false). */
  private send(client: Client, frame: string): boolean {
    if (client.abort.signal.aborted) return false;
    client.res.write(frame);
    if (client.res.writableLength > this.limits.maxBufferedBytes) {
      this.drop(client);
      return false;
    }
    return true;
  }

  private close(client: Client): void {
    if (!this.clients.delete(client)) return;
    client.abort.abort();
    if (!client.res.writableEnded) client.res.end();
    this.changed();
  }
}

function frameOf(event: TrellisEvent): string {
  return `id: ${event.seq}\nevent: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`;
}
