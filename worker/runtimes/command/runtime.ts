/**
 * The `command` runtime: runs any program (a PyTorch or JAX script, a shell tool) as one trial
 * attempt. The contract with the program (arguments, environment, stdout JSON lines,
 * checkpoints, exit codes, signals) is written down in docs/programs.md; keep the two in step.
 *
 * The jobs live next door: args.ts (substitution), output.ts (stdout lines into reports),
 * checkpoints.ts with archive.ts (restore and save the checkpoint directory), process.ts with
 * reaper.ts (the program's process group from spawn to exit).
 */
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inheritedEnv } from '../../../shared/env.js';
import { cutLine } from '../../../shared/bounded-log.js';
import { DivergedError, PermanentRunError, type AttemptContext, type RunResult, type Runtime } from '../base.js';
import { substitute, type SubstitutionContext } from './args.js';
import { CheckpointKeeper } from './checkpoints.js';
import { ProgramOutput } from './output.js';
import { spawnFailure, stopError, supervise } from './process.js';

/** Lines of stderr quoted in the error of a failed run. */
const STDERR_TAIL_LINES = 20;

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
  const userEnv: Record<string, string> = {};
  for (const [key, value] of Object.entries(config.env ?? {})) {
    userEnv[key] = substitute(value, sub, `trial.env.${key}`);
  }

  const tempDir = await mkdtemp(
    join(tmpdir(), `trellis-${ctx.attemptId.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 40)}-`),
  );
  try {
    const checkpointDir = join(tempDir, 'checkpoint');
    await mkdir(checkpointDir);
    // `trial.options` (free-form values, e.g. a pipeline stage's resolved inputs) come with the params.
    const paramsJson = JSON.stringify({ ...(ctx.config.options ?? {}), ...ctx.params });
    const paramsFile = join(tempDir, 'params.json');
    await writeFile(paramsFile, paramsJson);

    const log = (line: string): void => ctx.log(line);
    const checkpointEvery = config.checkpointEvery ?? 1;
    const checkpoints = new CheckpointKeeper(checkpointDir, checkpointEvery, ctx.checkpoint, log);
    const resumeStep = await checkpoints.restore();
    if (ctx.signal.aborted) throw stopError(ctx.signal);

    const inherited = inheritedEnv();
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
    };
    if (resumeStep !== undefined) env.TRELLIS_RESUME_STEP = String(resumeStep);
    else delete env.TRELLIS_RESUME_STEP;

    // Stops the program for the coordinator (ctx.signal) or because the objective diverged.
    const stop = new AbortController();
    const forward = (): void => stop.abort(ctx.signal.reason);
    ctx.signal.addEventListener('abort', forward, { once: true });
    const objective = config.objective?.metric;
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
    const started = Date.now();
    const { outcome, stopped } = await supervise({
      program,
      args: argv.slice(1),
      env,
      signal: stop.signal,
      graceMs: Math.max(0, (config.stopGraceSeconds ?? 10) * 1000),
      onStdoutLine: (line, cutBytes) => {
        ctx.output?.(line, cutBytes);
        output.onLine(line, cutBytes);
      },
      onStderrLine: (line, cutBytes) => {
        ctx.output?.(line, cutBytes);
        const kept = cutLine(line, cutBytes);
        log(kept);
        output.remember(line, cutBytes);
        stderrTail.push(kept.length > 2000 ? `${kept.slice(0, 2000)}…` : kept);
        if (stderrTail.length > STDERR_TAIL_LINES) stderrTail.shift();
      },
      log,
    });
    ctx.signal.removeEventListener('abort', forward);
    const durationMs = Date.now() - started;

    if (outcome.kind === 'error') throw spawnFailure(program, outcome.error);
    if (output.diverged !== undefined && !ctx.signal.aborted) {
      await checkpoints.settled();
      throw new DivergedError(output.diverged);
    }
    if (stopped) {
      await checkpoints.settled();
      throw stopError(ctx.signal);
    }
    if (outcome.code !== 0) {
      await checkpoints.settled();
      const how = outcome.signal ? `was killed by signal ${outcome.signal}` : `exited with code ${outcome.code}`;
      const tail =
        stderrTail.length > 0
          ? `last ${stderrTail.length} lines of stderr:\n${stderrTail.join('\n')}`
          : '(no stderr output)';
      throw new Error(`${program} ${how} after ${(durationMs / 1000).toFixed(1)}s; ${tail}`);
    }

    const { malformed } = output;
    // A program that exits 0 without its objective would make a "succeeded" trial with no result.
    // A pipeline stage that prints `outputs` is judged by its outputs instead.
    if (objective && output.finalMetrics[objective] === undefined && Object.keys(output.stageOutputs).length === 0) {
      await checkpoints.settled();
      const malformedNote =
        malformed.count > 0
          ? `; ${malformed.count} line(s) looked like JSON but did not parse, first: ${malformed.first.join(' | ')}`
          : '';
      const shown = output.tail.length > 0 ? output.tail.join('\n') : '(no output)';
      throw new PermanentRunError(
        `${program} exited 0 but never reported the objective metric "${objective}" (trial.objective.metric; ` +
          `print a line such as {"${objective}": 0.5, "step": 1} or {"metrics": {"${objective}": 0.5}})` +
          `${malformedNote}; last ${output.tail.length} lines of output:\n${shown}`,
      );
    }

    checkpoints.atExit(output.lastStep);
    await checkpoints.settled(true);

    const info: Record<string, unknown> = { exitCode: 0, durationMs, command: program };
    if (resumeStep !== undefined) info.resumedFromStep = resumeStep;
    if (Object.keys(output.stageOutputs).length > 0) info.outputs = output.stageOutputs;
    if (malformed.count > 0) info.malformedLines = { count: malformed.count, first: malformed.first };
    return { metrics: output.finalMetrics, info };
  } finally {
    await rm(tempDir, { recursive: true, force: true });
  }
}

export const commandRuntime: Runtime = {
  name: 'command',
  run,
};
