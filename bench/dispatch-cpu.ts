/**
 * CPU time per no-op trial on the full embedded path, by process, for A/B runs that a loaded
 * machine's wall times cannot decide (CPU seconds hardly depend on what else runs):
 *
 *   node dist/bench/dispatch-cpu.js [TRIALS] [prefetch]   # e.g. alternate TRELLIS_SPAWNER=0 and 1
 *
 * The dispatch suite's `command` workload (2 worker processes × 8 slots, `/bin/echo` per
 * trial) after a 64-trial warm-up; `prefetch` runs the sweep with budget.prefetch. utime + stime from /proc (10 ms ticks) before and after the
 * sweep, for: this process (coordinator and gRPC server), the worker processes, what the
 * workers reaped (programs spawned on their event loop), and the workers' helpers (the spawner
 * or reaper, with the programs they reaped). Linux only. Prints one JSON line.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { processCpu } from './common.js';
import { runSweep, startEmbeddedCluster, sweepSpec } from './harness.js';
import { env } from '../shared/env.js';

const trials = Number(process.argv[2] ?? '600');
const mode = process.argv[3];
if (!Number.isInteger(trials) || trials < 1 || (mode !== undefined && mode !== 'prefetch')) {
  process.stderr.write('usage: node dist/bench/dispatch-cpu.js [TRIALS] [prefetch]\n');
  process.exit(2);
}
const prefetch = mode === 'prefetch';

function childrenOf(ppid: number): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map(Number)
    .filter((pid) => processCpu(pid)?.ppid === ppid);
}

const cluster = await startEmbeddedCluster({ workers: 2, cpusPerWorker: 8 });
try {
  const coordinator = cluster.embedded.coordinator;
  await runSweep(coordinator, sweepSpec({ name: 'warmup', trials: 64, concurrency: 16 }));
  const workers = childrenOf(process.pid).filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('worker');
    } catch {
      return false;
    }
  });
  const sample = (): Record<string, number> => {
    const w = workers.map((pid) => processCpu(pid)!);
    const helpers = workers.flatMap(childrenOf).map((pid) => processCpu(pid)!);
    return {
      coordinator: processCpu(process.pid)!.self,
      workers: w.reduce((sum, s) => sum + s.self, 0),
      reaped_by_workers: w.reduce((sum, s) => sum + s.children, 0),
      helpers_and_their_programs: helpers.reduce((sum, s) => sum + s.self + s.children, 0),
    };
  };
  const before = sample();
  const { seconds } = await runSweep(coordinator, sweepSpec({ name: 'noop', trials, concurrency: 16, prefetch }));
  const after = sample();
  const perTrial = Object.fromEntries(
    Object.keys(before).map((key) => [key, Math.round(((after[key]! - before[key]!) / trials) * 100) / 100]),
  );
  const total = Object.values(perTrial).reduce((a, b) => a + b, 0);
  process.stdout.write(
    JSON.stringify({
      trials,
      spawner: env().TRELLIS_SPAWNER,
      prefetch,
      trials_per_second: Math.round((trials / seconds) * 10) / 10,
      cpu_ms_per_trial: perTrial,
      cpu_ms_per_trial_total: Math.round(total * 100) / 100,
    }) + '\n',
  );
} finally {
  await cluster.close();
}
