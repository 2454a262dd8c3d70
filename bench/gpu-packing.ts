/**
 * `npm run bench:gpu-packing`: GPU packing on a synthetic mixed workload, simulated. The
 * placement is Trellis's own pure function (coordinator/dispatch/slots.ts `placeAll`, with
 * gpu-placement.ts), driven by a discrete-event clock; nothing runs on a GPU (no GPU machine was
 * available: bench/README.md). Three policies on the same workload:
 * - whole: one trial per GPU (what `gpus: 1` does without packing);
 * - declared: every trial declares its true peak (resources.gpuMemory), packed;
 * - measured: nothing declared; each configuration family's first trial runs on a whole GPU,
 *   later ones ask for its measured peak x1.1 + 512 MiB (coordinator/sweeps/gpu-packing.ts).
 * Sharing a GPU's compute slows trials: each is modelled to run at 1 / (1 + s x (k - 1)) of its
 * speed with k trials on its GPU, for assumed s = 0, 0.15, 0.3 (an assumption, not measured).
 * Reports makespan, GPU memory utilisation (memory-time used / available until the makespan),
 * busy GPU-time, and mean wait; ratios against `whole` in the same run.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import {
  applyHold,
  holdOf,
  placeAll,
  type Placement,
  type SlotRequest,
  type WorkerCapacity,
} from '../coordinator/dispatch/slots.js';
import { shareOf } from '../coordinator/sweeps/gpu-packing.js';
import { machine, ROOT } from './common.js';
import { mulberry32 as rng } from '../shared/hash.js';

const GiB = 2 ** 30;

interface Trial {
  key: string;
  experiment: string;
  family: string;
  peakBytes: number;
  /** Minutes alone on a GPU. */
  work: number;
}

/** Three experiments of small, medium and large trials; 4 families each; all queued at t = 0. */
function workload(seed: number): Trial[] {
  const random = rng(seed);
  const kinds = [
    { experiment: 'small', trials: 160, peak: [3, 9], minutes: [5, 20] },
    { experiment: 'medium', trials: 60, peak: [14, 30], minutes: [10, 40] },
    { experiment: 'large', trials: 16, peak: [45, 70], minutes: [30, 60] },
  ];
  const trials: Trial[] = [];
  for (const kind of kinds) {
    const peaks = Array.from({ length: 4 }, () => (kind.peak[0]! + random() * (kind.peak[1]! - kind.peak[0]!)) * GiB);
    for (let i = 0; i < kind.trials; i++) {
      const f = Math.floor(random() * 4);
      trials.push({
        key: `${kind.experiment}-${i}`,
        experiment: kind.experiment,
        family: `${kind.experiment}/f${f}`,
        peakBytes: Math.round(peaks[f]!),
        work: kind.minutes[0]! + random() * (kind.minutes[1]! - kind.minutes[0]!),
      });
    }
  }
  return trials;
}

function cluster(workers: number, gpusEach: number, gpuBytes: number): WorkerCapacity[] {
  return Array.from({ length: workers }, (_, w) => {
    const gpus = Array.from({ length: gpusEach }, (_, g) => String(g));
    return {
      id: `w${w}`,
      cpus: 64,
      gpus,
      memoryBytes: 0,
      labels: {},
      runtimes: ['command'],
      usedCpus: 0,
      usedGpus: new Set<string>(),
      usedMemoryBytes: 0,
      running: 0,
      accepting: true,
      gpuTotals: Object.fromEntries(gpus.map((g) => [g, gpuBytes])),
    };
  });
}

type Policy = 'whole' | 'declared' | 'measured';

interface Running {
  trial: Trial;
  request: SlotRequest;
  placement: Placement;
  remaining: number;
  started: number;
}

