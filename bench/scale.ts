/**
 * `npm run bench -- scale` (issue 15 §3): one coordinator and N simulated workers over real gRPC
 * connections, for each N of `--workers` (default 10, 100, 1000).
 *
 * The coordinator runs in this process (Coordinator on a LocalStore without fsync and a LocalBus,
 * the real gRPC server with tokens), so its CPU and RSS are this process's, read from /proc. The
 * workers live in `--procs` forked processes (bench/scale-workers.ts), each holding N/procs real
 * worker connections (worker/connection.ts) with `--slots` slots each. The sweep has N × slots
 * lanes and N × slots × `--rounds` trials; every trial reports a metric every `--report-ms` and
 * its result after `--trial-ms`, or, with `--trial-jitter J`, after a length drawn uniformly
 * from `--trial-ms` × [1 − J, 1 + J] (same mean, so the same ideal rate). Without jitter every
 * slot's trials end together round after round, and the assignment latency measures how long
 * the coordinator takes to work off a burst of N × slots results, creations and assignments;
 * with it, trials end spread out as on a real cluster (whose trials never last exactly alike).
 *
 * Tokens: one worker token per 100 workers (`rack-K`, role worker, max slots 100 × slots), so the
 * default per-caller limits hold unchanged: TRELLIS_STREAMS_PER_CALLER (100 streams per token)
 * and TRELLIS_CALLS_PER_SECOND (workers make no unary calls here). Nothing in the environment is
 * changed. The request limit on lanes (maxConcurrency, 1,024) is raised to N × slots.
 *
 * Figures per N: trials/s; assignment latency (trial created, i.e. ready for a slot, → the
 * assignment received by its worker; wall clocks of the same machine, in ms), all trials and
 * the steady state (trials created after the first trial ended), with where the steady
 * state's time went (`assignment_breakdown`: created → the lane's dispatch → a slot → the
 * claim stored → sent → received, p50 and p99 of each; the dispatch trace's stamps, on for
 * this run); report → stored (the metric's
 * `sent_at` → its `trial.metric` event stored, after its row); coordinator CPU (cores, ms per
 * trial, µs per report) and RSS (peak of samples every 500 ms). Before the sweep, an idle phase
 * (`--idle-ms`, default one heartbeat interval): the workers connected, no trials; the
 * coordinator's CPU over the heartbeats it handled is its CPU per heartbeat.
 *
 * `--pin` (more than 2 CPUs and `taskset` needed): the coordinator (this process, all its
 * threads) runs on CPU 0 and the simulated workers' processes on CPUs 1..n-1, so the workers
 * never take the coordinator's core. With 2 CPUs or fewer it runs unpinned and says so.
 */
import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Coordinator } from '../coordinator/coordinator.js';
import { LocalStore } from '../coordinator/store/local.js';
import { LocalBus } from '../coordinator/bus/local.js';
import { startServer } from '../coordinator/server.js';
import { StaticTokens } from '../coordinator/auth/tokens.js';
import { DEFAULT_LIMITS, resolveLimits } from '../shared/limits.js';
import { benchLogger, benchLogLevel, tempDir, waitForWorkers } from './harness.js';
import { percentile, progress, round } from './common.js';
import { dispatchTrace } from '../shared/dispatch-trace.js';

export interface ScaleOptions {
  workers: number[];
  slots: number;
  trialMs: number;
  reportMs: number;
  rounds: number;
  /** Trial lengths are drawn from trialMs × [1 − trialJitter, 1 + trialJitter] (0: all alike). */
  trialJitter: number;
  procs: number;
  /** Pin the coordinator to CPU 0 and the workers to the other CPUs (more than 2 CPUs). */
  pin: boolean;
  /** Idle phase before each sweep, ms (undefined: one heartbeat interval). */
  idleMs?: number;
}

const CHILD = fileURLToPath(new URL('./scale-workers.js', import.meta.url));
const WORKERS_PER_TOKEN = 100;

/** CPU time of this process (all threads, user + system) in ms, and its RSS in bytes (from /proc). */
function selfUsage(): { cpuMs: number; rss: number } {
  const cpu = process.cpuUsage();
  const status = readFileSync('/proc/self/status', 'utf8');
  return {
    cpuMs: (cpu.user + cpu.system) / 1000,
    rss: Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) * 1024,
  };
}

