/**
 * Suite `dispatch`: the orchestrator's own throughput and its overhead on short trials.
 *
 * Trellis, all on a LocalStore (temp directory) + LocalBus:
 *  - `command`: N do-nothing trials (`/bin/true`) through the full embedded path — coordinator,
 *    gRPC server, 2 worker processes × 8 CPU slots, command runtime (one process per trial).
 *  - `inprocess`: the same sweep on a Coordinator driven directly by a fake worker session that
 *    answers every assignment with a result on the next turn of the event loop (no gRPC, no
 *    process): the coordinator's own cost per trial (search, store writes, events, dispatch).
 *  - `overhead`: 64 trials of `sh -c 'sleep 1; echo …'` through the embedded path, 16 slots, concurrency 16:
 *    wall / ideal (ideal = ceil(64/16) · 1 s = 4 s). Also in process (the fake worker answers
 *    after 1 s), which separates the coordinator's share from process start-up.
 *  - `command_prefetch`, `overhead_prefetch`: `command` and `overhead` again with
 *    `budget.prefetch: true` (README "Prefetch"), on the same cluster in the same run.
 * Each Trellis figure is the median of `reps` runs after one warm-up sweep. The no-op runs are
 * repeated with a durable LocalStore (fsync after each batched journal write), because
 * Optuna's journal file fsyncs every append: `ratios.like_for_like_durability` pairs them.
 *
 * Peers (bench/peers/dispatch.py): Optuna (journal file, several processes) and Ray Tune.
 */
import type { Coordinator } from '../coordinator/coordinator.js';
import { connectInstantWorker, runSweep, startEmbeddedCluster, startLocalCoordinator, sweepSpec } from './harness.js';
import { dispatchTrace } from '../shared/dispatch-trace.js';
import { resetTrace, traceBreakdown } from './dispatch-trace.js';
import { median, peerNumber, progress, ratio, round, runPeer, type PeerResult } from './common.js';

export interface DispatchOptions {
  trials: number;
  sleepTrials: number;
  reps: number;
  rayTrials: number;
  raySleepTrials: number;
  optunaProcs: number;
  peers: boolean;
  /** false: Ray Tune is skipped (`--no-ray`), Optuna still runs. */
  ray?: boolean;
}

const WORKERS = 2;
const CPUS_PER_WORKER = 8;
const CONCURRENCY = WORKERS * CPUS_PER_WORKER;
const SLEEP_S = 1;

interface Throughput {
  trials: number;
  runs_seconds: number[];
  seconds: number;
  trials_per_second: number;
}

function throughput(trials: number, runs: number[]): Throughput {
  const seconds = median(runs);
  return {
    trials,
    runs_seconds: runs.map((s) => round(s)),
    seconds: round(seconds),
    trials_per_second: round(trials / seconds),
  };
}

/** Coordinator-side attempt durations (assignment sent → result settled) of an experiment. */
async function attemptStats(coordinator: Coordinator, experimentId: string): Promise<Record<string, number>> {
  const trials = await coordinator.store.listTrials(experimentId);
  const durations: number[] = [];
  for (const trial of trials)
    for (const a of trial.attempts) if (a.endedAt !== undefined) durations.push(a.endedAt - a.startedAt);
  durations.sort((a, b) => a - b);
  return {
    attempt_ms_p50: round(median(durations)),
    attempt_ms_max: round(durations[durations.length - 1] ?? NaN),
  };
}

