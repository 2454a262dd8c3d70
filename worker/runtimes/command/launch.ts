/**
 * How a program is started: the seam between supervision (process.ts) and the two launchers,
 * the per-worker spawner process (spawner.ts, the default) and `child_process.spawn` on the
 * worker's own event loop (here; the fallback, and `TRELLIS_SPAWNER=0`).
 *
 * Contract of every launcher: exactly one of `failed` (nothing runs) or `spawned` comes first;
 * then output, `exited` once, and `closed` once, after `exited`, when both output streams
 * reached end-of-file (not necessarily after `dropOutput`). `lost` replaces the remaining
 * events when the launcher itself died while the program ran (its group has been SIGKILLed).
 */
import { spawn } from 'node:child_process';
import { reapWithWorker } from './reaper.js';

export interface ProgramEvents {
  spawned(pid: number): void;
  failed(error: NodeJS.ErrnoException): void;
  stdout(chunk: Buffer): void;
  stderr(chunk: Buffer): void;
  /** `leftovers`: other processes of the program's group were SIGKILLed at its exit. */
  exited(code: number | null, signal: NodeJS.Signals | null, leftovers: boolean): void;
  closed(): void;
  lost(reason: string): void;
  /** A note for the attempt's log. */
  note(line: string): void;
}

export interface LaunchedProgram {
  /** Signals the program's process group, while the program has not been seen to exit. */
  kill(signal: NodeJS.Signals): void;
  /** Stops reading output (a process left the group holding the pipes open). */
  dropOutput(): void;
}

export interface LaunchRequest {
  program: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  /** The attempt's TRELLIS_ATTEMPT_MARK (limits.ts): the reaper also kills what carries it. */
  mark?: string;
}

/** Sends a signal to the process group led by pid; false when no such group is left. */
export function killGroup(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    // ESRCH: the group is gone. EPERM cannot happen for our own child's group.
    return false;
  }
}

/**
 * `child_process.spawn` in a session of its own. Synchronous: the fork of the worker blocks its
 * event loop for milliseconds per program (see bench/README.md, "dispatch"). Throws when
 * the request is invalid (e.g. a NUL byte in an argument).
 */
export function launchInProcess(req: LaunchRequest, events: ProgramEvents): LaunchedProgram {
  const child = spawn(req.program, req.args, { env: req.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let running = false;
  let reaped: ReturnType<typeof reapWithWorker> | undefined;
  child.stdout!.on('data', (chunk: Buffer) => events.stdout(chunk));
  child.stderr!.on('data', (chunk: Buffer) => events.stderr(chunk));
  child.once('spawn', () => {
    running = true;
    reaped = reapWithWorker(child.pid!, req.mark);
    if (reaped.problem) events.note(`note: ${req.program} would outlive a worker killed outright: ${reaped.problem}`);
    events.spawned(child.pid!);
  });
  child.on('error', (error: NodeJS.ErrnoException) => {
    // Only a failed spawn matters; a failed kill after spawning is not fatal.
    if (child.pid === undefined) events.failed(error);
  });
  child.once('exit', (code, signal) => {
    running = false;
    // Whatever the program left behind in its group (data loaders, servers) goes with it.
    const leftovers = child.pid !== undefined && killGroup(child.pid, 'SIGKILL');
    reaped?.release();
    events.exited(code, signal, leftovers);
  });
  child.once('close', () => {
    if (child.pid !== undefined) events.closed();
  });
  return {
    kill: (signal) => {
      if (running && child.pid !== undefined) killGroup(child.pid, signal);
    },
    dropOutput: () => {
      child.stdout?.destroy();
      child.stderr?.destroy();
    },
  };
}
