/**
 * Programs that die with their worker.
 *
 * The command runtime starts each program in its own process group so that a stop reaches its
 * whole tree. A worker killed outright (SIGKILL, OOM killer, node failure) cannot pass the stop
 * on, and the program would train on, holding its GPU, while the coordinator hands the trial to
 * another worker: two runs of one trial. On Linux, util-linux's `setpriv --pdeathsig KILL`
 * execs the program with the kernel's parent-death signal set, so it is killed the moment its
 * worker goes; no shell and no extra process stays in between.
 *
 * Used when `setpriv` is found and accepts `--pdeathsig` (probed once per process), unless
 * `TRELLIS_PDEATHSIG=0`. Otherwise programs are started directly, as before.
 */
import { execFile } from 'node:child_process';
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { delimiter, isAbsolute, join, resolve } from 'node:path';

let probe: Promise<string[] | undefined> | undefined;

/** The argv prefix that sets the parent-death signal, or undefined where it is not available. */
export function parentDeathPrefix(env: NodeJS.ProcessEnv = process.env): Promise<string[] | undefined> {
  if (process.platform !== 'linux' || env.TRELLIS_PDEATHSIG === '0') return Promise.resolve(undefined);
  probe ??= (async () => {
    const setpriv = await findProgram('setpriv', process.env.PATH);
    if (!setpriv) return undefined;
    const prefix = [setpriv, '--pdeathsig', 'KILL', '--'];
    const works = await new Promise<boolean>((done) => {
      execFile(setpriv, [...prefix.slice(1), process.execPath, '-e', ''], { timeout: 10_000 }, (err) => done(!err));
    });
    return works ? prefix : undefined;
  })();
  return probe;
}

/**
 * Where `program` would be run from: itself when it holds a slash (relative to `cwd`), else
 * the first executable file of that name on `path`. Undefined when there is none.
 */
export async function findProgram(program: string, path: string | undefined, cwd = process.cwd()): Promise<string | undefined> {
  if (program.includes('/')) {
    const full = isAbsolute(program) ? program : resolve(cwd, program);
    return (await isExecutableFile(full)) ? full : undefined;
  }
  for (const dir of (path ?? '').split(delimiter)) {
    const full = join(dir === '' ? cwd : resolve(cwd, dir), program);
    if (await isExecutableFile(full)) return full;
  }
  return undefined;
}

async function isExecutableFile(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}