/** The CPU ids this process may run on (/proc/self/status Cpus_allowed_list, e.g. "0-3,8"). */
export function allowedCpus(status = readFileSync('/proc/self/status', 'utf8')): number[] {
  const list = /Cpus_allowed_list:\s*(\S+)/.exec(status)?.[1];
  if (!list) return Array.from({ length: availableParallelism() }, (_, i) => i);
  return list.split(',').flatMap((part) => {
    const [a, b] = part.split('-').map(Number) as [number, number | undefined];
    return Array.from({ length: (b ?? a) - a + 1 }, (_, i) => a + i);
  });
}

/**
 * What `--pin` does on this machine: the coordinator on the first allowed CPU, the workers on
 * the others; or why it does not pin (not asked, 2 CPUs or fewer).
 */
export function pinPlan(pin: boolean): { coordinator: string; workers: string } | { unpinned: string } {
  if (!pin) return { unpinned: 'not asked (--pin)' };
  const cpus = allowedCpus();
  if (cpus.length <= 2) return { unpinned: `only ${cpus.length} CPUs available (--pin needs more than 2)` };
  try {
    execFileSync('taskset', ['-V'], { stdio: 'ignore' });
  } catch {
    throw new Error('--pin needs taskset (util-linux) on the PATH; it was not found');
  }
  return { coordinator: String(cpus[0]), workers: cpus.slice(1).join(',') };
}

/** Sets the CPU list of every thread of `pid` (threads started later inherit it). */
function pinProcess(pid: number, list: string): void {
  execFileSync('taskset', ['-a', '-p', '-c', list, String(pid)], { stdio: 'ignore' });
}

function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`scale bench: ${what} not within ${ms} ms`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

