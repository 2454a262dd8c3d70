/**
 * Which pids can belong to a program's descendants (limits.ts): those handed out since the
 * program's own, when the kernel cannot have gone once round its pid space meanwhile.
 *
 * Linux hands out pids cyclically: each new process (or thread) gets the next free pid after
 * the last one given, wrapping at pid_max. A descendant of a program is created after it, so
 * its pid lies in the cyclic range from the program's pid to the last pid given (ns_last_pid),
 * unless pid_max or more pids were handed out in between. /proc/stat's `processes` counts
 * every fork and clone since boot (in every namespace: never fewer than this namespace's), so
 * a count taken before the program started bounds how many were handed out.
 */
import { closeSync, openSync, readdirSync, readSync } from 'node:fs';

export interface PidWindow {
  /** The program's pid. */
  pid: number;
  /** /proc/stat `processes` read before the program was started. */
  forks: number;
}

/** How many pids pidsSince lists one by one; a longer range is filtered from /proc's listing. */
const MAX_LISTED = 512;

let pidMax: number | undefined;

/** Reused by readProc; grown to the largest file read. */
let scratch = Buffer.allocUnsafe(16 * 1024);

/**
 * The whole of a /proc file (its size shows as 0, so readFileSync reads it in fresh 64 KiB
 * buffers: several per program exit, and the external memory they churn through made the
 * worker's garbage collector run several times a second). Read into one reused buffer instead:
 * the result is a view of it, valid until the next call. Throws as readFileSync does.
 */
export function readProc(path: string): Buffer {
  const fd = openSync(path, 'r');
  try {
    let length = 0;
    for (;;) {
      if (length === scratch.length) {
        const bigger = Buffer.allocUnsafe(scratch.length * 2);
        scratch.copy(bigger, 0, 0, length);
        scratch = bigger;
      }
      const n = readSync(fd, scratch, length, scratch.length - length, null);
      if (n === 0) return scratch.subarray(0, length);
      length += n;
    }
  } finally {
    closeSync(fd);
  }
}

function readNumber(path: string): number | undefined {
  try {
    const n = Number(readProc(path).toString('latin1').trim());
    return Number.isSafeInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

/** /proc/stat's `processes` (forks since boot), or undefined without it. */
export function forkCount(): number | undefined {
  try {
    const match = /^processes (\d+)$/m.exec(readProc('/proc/stat').toString('latin1'));
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The pure rule: the pids from `window.pid` to `lastPid`, cyclically in [1, pidMax), when
 * fewer than half of pidMax forks happened since `window.forks`; undefined (every pid may be
 * one) otherwise. Returned as a range [from, to] or two when it wraps.
 */
export function pidRanges(
  window: PidWindow,
  now: { forks: number; lastPid: number; pidMax: number },
): Array<[number, number]> | undefined {
  const forks = now.forks - window.forks;
  if (!(forks >= 0) || forks >= now.pidMax / 2) return undefined;
  if (window.pid < 1 || window.pid >= now.pidMax || now.lastPid < 1 || now.lastPid >= now.pidMax) return undefined;
  if (now.lastPid >= window.pid) return [[window.pid, now.lastPid]];
  return [
    [window.pid, now.pidMax - 1],
    [1, now.lastPid],
  ];
}

/**
 * The pids a descendant of the program can have, as /proc entry names to read (a short range
 * listed, a long one filtered from /proc's listing); undefined when any pid can be one.
 */
export function pidsSince(window: PidWindow): number[] | undefined {
  pidMax ??= readNumber('/proc/sys/kernel/pid_max');
  const lastPid = readNumber('/proc/sys/kernel/ns_last_pid');
  const forks = forkCount();
  if (pidMax === undefined || lastPid === undefined || forks === undefined) return undefined;
  const ranges = pidRanges(window, { forks, lastPid, pidMax });
  if (!ranges) return undefined;
  const size = ranges.reduce((sum, [from, to]) => sum + to - from + 1, 0);
  const pids: number[] = [];
  if (size <= MAX_LISTED) {
    for (const [from, to] of ranges) for (let pid = from; pid <= to; pid++) pids.push(pid);
    return pids;
  }
  try {
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      const pid = Number(entry);
      if (ranges.some(([from, to]) => pid >= from && pid <= to)) pids.push(pid);
    }
  } catch {
    return undefined;
  }
  return pids;
}