async function embeddedRuns(
  options: DispatchOptions,
  durable: boolean,
): Promise<{
  command: Throughput & { trace: Record<string, unknown> };
  command_prefetch?: Throughput & { trace: Record<string, unknown> };
  overhead?: Record<string, unknown>;
  overhead_prefetch?: Record<string, unknown>;
}> {
  const label = durable ? ' (durable store)' : '';
  progress(`dispatch: embedded cluster (${WORKERS} worker processes × ${CPUS_PER_WORKER} slots)${label}`);
  // The dispatch trace costs a few stamps per attempt (a Map entry here, ~15 numbers in each result).
  dispatchTrace.enable();
  const cluster = await startEmbeddedCluster({
    workers: WORKERS,
    cpusPerWorker: CPUS_PER_WORKER,
    durable,
    trace: true,
  });
  try {
    const coordinator = cluster.embedded.coordinator;
    await runSweep(coordinator, sweepSpec({ name: 'warmup', trials: 32, concurrency: CONCURRENCY }));
    const runs: number[] = [];
    let trace: Record<string, unknown> = {};
    for (let r = 0; r < options.reps; r++) {
      resetTrace();
      const { seconds, experimentId } = await runSweep(
        coordinator,
        sweepSpec({ name: `noop-${r}`, trials: options.trials, concurrency: CONCURRENCY }),
      );
      progress(`dispatch: command runtime${label}, ${options.trials} no-op trials in ${seconds.toFixed(2)} s`);
      runs.push(seconds);
      // The breakdown of the median run's kind: the last run's (runs are alike; one is enough).
      if (r === options.reps - 1) trace = await traceBreakdown(coordinator, experimentId);
    }
    if (durable) return { command: { ...throughput(options.trials, runs), trace } };
    // The same no-op trials with budget.prefetch (README "Prefetch"): each running attempt's
    // successor queued on its worker ahead of time.
    const prefetchRuns: number[] = [];
    let prefetchTrace: Record<string, unknown> = {};
    for (let r = 0; r < options.reps; r++) {
      resetTrace();
      const { seconds, experimentId } = await runSweep(
        coordinator,
        sweepSpec({ name: `noop-prefetch-${r}`, trials: options.trials, concurrency: CONCURRENCY, prefetch: true }),
      );
      progress(`dispatch: command runtime, prefetch, ${options.trials} no-op trials in ${seconds.toFixed(2)} s`);
      prefetchRuns.push(seconds);
      if (r === options.reps - 1) prefetchTrace = await traceBreakdown(coordinator, experimentId);
    }
    return {
      command: { ...throughput(options.trials, runs), trace },
      command_prefetch: { ...throughput(options.trials, prefetchRuns), trace: prefetchTrace },
      overhead: await sleepRun(coordinator, options, false),
      overhead_prefetch: await sleepRun(coordinator, options, true),
    };
  } finally {
    await cluster.close();
  }
}

/** `options.sleepTrials` trials of `sleep 1` on the cluster: wall against the ideal, with the trace. */
async function sleepRun(
  coordinator: Coordinator,
  options: DispatchOptions,
  prefetch: boolean,
): Promise<Record<string, unknown>> {
  resetTrace();
  const ideal = Math.ceil(options.sleepTrials / CONCURRENCY) * SLEEP_S;
  const { seconds, experimentId, start, end } = await runSweep(
    coordinator,
    sweepSpec({
      name: prefetch ? 'sleep-prefetch' : 'sleep',
      trials: options.sleepTrials,
      concurrency: CONCURRENCY,
      prefetch,
      // The objective must be reported (a silent program fails): sh runs sleep, then echo (a builtin).
      command: ['sh', '-c', `sleep ${SLEEP_S}; echo '{"score": 1}'`],
    }),
  );
  progress(
    `dispatch: command runtime${prefetch ? ', prefetch' : ''}, ${options.sleepTrials} × sleep ${SLEEP_S} in ${seconds.toFixed(2)} s (ideal ${ideal} s)`,
  );
  return {
    trials: options.sleepTrials,
    concurrency: CONCURRENCY,
    prefetch,
    seconds: round(seconds),
    ideal_seconds: ideal,
    overhead_ratio: round(seconds / ideal),
    ...(await attemptStats(coordinator, experimentId)),
    trace: await traceBreakdown(coordinator, experimentId, { start, end }),
  };
}

/** A coordinator and a fake worker that answers each assignment after `delayMs` (0: next turn). */
async function inProcessRun(
  spec: string,
  delayMs: number,
  durable: boolean,
): Promise<{ seconds: number; stats: Record<string, number> }> {
  const local = await startLocalCoordinator({ durable });
  try {
    connectInstantWorker(local.coordinator, CONCURRENCY, delayMs);
    const { seconds, experimentId } = await runSweep(local.coordinator, spec);
    return { seconds, stats: await attemptStats(local.coordinator, experimentId) };
  } finally {
    await local.close();
  }
}