async function runOne(n: number, o: ScaleOptions, plan: ReturnType<typeof pinPlan>): Promise<Record<string, unknown>> {
  const loadStart = loadavg().map((l) => round(l, 2));
  const temp = tempDir('scale');
  const log = benchLogger();
  // One sweep with a lane per slot: the default limit of 1,024 lanes is raised to N × slots,
  // as an operator would with `trellis coordinator --limits` (shared/limits.ts).
  const coordinator = new Coordinator({
    store: new LocalStore(join(temp.dir, 'store'), { durable: false }),
    bus: new LocalBus(),
    log,
    limits: resolveLimits({ maxConcurrency: Math.max(DEFAULT_LIMITS.maxConcurrency, n * o.slots) }),
  });
  await coordinator.start();
  const tokens = new StaticTokens();
  const racks = Math.ceil(n / WORKERS_PER_TOKEN);
  const rackTokens = Array.from({ length: racks }, (_, k) =>
    tokens.issue(`rack-${k}`, 'worker', WORKERS_PER_TOKEN * o.slots),
  );
  const server = await startServer(coordinator, '127.0.0.1:0', log, { auth: tokens });
  const children: ChildProcess[] = [];
  const delivered = new Map<string, number>();
  const reportLatency: number[] = [];
  let reportsStored = 0;
  const off = coordinator.events.onStored((event) => {
    if (event.type !== 'trial.metric') return;
    reportsStored++;
    const sentAt = (event.payload.values as Record<string, number> | undefined)?.sent_at;
    if (sentAt !== undefined) reportLatency.push(Date.now() - sentAt);
  });
  try {
    const procs = Math.min(o.procs, n);
    const connected = waitForWorkers(coordinator, n, 180_000);
    const exits: Promise<void>[] = [];
    for (let p = 0; p < procs; p++) {
      const workers = [];
      for (let i = p; i < n; i += procs) {
        workers.push({ id: `sim-${i}`, token: rackTokens[Math.floor(i / WORKERS_PER_TOKEN)]! });
      }
      const child = fork(
        CHILD,
        [
          JSON.stringify({
            address: server.address,
            reportMs: o.reportMs,
            trialMs: o.trialMs,
            trialJitter: o.trialJitter,
            slots: o.slots,
            logLevel: benchLogLevel(),
            workers,
          }),
        ],
        { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] },
      );
      child.on('message', (message: { delivered?: [string, number][] }) => {
        for (const [trialId, at] of message.delivered ?? []) delivered.set(trialId, at);
      });
      exits.push(new Promise((resolve) => child.once('exit', () => resolve())));
      children.push(child);
      if ('workers' in plan && child.pid !== undefined) pinProcess(child.pid, plan.workers);
    }
    const t0Connect = performance.now();
    await connected;
    progress(`N=${n}: ${n} workers connected in ${round((performance.now() - t0Connect) / 1000, 1)} s`);

    // Idle phase: connected workers heartbeating, no trials.
    const idleMs = o.idleMs ?? coordinator.heartbeatMs;
    const idleBefore = { usage: selfUsage(), beats: coordinator.dispatcher.heartbeats };
    await new Promise((resolve) => setTimeout(resolve, idleMs));
    const idleCpuMs = selfUsage().cpuMs - idleBefore.usage.cpuMs;
    const beats = coordinator.dispatcher.heartbeats - idleBefore.beats;
    const idle = {
      ms: idleMs,
      heartbeat_ms: coordinator.heartbeatMs,
      heartbeats: beats,
      cpu_ms: round(idleCpuMs, 1),
      cpu_us_per_heartbeat: beats > 0 ? round((idleCpuMs * 1000) / beats, 1) : null,
      rss_mb: round(selfUsage().rss / 2 ** 20, 1),
    };
    progress(`N=${n}: idle ${JSON.stringify(idle)}`);

    const lanes = n * o.slots;
    const trials = lanes * o.rounds;
    const spec = JSON.stringify({
      apiVersion: 'trellis/v1',
      kind: 'Sweep',
      name: `scale-${n}`,
      // The simulated workers do not run the command; they report and finish on their own clock.
      trial: { runtime: 'command', command: ['/bin/true'], objective: { metric: 'score', mode: 'max' } },
      resources: { cpus: 1 },
      search: { algorithm: 'random', seed: 1, space: { x: { uniform: [0, 1] } } },
      budget: { trials, concurrency: lanes, maxAttempts: 1 },
    });
    const rssPeak = { bytes: selfUsage().rss };
    const sampler = setInterval(() => (rssPeak.bytes = Math.max(rssPeak.bytes, selfUsage().rss)), 500);
    const loopDelay = monitorEventLoopDelay({ resolution: 10 });
    loopDelay.enable();
    const before = selfUsage();
    const t0 = performance.now();
    const { experiment } = await coordinator.submit(spec);
    await coordinator.idle();
    const seconds = (performance.now() - t0) / 1000;
    const after = selfUsage();
    clearInterval(sampler);
    loopDelay.disable();
    rssPeak.bytes = Math.max(rssPeak.bytes, after.rss);
    const done = await coordinator.get(experiment.id);
    if (done.status !== 'succeeded') throw new Error(`scale sweep ended ${done.status}: ${done.error ?? ''}`);

    // Let the children's last delivery batches arrive (they flush every 250 ms).
    await new Promise((resolve) => setTimeout(resolve, 600));
    const docs = await coordinator.trials(experiment.id);
    // The first trial that can have ended: later trials are the steady state's.
    const firstRoundEnd = Math.min(...docs.map((t) => t.createdAt)) + o.trialMs * (1 - o.trialJitter);
    const all: number[] = [];
    const steady: number[] = [];
    for (const trial of docs) {
      const at = delivered.get(trial.id);
      if (at === undefined) continue;
      all.push(at - trial.createdAt);
      if (trial.createdAt >= firstRoundEnd) steady.push(at - trial.createdAt);
    }
    const breakdown = assignmentBreakdown(
      docs.filter((t) => t.createdAt >= firstRoundEnd),
      dispatchTrace.takeAll(),
      delivered,
    );
    const cpuMs = after.cpuMs - before.cpuMs;
    const result = {
      workers: n,
      load_avg: { start: loadStart, end: loadavg().map((l) => round(l, 2)) },
      slots: n * o.slots,
      procs,
      tokens: racks,
      trials: docs.length,
      assignments_seen: all.length,
      seconds: round(seconds, 1),
      trials_per_second: round(docs.length / seconds, 1),
      ideal_trials_per_second: round(lanes / (o.trialMs / 1000), 1),
      assignment_ms: {
        p50: round(percentile(all, 0.5), 1),
        p99: round(percentile(all, 0.99), 1),
        steady_p50: round(percentile(steady, 0.5), 1),
        steady_p99: round(percentile(steady, 0.99), 1),
        steady_count: steady.length,
      },
      assignment_breakdown: breakdown,
      reports_stored: reportsStored,
      reports_per_second: round(reportsStored / seconds, 1),
      report_to_stored_ms: {
        p50: round(percentile(reportLatency, 0.5), 1),
        p99: round(percentile(reportLatency, 0.99), 1),
      },
      coordinator: {
        cpu_cores: round(cpuMs / 1000 / seconds, 3),
        cpu_ms_per_trial: round(cpuMs / docs.length, 3),
        cpu_us_per_report: reportsStored > 0 ? round((cpuMs * 1000) / reportsStored, 1) : null,
        rss_mb: round(rssPeak.bytes / 2 ** 20, 1),
        // How late its event loop ran timers (10 ms resolution): stalls that every message waits out.
        event_loop_delay_ms: {
          p50: round(loopDelay.percentile(50) / 1e6, 1),
          p99: round(loopDelay.percentile(99) / 1e6, 1),
          max: round(loopDelay.max / 1e6, 1),
        },
      },
      idle,
    };
    progress(`N=${n}: ${JSON.stringify(result)}`);
    for (const child of children) child.send({ close: true });
    await within(Promise.all(exits), 60_000, 'the simulated workers to close');
    return result;
  } finally {
    off();
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    await server.close();
    await coordinator.close();
    temp.remove();
  }
}

