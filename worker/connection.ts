/**
 * The worker's connection to the coordinator: one bidirectional `WorkerService.Connect` stream at
 * a time, opened again with jittered exponential backoff when it ends, the two unary artifact
 * calls and the streamed ones (shared/artifact-transfer.ts). It knows nothing about running attempts; the agent tells it what to say hello with and
 * hears about welcomes, assignments and stops.
 *
 * Delivery: `send` writes to the open stream, or keeps the message in a bounded outbox until the
 * next one (progress is dropped first when the outbox is full). An attempt's outcome (result,
 * failure, stopped) is kept until the stream it went out on has stayed up for three heartbeats
 * after it, and written again on the next stream otherwise: a write to a stream that breaks is
 * lost silently, and the coordinator ignores an outcome it already has.
 */
import type { GpuMemory } from '../shared/generated/trellis/v1/GpuMemory.js';
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { loadProto, type WorkerServiceClient } from '../shared/proto.js';
import type { WorkerMessage } from '../shared/generated/trellis/v1/WorkerMessage.js';
import type { CoordinatorMessage__Output } from '../shared/generated/trellis/v1/CoordinatorMessage.js';
import type { Assignment__Output } from '../shared/generated/trellis/v1/Assignment.js';
import type { Hello } from '../shared/generated/trellis/v1/Hello.js';
import { tokenInterceptors } from '../shared/token-metadata.js';
import {
  downloadFile,
  uploadFile,
  type Downloaded,
  type DownloadRequest,
  type UploadRequest,
} from '../shared/artifact-transfer.js';
import { channelCredentials, transportHint, usesTls, type ClientTls } from '../shared/tls.js';

const OUTBOX_LIMIT = 10_000;
/** Deadline of a GetArtifact / PutArtifact call. */
const UNARY_DEADLINE_MS = 120_000;
/** How long closing waits for the stream to end after half-closing it. */
const CLOSE_WAIT_MS = 2000;

type Stream = grpc.ClientDuplexStream<WorkerMessage, CoordinatorMessage__Output>;

export interface ConnectionOptions {
  /** The coordinator's `host:port`. */
  address: string;
  /** Sent as call metadata on every call (see shared/token-metadata.ts). */
  token?: string;
  /** TLS (shared/tls.ts): the CA to trust, and this worker's certificate for mTLS; absent: plaintext. */
  tls?: ClientTls;
  log: Logger;
  /** The hello sent first on every stream (slots, labels, runtimes, running attempts). */
  hello(): Hello;
  /** Running attempt ids, sent with every heartbeat. */
  runningAttempts(): string[];
  /** The GPUs' memory, sent with every heartbeat (absent: none sent). */
  gpuMemory?(): GpuMemory[];
  onAssign(assignment: Assignment__Output): void;
  onStop(attemptId: string, reason: string): void;
  /** An operator drained this worker (DrainWorker): shut down as on SIGTERM. */
  onDrain?(reason: string): void;
  /** Extra gRPC channel options (a benchmark gives each simulated worker its own connection this way). */
  channelOptions?: grpc.ChannelOptions;
  /** Backoff bounds for reconnecting (defaults 100 ms and 5 s). */
  reconnectMinMs?: number;
  reconnectMaxMs?: number;
}

/** What running attempts need from the connection. */
export interface CoordinatorLink {
  send(message: WorkerMessage): void;
  unary<T>(method: 'GetArtifact' | 'PutArtifact', request: object): Promise<T>;
  /** Sends a file as an artifact in chunks (PutArtifactStream), resuming after a broken call. */
  uploadFile(request: UploadRequest, signal?: AbortSignal): Promise<string>;
  /** Reads an artifact into a file in chunks (GetArtifactStream), resuming; sha256 checked. */
  downloadFile(request: DownloadRequest, signal?: AbortSignal): Promise<Downloaded>;
}

