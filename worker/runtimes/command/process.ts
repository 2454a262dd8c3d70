/**
 * Process supervision: a program started in a process group of its own, its output read line by
 * line, the group stopped on abort (SIGTERM, then SIGKILL after the grace time), what it left in
 * the group killed when it exits, and the group registered with the reaper meanwhile.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { PermanentRunError, StoppedError } from '../base.js';
import { LineSplitter } from './output.js';
import { reapWithWorker } from './reaper.js';

/** After the program exits, how long its output pipes may stay open (a process that left its group). */
const PIPE_DRAIN_MS = 5000;

export function describe(value: unknown): string {
  if (value instanceof Error) return value.message;
  if (value === undefined) return '';
  // eslint-disable-next-line @typescript-eslint/no-base-to-string -- a thrown non-Error: show what it is
  return String(value);
}

/** The StoppedError an aborted attempt ends with (the abort's own reason when it is one). */
export function stopError(signal: AbortSignal): StoppedError {
  const reason: unknown = signal.reason;
  if (reason instanceof StoppedError) return reason;
  const text = reason instanceof Error && reason.name === 'AbortError' ? '' : describe(reason);
  return new StoppedError(text ? `stopped: ${text}` : 'stopped');
}

/** Sends a signal to the process group led by pid; false when no such group is left. */
function killGroup(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    // ESRCH: the group is gone. EPERM cannot happen for our own child's group.
    return false;
  }
}

export interface Supervision {
  program: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  signal: AbortSignal;
  /** Between SIGTERM and SIGKILL on abort. */
  graceMs: number;
  /** Each line of output; `cutBytes` > 0 when the line was longer than MAX_LINE_CHARS and cut. */
  onStdoutLine: (line: string, cutBytes: number) => void;
  onStderrLine: (line: string, cutBytes: number) => void;
  log: (line: string) => void;
}

export type Outcome =
  | { kind: 'exit'; code: number | null; signal: NodeJS.Signals | null }
  | { kind: 'error'; error: NodeJS.ErrnoException };

/**
 * Runs the program to its end. Resolves when it has exited and its output is read (or the pipes
 * were closed PIPE_DRAIN_MS after the exit); `stopped` is true when the abort signal stopped it.
 * Only a program that cannot be spawned at all rejects (PermanentRunError).
 */
export async function supervise(s: Supervision): Promise<{ outcome: Outcome; stopped: boolean }> {
  const { program, signal, log } = s;
  let child: ChildProcess;
  try {
    child = spawn(program, s.args, { env: s.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    throw new PermanentRunError(`cannot start ${JSON.stringify(program)}: ${describe(err)}`);
  }
  const stdoutSplitter = new LineSplitter(s.onStdoutLine);
  const stderrSplitter = new LineSplitter(s.onStderrLine);
  child.stdout!.on('data', (chunk: Buffer) => stdoutSplitter.push(chunk));
  child.stderr!.on('data', (chunk: Buffer) => stderrSplitter.push(chunk));

  let stopping = false;
  let killTimer: NodeJS.Timeout | undefined;
  const onAbort = (): void => {
    if (stopping || child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
    stopping = true;
    log(`stopping ${program} (pid ${child.pid}): SIGTERM, SIGKILL in ${s.graceMs / 1000}s`);
    killGroup(child.pid, 'SIGTERM');
    killTimer = setTimeout(() => {
      if (child.pid !== undefined && killGroup(child.pid, 'SIGKILL')) {
        log(`${program} did not stop within ${s.graceMs / 1000}s: SIGKILL`);
      }
    }, s.graceMs);
  };

  let reaped: ReturnType<typeof reapWithWorker> | undefined;
  const outcome = await new Promise<Outcome>((resolveOutcome) => {
    let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    let drainTimer: NodeJS.Timeout | undefined;
    let settled = false;
    const finish = (value: Outcome): void => {
      if (settled) return;
      settled = true;
      if (drainTimer) clearTimeout(drainTimer);
      resolveOutcome(value);
    };
    child.once('spawn', () => {
      reaped = reapWithWorker(child.pid!);
      if (reaped.problem) log(`note: ${program} would outlive a worker killed outright: ${reaped.problem}`);
      signal.addEventListener('abort', onAbort, { once: true });
      if (signal.aborted) onAbort();
    });
    child.on('error', (error: NodeJS.ErrnoException) => {
      // Only a failed spawn settles the run; a failed kill after spawning is not fatal.
      if (child.pid === undefined) finish({ kind: 'error', error });
    });
    child.once('exit', (code, exitSignal) => {
      exited = { code, signal: exitSignal };
      if (killTimer) clearTimeout(killTimer);
      // Whatever the program left behind in its group (data loaders, servers) goes with it.
      if (child.pid !== undefined && killGroup(child.pid, 'SIGKILL')) {
        log(`killed processes left in the process group of ${program} (pid ${child.pid})`);
      }
      reaped?.release();
      drainTimer = setTimeout(() => {
        log(
          `output of ${program} still open ${PIPE_DRAIN_MS / 1000}s after exit (a process left its group?): closing it`,
        );
        child.stdout?.destroy();
        child.stderr?.destroy();
        finish({ kind: 'exit', ...exited! });
      }, PIPE_DRAIN_MS);
    });
    child.once('close', (code, closeSignal) => {
      finish({ kind: 'exit', code: exited?.code ?? code, signal: exited?.signal ?? closeSignal });
    });
  });
  signal.removeEventListener('abort', onAbort);
  if (killTimer) clearTimeout(killTimer);
  stdoutSplitter.end();
  stderrSplitter.end();
  return { outcome, stopped: stopping };
}

/** The error for a program that could not be spawned: permanent when retrying cannot help. */
export function spawnFailure(program: string, error: NodeJS.ErrnoException): Error {
  if (error.code === 'ENOENT') {
    return new PermanentRunError(
      `program not found: ${JSON.stringify(program)} (trial.command[0]; not on PATH or no such file)`,
    );
  }
  if (error.code === 'EACCES' || error.code === 'ENOTDIR' || error.code === 'ENOEXEC') {
    return new PermanentRunError(`cannot run ${JSON.stringify(program)}: ${describe(error)}`);
  }
  return new Error(`cannot start ${JSON.stringify(program)}: ${describe(error)}`);
}
