/**
 * The LOCK file of a LocalStore directory: one live process writes a journal at a time.
 *
 * The LOCK names its owner by more than a pid, because a pid alone lies after a restart: a
 * restarted container gets the same pid (often 1) and a rebooted machine reuses pids. It holds
 * JSON `{pid, startTime, bootId, hostname, createdAt}`: the pid's start time in clock ticks since
 * boot (field 22 of /proc/PID/stat), the kernel's boot id (/proc/sys/kernel/random/boot_id), the
 * host name. A LOCK is stale, and taken over with a warning, when
 *   - its pid is this process's own and this process holds no lock on the directory (a restart
 *     that got the same pid: pid 1 in a container),
 *   - it was written under another boot of this machine (same host name, other boot id),
 *   - its pid is not alive, or is alive but started at another time (the pid was reused).
 * A LOCK from another host name is refused: its process cannot be checked from here. A LOCK in
 * the old format (a bare pid) is stale when that pid is dead, is ours, or is 1.
 *
 * The LOCK is created whole (written to a temporary file, then hard-linked into place), so a
 * reader never sees a half-written one; a stale one is renamed aside before it is replaced, and
 * put back if what was renamed turns out to be a fresh lock that raced in.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { promises as fsp } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';

export const LOCK = 'LOCK';

export interface LockOwner {
  pid: number;
  /** Field 22 of /proc/PID/stat (clock ticks after boot); absent where /proc is not available. */
  startTime?: string;
  bootId?: string;
  hostname?: string;
  createdAt?: number;
}

/** What the verdict needs to know about processes on this machine (real /proc in production). */
export interface ProcessProbe {
  self: LockOwner;
  isAlive(pid: number): boolean;
  startTime(pid: number): string | undefined;
}

export type Verdict = { stale: true; reason: string } | { stale: false; reason: string };

/** Directories this process holds the LOCK of (a second LocalStore on one is refused). */
const heldHere = new Set<string>();

/** Why a LOCK is, or is not, stale. `owner` undefined: the LOCK could not be read. */
export function lockVerdict(owner: LockOwner | undefined, probe: ProcessProbe, heldByUs: boolean): Verdict {
  if (heldByUs) return { stale: false, reason: 'another LocalStore in this process holds it (close that one first)' };
  if (!owner) return { stale: true, reason: 'the LOCK file is unreadable' };
  const { self } = probe;
  if (owner.pid === self.pid)
    return { stale: true, reason: `it names this process's own pid ${owner.pid} (a restart)` };
  const legacy = owner.bootId === undefined && owner.startTime === undefined && owner.hostname === undefined;
  if (legacy) {
    if (owner.pid === 1) return { stale: true, reason: 'an old-format LOCK naming pid 1 (a restarted container)' };
    return probe.isAlive(owner.pid)
      ? { stale: false, reason: `process ${owner.pid} is alive` }
      : { stale: true, reason: `process ${owner.pid} is not running` };
  }
  if (owner.hostname !== undefined && self.hostname !== undefined && owner.hostname !== self.hostname) {
    return {
      stale: false,
      reason:
        `process ${owner.pid} on host ${owner.hostname} holds it, and a process on another host cannot be checked ` +
        `from here; if that process is gone, remove the LOCK file`,
    };
  }
  if (owner.bootId !== undefined && self.bootId !== undefined && owner.bootId !== self.bootId) {
    return { stale: true, reason: `it was written before this machine rebooted (boot id ${owner.bootId})` };
  }
  if (!probe.isAlive(owner.pid)) return { stale: true, reason: `process ${owner.pid} is not running` };
  const started = probe.startTime(owner.pid);
  if (owner.startTime !== undefined && started !== undefined && started !== owner.startTime) {
    return {
      stale: true,
      reason: `pid ${owner.pid} now belongs to another process (started at tick ${started}, the LOCK's at ${owner.startTime})`,
    };
  }
  return { stale: false, reason: `process ${owner.pid} is alive` };
}

/** This machine's processes, through /proc where there is one. */
export const systemProbe: ProcessProbe = {
  get self(): LockOwner {
    return selfOwner();
  },
  isAlive,
  startTime: procStartTime,
};