export class CoordinatorConnection implements CoordinatorLink {
  private readonly client: WorkerServiceClient;
  private readonly log: Logger;
  private call: Stream | undefined;
  private outbox: WorkerMessage[] = [];
  private heartbeatTimer: NodeJS.Timeout | undefined;
  /** The coordinator's heartbeat interval, from its welcome. */
  private heartbeatMs: number | undefined;
  private loop: Promise<void> | undefined;
  private closing: Promise<void> | undefined;
  /** Set first thing by close: the loop stops reconnecting. */
  private closed = false;
  private draining = false;
  private wakeLoop: (() => void) | undefined;
  private readonly connectedListeners = new Set<() => void>();
  /** The last configuration problem logged (TLS, credentials): logged again only when it changes. */
  private lastProblem: string | undefined;
  /** Outcomes not yet known to have reached the coordinator (see writeTracked). */
  private readonly unconfirmed = new Map<
    string,
    { message: WorkerMessage; sentAt: number; call: Stream | undefined }
  >();

  constructor(private readonly options: ConnectionOptions) {
    this.log = options.log;
    const { proto } = loadProto();
    this.client = new proto.trellis.v1.WorkerService(options.address, channelCredentials(options.tls), {
      'grpc.max_receive_message_length': 256 * 1024 * 1024,
      'grpc.max_send_message_length': 256 * 1024 * 1024,
      'grpc.keepalive_time_ms': 20_000,
      'grpc.keepalive_permit_without_calls': 1,
      ...options.channelOptions,
      interceptors: tokenInterceptors(options.token),
    }) as unknown as WorkerServiceClient;
  }

  /** Called each time the coordinator welcomes this worker. */
  onConnected(listener: () => void): () => void {
    this.connectedListeners.add(listener);
    return () => this.connectedListeners.delete(listener);
  }

  /** Connects, and keeps connecting until close. Idempotent. */
  open(): void {
    this.loop ??= this.connectLoop();
  }

  /** Tells the coordinator (now, and after every reconnect) that this worker takes no new attempts. */
  drain(): void {
    this.draining = true;
    this.send({ draining: {} });
  }

  /** Idempotent: half-closes the stream (bounded wait), stops reconnecting, closes the channel. */
  close(): Promise<void> {
    this.closed = true;
    this.closing ??= (async () => {
      await this.flushAndClose();
      this.wakeLoop?.();
      await this.loop;
      this.client.close();
    })();
    return this.closing;
  }

  /** Sends now, or keeps the message until the next connection (bounded; progress and live output dropped first). */
  send(message: WorkerMessage): void {
    if (this.call) {
      this.writeTracked(this.call, message);
      return;
    }
    if (this.outbox.length >= OUTBOX_LIMIT) {
      const index = this.outbox.findIndex((m) => m.progress || (m.output && !m.output.final));
      if (index >= 0) this.outbox.splice(index, 1);
      else this.outbox.shift();
    }
    this.outbox.push(message);
  }

  unary<T>(method: 'GetArtifact' | 'PutArtifact', request: object): Promise<T> {
    return new Promise((resolve, reject) => {
      const deadline = new Date(Date.now() + UNARY_DEADLINE_MS);
      (
        this.client[method] as unknown as (
          r: object,
          o: grpc.CallOptions,
          cb: (e: grpc.ServiceError | null, v?: T) => void,
        ) => void
      )(request, { deadline }, (err, value) => (err ? reject(err) : resolve(value as T)));
    });
  }

  uploadFile(request: UploadRequest, signal?: AbortSignal): Promise<string> {
    return uploadFile(this.client, request, {
      ...(signal ? { signal } : {}),
      onResume: (err, offset) =>
        this.log.warn({ err: err.message, offset, kind: request.kind }, 'artifact upload broken; resuming'),
    });
  }

  downloadFile(request: DownloadRequest, signal?: AbortSignal): Promise<Downloaded> {
    return downloadFile(this.client, request, {
      ...(signal ? { signal } : {}),
      onResume: (err, offset) =>
        this.log.warn(
          { err: err.message, offset, artifactId: request.artifactId },
          'artifact download broken; resuming',
        ),
    });
  }

