/**
 * Ways to stand up Trellis for a benchmark:
 *
 * - `startLocalCoordinator`: a Coordinator over a LocalStore (temp directory) + LocalBus, or any
 *   given store/bus, with no gRPC server — to be driven by fake worker sessions.
 * - `connectFakeWorker`: a WorkerSession attached with `coordinator.connectWorker`, as the gRPC
 *   server does for a real stream; the caller decides what to do with each assignment.
 * - `startEmbeddedCluster`: `startEmbedded` (coordinator + gRPC server + worker processes), the
 *   same path as `trellis run` and the integration tests.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Coordinator } from '../coordinator/coordinator.js';
import type { WorkerConnection } from '../coordinator/dispatch/worker-session.js';
import { LocalStore } from '../coordinator/store/local.js';
import { LocalBus } from '../coordinator/bus/local.js';
import type { Store } from '../coordinator/store/base.js';
import type { EventBus } from '../coordinator/bus/base.js';
import type { WorkerSession } from '../coordinator/dispatch/dispatcher.js';
import { startEmbedded, type Embedded } from '../cli/embedded.js';
import { createLogger, type Logger } from '../shared/log.js';
import { env } from '../shared/env.js';
import type { CoordinatorMessage } from '../shared/generated/trellis/v1/CoordinatorMessage.js';
import type { WorkerMessage, WorkerMessage__Output } from '../shared/generated/trellis/v1/WorkerMessage.js';
import type { Assignment } from '../shared/generated/trellis/v1/Assignment.js';
import { stamp } from '../shared/dispatch-trace.js';

/** Log level of the benchmarked processes: TRELLIS_LOG_LEVEL, else warn (what the tests use). */
export function benchLogLevel(): string {
  return env().TRELLIS_LOG_LEVEL ?? 'warn';
}

export function benchLogger(): Logger {
  return createLogger('bench', benchLogLevel());
}

/** Temp directories whose removal waits for this process's exit (tempDir's `atExit`). */
const removedAtExit: string[] = [];

/**
 * A temp directory for one run. With `atExit`, remove() leaves it until this process exits:
 * deleting its thousands of files (an attempt log per trial) between two runs made the next
 * run's file creations several times slower for about 30 s on a file system that skips
 * recently deleted inodes when it allocates (ext4 without a journal, as on the machine these
 * figures come from; bench/README.md, "dispatch", session 9).
 */
export function tempDir(prefix: string, options: { atExit?: boolean } = {}): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), `trellis-bench-${prefix}-`));
  const removeNow = (): void => rmSync(dir, { recursive: true, force: true });
  if (!options.atExit) return { dir, remove: removeNow };
  return {
    dir,
    remove: () => {
      if (removedAtExit.length === 0) {
        process.once('exit', () => {
          for (const path of removedAtExit) rmSync(path, { recursive: true, force: true });
        });
      }
      removedAtExit.push(dir);
    },
  };
}

export interface LocalCoordinator {
  coordinator: Coordinator;
  close(): Promise<void>;
}

/** A coordinator without gRPC; by default on a LocalStore in a temp directory (fsync per write with `durable`). */
export async function startLocalCoordinator(
  options: { store?: Store; bus?: EventBus; log?: Logger; durable?: boolean } = {},
): Promise<LocalCoordinator> {
  const temp = options.store ? undefined : tempDir('coord');
  const store = options.store ?? new LocalStore(join(temp!.dir, 'store'), { durable: options.durable ?? false });
  const bus = options.bus ?? new LocalBus();
  const coordinator = new Coordinator({ store, bus, log: options.log ?? benchLogger() });
  await coordinator.start();
  return {
    coordinator,
    close: async () => {
      await coordinator.close();
      temp?.remove();
    },
  };
}

export interface FakeWorker {
  id: string;
  connection: WorkerConnection;
  /** Posts a message as the worker; an attempt's message gets the attempt token of its assignment, as a real worker's does. */
  post(message: WorkerMessage & { body: NonNullable<WorkerMessage__Output['body']> }): void;
  disconnect(): void;
  /** Attempt tokens held now: one per attempt assigned and not yet reported ended. */
  heldTokens(): number;
}

/**
 * Connects a worker session that lives in this process. `onAssign` is called for each
 * assignment (synchronously, from inside the coordinator's send: defer any reply).
 */
export function connectFakeWorker(
  coordinator: Coordinator,
  options: {
    id: string;
    cpus: number;
    onAssign: (assignment: Assignment, worker: FakeWorker) => void;
    onStop?: (attemptId: string) => void;
  },
): FakeWorker {
  let worker!: FakeWorker;
  const tokens = new Map<string, string>();
  const session: WorkerSession = {
    send(message: CoordinatorMessage) {
      if (message.assign) tokens.set(message.assign.attempt_id ?? '', message.assign.attempt_token ?? '');
      if (message.assign) options.onAssign(message.assign, worker);
      else if (message.stop) options.onStop?.(message.stop.attempt_id ?? '');
      return true;
    },
    end() {},
  };
  const connection = coordinator.connectWorker(session);
  worker = {
    id: options.id,
    connection,
    post: (message) => {
      connection.onMessage(withToken(message, tokens) as WorkerMessage__Output);
      // A real worker forgets an attempt's token once it reported the attempt's end; kept, the
      // map grew by one entry per trial (~140 B) and the million run charged it to the coordinator.
      const ended = message.result ?? message.failure ?? message.stopped;
      if (ended) tokens.delete(ended.attempt_id ?? '');
    },
    disconnect: () => connection.onClose(),
    heldTokens: () => tokens.size,
  };
  worker.post({
    body: 'hello',
    hello: {
      worker_id: options.id,
      slots: { cpus: options.cpus, gpus: [], memory_bytes: '0' },
      labels: {},
      runtimes: ['command', 'tfjs'],
      version: 'bench',
      running_attempt_ids: [],
      attempt_tokens: {},
    },
  });
  return worker;
}

