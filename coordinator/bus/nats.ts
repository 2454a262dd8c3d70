/**
 * NatsBus: the event bus of distributed mode, on NATS JetStream.
 *
 * - One stream, TRELLIS_EVENTS, on `trellis.v1.>` (file storage), created or updated at start.
 *   Retention (max age, max bytes) is set only when configured (TRELLIS_EVENTS_MAX_AGE,
 *   TRELLIS_EVENTS_MAX_BYTES): a restart without them keeps what an operator set on the stream.
 * - `publish` waits for the stream's acknowledgement (nats-publisher.ts: JetStream's publish
 *   protocol without the client's per-message costs) and sends `eventId(event)` as the message
 *   id, so a re-publish within the stream's duplicate window (10 minutes by default) is dropped
 *   by the server; subscribers also drop an experiment event whose seq they already delivered,
 *   which covers re-publishes after the window.
 * - While NATS is unreachable the connection reconnects forever; `publish` retries with a
 *   bounded backoff for up to `publishTimeoutMs`, then rejects with BusUnavailableError;
 *   subscriptions resume where they were once the server is back.
 * - Each subscription is a JetStream ordered consumer (ephemeral, in memory on the server),
 *   filtered on `trellis.v1.exp.<id>.>` or on everything.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import { connect, ConnectionError, NoRespondersError, RequestError, TimeoutError } from '@nats-io/transport-node';
import type {
  ConsumerMessages,
  JetStreamClient,
  JetStreamManager,
  OrderedConsumerOptions,
  StreamConfig,
} from '@nats-io/jetstream';
import {
  DeliverPolicy,
  DiscardPolicy,
  JetStreamApiError,
  jetstream,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
} from '@nats-io/jetstream';

import type { TrellisEvent } from '../../shared/events.js';
import { eventId, SUBJECT_ROOT, subjectOf, subjectToken } from '../../shared/events.js';
import type { EventBus, SubscribeOptions } from './base.js';
import { AckedPublisher, AckTimeoutError, NoStreamError, PublishRefusedError } from './nats-publisher.js';
import { BusUnavailableError } from './base.js';
import {
  natsAuthOptions,
  natsSecurityProblem,
  redactNatsUrl,
  type NatsAuthOptions,
  type NatsSecurity,
} from './nats-auth.js';

export const STREAM_NAME = 'TRELLIS_EVENTS';

export interface NatsBusOptions {
  /** Server URL(s), comma-separated (createBus passes $NATS_URL). */
  servers?: string | string[];
  /** Stream duplicate window in ms (re-published events inside it are dropped). Default 10 minutes. */
  duplicateWindowMs?: number;
  /**
   * Drop stored events older than this (0 = keep forever). Undefined: a new stream keeps events
   * forever and an existing stream keeps the max age it has.
   */
  maxAgeMs?: number;
  /** Drop the oldest events once the stream holds this many bytes (-1 = no limit); undefined as for maxAgeMs. */
  maxBytes?: number;
  /** How long `publish` keeps retrying while NATS is unreachable. Default 30 s. */
  publishTimeoutMs?: number;
  /** Per-try acknowledgement timeout of a publish. Default 5 s. */
  ackTimeoutMs?: number;
  /** Credentials file and TLS CA (NATS_CREDS, NATS_TLS_CA); user/password or a token go in the URL (nats-auth.ts). */
  security?: NatsSecurity;
  /** Connection name shown by the server. Default 'trellis'. */
  name?: string;
}

const NS_PER_MS = 1_000_000;

export class NatsBus implements EventBus {
  readonly kind = 'nats';
  /** The servers as given, for messages: credentials in them replaced by ***. */
  private readonly servers: string[];
  private readonly connectOptions: NatsAuthOptions;
  private readonly duplicateWindowMs: number;
  private readonly maxAgeMs: number | undefined;
  private readonly maxBytes: number | undefined;
  private readonly publishTimeoutMs: number;
  private readonly ackTimeoutMs: number;
  private readonly name: string;

  private nc: NatsConnection | undefined;
  private js: JetStreamClient | undefined;
  private jsm: JetStreamManager | undefined;
  private publisher: AckedPublisher | undefined;
  private startPromise: Promise<void> | undefined;
  private closePromise: Promise<void> | undefined;
  private closed = false;
  private readonly closeController = new AbortController();
  private readonly active = new Set<ConsumerMessages>();