async function inProcessNoop(options: DispatchOptions, durable: boolean): Promise<Throughput> {
  const label = durable ? ' (durable store)' : '';
  await inProcessRun(sweepSpec({ name: 'warmup', trials: 64, concurrency: CONCURRENCY }), 0, durable);
  const runs: number[] = [];
  for (let r = 0; r < options.reps; r++) {
    const { seconds } = await inProcessRun(
      sweepSpec({ name: `noop-${r}`, trials: options.trials, concurrency: CONCURRENCY }),
      0,
      durable,
    );
    progress(`dispatch: in-process fake worker${label}, ${options.trials} no-op trials in ${seconds.toFixed(3)} s`);
    runs.push(seconds);
  }
  return throughput(options.trials, runs);
}

async function inProcessOverhead(options: DispatchOptions): Promise<Record<string, unknown>> {
  const ideal = Math.ceil(options.sleepTrials / CONCURRENCY) * SLEEP_S;
  const { seconds, stats } = await inProcessRun(
    sweepSpec({ name: 'sleep', trials: options.sleepTrials, concurrency: CONCURRENCY }),
    SLEEP_S * 1000,
    false,
  );
  progress(
    `dispatch: in-process fake worker, ${options.sleepTrials} × 1 s in ${seconds.toFixed(2)} s (ideal ${ideal} s)`,
  );
  return {
    trials: options.sleepTrials,
    concurrency: CONCURRENCY,
    seconds: round(seconds),
    ideal_seconds: ideal,
    overhead_ratio: round(seconds / ideal),
    ...stats,
  };
}

function peerSummary(peer: PeerResult): PeerResult {
  if (peer.missing || peer.error) return peer;
  return {
    ...peer,
    trials_per_second: peerNumber(peer, 'noop', 'trials_per_second'),
    overhead_ratio: peerNumber(peer, 'sleep', 'overhead_ratio'),
  };
}

/** A sleep run's wall within 1.02 × its ideal. */
function withinOverhead(run: Record<string, unknown>): boolean {
  return (run.seconds as number) <= (run.ideal_seconds as number) * 1.02;
}

