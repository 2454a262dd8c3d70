/**
 * The operator's limits on the programs of the command runtime, and finding every process of an
 * attempt, including those that left its process group.
 *
 * Resource limits (`trellis worker --max-memory SIZE --max-procs N`) are rlimits set on the
 * program as it starts: `prlimit --as=BYTES --nproc=N -- program args` (util-linux) when it is
 * installed, else `sh -c 'ulimit -v KIB; ulimit -u N; exec "$0" "$@"'`. Both exec the program in
 * place, so it keeps its pid and process group. RLIMIT_AS bounds each process's address space
 * (an allocation past it fails: Python raises MemoryError, C++ std::bad_alloc). RLIMIT_NPROC
 * counts every process of the worker's *user* and is not enforced for root, so the worker also
 * counts the attempt's own processes (below) and stops an attempt that runs more than N at once:
 * run workers as a dedicated user to get the kernel's hard limit too. No cgroup is used: where
 * the worker cannot create one (most containers, this one), there is none to use.
 *
 * Finding an attempt's processes: each program gets TRELLIS_ATTEMPT_MARK=<random> in its
 * environment, which children inherit, `setsid` or double fork or not. Linux's
 * /proc/PID/environ shows a process's initial environment to its own user, so the worker (and
 * the reaper, reaper.ts) find and SIGKILL every process carrying the mark when the attempt
 * ends. A program that execs itself with a scrubbed environment escapes this: the process group
 * and the reaper remain for that case. Without /proc (macOS) only the process group is used.
 *
 * Reading every process's environ costs milliseconds on a busy machine (one file per process),
 * at every program's exit. Every process carrying the mark descends from the program, so its
 * pid was handed out after the program's: when the kernel cannot have gone once round its pids
 * since then (fewer forks since, by /proc/stat's `processes`, than half of pid_max), only the
 * pids from the program's to the last one handed out (ns_last_pid), cyclically, are read
 * (`PidWindow`). Otherwise, or without those files, every process is.
 */
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { pidsSince, readProc, type PidWindow } from './pid-window.js';

export const MARK_VARIABLE = 'TRELLIS_ATTEMPT_MARK';

/** A fresh, unguessable mark for one attempt's processes. */
export function newMark(): string {
  return randomUUID();
}

/**
 * Pids of live processes whose initial environment carries `mark` (none without /proc); with
 * `window` (the program's pid and the fork count before it started), only those it allows.
 */
export function markedPids(mark: string, window?: PidWindow): number[] {
  let entries: string[] | number[] | undefined = window ? pidsSince(window) : undefined;
  try {
    entries ??= readdirSync('/proc');
  } catch {
    return [];
  }
  const needle = Buffer.from(`${MARK_VARIABLE}=${mark}\0`);
  const pids: number[] = [];
  for (const entry of entries) {
    if (typeof entry === 'string' && !/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === process.pid) continue;
    const path = `/proc/${entry}/environ`;
    // Most pids of a window are gone already (the programs that ran meanwhile): existsSync
    // answers that without the Error a failed read throws (~3 against ~14 µs each).
    if (!existsSync(path)) continue;
    try {
      const environ = readProc(path);
      if (environ.includes(needle) && !isZombie(pid)) pids.push(pid);
    } catch {
      // Gone, or another user's: not ours.
    }
  }
  return pids;
}

function isZombie(pid: number): boolean {
  try {
    return / Z /.test(
      readProc(`/proc/${pid}/stat`)
        .toString('latin1')
        .replace(/^.*\) /, ' '),
    );
  } catch {
    return false;
  }
}

/**
 * SIGKILLs every process carrying `mark`, again while a round finds one forked during the last
 * (bounded); how many processes were killed. One already killed (dying, not yet a zombie) is
 * neither killed nor counted again, and alone is no reason for another round.
 */
export function killMarked(mark: string, window?: PidWindow, rounds = 20): number {
  const killed = new Set<number>();
  for (let round = 0; round < rounds; round++) {
    const fresh = markedPids(mark, window).filter((pid) => !killed.has(pid));
    if (fresh.length === 0) break;
    for (const pid of fresh) {
      try {
        process.kill(pid, 'SIGKILL');
        killed.add(pid);
      } catch {
        // Already gone.
      }
    }
  }
  return killed.size;
}

export interface ProgramLimits {
  maxMemoryBytes?: number;
  maxProcs?: number;
}

let prlimitPath: string | null | undefined;

function findPrlimit(): string | null {
  if (prlimitPath !== undefined) return prlimitPath;
  const found = spawnSync('sh', ['-c', 'command -v prlimit'], { encoding: 'utf8' });
  prlimitPath = found.status === 0 && found.stdout.trim() ? found.stdout.trim() : null;
  return prlimitPath;
}

/** The command line that runs `program args` under `limits` (unchanged when there are none). */
export function limitedCommand(
  program: string,
  args: readonly string[],
  limits: ProgramLimits,
): { program: string; args: string[]; wrapped: boolean } {
  const { maxMemoryBytes, maxProcs } = limits;
  if (maxMemoryBytes === undefined && maxProcs === undefined) return { program, args: [...args], wrapped: false };
  const prlimit = findPrlimit();
  if (prlimit) {
    return {
      program: prlimit,
      args: [
        ...(maxMemoryBytes !== undefined ? [`--as=${Math.floor(maxMemoryBytes)}`] : []),
        ...(maxProcs !== undefined ? [`--nproc=${maxProcs}`] : []),
        '--',
        program,
        ...args,
      ],
      wrapped: true,
    };
  }
  const script = [
    ...(maxMemoryBytes !== undefined ? [`ulimit -v ${Math.max(1, Math.floor(maxMemoryBytes / 1024))}`] : []),
    ...(maxProcs !== undefined ? [`ulimit -u ${maxProcs}`] : []),
    'exec "$0" "$@"',
  ].join(' && ');
  return { program: 'sh', args: ['-c', script, program, ...args], wrapped: true };
}

/** What the limits were, for a failed program's error ("" when none). */
export function limitsNote(limits: ProgramLimits): string {
  const parts = [
    ...(limits.maxMemoryBytes !== undefined
      ? [`--max-memory ${(limits.maxMemoryBytes / 2 ** 20).toFixed(0)} MiB (address space per process)`]
      : []),
    ...(limits.maxProcs !== undefined ? [`--max-procs ${limits.maxProcs}`] : []),
  ];
  return parts.length > 0
    ? `; it ran under this worker's limits ${parts.join(', ')}: a failed allocation or fork may be why`
    : '';
}
