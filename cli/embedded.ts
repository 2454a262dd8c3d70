/**
 * The embedded default: a coordinator (local store in a directory, in-process bus — or
 * MongoDB/NATS when MONGODB_URI/NATS_URL are set) on a loopback port, plus N local worker
 * processes. Used by `trellis run` and by the integration tests.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { mkdirSync, openSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { Coordinator } from '../coordinator/coordinator.js';
import { startServer, type ServerHandle } from '../coordinator/server.js';
import { startHttpServer, type HttpHandle } from '../coordinator/http/server.js';
import { createStore } from '../coordinator/store/registry.js';
import { createBus } from '../coordinator/bus/registry.js';
import type { Store } from '../coordinator/store/base.js';
import type { EventBus } from '../coordinator/bus/base.js';
import type { CoordinatorMetrics } from '../coordinator/metrics.js';
import { env, inheritedEnv } from '../shared/env.js';
import { StaticTokens } from '../coordinator/auth/tokens.js';
import type { Limits } from '../shared/limits.js';

export interface EmbeddedOptions {
  dir: string;
  workers: number;
  log: Logger;
  leaseMs?: number;
  /** CPUs each worker advertises (default: the machine's CPUs shared among the workers). */
  cpusPerWorker?: number;
  /** Extra environment for worker processes. */
  workerEnv?: Record<string, string>;
  listen?: string;
  /**
   * Require tokens: an ephemeral worker token is handed to the workers started here (through
   * their environment, not their command line) and an admin token to the caller (`token`).
   * `trellis run` sets it; tests that drive the coordinator without tokens leave it off.
   */
  ephemeralTokens?: boolean;
  /** Also serve the dashboard and its JSON API on this HOST:PORT (coordinator/http/). */
  http?: string;
  /** Explicit store and bus (tests); default: chosen from the environment. */
  store?: Store;
  bus?: EventBus;
  /** Prometheus metrics of the coordinator (store timed, attempts observed, attached); none by default. */
  metrics?: CoordinatorMetrics;
  /** Request limits (shared/limits.ts); default: the table's defaults. */
  limits?: Limits;
}

export interface Embedded {
  coordinator: Coordinator;
  server: ServerHandle;
  address: string;
  /** The caller's token when `ephemeralTokens` was set. */
  token?: string;
  /** The dashboard, when `http` was given. */
  http?: HttpHandle;
  workers: ChildProcess[];
  /** Spawns one more worker process (optionally at another address, e.g. a proxy, with extra flags). */
  spawnWorker(id?: string, options?: { address?: string; args?: string[] }): ChildProcess;
  close(): Promise<void>;
}

export const CLI_PATH = fileURLToPath(new URL('./main.js', import.meta.url));

export async function startEmbedded(options: EmbeddedOptions): Promise<Embedded> {
  mkdirSync(join(options.dir, 'logs'), { recursive: true });
  const plainStore = options.store ?? createStore({ ...env(), dir: join(options.dir, 'store') });
  const store = options.metrics ? options.metrics.timeStore(plainStore) : plainStore;
  const bus = options.bus ?? createBus(env());
  const coordinator = new Coordinator({
    store,
    bus,
    log: options.log,
    ...(options.leaseMs ? { leaseMs: options.leaseMs } : {}),
    ...(options.metrics ? { observer: options.metrics } : {}),
    ...(options.limits ? { limits: options.limits } : {}),
  });
  options.metrics?.attach(coordinator);
  await coordinator.start();
  const tokens = options.ephemeralTokens ? new StaticTokens() : undefined;
  const clientToken = tokens?.issue('local', 'admin');
  const workerToken = tokens?.issue('local-workers', 'worker');
  const server = await startServer(
    coordinator,
    options.listen ?? '127.0.0.1:0',
    options.log,
    tokens ? { auth: tokens } : {},
  );
  const http = options.http ? await startHttpServer(coordinator, options.http, options.log) : undefined;
  const cpus = options.cpusPerWorker ?? Math.max(1, Math.floor(availableParallelism() / Math.max(1, options.workers)));
  const workers: ChildProcess[] = [];
  let spawned = 0;

  const spawnWorker = (id?: string, spawnOptions: { address?: string; args?: string[] } = {}): ChildProcess => {
    const address = spawnOptions.address ?? server.address;
    const n = spawned++;
    const logFile = openSync(join(options.dir, 'logs', `worker-${n}.log`), 'a');
    const child = spawn(
      process.execPath,
      [
        CLI_PATH,
        'worker',
        '--coordinator',
        address,
        '--cpus',
        String(cpus),
        '--id',
        id ?? `local-${process.pid}-${n}`,
        // These workers run what this machine's own user submits to its own loopback coordinator.
        '--allow-command',
        ...(spawnOptions.args ?? []),
      ],
      {
        stdio: ['ignore', logFile, logFile],
        env: { ...inheritedEnv(), ...options.workerEnv, ...(workerToken ? { TRELLIS_TOKEN: workerToken } : {}) },
      },
    );
    closeSync(logFile);
    workers.push(child);
    return child;
  };
  for (let i = 0; i < options.workers; i++) spawnWorker();

  let closing: Promise<void> | undefined;
  return {
    coordinator,
    server,
    address: server.address,
    ...(clientToken ? { token: clientToken } : {}),
    ...(http ? { http } : {}),
    workers,
    spawnWorker,
    close: () =>
      (closing ??= (async () => {
        await Promise.all(workers.map((child) => stopChild(child, 10_000)));
        await http?.close();
        await server.close();
        await coordinator.close();
      })()),
  };
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves when the process has exited. */
export function stopChild(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