function simulate(trials: Trial[], policy: Policy, slowdown: number, shape: [number, number, number]) {
  const workers = cluster(...shape);
  const learned = new Map<string, number>();
  const requestOf = (t: Trial): SlotRequest => {
    const base = { cpus: 1, gpus: 1, memoryBytes: 0, runtime: 'command', labels: {}, group: t.experiment };
    if (policy === 'declared') return { ...base, gpuMemoryBytes: t.peakBytes };
    if (policy === 'measured' && learned.has(t.family)) return { ...base, gpuMemoryBytes: learned.get(t.family)! };
    return base;
  };
  let waiting = trials.map((t) => ({ key: t.key, trial: t }));
  const running: Running[] = [];
  let now = 0;
  let memoryTime = 0;
  let busyTime = 0;
  let waitSum = 0;
  const perGpu = (r: Running): number =>
    running.filter(
      (o) => o.placement.workerId === r.placement.workerId && o.placement.gpuIds[0] === r.placement.gpuIds[0],
    ).length;
  for (;;) {
    // Place what fits, fair between experiments, as the dispatcher does.
    const queued = waiting.map((w) => ({ key: w.key, request: requestOf(w.trial) }));
    const held = new Map<string, number>();
    for (const r of running) held.set(r.trial.experiment, (held.get(r.trial.experiment) ?? 0) + 1);
    const { placed } = placeAll(workers, queued, held);
    const byKey = new Map(queued.map((q) => [q.key, q.request]));
    for (const { key, placement } of placed) {
      const request = byKey.get(key)!;
      applyHold(
        workers.find((w) => w.id === placement.workerId)!,
        holdOf(request, placement),
      );
      const trial = waiting.find((w) => w.key === key)!.trial;
      running.push({ trial, request, placement, remaining: trial.work, started: now });
      waitSum += now;
    }
    const done = new Set(placed.map((p) => p.key));
    waiting = waiting.filter((w) => !done.has(w.key));
    if (running.length === 0) break;
    // Advance to the next completion at the current rates.
    const rates = running.map((r) => 1 / (1 + slowdown * (perGpu(r) - 1)));
    const dt = Math.min(...running.map((r, i) => r.remaining / rates[i]!));
    const busyGpus = new Set(running.map((r) => `${r.placement.workerId}/${r.placement.gpuIds[0]}`)).size;
    busyTime += busyGpus * dt;
    memoryTime += running.reduce((sum, r) => sum + r.trial.peakBytes, 0) * dt;
    now += dt;
    for (let i = running.length - 1; i >= 0; i--) {
      const r = running[i]!;
      r.remaining -= rates[i]! * dt;
      if (r.remaining > 1e-9) continue;
      running.splice(i, 1);
      applyHold(
        workers.find((w) => w.id === r.placement.workerId)!,
        holdOf(r.request, r.placement),
        -1,
      );
      if (policy === 'measured' && !learned.has(r.trial.family))
        learned.set(r.trial.family, shareOf(r.trial.peakBytes));
    }
  }
  const gpus = shape[0] * shape[1];
  return {
    makespan_min: round(now),
    gpu_memory_utilisation: round(memoryTime / (gpus * shape[2] * now), 4),
    gpu_busy_fraction: round(busyTime / (gpus * now), 4),
    mean_wait_min: round(waitSum / trials.length),
  };
}

function round(x: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

function main(): void {
  const save = process.argv.includes('--save');
  const shape: [number, number, number] = [2, 4, 80 * GiB];
  const seeds = [1, 2, 3];
  const results: Record<string, unknown>[] = [];
  for (const slowdown of [0, 0.15, 0.3]) {
    for (const seed of seeds) {
      const trials = workload(seed);
      const whole = simulate(trials, 'whole', slowdown, shape);
      const declared = simulate(trials, 'declared', slowdown, shape);
      const measured = simulate(trials, 'measured', slowdown, shape);
      results.push({
        slowdown_per_cotenant: slowdown,
        seed,
        whole,
        declared,
        measured,
        makespan_ratio_vs_whole: {
          declared: round(declared.makespan_min / whole.makespan_min, 3),
          measured: round(measured.makespan_min / whole.makespan_min, 3),
        },
        utilisation_ratio_vs_whole: {
          declared: round(declared.gpu_memory_utilisation / whole.gpu_memory_utilisation, 3),
          measured: round(measured.gpu_memory_utilisation / whole.gpu_memory_utilisation, 3),
        },
      });
    }
  }
  const doc = {
    suite: 'gpu-packing',
    simulated: true,
    note: 'placement by Trellis placeAll on a discrete-event clock; no GPU used; compute slowdown from sharing is assumed (slowdown_per_cotenant)',
    cluster: { workers: shape[0], gpus_per_worker: shape[1], gpu_gib: shape[2] / GiB },
    workload:
      'small 160 trials 3-9 GiB 5-20 min; medium 60 trials 14-30 GiB 10-40 min; large 16 trials 45-70 GiB 30-60 min; 4 families each',
    machine: machine(),
    load_average: loadavg().map((x) => round(x)),
    date: new Date().toISOString(),
    results,
  };
  const text = `${JSON.stringify(doc, null, 2)}\n`;
  process.stdout.write(text);
  if (save) {
    mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
    writeFileSync(join(ROOT, 'bench', 'results', 'gpu-packing.json'), text);
  }
}

main();
