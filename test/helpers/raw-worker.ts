/**
 * A worker spoken by hand over real gRPC (`WorkerService.Connect`), for tests that play a
 * hostile or a scripted worker: it says the hello it is given, records assignments, stops and
 * the stream's final status, and sends whatever the test tells it to. Every wait has a deadline.
 */
import type * as grpc from '@grpc/grpc-js';
import type { WorkerServiceClient } from '../../shared/proto.js';
import type { Assignment__Output } from '../../shared/generated/trellis/v1/Assignment.js';
import type { CoordinatorMessage__Output } from '../../shared/generated/trellis/v1/CoordinatorMessage.js';
import type { Hello } from '../../shared/generated/trellis/v1/Hello.js';
import type { WorkerMessage } from '../../shared/generated/trellis/v1/WorkerMessage.js';
import { within } from './deadline.js';

type Stream = grpc.ClientDuplexStream<WorkerMessage, CoordinatorMessage__Output>;

/** Resolves when `predicate` holds for an element of `list`, polling on each arrival. */
class Inbox<T> {
  readonly items: T[] = [];
  private waiters: (() => void)[] = [];
  push(item: T): void {
    this.items.push(item);
    for (const w of this.waiters.splice(0)) w();
  }
  async find(predicate: (item: T) => boolean, ms: number, what: string): Promise<T> {
    const search = async (): Promise<T> => {
      for (;;) {
        const hit = this.items.find(predicate);
        if (hit) return hit;
        await new Promise<void>((resolve) => this.waiters.push(resolve));
      }
    };
    return within(search(), ms, what);
  }
}

export class RawWorker {
  readonly assignments = new Inbox<Assignment__Output>();
  readonly stops = new Inbox<{ attempt_id: string; reason: string }>();
  /** The stream's final status (code and details), once it ended. */
  readonly ended: Promise<{ code: number; details: string }>;
  readonly welcomed: Promise<{ heartbeatMs: number }>;
  private readonly stream: Stream;
  private heartbeat: NodeJS.Timeout | undefined;

  constructor(client: WorkerServiceClient, hello: Hello) {
    this.stream = client.Connect() as unknown as Stream;
    let welcome!: (w: { heartbeatMs: number }) => void;
    this.welcomed = new Promise((resolve) => (welcome = resolve));
    this.stream.on('data', (message: CoordinatorMessage__Output) => {
      if (message.welcome) welcome({ heartbeatMs: Number(message.welcome.heartbeat_ms) });
      if (message.assign) this.assignments.push(message.assign);
      // One Stop may name several attempts (attempt_id, then attempt_ids): one entry each.
      if (message.stop) {
        for (const id of new Set([message.stop.attempt_id, ...(message.stop.attempt_ids ?? [])])) {
          if (id) this.stops.push({ attempt_id: id, reason: message.stop.reason });
        }
      }
    });
    this.ended = new Promise((resolve) => {
      this.stream.on('status', (status: grpc.StatusObject) => resolve({ code: status.code, details: status.details }));
    });
    this.stream.on('error', () => undefined); // the status above carries it
    this.stream.write({ hello });
  }

  send(message: WorkerMessage): void {
    this.stream.write(message);
  }

  /** Heartbeats listing `running()` at the coordinator's interval, as a live worker does. */
  async heartbeats(running: () => string[]): Promise<void> {
    const { heartbeatMs } = await within(this.welcomed, 20_000, 'a welcome');
    this.heartbeat = setInterval(() => this.send({ heartbeat: { running_attempt_ids: running() } }), heartbeatMs);
  }

  private readonly taken = new Set<string>();

  /** The next assignment not returned before. */
  async nextAssignment(ms = 30_000): Promise<Assignment__Output> {
    const next = await this.assignments.find((a) => !this.taken.has(a.attempt_id), ms, 'an assignment');
    this.taken.add(next.attempt_id);
    return next;
  }

  /** Waits for the stream to end; its status. */
  status(ms = 20_000): Promise<{ code: number; details: string }> {
    return within(this.ended, ms, 'the end of the worker stream');
  }

  close(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.stream.cancel();
  }
}

/** A unary WorkerService call as a promise (deadline 20 s). */
export function workerCall<T>(
  client: WorkerServiceClient,
  method: 'GetArtifact' | 'PutArtifact',
  request: object,
): Promise<T> {
  return new Promise((resolve, reject) =>
    (
      client[method] as unknown as (
        r: object,
        o: grpc.CallOptions,
        cb: (e: grpc.ServiceError | null, v?: T) => void,
      ) => void
    ).call(client, request, { deadline: Date.now() + 20_000 }, (err, value) =>
      err ? reject(err) : resolve(value as T),
    ),
  );
}