/**
 * A fake worker that answers every assignment with a success (`score: 1`): on the next
 * event-loop turn, or after `delayMs`. The no-op workload of the in-process benchmarks.
 */
export function connectInstantWorker(coordinator: Coordinator, cpus: number, delayMs = 0): FakeWorker {
  return connectFakeWorker(coordinator, {
    id: 'fake-0',
    cpus,
    onAssign: (assignment, worker) => {
      const answer = (): void =>
        worker.post({
          body: 'result',
          result: { attempt_id: assignment.attempt_id ?? '', metrics: { score: 1 }, info_json: '' },
        });
      if (delayMs > 0) setTimeout(answer, delayMs);
      else setImmediate(answer);
    },
  });
}

/** The message with its attempt's token filled in (when it is about an attempt and has none). */
function withToken(message: WorkerMessage, tokens: ReadonlyMap<string, string>): WorkerMessage {
  for (const key of ['progress', 'result', 'failure', 'stopped', 'checkpoint'] as const) {
    const body = message[key];
    if (body && !body.attempt_token)
      return { ...message, [key]: { ...body, attempt_token: tokens.get(body.attempt_id ?? '') ?? '' } };
  }
  return message;
}

/** Resolves when `count` workers have been welcomed (their `worker.state connected` events). */
export function waitForWorkers(coordinator: Coordinator, count: number, timeoutMs = 60_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const ids = new Set<string>();
    const timer = setTimeout(() => {
      unsubscribe();
      reject(new Error(`only ${ids.size} of ${count} workers connected within ${timeoutMs} ms`));
    }, timeoutMs);
    const unsubscribe = coordinator.events.onStored((event) => {
      if (event.type !== 'worker.state' || event.payload.status !== 'connected') return;
      ids.add(event.workerId ?? '');
      if (ids.size >= count) {
        clearTimeout(timer);
        unsubscribe();
        resolve();
      }
    });
  });
}

export interface EmbeddedCluster {
  embedded: Embedded;
  close(): Promise<void>;
}

/** startEmbedded on a LocalStore in a temp directory (fsync per write with `durable`) and a LocalBus; waits for the workers. */
export async function startEmbeddedCluster(options: {
  workers: number;
  cpusPerWorker: number;
  durable?: boolean;
  /** Workers stamp their attempts' dispatch stages into the results (TRELLIS_DISPATCH_TRACE). */
  trace?: boolean;
}): Promise<EmbeddedCluster> {
  const temp = tempDir('embedded', { atExit: true });
  const log = benchLogger();
  const embedded = await startEmbedded({
    dir: temp.dir,
    workers: 0,
    log,
    cpusPerWorker: options.cpusPerWorker,
    store: new LocalStore(join(temp.dir, 'store'), { durable: options.durable ?? false }),
    bus: new LocalBus(),
    workerEnv: { TRELLIS_LOG_LEVEL: benchLogLevel(), ...(options.trace ? { TRELLIS_DISPATCH_TRACE: '1' } : {}) },
  });
  const connected = waitForWorkers(embedded.coordinator, options.workers);
  for (let i = 0; i < options.workers; i++) embedded.spawnWorker(`bench-${i}`);
  await connected;
  return {
    embedded,
    close: async () => {
      await embedded.close();
      temp.remove();
    },
  };
}

export interface SweepOptions {
  name: string;
  trials: number;
  concurrency: number;
  command?: string[];
  algorithm?: string;
  seed?: number;
  /** budget.prefetch: each running attempt's successor queued on its worker ahead of time. */
  prefetch?: boolean;
}

/** A command-runtime sweep over one float parameter (what every dispatch workload uses). */
export function sweepSpec(options: SweepOptions): string {
  return JSON.stringify({
    apiVersion: 'trellis/v1',
    kind: 'Sweep',
    name: options.name,
    trial: {
      runtime: 'command',
      // The objective must be reported (a silent program fails); echo is as cheap as /bin/true.
      command: options.command ?? ['/bin/echo', '{"score": 1}'],
      objective: { metric: 'score', mode: 'max' },
      stopGraceSeconds: 1,
      checkpointEvery: 0,
    },
    resources: { cpus: 1 },
    search: { algorithm: options.algorithm ?? 'random', seed: options.seed ?? 1, space: { x: { uniform: [0, 1] } } },
    budget: {
      trials: options.trials,
      concurrency: options.concurrency,
      maxAttempts: 1,
      ...(options.prefetch ? { prefetch: true } : {}),
    },
  });
}

/**
 * Submits a sweep, waits until the coordinator is idle; returns wall seconds, the experiment id,
 * and the start and end as wall-clock stamps (shared/dispatch-trace.ts).
 */
export async function runSweep(
  coordinator: Coordinator,
  spec: string,
): Promise<{ seconds: number; experimentId: string; start: number; end: number }> {
  const start = stamp();
  const t0 = performance.now();
  const { experiment } = await coordinator.submit(spec);
  await coordinator.idle();
  const seconds = (performance.now() - t0) / 1000;
  const end = stamp();
  const done = await coordinator.get(experiment.id);
  if (done.status !== 'succeeded')
    throw new Error(`benchmark sweep ${experiment.id} ended ${done.status}: ${done.error ?? ''}`);
  return { seconds, experimentId: experiment.id, start, end };
}
