/**
 * The million-trial run (issue 15 §4): one in-process no-op sweep of `total` trials on a
 * Coordinator over a LocalStore (temp directory, no fsync) and LocalBus, with the in-process
 * fake worker of `inprocess-sweep.ts` (16 slots, each assignment answered on the next turn).
 * Every `every` ended trials it samples the window's rate, the process's RSS and heap, and the
 * runner's per-trial cache sizes; the first and last deciles of the samples are compared.
 *
 * LocalStore keeps a bounded working set (finished trials and published events live only in its
 * journal, found by 8-byte offset slots); the samples carry what it holds (LocalStore.memory())
 * so that its share of the RSS can be told apart from the coordinator's.
 * With MONGODB_URI set the sweep runs on MongoStore instead: the records then live in the database
 * server's process, and this process's RSS is the coordinator's own.
 */
import { readFileSync, statSync } from 'node:fs';
import { connectInstantWorker, startLocalCoordinator, sweepSpec, tempDir } from './harness.js';
import { LocalStore } from '../coordinator/store/local.js';
import { createStore } from '../coordinator/store/registry.js';
import { env } from '../shared/env.js';
import { collectGarbage, mean, progress, round } from './common.js';
import { loadavg } from 'node:os';
import { join } from 'node:path';

export interface MillionOptions {
  total: number;
  every: number;
}

interface Sample {
  trials: number;
  seconds: number;
  window_trials_per_second: number;
  rss_mb: number;
  heap_used_mb: number;
  /** Heap still used after a full collection (forced right after RSS and heapUsed were read). */
  live_heap_mb: number;
  /**
   * After the same collection: the heap V8 keeps committed (RSS counts it; V8 gives pages back
   * slowly after a peak such as a journal compaction's garbage) and memory outside the JS heap.
   */
  heap_total_mb: number;
  external_mb: number;
  array_buffers_mb: number;
  gc_ms: number;
  /** The machine's 1-minute load average (2 cores, shared). */
  load1: number;
  caches: Record<string, number>;
  store_records: Record<string, number>;
  /** LocalStore's journal on disk (it grows until a compaction rewrites it). */
  journal_mb?: number;
}

function rssBytes(pid: number | 'self' = 'self'): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = /VmRSS:\s+(\d+)/.exec(status)?.[1];
  return Number(kb ?? 0) * 1024;
}

/** What LocalStore holds in memory, by kind (LocalStore.memory()). */
function storeRecords(store: LocalStore): Record<string, number> {
  return store.memory();
}

function decile(
  samples: readonly Sample[],
  which: 'first' | 'last',
): {
  trials_per_second: number;
  rss_mb: number;
  heap_used_mb: number;
  live_heap_mb: number;
  heap_total_mb: number;
} {
  const n = Math.max(1, Math.floor(samples.length / 10));
  const part = which === 'first' ? samples.slice(0, n) : samples.slice(-n);
  return {
    trials_per_second: round(mean(part.map((s) => s.window_trials_per_second)), 1),
    rss_mb: round(mean(part.map((s) => s.rss_mb)), 1),
    heap_used_mb: round(mean(part.map((s) => s.heap_used_mb)), 1),
    live_heap_mb: round(mean(part.map((s) => s.live_heap_mb)), 1),
    heap_total_mb: round(mean(part.map((s) => s.heap_total_mb)), 1),
  };
}

export async function runMillion(options: MillionOptions): Promise<Record<string, unknown>> {
  const temp = tempDir('million');
  // MongoStore when MONGODB_URI is set (the store then lives in its own process), else LocalStore.
  const store = createStore({ ...env(), dir: join(temp.dir, 'store'), TRELLIS_DURABLE: false });
  const local = await startLocalCoordinator({ store });
  const coordinator = local.coordinator;
  connectInstantWorker(coordinator, 16);
  const samples: Sample[] = [];
  const t0 = performance.now();
  let ended = 0;
  let windowStart = t0;
  let experimentId = '';
  let created = 0;
  const off = coordinator.events.onStored((event) => {
    if (event.type !== 'trial.state' || event.payload.status !== 'succeeded') return;
    ended++;
    if (ended % options.every !== 0) return;
    const t = performance.now();
    const memory = process.memoryUsage();
    const rss = rssBytes();
    // A full collection after the sample's RSS is read: the heap still live after it is what the
    // run holds (heapUsed before it includes garbage not yet collected, and RSS the room V8 has
    // grown its heap to). Its time is left out of the windows' rates.
    collectGarbage();
    const collected = performance.now();
    const after = process.memoryUsage();
    samples.push({
      trials: ended,
      seconds: round((t - t0) / 1000, 2),
      window_trials_per_second: round(options.every / ((t - windowStart) / 1000), 1),
      rss_mb: round(rss / 2 ** 20, 1),
      heap_used_mb: round(memory.heapUsed / 2 ** 20, 1),
      live_heap_mb: round(after.heapUsed / 2 ** 20, 1),
      heap_total_mb: round(after.heapTotal / 2 ** 20, 1),
      external_mb: round(after.external / 2 ** 20, 1),
      array_buffers_mb: round(after.arrayBuffers / 2 ** 20, 1),
      gc_ms: round(collected - t, 1),
      load1: round(loadavg()[0]!, 2),
      caches: coordinator.cacheSizes(experimentId) ?? {},
      store_records: store instanceof LocalStore ? storeRecords(store) : {},
      ...(store instanceof LocalStore
        ? { journal_mb: round(statSync(join(store.dir, 'journal.jsonl')).size / 2 ** 20, 1) }
        : {}),
    });
    windowStart = performance.now();
    const last = samples.at(-1)!;
    progress(
      `${ended} trials, ${last.window_trials_per_second}/s, rss ${last.rss_mb} MB, heap ${last.heap_used_mb} MB, live heap ${last.live_heap_mb} MB (of ${last.heap_total_mb} committed), external ${last.external_mb} MB, journal ${last.journal_mb ?? '-'} MB, store ${JSON.stringify(last.store_records)}`,
    );
  });
  try {
    const spec = sweepSpec({ name: 'million', trials: options.total, concurrency: 16 });
    const { experiment } = await coordinator.submit(spec);
    experimentId = experiment.id;
    await coordinator.idle();
    const done = await coordinator.get(experiment.id);
    if (done.status !== 'succeeded') throw new Error(`million sweep ended ${done.status}: ${done.error ?? ''}`);
    created = done.kind === 'Sweep' ? done.trialsCreated : ended;
  } finally {
    off();
    await local.close();
    temp.remove();
  }
  const seconds = (performance.now() - t0) / 1000;
  const first = decile(samples, 'first');
  const last = decile(samples, 'last');
  return {
    store:
      store instanceof LocalStore
        ? 'LocalStore (no fsync), in this process'
        : 'MongoStore (MONGODB_URI), another process',
    trials: created,
    // Succeeded events stored before the bench stopped listening (the last few may come later).
    succeeded_events_seen: ended,
    every: options.every,
    seconds: round(seconds, 1),
    trials_per_second: round(created / seconds, 1),
    first_decile: first,
    last_decile: last,
    last_over_first: {
      trials_per_second: round(last.trials_per_second / first.trials_per_second, 3),
      rss: round(last.rss_mb / first.rss_mb, 3),
      heap_used: round(last.heap_used_mb / first.heap_used_mb, 3),
      live_heap: round(last.live_heap_mb / first.live_heap_mb, 3),
      heap_total: round(last.heap_total_mb / first.heap_total_mb, 3),
    },
    samples,
  };
}
