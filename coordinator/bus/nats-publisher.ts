/**
 * JetStream publishes with acknowledgements, on core NATS. Each message goes out with its
 * `Nats-Msg-Id` header and a reply subject under one inbox subscription; the stream's PubAck
 * (JSON), its error, or the server's no-responders status comes back there. This is the wire
 * protocol of @nats-io/jetstream's `publish`, which NatsBus still uses for everything else.
 *
 * Why not `js.publish`: each of its calls is a core request with its own request object,
 * timer and backoff, and it builds an Error (with a stack trace) for every message, even one
 * that was acknowledged. Here one interval timer checks the deadlines of all messages in
 * flight. Client CPU per acknowledged message, 256 in flight against a local nats-server:
 * 21 µs with `js.publish`, 8 µs here (bench/README.md, "ingest").
 */
import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import { createInbox, headers } from '@nats-io/transport-node';

/** No acknowledgement within the message's timeout (retryable: the message id makes a re-publish safe). */
export class AckTimeoutError extends Error {
  override readonly name = 'AckTimeoutError';
}

/** The server answered with no responders: no stream listens on the subject (yet), or JetStream is off. */
export class NoStreamError extends Error {
  override readonly name = 'NoStreamError';
}

/** The stream refused the message; `code` is the JetStream API error's (503: unavailable, retryable). */
export class PublishRefusedError extends Error {
  override readonly name = 'PublishRefusedError';
  constructor(
    message: string,
    readonly code: number,
  ) {
    super(message);
  }
}

interface InFlight {
  resolve: () => void;
  reject: (err: Error) => void;
  deadline: number;
  subject: string;
}

/** How often deadlines are checked (a late acknowledgement is noticed this much late at most). */
const DEADLINE_TICK_MS = 50;

export class AckedPublisher {
  private readonly inbox: string;
  private readonly inFlight = new Map<string, InFlight>();
  private readonly subscription: Subscription;
  private nextToken = 0;
  private ticker: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly nc: NatsConnection) {
    this.inbox = createInbox();
    this.subscription = nc.subscribe(`${this.inbox}.*`, {
      callback: (err, msg) => this.onReply(err, msg),
    });
  }

  /** Resolves once the stream has stored the message (or already had its id). */
  publish(subject: string, payload: string, msgID: string, timeoutMs: number): Promise<void> {
    if (this.closed) return Promise.reject(new Error('publisher closed'));
    const token = (this.nextToken++).toString(36);
    const h = headers();
    h.set('Nats-Msg-Id', msgID);
    return new Promise<void>((resolve, reject) => {
      try {
        this.nc.publish(subject, payload, { reply: `${this.inbox}.${token}`, headers: h });
      } catch (err) {
        reject(err instanceof Error ? err : new Error(String(err)));
        return;
      }
      this.inFlight.set(token, { resolve, reject, deadline: Date.now() + timeoutMs, subject });
      this.ticker ??= setInterval(() => this.expire(), DEADLINE_TICK_MS).unref();
    });
  }

  /** Rejects what is in flight and stops listening. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.stopTicker();
    const err = new Error('publisher closed');
    for (const f of this.inFlight.values()) f.reject(err);
    this.inFlight.clear();
    this.subscription.unsubscribe();
  }

  private onReply(err: Error | null, msg: Msg): void {
    const token = msg.subject.slice(this.inbox.length + 1);
    const f = this.inFlight.get(token);
    if (!f) return; // timed out already, or not ours
    this.inFlight.delete(token);
    if (this.inFlight.size === 0) this.stopTicker();
    if (err) return f.reject(err);
    if (msg.data.length === 0 && msg.headers?.code === 503) {
      return f.reject(new NoStreamError(`no stream answered on ${f.subject}`));
    }
    let ack: { stream?: string; error?: { code?: number; description?: string } };
    try {
      ack = msg.json();
    } catch {
      return f.reject(new Error(`unreadable acknowledgement for ${f.subject}`));
    }
    if (ack.error) {
      return f.reject(
        new PublishRefusedError(`JetStream refused ${f.subject}: ${ack.error.description ?? ''}`, ack.error.code ?? 0),
      );
    }
    if (!ack.stream) return f.reject(new Error(`invalid acknowledgement for ${f.subject}`));
    f.resolve();
  }

  private expire(): void {
    const now = Date.now();
    for (const [token, f] of this.inFlight) {
      if (f.deadline > now) continue;
      this.inFlight.delete(token);
      f.reject(new AckTimeoutError(`no acknowledgement for ${f.subject} in time`));
    }
    if (this.inFlight.size === 0) this.stopTicker();
  }

  private stopTicker(): void {
    if (this.ticker) clearInterval(this.ticker);
    this.ticker = undefined;
  }
}
