/**
 * Suite `ingest`: metric reports per second through coordinator → store → bus.
 *
 * A fake in-process worker session (Coordinator.connectWorker, no gRPC) takes K assignments of
 * one sweep and keeps them running; then each of the K attempts reports progress in a closed
 * loop with a window of W reports: an attempt sends its next step as soon as one of its metric
 * documents is stored, so K·W reports are in flight at any time (the coordinator's own
 * queueing, not an unbounded backlog, is measured). The suite runs W = 1 (one report in flight
 * per attempt: the runner never has two reports of one trial to batch) and W = `window`
 * (reports queue behind the trial's previous write, as when a training loop reports faster
 * than the store keeps up, and the runner batches them).
 *
 * - reports_per_second: R reports ÷ (first send → last `trial.metric` event delivered by the bus).
 * - stored latency: report sent → its metric document stored (the store's appendMetrics
 *   resolved; measured by wrapping the store). bus latency: report sent → its event delivered
 *   to a live bus subscriber.
 *
 * Backends: LocalStore (temp directory) + LocalBus; MongoStore + NatsBus when MONGODB_URI and
 * NATS_URL are set or .services.env exists (`node scripts/services.mjs up`), on a fresh database
 * that is dropped afterwards.
 *
 * `calls`: every store call and bus publish made while the suite ran, timed by wrapping the
 * store and bus (count, mean/p50/p99 and total ms per method), to show where the time goes.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MongoClient } from 'mongodb';
import type { Store } from '../coordinator/store/base.js';
import type { EventBus } from '../coordinator/bus/base.js';
import { LocalStore } from '../coordinator/store/local.js';
import { LocalBus } from '../coordinator/bus/local.js';
import { MongoStore } from '../coordinator/store/mongo.js';
import { NatsBus } from '../coordinator/bus/nats.js';
import type { MetricDoc } from '../shared/types.js';
import { connectFakeWorker, startLocalCoordinator, sweepSpec, tempDir, type FakeWorker } from './harness.js';
import { percentile, progress, ratio, round, ROOT } from './common.js';
import { againstCeilings } from './ceilings.js';
import { env as processEnv } from '../shared/env.js';

export interface IngestOptions {
  attempts: number;
  reports: number;
  remoteReports?: number;
  /** Reports in flight per attempt in the second ("window") measurement. */
  window?: number;
}

interface Backend {
  name: string;
  store: Store;
  bus: EventBus;
  cleanup(): Promise<void>;
}

/** Durations (ms) of calls, by method name. */
class CallTimes {
  private readonly times = new Map<string, number[]>();

  add(name: string, ms: number): void {
    let list = this.times.get(name);
    if (!list) this.times.set(name, (list = []));
    list.push(ms);
  }

  /** Per method: calls, mean, p50, p99 and total ms, busiest first. */
  summary(): Record<string, Record<string, number>> {
    const rows = [...this.times].map(([name, list]) => {
      const total = list.reduce((s, v) => s + v, 0);
      return [
        name,
        {
          calls: list.length,
          mean_ms: round(total / list.length),
          p50_ms: round(percentile(list, 0.5)),
          p99_ms: round(percentile(list, 0.99)),
          total_ms: round(total),
        },
      ] as const;
    });
    return Object.fromEntries(rows.sort((a, b) => b[1].total_ms - a[1].total_ms));
  }
}

/**
 * Wraps a store: every async method's duration goes into `times`, and each stored metric
 * document calls `onStored`.
 */
function timedStore(inner: Store, times: CallTimes, onStored: (doc: MetricDoc) => void): Store {
  return new Proxy(inner, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      const fn = (value as (...args: unknown[]) => unknown).bind(target);
      if (typeof prop !== 'string' || prop === 'start' || prop === 'close') return fn;
      return async (...args: unknown[]): Promise<unknown> => {
        const t0 = performance.now();
        const result = await fn(...args);
        times.add(prop, performance.now() - t0);
        if (prop === 'appendMetrics') for (const doc of args[0] as MetricDoc[]) onStored(doc);
        return result;
      };
    },
  });
}

