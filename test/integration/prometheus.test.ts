/**
 * The coordinator's Prometheus endpoint, scraped over HTTP while a real sweep runs on two worker
 * processes: the values must agree with what the store and the event log say.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TrellisClient } from '../../client/index.js';
import { startEmbedded } from '../../cli/embedded.js';
import { CoordinatorMetrics } from '../../coordinator/metrics.js';
import { LocalStore } from '../../coordinator/store/local.js';
import { LocalBus } from '../../coordinator/bus/local.js';
import { createLogger } from '../../shared/log.js';
import { serveMetrics } from '../../shared/metrics-http.js';
import type { TrellisEvent } from '../../shared/events.js';
import { sweepSpec } from '../helpers/cluster.js';

type Samples = Map<string, number>;

/** Parses the Prometheus text format into `name{label="v",...}` → value (labels as written). */
function parse(text: string): Samples {
  const samples: Samples = new Map();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const cut = line.lastIndexOf(' ');
    samples.set(line.slice(0, cut), Number(line.slice(cut + 1)));
  }
  return samples;
}

function value(samples: Samples, key: string): number {
  const v = samples.get(key);
  assert.ok(
    v !== undefined,
    `metric ${key} missing; have ${[...samples.keys()].filter((k) => k.startsWith('trellis_')).join(', ')}`,
  );
  return v;
}

async function scrape(address: string): Promise<Samples> {
  const response = await fetch(`http://${address}/metrics`, { signal: AbortSignal.timeout(10_000) });
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  return parse(await response.text());
}

describe('coordinator metrics over HTTP', () => {
  it('reports trials, attempts, slots, workers, reports, dispatch and store timings of a real sweep', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'trellis-prom-'));
    const log = createLogger('test', process.env.TRELLIS_LOG_LEVEL ?? 'warn');
    const metrics = new CoordinatorMetrics({ processMetrics: false });
    const embedded = await startEmbedded({
      dir,
      workers: 2,
      log,
      leaseMs: 6000,
      cpusPerWorker: 1,
      store: new LocalStore(join(dir, 'store')),
      bus: new LocalBus(),
      metrics,
    });
    const server = await serveMetrics(metrics.registry, '127.0.0.1:0', log);
    const client = new TrellisClient(embedded.address);
    const seen: TrellisEvent[] = [];
    const waiters = new Set<() => void>();
    embedded.coordinator.events.onStored((event) => {
      seen.push(event);
      for (const wake of [...waiters]) wake();
    });
    const until = (what: string, done: () => boolean, timeoutMs = 60_000): Promise<void> =>
      new Promise((resolve, reject) => {
        const check = (): void => {
          if (!done()) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`timed out waiting for ${what}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    try {
      const connected = (): number =>
        new Set(
          seen.filter((e) => e.type === 'worker.state' && e.payload.status === 'connected').map((e) => e.workerId),
        ).size;
      await until('two workers', () => connected() === 2);
      const idle = await scrape(server.address);
      assert.equal(value(idle, 'trellis_workers{state="connected"}'), 2);
      assert.equal(value(idle, 'trellis_slots_demanded{resource="cpu"}'), 0);

      // Five steps 400 ms apart: both trials run for about two seconds once they have started.
      const { experiment } = await client.submit(
        sweepSpec({ name: 'prom', trials: 4, concurrency: 2, steps: 5, delay: 400 }),
      );
      const runningNow = (): number => {
        const last = new Map<string, unknown>();
        for (const e of seen)
          if (e.type === 'trial.state' && e.experimentId === experiment.id) last.set(e.trialId!, e.payload.status);
        return [...last.values()].filter((s) => s === 'running').length;
      };
      await until('two running trials', () => runningNow() === 2);
      const during = await scrape(server.address);
      assert.equal(value(during, 'trellis_trials{status="running"}'), 2);
      assert.equal(
        value(during, 'trellis_slots_demanded{resource="cpu"}'),
        2,
        'two running attempts hold one CPU each',
      );
      assert.equal(value(during, 'trellis_slots_demanded{resource="gpu"}'), 0);
      assert.equal(value(during, 'trellis_workers{state="connected"}'), 2);

      await until('the experiment to end', () =>
        seen.some(
          (e) => e.type === 'experiment.state' && e.experimentId === experiment.id && e.payload.status === 'succeeded',
        ),
      );
      const after = await scrape(server.address);
      const trials = await client.trials(experiment.id);
      const stored = await embedded.coordinator.store.listTrials(experiment.id);
      const attempts = stored.flatMap((t) => t.attempts);
      let reports = 0;
      for (const trial of stored) reports += (await embedded.coordinator.store.listMetrics(trial.id)).length;
      assert.equal(trials.length, 4);
      assert.equal(
        value(after, 'trellis_trials{status="succeeded"}'),
        trials.filter((t) => t.status === 'succeeded').length,
      );
      assert.equal(value(after, 'trellis_trials{status="running"}'), 0);
      assert.equal(
        value(after, 'trellis_attempts_total{outcome="succeeded"}'),
        attempts.filter((a) => a.status === 'succeeded').length,
      );
      assert.equal(value(after, 'trellis_attempts_total{outcome="lost"}'), 0);
      assert.ok(reports >= 4 * 5, `at least five reports per trial are stored (${reports})`);
      assert.equal(value(after, 'trellis_metric_reports_total'), reports);
      assert.equal(value(after, 'trellis_dispatch_latency_seconds_count'), attempts.length, 'one wait per attempt');
      assert.equal(value(after, 'trellis_slots_demanded{resource="cpu"}'), 0);
      assert.ok(
        value(after, 'trellis_store_op_seconds_count{op="updateTrial"}') >= 3 * 4,
        'claim, report, end per trial',
      );
      assert.ok(value(after, 'trellis_store_op_seconds_count{op="insertTrial"}') === 4);

      const missing = await fetch(`http://${server.address}/nope`, { signal: AbortSignal.timeout(10_000) });
      assert.equal(missing.status, 404);
      await missing.body?.cancel();
    } finally {
      client.close();
      await server.close();
      await embedded.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