/** Ratio of a per-unit cost between consecutive sizes (≤ ~1 is linear or better). */
interface Growth {
  from: number;
  to: number;
  workers_ratio: number;
  cpu_per_trial_ratio: number;
  cpu_per_report_ratio: number | null;
  cpu_per_heartbeat_ratio: number | null;
  rss_ratio: number;
  steady_assignment_p99_ratio: number;
}

/** The per-unit CPU ratios of one step that were measured. */
function perUnit(g: Growth): number[] {
  return [g.cpu_per_trial_ratio, g.cpu_per_report_ratio, g.cpu_per_heartbeat_ratio].filter(
    (r): r is number => r !== null,
  );
}

function growth(rows: Record<string, unknown>[]): Growth[] {
  const out: Growth[] = [];
  for (let i = 1; i < rows.length; i++) {
    const a = rows[i - 1] as {
      workers: number;
      coordinator: { cpu_ms_per_trial: number; cpu_us_per_report: number | null; rss_mb: number };
      assignment_ms: { steady_p99: number };
      idle: { cpu_us_per_heartbeat: number | null };
    };
    const b = rows[i] as typeof a;
    const perBeat = [a.idle.cpu_us_per_heartbeat, b.idle.cpu_us_per_heartbeat];
    out.push({
      from: a.workers,
      to: b.workers,
      workers_ratio: b.workers / a.workers,
      cpu_per_trial_ratio: round(b.coordinator.cpu_ms_per_trial / a.coordinator.cpu_ms_per_trial, 3),
      cpu_per_report_ratio:
        a.coordinator.cpu_us_per_report && b.coordinator.cpu_us_per_report
          ? round(b.coordinator.cpu_us_per_report / a.coordinator.cpu_us_per_report, 3)
          : null,
      cpu_per_heartbeat_ratio: perBeat[0] && perBeat[1] ? round(perBeat[1] / perBeat[0], 3) : null,
      rss_ratio: round(b.coordinator.rss_mb / a.coordinator.rss_mb, 3),
      steady_assignment_p99_ratio: round(b.assignment_ms.steady_p99 / a.assignment_ms.steady_p99, 3),
    });
  }
  return out;
}

