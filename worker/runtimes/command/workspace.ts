/**
 * An attempt's temp directory: `checkpoint/` and `params.json` inside, created before the
 * program starts and removed (or emptied for reuse) after everything is saved.
 *
 * Made here with direct system calls on the worker's thread (tens of microseconds): cheaper on
 * the way to the program's start than any hop to another thread or process, which costs a
 * wake-up and, on a loaded machine, a wait for a CPU (bench/README.md, "dispatch"). When the
 * worker's spawner runs, an ended attempt's directory is emptied by it (the tree the program
 * left may be large: never on the worker's thread) and the next attempt renames it into place
 * (Spawner.recycleWorkspace), so an attempt creates and deletes no inode of its own; otherwise
 * it is made with mkdir and removed with node:fs. The command runtime lets go of it after the
 * attempt's result has gone out (RunResult.cleanup).
 */
import { randomBytes } from 'node:crypto';
import { closeSync, constants, mkdirSync, openSync, renameSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { knownSpawner, workerSpawner } from './spawner.js';

export interface Workspace {
  dir: string;
  checkpointDir: string;
  paramsFile: string;
}

/** params.json is written through no symlink (a reused directory's file is the spawner's checked one). */
const PARAMS_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW;

/**
 * Creates the directory of an attempt under the system temp directory: a fresh name (like
 * mkdtemp: 12 random hex digits, mode 0700, refused if it exists), renamed from an emptied one
 * when the spawner has one waiting.
 */
export function createWorkspace(attemptId: string, paramsJson: string): Workspace {
  const safe = attemptId.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 40);
  const dir = join(tmpdir(), `trellis-${safe}-${randomBytes(6).toString('hex')}`);
  const workspace = { dir, checkpointDir: join(dir, 'checkpoint'), paramsFile: join(dir, 'params.json') };
  if (!reuseInto(dir)) {
    mkdirSync(dir, { mode: 0o700 });
    mkdirSync(workspace.checkpointDir, { mode: 0o700 });
  }
  const fd = openSync(workspace.paramsFile, PARAMS_FLAGS, 0o600);
  try {
    writeFileSync(fd, paramsJson);
  } finally {
    closeSync(fd);
  }
  return workspace;
}

/** Renames an emptied directory the spawner keeps to `dir`; false when there is none (or it is gone). */
function reuseInto(dir: string): boolean {
  const spawner = knownSpawner();
  const free = typeof spawner === 'object' && spawner !== null ? spawner.takeWorkspace() : undefined;
  if (free === undefined) return false;
  try {
    renameSync(free, dir);
    return true;
  } catch {
    return false;
  }
}

export async function removeWorkspace(workspace: Workspace): Promise<void> {
  const spawner = await workerSpawner();
  if (typeof spawner === 'object') {
    try {
      await spawner.recycleWorkspace(workspace.dir);
      return;
    } catch {
      // The spawner could not (or died meanwhile): node:fs tries, and throws if it cannot either.
    }
  }
  await rm(workspace.dir, { recursive: true, force: true });
}