  constructor(options: NatsBusOptions = {}) {
    const servers = options.servers;
    const list = (Array.isArray(servers) ? servers : (servers ?? '').split(',')).map((s) => s.trim()).filter(Boolean);
    if (list.length === 0) throw new TypeError('NatsBus: no server (pass servers, e.g. from NATS_URL)');
    this.connectOptions = natsAuthOptions(list, options.security);
    this.servers = list.map(redactNatsUrl);
    this.duplicateWindowMs = options.duplicateWindowMs ?? 10 * 60_000;
    this.maxAgeMs = options.maxAgeMs;
    this.maxBytes = options.maxBytes;
    this.publishTimeoutMs = options.publishTimeoutMs ?? 30_000;
    this.ackTimeoutMs = options.ackTimeoutMs ?? 5_000;
    this.name = options.name ?? 'trellis';
    for (const [key, value, min] of [
      ['duplicateWindowMs', this.duplicateWindowMs, 1],
      ['maxAgeMs', this.maxAgeMs ?? 0, 0],
      ['maxBytes', this.maxBytes ?? -1, -1],
      ['publishTimeoutMs', this.publishTimeoutMs, 1],
      ['ackTimeoutMs', this.ackTimeoutMs, 1],
    ] as const) {
      if (!(Number.isFinite(value) && value >= min))
        throw new TypeError(`NatsBus: ${key} is ${value}, but must be >= ${min}`);
    }
  }

  // ---------------------------------------------------------------- lifecycle

  /** Connects and creates or updates the stream. Retry after a failure is allowed. */
  start(): Promise<void> {
    if (this.closed) return Promise.reject(new Error('NatsBus: already closed'));
    this.startPromise ??= this.doStart().catch(async (err: unknown) => {
      this.startPromise = undefined;
      const nc = this.nc;
      this.nc = undefined;
      this.js = undefined;
      this.jsm = undefined;
      this.publisher?.close();
      this.publisher = undefined;
      await nc?.close().catch(() => undefined);
      throw isRetryable(err) || (err instanceof Error && /ECONNREFUSED|CONNECTION_REFUSED/i.test(err.message))
        ? new BusUnavailableError(`NATS is unreachable at ${this.servers.join(',')}: ${(err as Error).message}`, {
            cause: err,
          })
        : (natsSecurityProblem(err, this.servers) ?? err);
    });
    return this.startPromise;
  }

  private async doStart(): Promise<void> {
    const nc = await connect({
      ...this.connectOptions,
      name: this.name,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
      reconnectJitter: 100,
      pingInterval: 10_000,
      // Without this the client builds an Error (a stack trace) for every publish, in case its
      // acknowledgement times out: ~12 % of the coordinator's busy CPU at 10,000 reports/s.
      // Errors keep their classes and messages; only the publisher's stack is left out.
      noAsyncTraces: true,
    });
    this.nc = nc;
    const jsm = await jetstreamManager(nc, { timeout: this.ackTimeoutMs });
    const config: Partial<StreamConfig> = {
      subjects: [`${SUBJECT_ROOT}.>`],
      storage: StorageType.File,
      retention: RetentionPolicy.Limits,
      discard: DiscardPolicy.Old,
      duplicate_window: this.duplicateWindowMs * NS_PER_MS,
      num_replicas: 1,
      ...(this.maxAgeMs !== undefined ? { max_age: this.maxAgeMs * NS_PER_MS } : {}),
      ...(this.maxBytes !== undefined ? { max_bytes: this.maxBytes } : {}),
    };
    await ensureStream(jsm, config);
    this.jsm = jsm;
    this.js = jetstream(nc, { timeout: this.ackTimeoutMs });
    this.publisher = new AckedPublisher(nc);
  }

  async close(): Promise<void> {
    this.closePromise ??= (async () => {
      this.closed = true;
      this.closeController.abort();
      if (this.startPromise) await this.startPromise.catch(() => undefined);
      for (const m of this.active) m.stop();
      this.active.clear();
      this.publisher?.close();
      this.publisher = undefined;
      const nc = this.nc;
      this.nc = undefined;
      this.js = undefined;
      this.jsm = undefined;
      await nc?.close().catch(() => undefined);
    })();
    return this.closePromise;
  }

