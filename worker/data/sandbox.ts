/**
 * The worker's rules for the data files a spec names (the worker is the last line of defence: a
 * submitter may name any path, and the error of a failed trial is readable by every client).
 *
 * A dataset path must, after resolving symlinks (realpath), be a regular file inside one of the
 * worker's data roots (`--data-root DIR`, repeatable; default: the built-in `datasets/` folder
 * and the worker's working directory), of at most `maxDatasetBytes` (`--max-dataset-size`,
 * default 1 GiB). FIFOs, devices (/dev/zero), sockets, directories, `../` escapes and symlinks
 * that lead out are refused with an error naming the path and the rule. The file is opened
 * without following a final symlink and without blocking (a FIFO swapped in after the check
 * is still refused by the fstat of the open descriptor, not read), and read up to the limit
 * only. Errors name paths and rules, never the file's bytes.
 *
 * Built-in datasets (shipped with the worker, not chosen by a submitter) skip the roots rule;
 * the file rules still hold.
 */
import { closeSync, constants, fstatSync, openSync, readSync, realpathSync } from 'node:fs';
import { join, relative, resolve, isAbsolute } from 'node:path';
import { projectRoot } from '../../shared/paths.js';
import { PermanentRunError, type DataSandbox } from '../runtimes/base.js';

export type { DataSandbox } from '../runtimes/base.js';

export const DEFAULT_MAX_DATASET_BYTES = 2 ** 30;

/** A sandbox from the worker's flags; no roots given: the built-in datasets folder and the working directory. */
export function dataSandbox(options: { roots?: readonly string[]; maxDatasetBytes?: number } = {}): DataSandbox {
  const given = options.roots && options.roots.length > 0 ? options.roots : [join(projectRoot(), 'datasets'), '.'];
  const roots = given.map((root) => {
    try {
      return realpathSync(resolve(root));
    } catch (err) {
      throw new PermanentRunError(
        `--data-root ${root}: not a usable folder (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
      );
    }
  });
  const maxDatasetBytes = options.maxDatasetBytes ?? DEFAULT_MAX_DATASET_BYTES;
  if (!(Number.isSafeInteger(maxDatasetBytes) && maxDatasetBytes > 0)) {
    throw new PermanentRunError(`--max-dataset-size: must be a whole number of bytes > 0, got ${maxDatasetBytes}`);
  }
  return { roots, maxDatasetBytes };
}

function inside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

function sizeText(bytes: number): string {
  return bytes >= 2 ** 20 ? `${(bytes / 2 ** 20).toFixed(1)} MiB` : `${bytes} bytes`;
}

/**
 * The real path of a dataset file named by a spec, checked against the roots rule; `builtin`
 * files skip it. ENOENT → "dataset file not found". The file rules are checked when it is read.
 */
export function checkDatasetPath(path: string, sandbox: DataSandbox, builtin = false): string {
  let real: string;
  try {
    real = realpathSync(resolve(path));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new PermanentRunError(
      code === 'ENOENT'
        ? `dataset file not found: ${path}`
        : `cannot resolve dataset path ${path} (${code ?? 'error'})`,
    );
  }
  if (!builtin && !sandbox.roots.some((root) => inside(root, real))) {
    throw new PermanentRunError(
      `dataset path ${path} resolves to ${real}, outside this worker's data roots (${sandbox.roots.join(', ')}); ` +
        'a dataset must be a file under a data root (the worker operator adds roots with --data-root DIR)',
    );
  }
  return real;
}

/** Opens a dataset file under the rules above: an open descriptor of a regular file within the size limit. */
function openDatasetFile(
  path: string,
  sandbox: DataSandbox,
  builtin: boolean,
): { fd: number; size: number; real: string } {
  const real = checkDatasetPath(path, sandbox, builtin);
  let fd: number;
  try {
    fd = openSync(real, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new PermanentRunError(
      code === 'ELOOP'
        ? `dataset path ${path} was replaced by a symlink while being opened; refused`
        : `cannot open dataset file ${path} (${code ?? 'error'})`,
    );
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) {
      const what = stat.isFIFO()
        ? 'a FIFO'
        : stat.isCharacterDevice() || stat.isBlockDevice()
          ? 'a device'
          : stat.isDirectory()
            ? 'a directory'
            : stat.isSocket()
              ? 'a socket'
              : 'not a regular file';
      throw new PermanentRunError(`dataset path ${path} is ${what}; a dataset must be a regular file`);
    }
    if (stat.size > sandbox.maxDatasetBytes) throw tooBig(path, sandbox.maxDatasetBytes);
    return { fd, size: stat.size, real };
  } catch (err) {
    closeSync(fd);
    throw err;
  }
}

function tooBig(path: string, limit: number): PermanentRunError {
  return new PermanentRunError(
    `dataset file ${path} is larger than this worker's limit of ${sizeText(limit)} (--max-dataset-size)`,
  );
}

/** Checks a dataset file without reading it; its real path (for a reader that reads it itself). */
export function checkDatasetFile(path: string, sandbox: DataSandbox, builtin = false): string {
  const { fd, real } = openDatasetFile(path, sandbox, builtin);
  closeSync(fd);
  return real;
}

/** Reads a dataset file under the rules above: its bytes, or a PermanentRunError naming the path and rule. */
export function readDatasetFile(path: string, sandbox: DataSandbox, builtin = false): Buffer {
  const { fd, size } = openDatasetFile(path, sandbox, builtin);
  try {
    const limit = sandbox.maxDatasetBytes;
    // Read one byte more than fstat reported (at most limit + 1): a file that grew is caught too.
    const buffer = Buffer.allocUnsafe(Math.min(limit, size) + 1);
    let length = 0;
    while (length < buffer.length) {
      const n = readSync(fd, buffer, length, buffer.length - length, null);
      if (n === 0) break;
      length += n;
    }
    if (length > limit) throw tooBig(path, limit);
    if (length > size) throw new PermanentRunError(`dataset file ${path} grew while being read; refused`);
    return buffer.subarray(0, length);
  } finally {
    closeSync(fd);
  }
}

let defaults: DataSandbox | undefined;

/** The default sandbox (built-in datasets and the working directory, 1 GiB), made once. */
export function defaultDataSandbox(): DataSandbox {
  return (defaults ??= dataSandbox());
}
