/**
 * The `command` runtime: runs any program (a PyTorch or JAX script, a shell tool) as one trial
 * attempt. The contract with the program (arguments, environment, stdout JSON lines,
 * checkpoints, exit codes, signals) is written down in docs/programs.md; keep the two in step.
 *
 * The jobs live next door: args.ts (substitution), output.ts (stdout lines into reports),
 * checkpoints.ts with archive.ts (restore and save the checkpoint directory), process.ts with
 * launch.ts, spawner.ts and reaper.ts (the program's process group from spawn to exit),
 * workspace.ts (the attempt's temp directory).
 */
import { inheritedEnv } from '../../../shared/env.js';
import { cutLine } from '../../../shared/bounded-log.js';
import { classifyExit, FailureScanner } from '../../../shared/failure-kinds.js';
import {
  ClassifiedRunError,
  DivergedError,
  PermanentRunError,
  PREEMPTED,
  StoppedError,
  type AttemptContext,
  type RunResult,
  type Runtime,
} from '../base.js';
import { objectivesOf } from '../../../shared/spec/schema.js';
import { substitute, type SubstitutionContext } from './args.js';
import { CheckpointKeeper } from './checkpoints.js';
import { ProgramOutput } from './output.js';
import { spawnFailure, stopError, supervise } from './process.js';
import { killMarked, limitedCommand, limitsNote, MARK_VARIABLE, markedPids, newMark } from './limits.js';
import { createWorkspace, removeWorkspace } from './workspace.js';
import { dispatchTrace } from '../../../shared/dispatch-trace.js';

/** Lines of stderr quoted in the error of a failed run. */
const STDERR_TAIL_LINES = 20;
/** How often an attempt's processes are counted against --max-procs. */
const PROCS_CHECK_MS = 200;