  private client(): { js: JetStreamClient; jsm: JetStreamManager; publisher: AckedPublisher } {
    if (this.closed) throw new Error('NatsBus: closed');
    if (!this.js || !this.jsm || !this.publisher) throw new Error('NatsBus: not started');
    return { js: this.js, jsm: this.jsm, publisher: this.publisher };
  }

  // ---------------------------------------------------------------- publish

  async publish(event: TrellisEvent): Promise<void> {
    const { publisher } = this.client();
    const subject = subjectOf(event);
    const payload = JSON.stringify(event);
    const msgID = eventId(event);
    const deadline = Date.now() + this.publishTimeoutMs;
    for (let attempt = 0; ; attempt++) {
      try {
        await publisher.publish(
          subject,
          payload,
          msgID,
          Math.max(1, Math.min(this.ackTimeoutMs, deadline - Date.now())),
        );
        return;
      } catch (err) {
        if (this.closed) throw new Error('NatsBus: closed while publishing', { cause: err });
        if (!isRetryable(err)) throw err;
        const left = deadline - Date.now();
        if (left <= 0) {
          throw new BusUnavailableError(
            `NATS did not acknowledge ${msgID} within ${this.publishTimeoutMs} ms: ${(err as Error).message}`,
            { cause: err },
          );
        }
        await sleep(Math.min(left, backoffMs(attempt)), this.closeController.signal);
      }
    }
  }

  // ---------------------------------------------------------------- subscribe

  subscribe(options: SubscribeOptions = {}): AsyncIterable<TrellisEvent> {
    const subscribedAt = Date.now();
    // Live subscriptions start after the stream's last message as of now (asked eagerly, so
    // that events published after this call are not missed).
    let livePoint: Promise<number | undefined> | undefined;
    if (options.fromSeq === undefined && !this.closed && this.jsm) {
      livePoint = this.jsm.streams.info(STREAM_NAME).then(
        (info) => info.state.last_seq,
        () => undefined,
      );
    }
    return { [Symbol.asyncIterator]: () => this.iterate(options, subscribedAt, livePoint) };
  }

  private async *iterate(
    options: SubscribeOptions,
    subscribedAt: number,
    livePoint: Promise<number | undefined> | undefined,
  ): AsyncGenerator<TrellisEvent> {
    const { signal, fromSeq, experimentId } = options;
    const stopped = (): boolean => this.closed || signal?.aborted === true;
    if (stopped()) return;
    const { js } = this.client();
    const filter =
      experimentId !== undefined ? `${SUBJECT_ROOT}.exp.${subjectToken(experimentId)}.>` : `${SUBJECT_ROOT}.>`;
    const dedup = new SeqDedup(fromSeq);
    let resumeAt: number | undefined;
    let failures = 0;
    let messages: ConsumerMessages | undefined;
    const onAbort = (): void => messages?.stop();
    signal?.addEventListener('abort', onAbort);
    try {
      while (!stopped()) {
        try {
          const copts: Partial<OrderedConsumerOptions> = { filter_subjects: filter };
          if (resumeAt !== undefined) {
            copts.deliver_policy = DeliverPolicy.StartSequence;
            copts.opt_start_seq = resumeAt;
          } else if (fromSeq !== undefined) {
            copts.deliver_policy = DeliverPolicy.All;
          } else {
            const last = livePoint ? await livePoint : undefined;
            if (last !== undefined) {
              copts.deliver_policy = DeliverPolicy.StartSequence;
              copts.opt_start_seq = last + 1;
            } else {
              copts.opt_start_time = new Date(subscribedAt).toISOString();
            }
          }
          const consumer = await js.consumers.get(STREAM_NAME, copts);
          messages = await consumer.consume({ max_messages: 256 });
          this.active.add(messages);
          if (stopped()) break;
          for await (const m of messages) {
            failures = 0;
            resumeAt = m.info.streamSequence + 1;
            let event: TrellisEvent;
            try {
              event = m.json<TrellisEvent>();
            } catch {
              continue; // not ours: ignore what cannot be parsed
            }
            if (event.experimentId === undefined) {
              // Worker events are live only.
              if (fromSeq !== undefined && m.info.timestampNanos / NS_PER_MS < subscribedAt) continue;
            } else if (!dedup.fresh(event.experimentId, event.seq)) {
              continue;
            }
            if (stopped()) break;
            yield event;
          }
        } catch (err) {
          if (stopped()) break;
          failures++;
          void err; // consumer could not be created or broke: back off and resume
        } finally {
          if (messages) {
            this.active.delete(messages);
            messages.stop();
            messages = undefined;
          }
        }
        if (stopped()) break;
        await sleep(backoffMs(failures), signal, this.closeController.signal);
      }
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }
}

/**
 * Drops an experiment event whose seq was already delivered. Keeps, per experiment, the
 * highest seq below which everything was seen plus the seqs seen above it (bounded).
 */
class SeqDedup {
  private readonly seen = new Map<string, { low: number; above: Set<number> }>();
  constructor(private readonly fromSeq: number | undefined) {}