export async function runDispatch(options: DispatchOptions): Promise<Record<string, unknown>> {
  const inprocess = await inProcessNoop(options, false);
  const inprocessDurable = await inProcessNoop(options, true);
  const overheadInprocess = await inProcessOverhead(options);
  const embedded = await embeddedRuns(options, false);
  const embeddedDurable = await embeddedRuns(options, true);

  const peers: Record<string, PeerResult> = {};
  if (options.peers) {
    progress('dispatch: Optuna');
    peers.optuna = peerSummary(
      await runPeer(
        'dispatch.py',
        [
          'optuna',
          '--trials',
          String(options.trials),
          '--sleep-trials',
          String(options.sleepTrials),
          '--concurrency',
          String(CONCURRENCY),
          '--procs',
          options.optunaProcs === 1 ? '1' : `1,${options.optunaProcs}`,
          '--reps',
          String(options.reps),
        ],
        300_000,
      ),
    );
    if (options.ray === false) peers.ray_tune = { missing: 'skipped (--no-ray)' };
    else progress('dispatch: Ray Tune (slow on 2 cores)');
    peers.ray_tune ??= peerSummary(
      await runPeer(
        'dispatch.py',
        [
          'ray',
          '--trials',
          String(options.rayTrials),
          '--sleep-trials',
          String(options.raySleepTrials),
          '--concurrency',
          String(CONCURRENCY),
        ],
        420_000,
      ),
    );
  } else {
    peers.optuna = { missing: 'skipped (--no-peers)' };
    peers.ray_tune = { missing: 'skipped (--no-peers)' };
  }

  const overhead = embedded.overhead!;
  const trellis = {
    trials_per_second: embedded.command.trials_per_second,
    command: embedded.command,
    command_durable: embeddedDurable.command,
    inprocess: {
      ...inprocess,
      worker: 'fake worker session on Coordinator.connectWorker, answers each assignment on the next event-loop turn',
    },
    inprocess_durable: inprocessDurable,
    overhead_ratio: overhead.overhead_ratio,
    overhead,
    command_prefetch: embedded.command_prefetch,
    overhead_prefetch: embedded.overhead_prefetch,
    overhead_inprocess: overheadInprocess,
    store: 'LocalStore (default: no fsync; *_durable: fsync after each batched journal write, TRELLIS_DURABLE=1)',
  };
  const ray = peerNumber(peers.ray_tune, 'trials_per_second');
  const optuna = peerNumber(peers.optuna, 'trials_per_second');
  const optunaNoFsync = peerNumber(peers.optuna, 'noop_no_fsync', 'trials_per_second');
  const optunaProcess = peerNumber(peers.optuna, 'noop_process', 'trials_per_second');
  const ratios = {
    command_vs_ray_tune: ratio(embedded.command.trials_per_second, ray),
    command_vs_optuna: ratio(embedded.command.trials_per_second, optuna),
    command_prefetch_vs_optuna: ratio(embedded.command_prefetch?.trials_per_second, optuna),
    /** The same workload on both sides: one no-op process per trial (Optuna: subprocess.run). */
    command_vs_optuna_process: ratio(embedded.command.trials_per_second, optunaProcess),
    inprocess_vs_ray_tune: ratio(inprocess.trials_per_second, ray),
    inprocess_vs_optuna: ratio(inprocess.trials_per_second, optuna),
    like_for_like_durability: {
      command_durable_vs_optuna: ratio(embeddedDurable.command.trials_per_second, optuna),
      inprocess_durable_vs_optuna: ratio(inprocessDurable.trials_per_second, optuna),
      command_vs_optuna_no_fsync: ratio(embedded.command.trials_per_second, optunaNoFsync),
      inprocess_vs_optuna_no_fsync: ratio(inprocess.trials_per_second, optunaNoFsync),
    },
    overhead_trellis_over_ray_tune: ratio(
      overhead.overhead_ratio as number,
      peerNumber(peers.ray_tune, 'overhead_ratio'),
    ),
    overhead_trellis_over_optuna: ratio(overhead.overhead_ratio as number, peerNumber(peers.optuna, 'overhead_ratio')),
    overhead_prefetch_trellis_over_optuna: ratio(
      embedded.overhead_prefetch?.overhead_ratio as number | undefined,
      peerNumber(peers.optuna, 'overhead_ratio'),
    ),
  };
  const prefetchRatio = (embedded.overhead_prefetch?.overhead_ratio as number | undefined) ?? null;
  const overheadRatio = overhead.overhead_ratio as number;
  const goals = {
    dispatch_20x_ray_tune: goal(ratios.command_vs_ray_tune, 20, 'command runtime trials/s ÷ Ray Tune trials/s'),
    dispatch_2x_optuna: goal(
      ratios.command_vs_optuna,
      2,
      'command runtime trials/s ÷ Optuna trials/s (each with its default storage)',
    ),
    dispatch_2x_optuna_same_workload: goal(
      ratios.command_vs_optuna_process,
      2,
      'command runtime ÷ Optuna whose objective also starts one no-op process per trial',
    ),
    dispatch_2x_optuna_inprocess: goal(
      ratios.inprocess_vs_optuna,
      2,
      'in-process trials/s ÷ Optuna trials/s (Optuna too runs its objectives in process)',
    ),
    dispatch_2x_optuna_no_fsync: goal(
      ratios.like_for_like_durability.command_vs_optuna_no_fsync,
      2,
      'command runtime ÷ Optuna with fsync disabled (neither syncs the disk)',
    ),
    // Met from the seconds (to the millisecond), not from the ratio rounded to 4 digits: 4.081 s
    // of an ideal 4 is 1.0203, which rounds to 1.020.
    overhead_1_02: { value: overheadRatio, target: '<= 1.02', met: withinOverhead(overhead), what: 'without prefetch' },
    overhead_1_02_prefetch: {
      value: prefetchRatio,
      target: '<= 1.02',
      met: embedded.overhead_prefetch ? withinOverhead(embedded.overhead_prefetch) : null,
      what: 'with budget.prefetch',
    },
  };
  return {
    settings: {
      trials: options.trials,
      sleep_trials: options.sleepTrials,
      reps: options.reps,
      workers: WORKERS,
      cpus_per_worker: CPUS_PER_WORKER,
      concurrency: CONCURRENCY,
      store: 'local',
      bus: 'local',
    },
    trellis,
    peers,
    ratios,
    goals,
  };
}

function goal(value: number | null, target: number, what: string): Record<string, unknown> {
  return { value, target: `>= ${target}`, met: value === null ? null : value >= target, what };
}
