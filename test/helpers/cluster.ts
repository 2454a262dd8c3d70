/**
 * A real cluster for integration tests: an in-process coordinator (local store in a temp
 * directory, in-process bus) serving gRPC on loopback, and worker *processes* started with the
 * `trellis worker` CLI. Tests observe the coordinator's event log directly.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChildProcess } from 'node:child_process';
import { startEmbedded, type Embedded } from '../../cli/embedded.js';
import { LocalStore } from '../../coordinator/store/local.js';
import { LocalBus } from '../../coordinator/bus/local.js';
import { createLogger } from '../../shared/log.js';
import type { TrellisEvent } from '../../shared/events.js';

export const TRAINER = fileURLToPath(new URL('../../../test/fixtures/integration/trainer.mjs', import.meta.url));

export interface Cluster extends Embedded {
  dir: string;
  /** Resolves with the first stored event that matches (including ones already seen). */
  waitForEvent(predicate: (event: TrellisEvent) => boolean, timeoutMs?: number): Promise<TrellisEvent>;
  seen: TrellisEvent[];
  stop(): Promise<void>;
}

export async function startCluster(options: {
  workers: number;
  leaseMs?: number;
  cpusPerWorker?: number;
  workerEnv?: Record<string, string>;
}): Promise<Cluster> {
  const dir = mkdtempSync(join(tmpdir(), 'trellis-it-'));
  const log = createLogger('test', process.env.TRELLIS_LOG_LEVEL ?? 'warn');
  const embedded = await startEmbedded({
    dir,
    workers: options.workers,
    log,
    // Long enough that a worker starved of CPU on a loaded machine keeps its lease; tests that
    // need a lease to run out after a kill pass a shorter one.
    leaseMs: options.leaseMs ?? 6000,
    cpusPerWorker: options.cpusPerWorker ?? 1,
    store: new LocalStore(join(dir, 'store')),
    bus: new LocalBus(),
    workerEnv: { TRELLIS_LOG_LEVEL: 'info', ...options.workerEnv },
  });
  const seen: TrellisEvent[] = [];
  const waiters = new Set<{ predicate: (e: TrellisEvent) => boolean; resolve: (e: TrellisEvent) => void }>();
  embedded.coordinator.events.onStored((event) => {
    seen.push(event);
    for (const waiter of [...waiters]) {
      if (waiter.predicate(event)) {
        waiters.delete(waiter);
        waiter.resolve(event);
      }
    }
  });
  return {
    ...embedded,
    dir,
    seen,
    waitForEvent(predicate, timeoutMs = 60_000) {
      const already = seen.find(predicate);
      if (already) return Promise.resolve(already);
      return new Promise((resolve, reject) => {
        const waiter = { predicate, resolve };
        waiters.add(waiter);
        setTimeout(() => {
          if (waiters.delete(waiter))
            reject(new Error(`no matching event within ${timeoutMs} ms; last: ${JSON.stringify(seen.slice(-3))}`));
        }, timeoutMs).unref();
      });
    },
    async stop() {
      await embedded.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Waits until `count` distinct workers have been welcomed (their `connected` events). */
export async function waitForWorkers(cluster: Cluster, count: number, timeoutMs = 30_000): Promise<string[]> {
  const ids = new Set<string>();
  while (ids.size < count) {
    const event = await cluster.waitForEvent(
      (e) => e.type === 'worker.state' && e.payload.status === 'connected' && !ids.has(e.workerId ?? ''),
      timeoutMs,
    );
    ids.add(event.workerId ?? '');
  }
  return [...ids];
}

export function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

export function sweepSpec(overrides: {
  name?: string;
  trials?: number;
  concurrency?: number;
  steps?: number;
  delay?: number;
  maxAttempts?: number;
}): string {
  return JSON.stringify({
    apiVersion: 'trellis/v1',
    kind: 'Sweep',
    name: overrides.name ?? 'it-sweep',
    trial: {
      runtime: 'command',
      command: [process.execPath, TRAINER],
      objective: { metric: 'val_score', mode: 'max' },
      stopGraceSeconds: 2,
    },
    search: {
      algorithm: 'random',
      seed: 3,
      space: {
        x: { uniform: [0, 1] },
        steps: { choice: [overrides.steps ?? 3] },
        delay: { choice: [overrides.delay ?? 30] },
      },
    },
    budget: {
      trials: overrides.trials ?? 4,
      concurrency: overrides.concurrency ?? 2,
      maxAttempts: overrides.maxAttempts ?? 3,
    },
  });
}
