/**
 * CPU per program of the command runtime alone, with no coordinator and no gRPC: the worker's
 * per-attempt path (temp directory, environment, the spawner request, output lines, the search
 * for escaped processes, clean-up) and the spawner with its programs, for A/B runs of that path
 * that dispatch-cpu.ts's whole-cluster figures are too noisy to decide on a loaded machine:
 *
 *   node dist/bench/runtime-cpu.js [PROGRAMS] [CONCURRENT]     # e.g. 2000 8
 *
 * Runs `/bin/echo '{"score": 1}'` through `commandRuntime.run` PROGRAMS times, CONCURRENT at
 * once, after a 64-program warm-up. CPU from /proc (10 ms ticks): this process, and its
 * children (the spawner, with the programs it reaped). Linux only. Prints one JSON line.
 */
import { readdirSync } from 'node:fs';
import { processCpu } from './common.js';
import { commandRuntime } from '../worker/runtimes/command/runtime.js';
import type { AttemptContext } from '../worker/runtimes/base.js';

const programs = Number(process.argv[2] ?? '2000');
const concurrent = Number(process.argv[3] ?? '8');
if (!Number.isInteger(programs) || programs < 1 || !Number.isInteger(concurrent) || concurrent < 1) {
  process.stderr.write('usage: node dist/bench/runtime-cpu.js [PROGRAMS] [CONCURRENT]\n');
  process.exit(2);
}

function sample(): { worker: number; spawner_and_programs: number } {
  const helpers = readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map((d) => processCpu(Number(d)))
    .filter((s) => s?.ppid === process.pid);
  const self = processCpu(process.pid)!;
  return {
    worker: self.self,
    // Programs reaped here (no spawner) count with the helpers: the same work, another process.
    spawner_and_programs: self.children + helpers.reduce((sum, s) => sum + s!.self + s!.children, 0),
  };
}

let next = 0;
function context(): AttemptContext {
  const n = next++;
  return {
    experimentId: 'bench',
    trialId: `bench-t-${n}`,
    trialNumber: n,
    attemptId: `bench-t-${n}-a1`,
    attemptNumber: 1,
    config: {
      runtime: 'command',
      command: ['/bin/echo', '{"score": 1}'],
      objective: { metric: 'score', mode: 'max' },
      checkpointEvery: 0,
    } as AttemptContext['config'],
    params: { x: n / 1000 },
    seed: n,
    gpuIds: [],
    signal: new AbortController().signal,
    report: () => undefined,
    checkpoint: { load: async () => undefined, save: async () => undefined },
    log: () => undefined,
    output: () => undefined,
  };
}

async function runMany(count: number): Promise<number> {
  let started = 0;
  const t0 = performance.now();
  const lane = async (): Promise<void> => {
    while (started < count) {
      started++;
      const result = await commandRuntime.run(context());
      if (result.metrics.score !== 1) throw new Error(`unexpected result ${JSON.stringify(result)}`);
      await result.cleanup;
    }
  };
  await Promise.all(Array.from({ length: concurrent }, lane));
  return (performance.now() - t0) / 1000;
}

await runMany(64);
const before = sample();
const seconds = await runMany(programs);
const after = sample();
const perProgram = {
  worker: Math.round(((after.worker - before.worker) / programs) * 1000) / 1000,
  spawner_and_programs:
    Math.round(((after.spawner_and_programs - before.spawner_and_programs) / programs) * 1000) / 1000,
};
process.stdout.write(
  JSON.stringify({
    programs,
    concurrent,
    programs_per_second: Math.round(programs / seconds),
    cpu_ms_per_program: perProgram,
    cpu_ms_per_program_total: Math.round((perProgram.worker + perProgram.spawner_and_programs) * 1000) / 1000,
  }) + '\n',
);
process.exit(0);