/** Wraps a bus so that the duration of each `publish` goes into `times`. */
function timedBus(inner: EventBus, times: CallTimes): EventBus {
  return new Proxy(inner, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      const fn = (value as (...args: unknown[]) => unknown).bind(target);
      if (prop !== 'publish') return fn;
      return async (...args: unknown[]): Promise<unknown> => {
        const t0 = performance.now();
        const result = await fn(...args);
        times.add('bus.publish', performance.now() - t0);
        return result;
      };
    },
  });
}

function servicesEnv(): { MONGODB_URI?: string; NATS_URL?: string } {
  const env: Record<string, string> = {};
  const file = join(ROOT, '.services.env');
  if (existsSync(file)) {
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      const m = /^([A-Z_]+)=(.*)$/.exec(line.trim());
      if (m) env[m[1]!] = m[2]!;
    }
  }
  const own = processEnv();
  const mongo = own.MONGODB_URI ?? env.MONGODB_URI;
  const nats = own.NATS_URL ?? env.NATS_URL;
  return { ...(mongo ? { MONGODB_URI: mongo } : {}), ...(nats ? { NATS_URL: nats } : {}) };
}

async function measure(
  backend: Backend,
  attempts: number,
  reports: number,
  window: number,
  /** Open loop: reports per second sent on a clock, whatever is stored (undefined: closed loop). */
  rate?: number,
): Promise<Record<string, unknown>> {
  const sentAt = new Map<string, number>();
  const storedLatency: number[] = [];
  const busLatency: number[] = [];
  const stepOf = new Map<string, number>(); // trialId → last step sent
  let sent = 0;
  let stored = 0;
  let delivered = 0;
  let lastDelivery = 0;
  let lastStored = 0;
  let firstSend = 0;
  let resolveDone: (() => void) | undefined;
  const done = new Promise<void>((resolve) => (resolveDone = resolve));
  const attemptOf = new Map<string, string>(); // trialId → attemptId
  let worker: FakeWorker | undefined;

  const send = (trialId: string): void => {
    if (sent >= reports) return;
    const step = (stepOf.get(trialId) ?? 0) + 1;
    stepOf.set(trialId, step);
    sent++;
    sentAt.set(`${trialId}:${step}`, performance.now());
    worker!.post({
      body: 'progress',
      progress: {
        attempt_id: attemptOf.get(trialId)!,
        step,
        step64: String(step),
        step_refused: '',
        metrics: { loss: 1 / step, accuracy: 1 - 1 / (step + 1) },
      },
    });
  };

  const times = new CallTimes();
  const store = timedStore(backend.store, times, (doc) => {
    const t0 = sentAt.get(`${doc.trialId}:${doc.step}`);
    if (t0 === undefined) return;
    storedLatency.push(performance.now() - t0);
    stored++;
    lastStored = performance.now();
    if (rate === undefined) setImmediate(() => send(doc.trialId));
    else if (stored >= reports) resolveDone?.(); // an open loop ends when all are stored
  });
  const local = await startLocalCoordinator({ store, bus: timedBus(backend.bus, times) });
  const coordinator = local.coordinator;
  const assigned = new Promise<void>((resolve) => {
    worker = connectFakeWorker(coordinator, {
      id: 'ingest-0',
      cpus: attempts,
      onAssign: (assignment) => {
        attemptOf.set(assignment.trial_id ?? '', assignment.attempt_id ?? '');
        if (attemptOf.size === attempts) setImmediate(resolve);
      },
    });
  });
  const { experiment } = await coordinator.submit(
    sweepSpec({ name: `ingest-${backend.name}`, trials: attempts, concurrency: attempts }),
  );
  await assigned;
  // Heartbeats keep the leases, as a real worker's do.
  const heartbeat = setInterval(
    () => worker!.post({ body: 'heartbeat', heartbeat: { running_attempt_ids: [...attemptOf.values()] } }),
    coordinator.heartbeatMs,
  );

  // A live subscriber: what a `trellis watch` client would see.
  const abort = new AbortController();
  const subscription = (async () => {
    for await (const event of backend.bus.subscribe({ experimentId: experiment.id, signal: abort.signal })) {
      if (event.type !== 'trial.metric') continue;
      const t0 = sentAt.get(`${event.trialId}:${String(event.payload.step)}`);
      if (t0 === undefined) continue;
      lastDelivery = performance.now();
      busLatency.push(lastDelivery - t0);
      delivered++;
      if (delivered >= reports) resolveDone?.();
    }
  })();
  await new Promise((resolve) => setTimeout(resolve, 200)); // the subscription is live (NATS consumer created)

  firstSend = performance.now();
  let clock: NodeJS.Timeout | undefined;
  if (rate === undefined) {
    for (let w = 0; w < window; w++) for (const trialId of attemptOf.keys()) send(trialId);
  } else {
    // Every 10 ms, the reports due by now, round-robin over the attempts.
    const trialIds = [...attemptOf.keys()];
    clock = setInterval(() => {
      const due = Math.min(reports, Math.floor(((performance.now() - firstSend) / 1000) * rate));
      while (sent < due) send(trialIds[sent % trialIds.length]!);
      if (sent >= reports) clearInterval(clock);
    }, 10);
  }
  const timeout = setTimeout(() => resolveDone?.(), 240_000);
  await done;
  clearTimeout(timeout);
  clearInterval(clock);
  // Closed loop: until the last event reached the bus; open loop: until the last row was stored.
  const seconds = ((rate === undefined ? lastDelivery : lastStored) - firstSend) / 1000;

  // Finish the attempts so the experiment ends cleanly.
  for (const attemptId of attemptOf.values())
    worker!.post({ body: 'result', result: { attempt_id: attemptId, metrics: { score: 1 }, info_json: '' } });
  await coordinator.idle();
  clearInterval(heartbeat);
  abort.abort();
  await Promise.race([subscription.catch(() => undefined), new Promise((r) => setTimeout(r, 2000))]);
  await local.close();
  await backend.cleanup();
  // An open loop measures the stored latency at its rate; the bus may still be behind.
  if (delivered < reports && (rate === undefined || stored < reports))
    throw new Error(`${backend.name}: only ${delivered} of ${reports} reports reached the bus (${stored} stored)`);
  const calls = times.summary();
  const per = (method: string): number | null => {
    const c = calls[method];
    return c?.calls !== undefined ? round(c.calls / reports) : null;
  };
  return {
    store: backend.store.kind,
    bus: backend.bus.kind,
    attempts,
    window,
    ...(rate !== undefined ? { loop: `open: ${rate} reports/s on a clock` } : {}),
    reports,
    ...(delivered < reports ? { delivered_by_the_bus_before_the_deadline: delivered } : {}),
    seconds: round(seconds),
    reports_per_second: round(reports / seconds),
    stored_latency_ms: {
      p50: round(percentile(storedLatency, 0.5)),
      p99: round(percentile(storedLatency, 0.99)),
      max: round(Math.max(...storedLatency)),
    },
    bus_latency_ms: {
      p50: round(percentile(busLatency, 0.5)),
      p99: round(percentile(busLatency, 0.99)),
      max: round(Math.max(...busLatency)),
    },
    // The trial update and the metric append per report: 1 each without batching. The trial
    // updates include the attempts' start and end (2 per attempt).
    calls_per_report: { updateTrial: per('updateTrial'), appendMetrics: per('appendMetrics') },
    calls,
  };
}