  fresh(experimentId: string, seq: number): boolean {
    let s = this.seen.get(experimentId);
    if (!s) {
      // Replay starts at fromSeq; a live subscription at the first event it gets.
      s = { low: (this.fromSeq ?? seq) - 1, above: new Set() };
      this.seen.set(experimentId, s);
    }
    if (seq <= s.low || s.above.has(seq)) return false;
    s.above.add(seq);
    while (s.above.delete(s.low + 1)) s.low++;
    if (s.above.size > 10_000) {
      // A gap that never fills: give up on it rather than grow without bound.
      s.low = Math.min(...s.above);
      s.above.delete(s.low);
      while (s.above.delete(s.low + 1)) s.low++;
    }
    return true;
  }
}

async function ensureStream(jsm: JetStreamManager, config: Partial<StreamConfig>): Promise<void> {
  for (let tries = 0; ; tries++) {
    try {
      const info = await jsm.streams.info(STREAM_NAME);
      const current = info.config;
      // Only what is configured is compared and set: limits nobody configured stay as they are.
      if (
        current.duplicate_window !== config.duplicate_window ||
        (config.max_age !== undefined && current.max_age !== config.max_age) ||
        (config.max_bytes !== undefined && current.max_bytes !== config.max_bytes) ||
        !(current.subjects ?? []).includes(`${SUBJECT_ROOT}.>`)
      ) {
        await jsm.streams.update(STREAM_NAME, {
          subjects: [...new Set([...(current.subjects ?? []), `${SUBJECT_ROOT}.>`])],
          duplicate_window: config.duplicate_window!,
          ...(config.max_age !== undefined ? { max_age: config.max_age } : {}),
          ...(config.max_bytes !== undefined ? { max_bytes: config.max_bytes } : {}),
        });
      }
      return;
    } catch (err) {
      if (!(err instanceof JetStreamApiError && err.code === 10059)) throw err; // 10059: stream not found
    }
    try {
      await jsm.streams.add({ ...config, name: STREAM_NAME });
      return;
    } catch (err) {
      // Another process created it in between: go round and update it.
      if (tries >= 2) throw err;
    }
  }
}

function isRetryable(err: unknown): boolean {
  if (err instanceof AckTimeoutError || err instanceof NoStreamError) return true;
  if (err instanceof PublishRefusedError) return err.code === 503;
  if (err instanceof TimeoutError || err instanceof NoRespondersError || err instanceof ConnectionError) return true;
  if (err instanceof RequestError) return true;
  if (err instanceof JetStreamApiError) return err.code === 503;
  return (
    err instanceof Error &&
    (err.name === 'JetStreamNotEnabled' || err.name === 'TimeoutError' || err.name === 'NoRespondersError')
  );
}

function backoffMs(attempt: number): number {
  return Math.min(2000, 100 * 2 ** Math.min(attempt, 5));
}

/** Resolves after ms, or early when any signal aborts. */
function sleep(ms: number, ...signals: (AbortSignal | undefined)[]): Promise<void> {
  return new Promise((resolve) => {
    const live = signals.filter((s): s is AbortSignal => s !== undefined);
    if (live.some((s) => s.aborted)) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      for (const s of live) s.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    for (const s of live) s.addEventListener('abort', done, { once: true });
  });
}
