/**
 * The worker agent: a stateless process that connects to the coordinator, advertises its
 * slots, runs the attempts it is assigned (concurrently, up to its slots), streams progress,
 * checkpoints and results back, obeys stop, reconnects with backoff, and shuts down
 * gracefully (finish or hand back running attempts, bounded by a timeout).
 *
 * Two parts, wired here: the connection (connection.ts: stream, backoff, outbox, re-sending
 * outcomes, heartbeats, artifact calls) and the attempts (attempts.ts: runtimes, contexts,
 * outcomes).
 */
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Hello } from '../shared/generated/trellis/v1/Hello.js';
import { codeVersion } from '../shared/version.js';
import { AttemptRunner } from './attempts.js';
import { CoordinatorConnection } from './connection.js';
import { runtimeNames } from './runtimes/registry.js';
import { env } from '../shared/env.js';
import type { ClientTls } from '../shared/tls.js';
import type { WorkerLimits } from './runtimes/base.js';
import { dataSandbox } from './data/sandbox.js';
import type { GpuProbe } from './gpus/base.js';
import { GpuMeter } from './gpus/meter.js';

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
  /**
   * Programs the command runtime may start: absent, the worker neither offers the command runtime
   * nor runs command assignments; a RegExp is matched against the program (trial.command[0]).
   */
  allowCommand?: RegExp;
  /** Sent with every call to the coordinator (default TRELLIS_TOKEN). */
  token?: string;
  /** TLS to the coordinator (default: TRELLIS_TLS_CA as the CA; plaintext without one). */
  tls?: ClientTls;
  /**
   * The operator's limits on attempts: data roots (default the built-in datasets and the working
   * directory) and dataset size (default 1 GiB), programs' memory and process count (default none).
   */
  dataRoots?: string[];
  maxDatasetBytes?: number;
  maxMemoryBytes?: number;
  maxProcs?: number;
  /** Measures the GPUs' memory and attempts' peaks (absent or no GPUs: nothing measured). */
  gpuProbe?: GpuProbe;
  log: Logger;
  /**
   * The drain's grace time (SIGTERM, DrainWorker; default 30 s): running attempts are asked to
   * checkpoint and stop at once, and whatever still runs when it is over is stopped hard. Keep
   * Kubernetes' terminationGracePeriodSeconds above it (deploy/README.md).
   */
  shutdownGraceMs?: number;
  /** Backoff bounds for reconnecting. */
  reconnectMinMs?: number;
  reconnectMaxMs?: number;
}

/**
 * created → running (start) → draining (shutdown: no new attempts; running ones checkpoint and
 * go back as preempted) → stopped (disconnected). shutdown before start goes straight to stopped.
 */
export type WorkerState = 'created' | 'running' | 'draining' | 'stopped';

export class WorkerAgent {
  readonly id: string;
  private readonly log: Logger;
  private state: WorkerState = 'created';
  private readonly connection: CoordinatorConnection;
  private readonly attempts: AttemptRunner;
  private shutdownPromise: Promise<void> | undefined;
  private markStopped: () => void = () => undefined;
  private readonly stoppedPromise = new Promise<void>((resolve) => (this.markStopped = resolve));
  /** The runtimes advertised in the hello; assignments for any other are refused. */
  private readonly offered: string[];

