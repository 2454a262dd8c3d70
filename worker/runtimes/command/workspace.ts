/**
 * An attempt's temp directory: `checkpoint/` and `params.json` inside, created before the
 * program starts and removed after everything is saved.
 *
 * Created here with three direct system calls (mkdir, mkdir, one small write; tens of
 * microseconds), on the worker's thread: cheaper on the way to the program's start than any
 * hop to another thread or process, which costs a wake-up and, on a loaded machine, a wait
 * for a CPU (bench/README.md, "dispatch"). Removed by the worker's spawner when it runs (the
 * tree the program left may be large: never on the worker's thread), else with node:fs; the
 * command runtime removes it after the attempt's result has gone out (RunResult.cleanup).
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { workerSpawner } from './spawner.js';

export interface Workspace {
  dir: string;
  checkpointDir: string;
  paramsFile: string;
}

/**
 * Creates the directory of an attempt under the system temp directory: a fresh name (like
 * mkdtemp: 12 random hex digits, mode 0700, refused if it exists).
 */
export function createWorkspace(attemptId: string, paramsJson: string): Workspace {
  const safe = attemptId.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 40);
  const dir = join(tmpdir(), `trellis-${safe}-${randomBytes(6).toString('hex')}`);
  const workspace = { dir, checkpointDir: join(dir, 'checkpoint'), paramsFile: join(dir, 'params.json') };
  mkdirSync(dir, { mode: 0o700 });
  mkdirSync(workspace.checkpointDir, { mode: 0o700 });
  writeFileSync(workspace.paramsFile, paramsJson, { mode: 0o600 });
  return workspace;
}

export async function removeWorkspace(workspace: Workspace): Promise<void> {
  const spawner = await workerSpawner();
  if (typeof spawner === 'object') {
    try {
      await spawner.removeWorkspace(workspace.dir);
      return;
    } catch {
      // The spawner could not (or died meanwhile): node:fs tries, and throws if it cannot either.
    }
  }
  await rm(workspace.dir, { recursive: true, force: true });
}
