/**
 * The worker agent: a stateless process that connects to the coordinator, advertises its
 * slots, runs the attempts it is assigned (concurrently, up to its slots), streams progress,
 * checkpoints and results back, obeys stop, reconnects with backoff, and shuts down
 * gracefully (finish or hand back running attempts, bounded by a timeout).
 */
import * as grpc from '@grpc/grpc-js';
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { loadProto, type WorkerServiceClient } from '../shared/proto.js';
import type { WorkerMessage } from '../shared/generated/trellis/v1/WorkerMessage.js';
import type { CoordinatorMessage__Output } from '../shared/generated/trellis/v1/CoordinatorMessage.js';
import type { Assignment__Output } from '../shared/generated/trellis/v1/Assignment.js';
import type { AttemptContext, Checkpoint } from './runtimes/base.js';
import { PermanentRunError, StoppedError } from './runtimes/base.js';
import { getRuntime, runtimeNames } from './runtimes/registry.js';
import { codeVersion } from '../shared/version.js';
import type { TrialConfig } from '../shared/spec/schema.js';
import type { Params } from '../shared/spec/space.js';
import { mapArtifactRefsAsync } from '../shared/artifact-refs.js';

export interface GpuSlot {
  id: string;
  name: string;
  memoryBytes: number;
}

export interface WorkerOptions {
  coordinator: string;
  id?: string;
  cpus: number;
  gpus?: GpuSlot[];
  memoryBytes?: number;
  labels?: Record<string, string>;
  runtimes?: string[];
  log: Logger;
  /** How long shutdown waits for running attempts before handing them back (default 30 s). */
  shutdownGraceMs?: number;
  /** Backoff bounds for reconnecting. */
  reconnectMinMs?: number;
  reconnectMaxMs?: number;
}

export type WorkerState = 'created' | 'running' | 'draining' | 'stopped';

interface RunningAttempt {
  assignment: Assignment__Output;
  controller: AbortController;
  done: Promise<void>;
  lastStep: number;
}

const OUTBOX_LIMIT = 10_000;
/** Outputs whose JSON is longer than this travel as artifacts (see storeLargeOutputs). */
const OUTPUT_INLINE_LIMIT = 64 * 1024;

export class WorkerAgent {
  readonly id: string;
  private readonly client: WorkerServiceClient;
  private readonly log: Logger;
  private state: WorkerState = 'created';
  private call: grpc.ClientDuplexStream<WorkerMessage, CoordinatorMessage__Output> | undefined;
  private readonly attempts = new Map<string, RunningAttempt>();
  private outbox: WorkerMessage[] = [];
  private heartbeatTimer: NodeJS.Timeout | undefined;
  /** The coordinator's heartbeat interval, from its welcome. */
  private heartbeatMs: number | undefined;
  private loop: Promise<void> | undefined;
  private shutdownPromise: Promise<void> | undefined;
  private wakeLoop: (() => void) | undefined;
  private readonly connectedListeners = new Set<() => void>();
  /** Outcomes not yet known to have reached the coordinator (see writeTracked). */
  private readonly unconfirmed = new Map<
    string,
    {
      message: WorkerMessage;
      sentAt: number;
      call: grpc.ClientDuplexStream<WorkerMessage, CoordinatorMessage__Output> | undefined;
    }
  >();

  constructor(private readonly options: WorkerOptions) {
    this.id = options.id ?? `${hostname()}-${process.pid}-${randomUUID().slice(0, 4)}`;
    this.log = options.log.child({ workerId: this.id });
    const { proto } = loadProto();
    this.client = new proto.trellis.v1.WorkerService(options.coordinator, grpc.credentials.createInsecure(), {
      'grpc.max_receive_message_length': 256 * 1024 * 1024,
      'grpc.max_send_message_length': 256 * 1024 * 1024,
      'grpc.keepalive_time_ms': 20_000,
      'grpc.keepalive_permit_without_calls': 1,
    }) as unknown as WorkerServiceClient;
  }