  constructor(private readonly options: WorkerOptions) {
    this.id = options.id ?? `${hostname()}-${process.pid}-${randomUUID().slice(0, 4)}`;
    this.log = options.log.child({ workerId: this.id });
    const token = options.token ?? env().TRELLIS_TOKEN;
    const caFromEnv = env().TRELLIS_TLS_CA;
    const tls = options.tls ?? (caFromEnv ? { ca: caFromEnv } : undefined);
    this.offered = (options.runtimes ?? runtimeNames()).filter((name) => name !== 'command' || !!options.allowCommand);
    const gpuIds = (options.gpus ?? []).map((g) => g.id);
    const meter = options.gpuProbe && gpuIds.length > 0 ? new GpuMeter(options.gpuProbe, gpuIds, this.log) : undefined;
    this.connection = new CoordinatorConnection({
      address: options.coordinator,
      log: this.log,
      ...(token ? { token } : {}),
      ...(tls ? { tls } : {}),
      hello: () => this.hello(),
      runningAttempts: () => this.runningAttempts,
      ...(meter ? { gpuMemory: () => meter.readings() } : {}),
      onAssign: (assignment) => this.attempts.assign(assignment, this.state === 'running'),
      onStop: (attemptId, reason) => this.attempts.stop(attemptId, reason),
      onDrain: (reason) => {
        this.log.info({ reason }, 'drained by the coordinator');
        void this.shutdown();
      },
      ...(options.reconnectMinMs !== undefined ? { reconnectMinMs: options.reconnectMinMs } : {}),
      ...(options.reconnectMaxMs !== undefined ? { reconnectMaxMs: options.reconnectMaxMs } : {}),
    });
    const limits: WorkerLimits = {
      data: dataSandbox({
        ...(options.dataRoots ? { roots: options.dataRoots } : {}),
        ...(options.maxDatasetBytes !== undefined ? { maxDatasetBytes: options.maxDatasetBytes } : {}),
      }),
      ...(options.maxMemoryBytes !== undefined ? { maxMemoryBytes: options.maxMemoryBytes } : {}),
      ...(options.maxProcs !== undefined ? { maxProcs: options.maxProcs } : {}),
    };
    this.attempts = new AttemptRunner(this.id, this.connection, this.log, {
      offered: this.offered,
      ...(options.allowCommand ? { allowCommand: options.allowCommand } : {}),
      limits,
      ...(meter ? { gpuMeter: meter } : {}),
    });
  }

  get status(): WorkerState {
    return this.state;
  }

  get runningAttempts(): string[] {
    return this.attempts.running;
  }

  /** Called each time the coordinator welcomes this worker (tests wait on it). */
  onConnected(listener: () => void): () => void {
    return this.connection.onConnected(listener);
  }

  start(): void {
    if (this.state !== 'created') return;
    this.state = 'running';
    this.connection.open();
  }

  /**
   * The drain (SIGTERM, DrainWorker). Idempotent. Tells the coordinator it is draining (no new
   * assignments), asks every running attempt to checkpoint and stop, each going back as
   * `preempted` (requeued elsewhere at once, not counted against maxAttempts); what still runs
   * at the end of the grace time is stopped hard, also as preempted; then disconnects. Resolves
   * when stopped (see `stopped`).
   */
  shutdown(graceMs = this.options.shutdownGraceMs ?? 30_000): Promise<void> {
    this.shutdownPromise ??= (async () => {
      if (this.state === 'created') {
        this.state = 'stopped';
        await this.connection.close();
        return;
      }
      this.state = 'draining';
      this.connection.drain();
      const running = this.runningAttempts;
      if (running.length > 0) this.log.info({ attempts: running }, 'draining: preempting running attempts');
      // Half a second of the grace is kept for the hard stop and the goodbye.
      if (!(await this.attempts.preemptAll(Math.max(0, graceMs - 500)))) {
        this.log.warn({ attempts: this.runningAttempts }, 'grace time over; stopping running attempts');
        await this.attempts.handBack();
      }
      this.state = 'stopped';
      await this.connection.close();
    })().finally(() => this.markStopped());
    return this.shutdownPromise;
  }

  /** Resolves once the worker has stopped (after a SIGTERM or a DrainWorker). */
  get stopped(): Promise<void> {
    return this.stoppedPromise;
  }

  private hello(): Hello {
    return {
      worker_id: this.id,
      slots: {
        cpus: this.options.cpus,
        gpus: (this.options.gpus ?? []).map((g) => ({ id: g.id, name: g.name, memory_bytes: String(g.memoryBytes) })),
        memory_bytes: String(this.options.memoryBytes ?? 0),
      },
      labels: this.options.labels ?? {},
      runtimes: this.offered,
      version: codeVersion(),
      running_attempt_ids: this.runningAttempts,
      // With their tokens: the coordinator gives back only attempts this identity holds.
      attempt_tokens: this.attempts.tokens(),
      // It holds an assignment queued behind a running attempt (Assignment.after_attempt_id).
      prefetch: true,
    };
  }
}