  private async connectLoop(): Promise<void> {
    const min = this.options.reconnectMinMs ?? 100;
    const max = this.options.reconnectMaxMs ?? 5000;
    let backoff = min;
    while (!this.closed) {
      const welcomed = await this.session(() => (backoff = min));
      if (this.closed) return;
      const wait = Math.round(backoff * (0.5 + Math.random() / 2));
      this.log.warn({ retryInMs: wait, welcomed }, 'disconnected from coordinator; reconnecting');
      // Not unref'd: a worker waiting to reconnect must stay alive (close wakes it).
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, wait);
        this.wakeLoop = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wakeLoop = undefined;
      // Never wait longer than a heartbeat interval: the lease (three of them) must not run out
      // while the coordinator is back and the worker is still backing off.
      backoff = Math.min(max, this.heartbeatMs ?? max, backoff * 2);
    }
  }

  /** One stream: hello, outbox, heartbeats, until it ends. Resolves with whether it was welcomed. */
  private session(onWelcome: () => void): Promise<boolean> {
    return new Promise((resolve) => {
      let welcomed = false;
      const call = this.client.Connect();
      this.call = call;
      const finish = (): void => {
        if (this.call === call) this.call = undefined;
        if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
        this.heartbeatTimer = undefined;
        resolve(welcomed);
      };
      call.on('data', (message: CoordinatorMessage__Output) => {
        if (message.body === 'welcome') {
          welcomed = true;
          onWelcome();
          const every = Math.max(20, Number(message.welcome?.heartbeat_ms ?? 1000));
          this.heartbeatMs = every;
          if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
          this.heartbeatTimer = setInterval(() => {
            this.call?.write({
              heartbeat: {
                running_attempt_ids: this.options.runningAttempts(),
                gpu_memory: this.options.gpuMemory?.() ?? [],
              },
            });
            this.forgetDelivered(3 * every);
          }, every);
          this.heartbeatTimer.unref();
          for (const listener of this.connectedListeners) listener();
        } else if (message.body === 'assign') {
          this.options.onAssign(message.assign!);
        } else if (message.body === 'stop') {
          // One Stop may name many attempts (attempt_id, then attempt_ids); each is stopped once.
          const stop = message.stop!;
          for (const id of new Set([stop.attempt_id, ...(stop.attempt_ids ?? [])]))
            if (id) this.options.onStop(id, stop.reason);
        } else if (message.body === 'drain') {
          this.options.onDrain?.(message.drain!.reason);
        }
      });
      call.on('error', (err: grpc.ServiceError) => {
        if (err.code !== grpc.status.CANCELLED) this.log.debug({ err: err.message }, 'stream error');
        this.reportProblem(err);
        finish();
      });
      call.on('end', finish);
      call.on('close', finish);
      call.write({ hello: this.options.hello() });
      if (this.draining) call.write({ draining: {} });
      // Outcomes written to the previous stream may have died with it: send them again.
      for (const entry of this.unconfirmed.values()) {
        entry.sentAt = Date.now();
        entry.call = call;
        call.write(entry.message);
      }
      const pending = this.outbox;
      this.outbox = [];
      for (const message of pending) this.writeTracked(call, message);
    });
  }

  /**
   * A stream that fails for a reason reconnecting will not fix (TLS on one side only, an untrusted
   * certificate, a refused identity) is logged as an error, once per distinct reason; the worker
   * keeps retrying (the coordinator may be being reconfigured), at the usual backoff.
   */
  private reportProblem(err: grpc.ServiceError): void {
    const problem =
      err.code === grpc.status.UNAVAILABLE
        ? transportHint(err.details ?? err.message, this.options.address, usesTls(this.options.tls))
        : err.code === grpc.status.UNAUTHENTICATED || err.code === grpc.status.PERMISSION_DENIED
          ? `the coordinator refused this worker: ${err.details}`
          : undefined;
    if (problem && problem !== this.lastProblem) this.log.error({ coordinator: this.options.address }, problem);
    this.lastProblem = problem ?? this.lastProblem;
  }

  /** Writes; an attempt's outcome is also kept until the stream has stayed up after it (forgetDelivered). */
  private writeTracked(call: Stream, message: WorkerMessage): void {
    const attemptId = message.result?.attempt_id ?? message.failure?.attempt_id ?? message.stopped?.attempt_id;
    if (attemptId) this.unconfirmed.set(attemptId, { message, sentAt: Date.now(), call });
    call.write(message);
  }

  private forgetDelivered(afterMs: number): void {
    const now = Date.now();
    for (const [attemptId, entry] of this.unconfirmed) {
      if (entry.call === this.call && now - entry.sentAt > afterMs) this.unconfirmed.delete(attemptId);
    }
  }

  private async flushAndClose(): Promise<void> {
    const call = this.call;
    if (!call) return;
    await new Promise<void>((resolve) => {
      call.once('close', resolve);
      call.once('error', () => resolve());
      call.end();
      setTimeout(resolve, CLOSE_WAIT_MS).unref();
    });
  }
}
