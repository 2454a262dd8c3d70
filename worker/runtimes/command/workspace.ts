/**
 * An attempt's temp directory: `checkpoint/` and `params.json` inside, created before the
 * program starts and removed after everything is saved. Done by the worker's spawner when it
 * runs (a few direct system calls there, none on the worker's event loop or thread pool), else
 * with node:fs.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
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
export async function createWorkspace(attemptId: string, paramsJson: string): Promise<Workspace> {
  const safe = attemptId.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 40);
  const dir = join(tmpdir(), `trellis-${safe}-${randomBytes(6).toString('hex')}`);
  const workspace = { dir, checkpointDir: join(dir, 'checkpoint'), paramsFile: join(dir, 'params.json') };
  const spawner = await workerSpawner();
  if (typeof spawner === 'object') {
    await spawner.createWorkspace(dir, paramsJson);
    return workspace;
  }
  await mkdir(dir, { mode: 0o700 });
  await mkdir(workspace.checkpointDir, { mode: 0o700 });
  await writeFile(workspace.paramsFile, paramsJson);
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