function localBackend(): Backend {
  const temp = tempDir('ingest');
  return {
    name: 'local',
    store: new LocalStore(join(temp.dir, 'store')),
    bus: new LocalBus(),
    cleanup: async () => temp.remove(),
  };
}

/** MongoStore and/or NatsBus; the side not remote is local (LocalStore in a temp dir, LocalBus). */
function remoteBackend(
  env: { MONGODB_URI: string; NATS_URL: string },
  parts: { mongo: boolean; nats: boolean } = { mongo: true, nats: true },
): Backend {
  const db = `trellis_bench_${process.pid}_${Date.now().toString(36)}`;
  const temp = parts.mongo ? undefined : tempDir('ingest');
  return {
    name: parts.mongo && parts.nats ? 'mongo-nats' : parts.mongo ? 'mongo-local-bus' : 'local-store-nats',
    store: parts.mongo ? new MongoStore({ uri: env.MONGODB_URI, db }) : new LocalStore(join(temp!.dir, 'store')),
    bus: parts.nats ? new NatsBus({ servers: env.NATS_URL }) : new LocalBus(),
    cleanup: async () => {
      temp?.remove();
      if (!parts.mongo) return;
      const client = new MongoClient(env.MONGODB_URI, { serverSelectionTimeoutMS: 2000 });
      try {
        await client.connect();
        await client.db(db).dropDatabase();
      } catch {
        // best effort: a test database left behind is harmless
      } finally {
        await client.close().catch(() => undefined);
      }
    },
  };
}