async function run(ctx: AttemptContext): Promise<RunResult> {
  const config = ctx.config;
  const command = config.command;
  if (!command || command.length === 0 || !command[0]) {
    throw new PermanentRunError('trial.command: the command runtime needs trial.command ([program, ...args])');
  }
  if (ctx.signal.aborted) throw stopError(ctx.signal);

  const sub: SubstitutionContext = {
    params: ctx.params,
    trialId: ctx.trialId,
    trialNumber: ctx.trialNumber,
    attemptNumber: ctx.attemptNumber,
    seed: ctx.seed,
  };
  const argv = command.map((arg, index) => substitute(arg, sub, `trial.command[${index}]`));
  const program = argv[0]!;
  const inherited = inheritedEnv();
  const userEnv: Record<string, string> = {};
  for (const [key, value] of Object.entries(config.env ?? {})) {
    if (typeof value === 'string') {
      userEnv[key] = substitute(value, sub, `trial.env.${key}`);
      continue;
    }
    // {fromWorkerEnv: NAME}: the worker's own variable, resolved here (never seen by the coordinator).
    const fromWorker = inherited[value.fromWorkerEnv];
    if (fromWorker === undefined) {
      throw new PermanentRunError(
        `trial.env.${key}: {fromWorkerEnv: ${value.fromWorkerEnv}}: this worker has no environment variable ${value.fromWorkerEnv}; set it where the worker starts, or send the trial to workers that have it (resources.labels)`,
      );
    }
    userEnv[key] = fromWorker;
  }

  // `trial.options` (free-form values, e.g. a pipeline stage's resolved inputs) come with the params.
  const paramsJson = JSON.stringify({ ...(ctx.config.options ?? {}), ...ctx.params });
  const workspace = createWorkspace(ctx.attemptId, paramsJson);
  dispatchTrace.mark(ctx.attemptId, 'workspace');
  let result: RunResult;
  try {
    const { checkpointDir, paramsFile } = workspace;

    const log = (line: string): void => ctx.log(line);
    const checkpointEvery = config.checkpointEvery ?? 1;
    const checkpoints = new CheckpointKeeper(checkpointDir, checkpointEvery, ctx.checkpoint, log, workspace.dir);
    const resumeStep = await checkpoints.restore();
    if (ctx.signal.aborted) throw stopError(ctx.signal);

    const mark = newMark();
    ctx.onProcesses?.(mark);
    const limits = {
      ...(ctx.limits?.maxMemoryBytes !== undefined ? { maxMemoryBytes: ctx.limits.maxMemoryBytes } : {}),
      ...(ctx.limits?.maxProcs !== undefined ? { maxProcs: ctx.limits.maxProcs } : {}),
    };
    const env: NodeJS.ProcessEnv = {
      ...inherited,
      PYTHONUNBUFFERED: inherited.PYTHONUNBUFFERED ?? '1',
      ...userEnv,
      TRELLIS_PARAMS: paramsJson,
      TRELLIS_PARAMS_FILE: paramsFile,
      TRELLIS_TRIAL_ID: ctx.trialId,
      TRELLIS_TRIAL_NUMBER: String(ctx.trialNumber),
      TRELLIS_ATTEMPT: String(ctx.attemptNumber),
      TRELLIS_SEED: String(ctx.seed),
      TRELLIS_CHECKPOINT_DIR: checkpointDir,
      TRELLIS_CHECKPOINT_EVERY: String(checkpointEvery),
      CUDA_VISIBLE_DEVICES: ctx.gpuIds.join(','),
      TRELLIS_GPU: ctx.gpuIds.join(','),
      TRELLIS_GPU_MEMORY: String(ctx.gpuMemoryBytes ?? 0),
      // Set last: a spec cannot choose it; how the worker finds this attempt's processes (limits.ts).
      [MARK_VARIABLE]: mark,
    };
    if (resumeStep !== undefined) env.TRELLIS_RESUME_STEP = String(resumeStep);
    else delete env.TRELLIS_RESUME_STEP;

    // Stops the program for the coordinator (ctx.signal), a drain (ctx.preempt: the program gets
    // SIGTERM and stopGraceSeconds to checkpoint) or because the objective diverged.
    const stop = new AbortController();
    const forward = (): void => stop.abort(ctx.signal.reason);
    const preempt = (): void => stop.abort(new StoppedError(PREEMPTED));
    ctx.signal.addEventListener('abort', forward, { once: true });
    ctx.preempt?.addEventListener('abort', preempt, { once: true });
    if (ctx.preempt?.aborted) preempt();
    const scanner = new FailureScanner();
    // Divergence is watched on the first objective; a multi-objective trial must report them all.
    const objectives = config.objective ? objectivesOf(config).map((o) => o.metric) : [];
    const objective = objectives[0];
    const output = new ProgramOutput({
      resumeStep,
      objective,
      onDiverged: (reason) => {
        log(`${reason}; stopping the program`);
        stop.abort(new DivergedError(reason));
      },
      report: (step, metrics) => ctx.report(step, metrics),
      log,
      checkpoint: (step) => checkpoints.requested(step),
    });
    const stderrTail: string[] = [];
    // --max-procs: the kernel's RLIMIT_NPROC is per user (and not enforced for root), so the
    // attempt's own processes are also counted, by its mark; too many stop it at once.
    let limitHit: string | undefined;
    const maxProcs = limits.maxProcs;
    let procsWatch: NodeJS.Timeout | undefined;
    // From the program's start (a held attempt waits for its slot before that).
    const watchProcs = (): void => {
      if (maxProcs === undefined) return;
      procsWatch = setInterval(() => {
        const count = markedPids(mark).length;
        if (count <= maxProcs || limitHit) return;
        limitHit = `${program} ran ${count} processes at once, more than this worker's --max-procs ${maxProcs}; stopped`;
        log(limitHit);
        killMarked(mark);
        stop.abort(new PermanentRunError(limitHit));
      }, PROCS_CHECK_MS);
    };
    const launch = limitedCommand(program, argv.slice(1), limits);
    // A held attempt (prefetch) is ready here: its program is asked for in the step that frees its slot.
    const { outcome, stopped, askedAt } = await supervise({
      program: launch.program,
      args: launch.args,
      mark,
      env,
      signal: stop.signal,
      attemptId: ctx.attemptId,
      ...(ctx.slot ? { slot: ctx.slot } : {}),
      graceMs: Math.max(0, (config.stopGraceSeconds ?? 10) * 1000),
      onSpawned: () => {
        watchProcs();
        ctx.began?.();
      },
      onExited: () => ctx.released?.(),
      onStdoutLine: (line, cutBytes) => {
        scanner.observe(line);
        ctx.output?.(line, cutBytes);
        output.onLine(line, cutBytes);
      },
      onStderrLine: (line, cutBytes) => {
        scanner.observe(line);
        ctx.output?.(line, cutBytes);
        const kept = cutLine(line, cutBytes);
        log(kept);
        output.remember(line, cutBytes);
        stderrTail.push(kept.length > 2000 ? `${kept.slice(0, 2000)}…` : kept);
        if (stderrTail.length > STDERR_TAIL_LINES) stderrTail.shift();
      },
      log,
    }).finally(() => {
      ctx.signal.removeEventListener('abort', forward);
      ctx.preempt?.removeEventListener('abort', preempt);
      if (procsWatch) clearInterval(procsWatch);
    });
    const durationMs = Date.now() - askedAt;

    if (outcome.kind === 'error') throw spawnFailure(program, outcome.error);
    if (outcome.kind === 'lost') {
      await checkpoints.settled();
      throw new Error(`${program}: ${outcome.reason}`);
    }
    if (limitHit) {
      await checkpoints.settled();
      throw new PermanentRunError(limitHit);
    }
    // The rlimit wrapper (limits.ts) exits 127 / 126 when it cannot exec the program.
    const execFailed = stderrTail.some((line) => /^prlimit: failed to execute|: exec: /.test(line));
    if (launch.wrapped && (outcome.code === 127 || outcome.code === 126) && execFailed && !stopped) {
      const code = outcome.code === 127 ? 'ENOENT' : 'EACCES';
      const error = Object.assign(new Error(`${code}: the program could not be executed`), { code });
      throw spawnFailure(program, error);
    }
    if (output.diverged !== undefined && !ctx.signal.aborted) {
      await checkpoints.settled();
      throw new DivergedError(output.diverged);
    }
    if (stopped) {
      await checkpoints.settled();
      throw stopError(stop.signal);
    }
    if (outcome.code !== 0) {
      await checkpoints.settled();
      const how = outcome.signal ? `was killed by signal ${outcome.signal}` : `exited with code ${outcome.code}`;
      const tail =
        stderrTail.length > 0
          ? `last ${stderrTail.length} lines of stderr:\n${stderrTail.join('\n')}`
          : '(no stderr output)';
      const failure = classifyExit({
        exitCode: outcome.code,
        signal: outcome.signal,
        reported: output.lastStep !== undefined,
        ...scanner.signatures,
      });
      throw new ClassifiedRunError(
        `${program} ${how} after ${(durationMs / 1000).toFixed(1)}s${limitsNote(limits)} (${failure.kind}); ${tail}`,
        failure,
      );
    }

    const { malformed } = output;
    // A program that exits 0 without its objective would make a "succeeded" trial with no result.
    // A pipeline stage that prints `outputs` is judged by its outputs instead.
    const unreported = objectives.find((metric) => output.finalMetrics[metric] === undefined);
    if (unreported && Object.keys(output.stageOutputs).length === 0) {
      await checkpoints.settled();
      const malformedNote =
        malformed.count > 0
          ? `; ${malformed.count} line(s) looked like JSON but did not parse, first: ${malformed.first.join(' | ')}`
          : '';
      const shown = output.tail.length > 0 ? output.tail.join('\n') : '(no output)';
      throw new PermanentRunError(
        `${program} exited 0 but never reported the objective metric "${unreported}" (trial.objective; ` +
          `print a line such as {"${unreported}": 0.5, "step": 1} or {"metrics": {"${unreported}": 0.5}})` +
          `${malformedNote}; last ${output.tail.length} lines of output:\n${shown}`,
      );
    }

    checkpoints.atExit(output.lastStep);
    await checkpoints.settled(true);

    const info: Record<string, unknown> = { exitCode: 0, durationMs, command: program };
    if (resumeStep !== undefined) info.resumedFromStep = resumeStep;
    if (Object.keys(output.stageOutputs).length > 0) info.outputs = output.stageOutputs;
    if (malformed.count > 0) info.malformedLines = { count: malformed.count, first: malformed.first };
    result = { metrics: output.finalMetrics, info };
  } catch (err) {
    await removeWorkspace(workspace);
    throw err;
  }
  // Everything is saved: the result goes out while the directory is removed (off the way from
  // this program's exit to the next program's start).
  return { ...result, cleanup: removeWorkspace(workspace) };
}

export const commandRuntime: Runtime = {
  name: 'command',
  preparesAhead: true,
  run,
};