export async function runScale(o: ScaleOptions): Promise<Record<string, unknown>> {
  dispatchTrace.enable(); // the stamps behind assignment_breakdown (in-process coordinator)
  const plan = pinPlan(o.pin);
  if ('coordinator' in plan) pinProcess(process.pid, plan.coordinator);
  progress(
    `scale: ${'unpinned' in plan ? `unpinned: ${plan.unpinned}` : `coordinator on CPU ${plan.coordinator}, workers on CPUs ${plan.workers}`}`,
  );
  const rows: Record<string, unknown>[] = [];
  for (const n of o.workers) rows.push(await runOne(n, o, plan));
  const steps = growth(rows);
  const largest = rows.at(-1) as {
    workers: number;
    assignment_ms: { steady_p99: number };
    coordinator: { rss_mb: number };
  };
  return {
    settings: {
      slots_per_worker: o.slots,
      trial_ms: o.trialMs,
      trial_jitter: o.trialJitter,
      report_ms: o.reportMs,
      rounds: o.rounds,
      procs: o.procs,
      pinning: plan,
      workers_per_token: WORKERS_PER_TOKEN,
      store: 'LocalStore (no fsync) + LocalBus, coordinator in the bench process',
    },
    rows,
    growth: steps,
    goals: {
      [`assignment p99 (steady) at ${largest.workers} workers ≤ 50 ms`]: {
        value: largest.assignment_ms.steady_p99,
        target: 50,
        // No steady state (one round): not shown, not met.
        met: Number.isFinite(largest.assignment_ms.steady_p99) ? largest.assignment_ms.steady_p99 <= 50 : null,
      },
      [`coordinator RSS at ${largest.workers} workers ≤ 1 GiB`]: {
        value: largest.coordinator.rss_mb,
        target: 1024,
        met: largest.coordinator.rss_mb <= 1024,
      },
      // Linear in N: the costs per unit of work (trial, report, heartbeat) stay flat, and RSS
      // grows no faster than N. "Flat" allows 2× per 10× step for this machine's noise.
      'no figure worse than linear in N (per-unit CPU ratio ≤ 2 per 10× step, RSS ratio ≤ workers ratio)': {
        value: steps.map((g) => ({
          step: `${String(g.from)}→${String(g.to)}`,
          worst_per_unit: Math.max(...perUnit(g)),
          rss: g.rss_ratio,
        })),
        target: 'per-unit ≤ 2, rss ≤ workers ratio',
        met:
          steps.length === 0
            ? null
            : steps.every((g) => Math.max(...perUnit(g)) <= 2 && g.rss_ratio <= g.workers_ratio),
      },
    },
  };
}

/**
 * Where a steady-state assignment's time went, from the dispatch trace's stamps of each trial's
 * first attempt: created → its lane dispatches it (the trial stored, `trialsCreated` stored) →
 * a slot → the claim stored → sent → received by its worker. p50 and p99 per step, ms.
 */
function assignmentBreakdown(
  trials: readonly { id: string; createdAt: number }[],
  stamps: Map<string, Record<string, number>>,
  delivered: Map<string, number>,
): Record<string, { p50: number; p99: number }> {
  const steps: [string, (t: { createdAt: number }, s: Record<string, number>, at?: number) => number | undefined][] = [
    ['created → dispatching', (t, s) => s.trial_ready! - t.createdAt],
    ['dispatching → slot', (_t, s) => s.slot! - s.trial_ready!],
    ['slot → claimed', (_t, s) => s.claimed! - s.slot!],
    ['claimed → sent', (_t, s) => s.sent! - s.claimed!],
    ['sent → received', (_t, s, at) => (at === undefined ? undefined : at - s.sent!)],
  ];
  const values = new Map<string, number[]>(steps.map(([name]) => [name, []]));
  for (const trial of trials) {
    const s = stamps.get(`${trial.id}-a1`);
    if (!s) continue;
    for (const [name, of] of steps) {
      const v = of(trial, s, delivered.get(trial.id));
      if (v !== undefined && Number.isFinite(v)) values.get(name)!.push(v);
    }
  }
  return Object.fromEntries(
    [...values].map(([name, v]) => [name, { p50: round(percentile(v, 0.5), 2), p99: round(percentile(v, 0.99), 2) }]),
  );
}