async function remoteMeasure(
  env: { MONGODB_URI?: string; NATS_URL?: string },
  attempts: number,
  reports: number,
  window: number,
  parts: { mongo: boolean; nats: boolean } = { mongo: true, nats: true },
  rate?: number,
): Promise<Record<string, unknown>> {
  if (!env.MONGODB_URI || !env.NATS_URL) {
    return { missing: 'set MONGODB_URI and NATS_URL, or run `node scripts/services.mjs up` (writes .services.env)' };
  }
  const backend = remoteBackend({ MONGODB_URI: env.MONGODB_URI, NATS_URL: env.NATS_URL }, parts);
  const how = rate === undefined ? `window ${window}` : `open loop at ${rate}/s`;
  progress(`ingest: ${backend.name} (${env.MONGODB_URI.replace(/\/\/[^@]*@/, '//')}), ${reports} reports, ${how}`);
  try {
    const remote = await measure(backend, attempts, reports, window, rate);
    progress(`ingest: ${backend.name}, ${how}: ${String(remote.reports_per_second)} reports/s`);
    return remote;
  } catch (err) {
    return { error: err instanceof Error ? err.message : String(err) };
  }
}

export async function runIngest(options: IngestOptions): Promise<Record<string, unknown>> {
  const window = options.window ?? 8;
  const env = servicesEnv();
  const remoteReports = options.remoteReports ?? Math.min(options.reports, 5000);
  const run = async (w: number): Promise<{ local: Record<string, unknown>; mongo_nats: Record<string, unknown> }> => {
    progress(
      `ingest: local store + in-process bus, ${options.attempts} attempts, ${options.reports} reports, window ${w}`,
    );
    const local = await measure(localBackend(), options.attempts, options.reports, w);
    progress(`ingest: local, window ${w}: ${String(local.reports_per_second)} reports/s`);
    return { local, mongo_nats: await remoteMeasure(env, options.attempts, remoteReports, w) };
  };
  const closed = await run(1);
  const windowed = window > 1 ? await run(window) : undefined;
  const services =
    env.MONGODB_URI && env.NATS_URL
      ? await againstCeilings(env, options.attempts, remoteReports, (reports, parts, w, rate) =>
          remoteMeasure(env, options.attempts, reports, w ?? window, parts, rate),
        )
      : undefined;
  const rate = (r: Record<string, unknown> | undefined): number | undefined =>
    r?.reports_per_second as number | undefined;
  return {
    settings: {
      attempts: options.attempts,
      window,
      loop: 'closed: each attempt sends its next report when one of its reports is stored (attempts × window reports in flight); window 1, then `window`',
      worker: 'fake in-process worker session (Coordinator.connectWorker), no gRPC',
    },
    trellis: { ...closed, ...(windowed ? { windowed } : {}), ...(services ? { services: services.runs } : {}) },
    ceilings: services?.ceilings ?? { missing: 'needs MONGODB_URI and NATS_URL' },
    ratios: {
      local_over_mongo_nats: ratio(rate(closed.local), rate(closed.mongo_nats)),
      ...(windowed
        ? {
            windowed_local_over_mongo_nats: ratio(rate(windowed.local), rate(windowed.mongo_nats)),
            windowed_over_window_1_local: ratio(rate(windowed.local), rate(closed.local)),
            windowed_over_window_1_mongo_nats: ratio(rate(windowed.mongo_nats), rate(closed.mongo_nats)),
          }
        : {}),
    },
    goals: services?.goals ?? {},
  };
}