  get status(): WorkerState {
    return this.state;
  }

  get runningAttempts(): string[] {
    return [...this.attempts.keys()];
  }

  /** Called each time the coordinator welcomes this worker (tests wait on it). */
  onConnected(listener: () => void): () => void {
    this.connectedListeners.add(listener);
    return () => this.connectedListeners.delete(listener);
  }

  start(): void {
    if (this.state !== 'created') return;
    this.state = 'running';
    this.loop = this.connectLoop();
  }

  /**
   * Idempotent. Tells the coordinator it is draining, waits up to the grace time for running
   * attempts to finish, hands back the rest (the coordinator requeues them), then disconnects.
   */
  shutdown(graceMs = this.options.shutdownGraceMs ?? 30_000): Promise<void> {
    this.shutdownPromise ??= (async () => {
      if (this.state === 'created') {
        this.state = 'stopped';
        this.client.close();
        return;
      }
      this.state = 'draining';
      this.send({ draining: {} });
      const running = [...this.attempts.values()].map((a) => a.done);
      const finished = await Promise.race([
        Promise.all(running).then(() => true),
        new Promise<boolean>((resolve) => setTimeout(() => resolve(false), graceMs).unref()),
      ]);
      if (!finished) {
        this.log.warn({ attempts: this.runningAttempts }, 'grace time over; handing running attempts back');
        for (const attempt of this.attempts.values()) attempt.controller.abort(new StoppedError('handed_back'));
        await Promise.race([
          Promise.all([...this.attempts.values()].map((a) => a.done)),
          new Promise((resolve) => setTimeout(resolve, 5000).unref()),
        ]);
      }
      this.state = 'stopped';
      await this.flushAndClose();
      this.wakeLoop?.();
      await this.loop;
      this.client.close();
    })();
    return this.shutdownPromise;
  }

  // ---------------------------------------------------------------- connection