export function selfOwner(): LockOwner {
  const startTime = procStartTime(process.pid);
  const bootId = readTrimmed('/proc/sys/kernel/random/boot_id');
  return {
    pid: process.pid,
    ...(startTime !== undefined ? { startTime } : {}),
    ...(bootId !== undefined ? { bootId } : {}),
    hostname: hostname(),
    createdAt: Date.now(),
  };
}

/** Field 22 (starttime) of /proc/PID/stat; the command name (field 2) may hold spaces and parentheses. */
export function procStartTime(pid: number): string | undefined {
  const stat = readTrimmed(`/proc/${pid}/stat`);
  if (stat === undefined) return undefined;
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return fields[22 - 3];
}

/** Parses a LOCK file's text: JSON (this format) or a bare pid (the old one). */
export function parseLock(text: string): LockOwner | undefined {
  const trimmed = text.trim();
  if (/^\d+$/.test(trimmed)) return { pid: Number(trimmed) };
  try {
    const value = JSON.parse(trimmed) as Partial<LockOwner>;
    if (!Number.isInteger(value.pid) || value.pid! <= 0) return undefined;
    const owner: LockOwner = { pid: value.pid! };
    if (typeof value.startTime === 'string') owner.startTime = value.startTime;
    if (typeof value.bootId === 'string') owner.bootId = value.bootId;
    if (typeof value.hostname === 'string') owner.hostname = value.hostname;
    if (typeof value.createdAt === 'number') owner.createdAt = value.createdAt;
    return owner;
  } catch {
    return undefined;
  }
}

/**
 * Takes `dir`'s LOCK, taking a stale one over (`warn` says whose and why). Rejects naming the
 * holder when it is live. Resolves to the function that gives the LOCK back.
 */
export async function takeLock(
  dir: string,
  warn: (message: string, fields: Record<string, unknown>) => void,
  probe: ProcessProbe = systemProbe,
): Promise<() => Promise<void>> {
  const lockPath = join(dir, LOCK);
  const key = resolve(dir);
  const self = probe.self;
  const body = JSON.stringify(self) + '\n';
  for (let tries = 0; tries < 3; tries++) {
    if (await createWhole(dir, lockPath, body)) {
      heldHere.add(key);
      return async () => {
        heldHere.delete(key);
        // Only our own LOCK is removed: never one that another process took over meanwhile.
        const now = await fsp.readFile(lockPath, 'utf8').catch(() => undefined);
        if (now === body) await fsp.rm(lockPath, { force: true });
      };
    }
    const text = await fsp.readFile(lockPath, 'utf8').catch(() => undefined);
    if (text === undefined) continue; // removed meanwhile: try again
    const verdict = lockVerdict(parseLock(text), probe, heldHere.has(key));
    if (!verdict.stale) throw new Error(`LocalStore: ${dir} is in use: ${verdict.reason} (LOCK ${lockPath})`);
    const aside = `${lockPath}.stale-${randomBytes(4).toString('hex')}`;
    try {
      await fsp.rename(lockPath, aside);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw err;
    }
    const moved = await fsp.readFile(aside, 'utf8').catch(() => undefined);
    if (moved !== text) {
      // Another process replaced the stale LOCK between our read and rename: give its lock back.
      await fsp.link(aside, lockPath).catch(() => undefined);
      await fsp.rm(aside, { force: true });
      continue;
    }
    await fsp.rm(aside, { force: true });
    warn('took over a stale LOCK', { lock: lockPath, owner: text.trim(), reason: verdict.reason });
  }
  throw new Error(`LocalStore: cannot take the lock ${lockPath} (it keeps changing)`);
}

/** Creates `path` with `body` in one step (temporary file, hard link); false when it exists. */
async function createWhole(dir: string, path: string, body: string): Promise<boolean> {
  const tmp = join(dir, `.LOCK.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  await fsp.writeFile(tmp, body, { flag: 'wx' });
  try {
    await fsp.link(tmp, path);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP') throw err;
    // A file system without hard links: exclusive create (a reader may see it half-written).
    try {
      await fsp.writeFile(path, body, { flag: 'wx' });
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw e;
    }
  } finally {
    await fsp.rm(tmp, { force: true });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readTrimmed(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}
