/**
 * Programs that die with their worker.
 *
 * The command runtime starts each program in its own process group so that a stop reaches its
 * whole tree. A worker killed outright (SIGKILL, the OOM killer) cannot pass the stop on, and
 * the program would train on, holding its GPU, while the coordinator hands the trial to another
 * worker: two runs of one trial.
 *
 * The reaper is a small helper process, started once per worker in a session of its own, that
 * reads "+PGID [MARK]" and "-PGID [MARK]" lines on its stdin. Only the worker holds the other end of that pipe
 * (libuv opens it close-on-exec, so programs do not inherit it). When the worker dies, however
 * it dies, the kernel closes the pipe; the reaper sees end-of-file and SIGKILLs every process
 * group still registered, data-loader children included, and every process carrying a
 * registered attempt mark (processes that left the group with setsid: limits.ts), then exits. Groups are removed when
 * their program exits, so a recycled pid is never hit. It costs a pipe write per start and end
 * of a program, and nothing when nothing goes wrong.
 *
 * `TRELLIS_REAPER=0` turns it off. If the reaper cannot be started, programs still run and the
 * attempt's log says they would outlive the worker; one that dies is started again.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { env } from '../../../shared/env.js';

/** The helper's whole program (run by the worker's own Node.js binary). */
const REAPER_SOURCE = `
const fs = require('fs');
const groups = new Set();
const marks = new Set();
let pending = '';
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => {});
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => {
  pending += chunk;
  let end;
  while ((end = pending.indexOf('\\n')) >= 0) {
    const line = pending.slice(0, end);
    pending = pending.slice(end + 1);
    const [group, mark] = line.slice(1).split(' ');
    const pgid = Number(group);
    if (!Number.isInteger(pgid) || pgid <= 1) continue;
    if (line[0] === '+') { groups.add(pgid); if (mark) marks.add(mark); }
    else if (line[0] === '-') { groups.delete(pgid); if (mark) marks.delete(mark); }
  }
});
function killMarked() {
  if (marks.size === 0) return 0;
  const needles = [...marks].map((m) => Buffer.from('TRELLIS_ATTEMPT_MARK=' + m + '\\0'));
  let found = 0;
  let entries = [];
  try { entries = fs.readdirSync('/proc'); } catch {}
  for (const entry of entries) {
    if (!/^\\d+$/.test(entry) || Number(entry) === process.pid) continue;
    let environ;
    try { environ = fs.readFileSync('/proc/' + entry + '/environ'); } catch { continue; }
    if (needles.some((n) => environ.includes(n))) {
      try { process.kill(Number(entry), 'SIGKILL'); found++; } catch {}
    }
  }
  return found;
}
process.stdin.on('end', () => {
  for (const pgid of groups) {
    try { process.kill(-pgid, 'SIGKILL'); } catch {}
  }
  for (let round = 0; round < 20 && killMarked() > 0; round++);
  process.exit(0);
});
`;

type ReaperState = { kind: 'off' } | { kind: 'running'; child: ChildProcess } | { kind: 'failed'; reason: string };

let state: ReaperState | undefined;

function start(): ReaperState {
  if (!env().TRELLIS_REAPER) return { kind: 'off' };
  try {
    const child = spawn(process.execPath, ['-e', REAPER_SOURCE], {
      detached: true,
      stdio: ['pipe', 'ignore', 'ignore'],
    });
    // Neither the helper nor its pipe may keep the worker's event loop alive.
    child.unref();
    const stdin = child.stdin! as typeof child.stdin & { unref?: () => void };
    stdin.unref?.();
    stdin.on('error', () => undefined); // EPIPE once the helper is gone: `forget` below handles it
    // A reaper that fails or dies is started again for the next program; the programs it
    // covered are on their own until they end.
    const forget = (): void => {
      if (state?.kind === 'running' && state.child === child) state = undefined;
    };
    child.on('error', forget);
    child.on('exit', forget);
    return { kind: 'running', child };
  } catch (err) {
    return { kind: 'failed', reason: err instanceof Error ? err.message : String(err) };
  }
}

/**
 * Registers a program's process group with the reaper (started on first use). Returns a
 * function that unregisters it, to call once the program has exited, and `problem` when the
 * reaper should cover the group but cannot (not when it is turned off).
 */
export function reapWithWorker(pgid: number, mark?: string): { release: () => void; problem?: string } {
  state ??= start();
  const current = state;
  if (current.kind === 'off') return { release: () => undefined };
  if (current.kind === 'failed') return { release: () => undefined, problem: current.reason };
  const line = mark ? `${pgid} ${mark}` : `${pgid}`;
  current.child.stdin!.write(`+${line}\n`);
  let released = false;
  return {
    release: () => {
      if (released) return;
      released = true;
      if (state === current && current.child.stdin!.writable) current.child.stdin!.write(`-${line}\n`);
    },
  };
}

/** The reaper's pid (tests), or undefined when it is not running. */
export function reaperPid(): number | undefined {
  return state?.kind === 'running' ? state.child.pid : undefined;
}