  private async connectLoop(): Promise<void> {
    const min = this.options.reconnectMinMs ?? 100;
    const max = this.options.reconnectMaxMs ?? 5000;
    let backoff = min;
    while (this.state === 'running' || this.state === 'draining') {
      const welcomed = await this.session(() => (backoff = min));
      if (this.status === 'stopped') return;
      const wait = Math.round(backoff * (0.5 + Math.random() / 2));
      this.log.warn({ retryInMs: wait, welcomed }, 'disconnected from coordinator; reconnecting');
      // Not unref'd: a worker waiting to reconnect must stay alive (shutdown wakes it).
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

  /** One connection: hello, outbox, heartbeats, until the stream ends. */
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
            this.write({ heartbeat: { running_attempt_ids: this.runningAttempts } });
            this.forgetDelivered(3 * every);
          }, every);
          this.heartbeatTimer.unref();
          for (const listener of this.connectedListeners) listener();
        } else if (message.body === 'assign') {
          this.onAssign(message.assign!);
        } else if (message.body === 'stop') {
          this.onStop(message.stop!.attempt_id, message.stop!.reason);
        }
      });
      call.on('error', (err: grpc.ServiceError) => {
        if (err.code !== grpc.status.CANCELLED) this.log.debug({ err: err.message }, 'stream error');
        finish();
      });
      call.on('end', finish);
      call.on('close', finish);
      call.write({
        hello: {
          worker_id: this.id,
          slots: {
            cpus: this.options.cpus,
            gpus: (this.options.gpus ?? []).map((g) => ({
              id: g.id,
              name: g.name,
              memory_bytes: String(g.memoryBytes),
            })),
            memory_bytes: String(this.options.memoryBytes ?? 0),
          },
          labels: this.options.labels ?? {},
          runtimes: this.options.runtimes ?? runtimeNames(),
          version: codeVersion(),
          running_attempt_ids: this.runningAttempts,
        },
      });
      if (this.state === 'draining') call.write({ draining: {} });
      // Outcomes written to the previous stream may have died with it (a write to a broken
      // stream is lost silently): send them again. The coordinator ignores an outcome it has.
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

  private write(message: WorkerMessage): void {
    this.call?.write(message);
  }

  /**
   * An attempt's outcome (result, failure, stopped) is kept until the stream it went out on has
   * stayed up for a few heartbeats after it, and re-sent on the next connection otherwise.
   */
  private writeTracked(
    call: grpc.ClientDuplexStream<WorkerMessage, CoordinatorMessage__Output>,
    message: WorkerMessage,
  ): void {
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

  /** Sends now, or keeps the message until the next connection (bounded; progress dropped first). */
  private send(message: WorkerMessage): void {
    if (this.call) {
      this.writeTracked(this.call, message);
      return;
    }
    if (this.outbox.length >= OUTBOX_LIMIT) {
      const index = this.outbox.findIndex((m) => m.progress);
      if (index >= 0) this.outbox.splice(index, 1);
      else this.outbox.shift();
    }
    this.outbox.push(message);
  }

  private async flushAndClose(): Promise<void> {
    const call = this.call;
    if (!call) return;
    await new Promise<void>((resolve) => {
      call.once('close', resolve);
      call.once('error', () => resolve());
      call.end();
      setTimeout(resolve, 2000).unref();
    });
  }

  // ---------------------------------------------------------------- attempts

  private onAssign(assignment: Assignment__Output): void {
    if (this.attempts.has(assignment.attempt_id)) return; // a duplicate assignment is ignored
    if (this.state !== 'running') {
      this.send({ stopped: { attempt_id: assignment.attempt_id, reason: 'handed_back' } });
      return;
    }
    const controller = new AbortController();
    const attempt: RunningAttempt = { assignment, controller, done: Promise.resolve(), lastStep: -Infinity };
    this.attempts.set(assignment.attempt_id, attempt);
    attempt.done = this.runAttempt(attempt).finally(() => this.attempts.delete(assignment.attempt_id));
  }

  private onStop(attemptId: string, reason: string): void {
    const attempt = this.attempts.get(attemptId);
    if (!attempt) return;
    this.log.info({ attemptId, reason }, 'stopping attempt');
    attempt.controller.abort(new StoppedError(reason || 'stopped'));
  }

  private async runAttempt(attempt: RunningAttempt): Promise<void> {
    const a = attempt.assignment;
    const log = this.log.child({ attemptId: a.attempt_id, trialId: a.trial_id });
    const started = Date.now();
    try {
      const runtime = await getRuntime(a.runtime);
      const ctx = this.contextFor(attempt, log);
      ctx.config = (await this.resolveArtifactRefs(ctx.config)) as typeof ctx.config;
      log.info({ runtime: a.runtime, gpus: a.gpu_ids }, 'attempt started');
      const result = await runtime.run(ctx);
      if (attempt.controller.signal.aborted) throw attempt.controller.signal.reason;
      if (result.info.outputs && typeof result.info.outputs === 'object') {
        result.info.outputs = await this.storeLargeOutputs(
          a.attempt_id,
          result.info.outputs as Record<string, unknown>,
        );
      }
      this.send({
        result: {
          attempt_id: a.attempt_id,
          metrics: finiteOnly(result.metrics),
          info_json: JSON.stringify({
            ...result.info,
            workerId: this.id,
            codeVersion: codeVersion(),
            durationMs: Date.now() - started,
          }),
        },
      });
      log.info({ metrics: result.metrics, ms: Date.now() - started }, 'attempt succeeded');
    } catch (err) {
      const reason: unknown = attempt.controller.signal.aborted ? attempt.controller.signal.reason : undefined;
      if (reason instanceof StoppedError || err instanceof StoppedError) {
        const why = reason instanceof StoppedError ? reason.message : (err as Error).message;
        this.send({ stopped: { attempt_id: a.attempt_id, reason: why === 'handed_back' ? 'handed_back' : 'stopped' } });
        log.info({ reason: why }, 'attempt stopped');
        return;
      }
      const message = err instanceof Error ? err.message : String(err);
      const retryable = !(err instanceof PermanentRunError);
      this.send({ failure: { attempt_id: a.attempt_id, error: message.slice(0, 8000), retryable } });
      log.warn({ err: message, retryable }, 'attempt failed');
    }
  }

  private contextFor(attempt: RunningAttempt, log: Logger): AttemptContext {
    const a = attempt.assignment;
    const config = JSON.parse(a.config_json) as TrialConfig;
    const params = JSON.parse(a.params_json || '{}') as Params;
    return {
      experimentId: a.experiment_id,
      trialId: a.trial_id,
      trialNumber: a.trial_number,
      attemptId: a.attempt_id,
      attemptNumber: a.attempt,
      config,
      params,
      seed: Number(a.seed),
      gpuIds: a.gpu_ids,
      signal: attempt.controller.signal,
      report: (step, metrics) => {
        if (step <= attempt.lastStep) return;
        attempt.lastStep = step;
        this.send({ progress: { attempt_id: a.attempt_id, step, metrics: finiteOnly(metrics) } });
      },
      checkpoint: {
        load: async (): Promise<Checkpoint | undefined> => {
          if (!a.checkpoint_artifact_id) return undefined;
          const response = await this.unary<{ data: Buffer }>('GetArtifact', { artifact_id: a.checkpoint_artifact_id });
          attempt.lastStep = Math.max(attempt.lastStep, a.checkpoint_step);
          return { step: a.checkpoint_step, data: Buffer.from(response.data) };
        },
        save: async (checkpoint: Checkpoint): Promise<void> => {
          const response = await this.unary<{ artifact_id: string }>('PutArtifact', {
            attempt_id: a.attempt_id,
            kind: 'checkpoint',
            step: checkpoint.step,
            data: checkpoint.data,
          });
          this.send({
            checkpoint: { attempt_id: a.attempt_id, artifact_id: response.artifact_id, step: checkpoint.step },
          });
        },
      },
      log: (line) => log.info({ line }, 'trial log'),
    };
  }

  /**
   * Stage outputs larger than OUTPUT_INLINE_LIMIT travel as artifacts: the value is stored with
   * PutArtifact and replaced by `{ "$artifact": id }`. A later stage's config holding such a
   * reference gets the value back (resolveArtifactRefs) before its task sees it.
   */
  private async storeLargeOutputs(
    attemptId: string,
    outputs: Record<string, unknown>,
  ): Promise<Record<string, unknown>> {
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(outputs)) {
      const json = JSON.stringify(value);
      if (json !== undefined && json.length > OUTPUT_INLINE_LIMIT) {
        const response = await this.unary<{ artifact_id: string }>('PutArtifact', {
          attempt_id: attemptId,
          kind: `output-${key}`,
          step: 0,
          data: Buffer.from(json),
        });
        out[key] = { $artifact: response.artifact_id };
      } else {
        out[key] = value;
      }
    }
    return out;
  }

  private resolveArtifactRefs(value: unknown): Promise<unknown> {
    return mapArtifactRefsAsync(value, async (id) => {
      const response = await this.unary<{ data: Buffer }>('GetArtifact', { artifact_id: id });
      return JSON.parse(Buffer.from(response.data).toString('utf8')) as unknown;
    });
  }

  private unary<T>(method: 'GetArtifact' | 'PutArtifact', request: object): Promise<T> {
    return new Promise((resolve, reject) => {
      const deadline = new Date(Date.now() + 120_000);
      (
        this.client[method] as unknown as (
          r: object,
          o: grpc.CallOptions,
          cb: (e: grpc.ServiceError | null, v?: T) => void,
        ) => void
      )(request, { deadline }, (err, value) => (err ? reject(err) : resolve(value as T)));
    });
  }
}

function finiteOnly(metrics: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [key, value] of Object.entries(metrics))
    if (typeof value === 'number' && !Number.isNaN(value)) out[key] = value;
  return out;
}
