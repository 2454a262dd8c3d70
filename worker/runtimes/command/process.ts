/**
 * Process supervision: a program started in a process group of its own (by the worker's
 * spawner, spawner.ts, or on the event loop, launch.ts), its output read line by line, the
 * group stopped on abort (SIGTERM, then SIGKILL after the grace time), what it left in the
 * group killed when it exits (and, by the attempt's mark, what left the group: limits.ts), and
 * the group and mark reaped if the worker dies meanwhile.
 */
import { PermanentRunError, StoppedError, type Slot } from '../base.js';
import { launchInProcess, type LaunchedProgram, type ProgramEvents } from './launch.js';
import { LineSplitter } from './output.js';
import { knownSpawner, workerSpawner } from './spawner.js';
import { killMarked } from './limits.js';
import { forkCount } from './pid-window.js';
import { dispatchTrace } from '../../../shared/dispatch-trace.js';

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

export interface Supervision {
  program: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  signal: AbortSignal;
  /** For the dispatch trace (shared/dispatch-trace.ts). */
  attemptId?: string;
  /** Between SIGTERM and SIGKILL on abort. */
  graceMs: number;
  /** Each line of output; `cutBytes` > 0 when the line was longer than MAX_LINE_CHARS and cut. */
  onStdoutLine: (line: string, cutBytes: number) => void;
  onStderrLine: (line: string, cutBytes: number) => void;
  log: (line: string) => void;
  /**
   * The attempt's TRELLIS_ATTEMPT_MARK (limits.ts), already in `env`: when the program exits,
   * processes carrying it that left the process group (setsid, double fork) are killed too.
   */
  mark?: string;
  /**
   * A held attempt's slot (prefetch): everything is made ready, and the program is asked for in
   * the step that frees the slot. Refused: supervise rejects with the reason, nothing started.
   */
  slot?: Slot;
  /** The program was spawned. */
  onSpawned?: () => void;
  /** The program exited and what it left (its group, its mark) was killed: its slot is free. */
  onExited?: () => void;
}

export type Outcome =
  | { kind: 'exit'; code: number | null; signal: NodeJS.Signals | null }
  | { kind: 'error'; error: NodeJS.ErrnoException }
  /** The spawner died while the program ran (the program was killed): worth a retry. */
  | { kind: 'lost'; reason: string };

/**
 * Runs the program to its end. Resolves when it has exited and its output is read (or the pipes
 * were closed PIPE_DRAIN_MS after the exit); `stopped` is true when the abort signal stopped it.
 * Only a program that cannot be spawned at all rejects (PermanentRunError), and a held attempt
 * whose slot was refused (with the refusal's reason; nothing was started).
 */
export async function supervise(
  s: Supervision,
): Promise<{ outcome: Outcome; stopped: boolean; /** When the program was asked for (ms). */ askedAt: number }> {
  const { program, signal, log } = s;
  const known = knownSpawner();
  const spawner = known !== null ? known : await workerSpawner();
  if (typeof spawner === 'string') log(`note: ${spawner}; ${program} is spawned on the worker's event loop`);
  const stdoutSplitter = new LineSplitter(s.onStdoutLine);
  const stderrSplitter = new LineSplitter(s.onStderrLine);

  let launched: LaunchedProgram | undefined;
  let pid: number | undefined;
  let running = false;
  let stopping = false;
  let killTimer: NodeJS.Timeout | undefined;
  let askedAt = Date.now();
  const onAbort = (): void => {
    if (stopping || !running) return;
    stopping = true;
    log(`stopping ${program} (pid ${pid}): SIGTERM, SIGKILL in ${s.graceMs / 1000}s`);
    launched?.kill('SIGTERM');
    killTimer = setTimeout(() => {
      if (!running) return;
      launched?.kill('SIGKILL');
      log(`${program} did not stop within ${s.graceMs / 1000}s: SIGKILL`);
    }, s.graceMs);
  };

  const outcome = await new Promise<Outcome>((resolveOutcome, rejectOutcome) => {
    let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    let drainTimer: NodeJS.Timeout | undefined;
    let settled = false;
    const finish = (value: Outcome): void => {
      if (settled) return;
      settled = true;
      running = false;
      if (drainTimer) clearTimeout(drainTimer);
      resolveOutcome(value);
    };
    const events: ProgramEvents = {
      spawned: (programPid) => {
        if (s.attemptId) dispatchTrace.mark(s.attemptId, 'spawned');
        pid = programPid;
        running = true;
        // If the worker dies, the spawner kills its programs' groups and what carries their marks
        // (a process that left the group); in process, launch.ts registers both with the reaper.
        signal.addEventListener('abort', onAbort, { once: true });
        if (signal.aborted) onAbort();
        s.onSpawned?.();
      },
      failed: (error) => finish({ kind: 'error', error }),
      stdout: (chunk) => stdoutSplitter.push(chunk),
      stderr: (chunk) => stderrSplitter.push(chunk),
      exited: (code, exitSignal, leftovers) => {
        if (s.attemptId) dispatchTrace.mark(s.attemptId, 'exited');
        running = false;
        exited = { code, signal: exitSignal };
        if (killTimer) clearTimeout(killTimer);
        if (leftovers) log(`killed processes left in the process group of ${program} (pid ${pid})`);
        // Only pids handed out since the program's can carry its mark (pid-window.ts).
        const window = pid !== undefined && forks !== undefined ? { pid, forks } : undefined;
        const escaped = s.mark ? killMarked(s.mark, window) : 0;
        if (escaped > 0) log(`killed ${escaped} process(es) of ${program} that had left its process group`);
        s.onExited?.();
        drainTimer = setTimeout(() => {
          log(
            `output of ${program} still open ${PIPE_DRAIN_MS / 1000}s after exit (a process left its group?): closing it`,
          );
          launched?.dropOutput();
          finish({ kind: 'exit', ...exited! });
        }, PIPE_DRAIN_MS);
      },
      closed: () => {
        if (s.attemptId) dispatchTrace.mark(s.attemptId, 'closed');
        finish({ kind: 'exit', ...exited! });
      },
      lost: (reason) => finish({ kind: 'lost', reason }),
      note: log,
    };
    const request = { program, args: s.args, env: s.env, ...(s.mark ? { mark: s.mark } : {}) };
    let forks: number | undefined;
    const launchWith = (launcher: Awaited<ReturnType<typeof workerSpawner>>): void => {
      askedAt = Date.now();
      if (s.attemptId) dispatchTrace.mark(s.attemptId, 'spawn_asked');
      // Read before the program's pid is handed out: the bound of the pids its processes can have.
      forks = s.mark ? forkCount() : undefined;
      try {
        launched = typeof launcher === 'object' ? launcher.launch(request, events) : launchInProcess(request, events);
      } catch (err) {
        rejectOutcome(new PermanentRunError(`cannot start ${JSON.stringify(program)}: ${describe(err)}`));
      }
    };
    // The spawner as it is now: one that died while a held attempt waited has been replaced.
    const ask = (): void => {
      const now = knownSpawner();
      if (now !== null) launchWith(now);
      else void workerSpawner().then(launchWith, rejectOutcome);
    };
    if (s.slot) s.slot.take(ask, rejectOutcome);
    else launchWith(spawner);
  });
  signal.removeEventListener('abort', onAbort);
  if (killTimer) clearTimeout(killTimer);
  stdoutSplitter.end();
  stderrSplitter.end();
  return { outcome, stopped: stopping, askedAt };
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
