/**
 * Scaling that cannot strand a trial: the GPU-slot demand of a real sweep (trials asking for one
 * GPU each, two workers with one GPU each, four trials at a time) is recorded as the coordinator
 * reports it (trellis_slots_demanded{resource="gpu"}) together with the attempts running at
 * that moment, then replayed through the KEDA/HPA formula of the chart (shared/autoscale.ts).
 * The replica count must never fall below the running attempts — and the pending-only trigger
 * the issue called out must, on the same series, so the check can tell the two apart.
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
import { simulateScaling, type ScalingConfig } from '../../shared/autoscale.js';
import { TRAINER } from '../helpers/cluster.js';

interface Sample {
  time: number;
  demanded: number;
  pending: number;
  running: number;
}

describe('autoscaling on trellis_slots_demanded', () => {
  it('never keeps fewer GPU workers than running attempts over a real sweep', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'trellis-scale-'));
    const log = createLogger('test', process.env.TRELLIS_LOG_LEVEL ?? 'warn');
    const metrics = new CoordinatorMetrics({ processMetrics: false });
    const embedded = await startEmbedded({
      dir,
      workers: 0,
      log,
      leaseMs: 6000,
      cpusPerWorker: 1,
      store: new LocalStore(join(dir, 'store')),
      bus: new LocalBus(),
      metrics,
    });
    const { coordinator } = embedded;
    const client = new TrellisClient(embedded.address);
    const series: Sample[] = [];
    const sample = (): void => {
      const demand = coordinator.dispatcher.demand();
      series.push({
        time: Date.now(),
        demanded: demand.gpu,
        pending: demand.pending.gpu,
        running: coordinator.leases.size,
      });
    };
    let ended: (() => void) | undefined;
    const end = new Promise<void>((resolve) => (ended = resolve));
    let experimentId = '';
    const connected = new Set<string>();
    let twoConnected: (() => void) | undefined;
    const ready = new Promise<void>((resolve) => (twoConnected = resolve));
    coordinator.events.onStored((event) => {
      if (event.type === 'worker.state' && event.payload.status === 'connected') {
        connected.add(event.workerId ?? '');
        if (connected.size === 2) twoConnected?.();
      }
      if (event.experimentId !== experimentId) return;
      sample();
      if (event.type === 'experiment.state' && ['succeeded', 'failed'].includes(String(event.payload.status)))
        ended?.();
    });
    const ticker = setInterval(sample, 25);
    const deadline = setTimeout(() => ended?.(), 120_000);
    try {
      embedded.spawnWorker('gpu-w1', { args: ['--gpus', '0'] });
      embedded.spawnWorker('gpu-w2', { args: ['--gpus', '0'] });
      await Promise.race([
        ready,
        new Promise((_, reject) => setTimeout(() => reject(new Error('workers did not connect')), 60_000).unref()),
      ]);
      const { experiment } = await client.submit(
        JSON.stringify({
          apiVersion: 'trellis/v1',
          kind: 'Sweep',
          name: 'scale',
          trial: {
            runtime: 'command',
            command: [process.execPath, TRAINER],
            objective: { metric: 'val_score', mode: 'max' },
          },
          resources: { cpus: 1, gpus: 1 },
          search: {
            algorithm: 'random',
            seed: 5,
            space: { x: { uniform: [0, 1] }, steps: { choice: [4] }, delay: { choice: [150] } },
          },
          budget: { trials: 6, concurrency: 4, maxAttempts: 2 },
        }),
      );
      experimentId = experiment.id;
      await end;
      sample();
      const final = await client.get(experimentId);
      assert.equal(final.status, 'succeeded', 'the sweep ended within its deadline');

      const recorded = series.filter((s) => s.time >= series.find((x) => x.demanded > 0)!.time);
      assert.ok(
        recorded.some((s) => s.running === 2 && s.pending > 0),
        'a phase with attempts queued behind running ones',
      );
      assert.ok(
        recorded.some((s) => s.running > 0 && s.pending === 0),
        'a finishing phase: running, none pending',
      );
      assert.equal(recorded[recorded.length - 1]!.demanded, 0, 'nothing demanded at the end');

      const config: ScalingConfig = { gpusPerWorker: 1, minReplicas: 0, maxReplicas: 8 };
      const replicas = simulateScaling(
        recorded.map((s) => ({ time: s.time, value: s.demanded })),
        config,
      );
      recorded.forEach((s, i) => {
        assert.ok(
          replicas[i]! * config.gpusPerWorker >= s.running,
          `sample ${i}: ${replicas[i]} replicas < ${s.running} running`,
        );
      });
      assert.equal(replicas[replicas.length - 1], 0, 'scaled to zero once the sweep is done');
      // The same series through a trigger on pending trials only: it strands running attempts.
      const pendingOnly = simulateScaling(
        recorded.map((s) => ({ time: s.time, value: s.pending })),
        config,
      );
      assert.ok(
        recorded.some((s, i) => pendingOnly[i]! < s.running),
        'a pending-only trigger would scale below the running attempts',
      );
    } finally {
      clearInterval(ticker);
      clearTimeout(deadline);
      client.close();
      await embedded.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
