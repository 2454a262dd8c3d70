/**
 * Checkpoint archives: a checkpoint directory packed into one buffer, and unpacked again.
 *
 * Format (all integers big-endian):
 *   magic "TRELLIS-CKPT\x01\n"
 *   entries: u8 kind (1 = file, 2 = directory), u32 mode, u32 path length, path (UTF-8, POSIX
 *            separators, relative), and for a file: u64 size, bytes
 *   end: u8 0
 * Entries come in sorted path order, so the same directory always packs to the same bytes.
 */
import { mkdir, readFile, readdir, stat, lstat, writeFile, chmod } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';
import { join, posix, resolve, sep } from 'node:path';

export const MAGIC = Buffer.from('TRELLIS-CKPT\x01\n', 'latin1');
export const KIND_END = 0;
export const KIND_FILE = 1;
export const KIND_DIR = 2;

/** A packed checkpoint directory. `stable` is false when the tree changed while it was read. */
export interface PackedDirectory {
  data: Buffer;
  files: number;
  skipped: string[];
  stable: boolean;
}

/**
 * Packs a directory tree (files and directories; symlinks and others are skipped and named).
 * The program may still be writing while we read, so the tree's stat signature (paths, sizes,
 * mtimes, inodes) is taken before and after; a file that vanishes mid-read (a temp file being
 * renamed into place) or any change between the two makes the pack unstable, not an error.
 */
export async function packDirectory(dir: string): Promise<PackedDirectory> {
  const before = await treeSignature(dir);
  const parts: Buffer[] = [MAGIC];
  const skipped: string[] = [];
  let files = 0;
  let vanished = false;
  const header = (kind: number, mode: number, path: string): void => {
    const name = Buffer.from(path, 'utf8');
    const head = Buffer.alloc(9);
    head.writeUInt8(kind, 0);
    head.writeUInt32BE(mode & 0o7777, 1);
    head.writeUInt32BE(name.length, 5);
    parts.push(head, name);
  };
  const walk = async (absolute: string, relative: string): Promise<void> => {
    const entries = await ifPresent(readdir(absolute, { withFileTypes: true }));
    if (entries === undefined) return void (vanished = true);
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      const path = relative ? `${relative}/${entry.name}` : entry.name;
      const full = join(absolute, entry.name);
      if (entry.isDirectory()) {
        const info = await ifPresent(stat(full));
        if (info === undefined) return void (vanished = true);
        header(KIND_DIR, info.mode, path);
        await walk(full, path);
      } else if (entry.isFile()) {
        const [content, info] = await Promise.all([ifPresent(readFile(full)), ifPresent(stat(full))]);
        if (content === undefined || info === undefined) return void (vanished = true);
        header(KIND_FILE, info.mode, path);
        const size = Buffer.alloc(8);
        size.writeBigUInt64BE(BigInt(content.length));
        parts.push(size, content);
        files += 1;
      } else {
        skipped.push(path);
      }
    }
  };
  await walk(dir, '');
  parts.push(Buffer.from([KIND_END]));
  const stable = !vanished && before === (await treeSignature(dir));
  return { data: Buffer.concat(parts), files, skipped, stable };
}

/**
 * Packs dir until two stat signatures taken around the read agree (up to `tries` times, with a
 * short pause between). Returns undefined when the tree never held still: a torn copy (weights of
 * one step, state of another) is worse than a skipped checkpoint.
 */
export async function snapshotDirectory(dir: string, tries = 4): Promise<PackedDirectory | undefined> {
  for (let attempt = 1; attempt <= tries; attempt++) {
    const packed = await packDirectory(dir);
    if (packed.stable) return packed;
    if (attempt < tries) await delay(10 * attempt);
  }
  return undefined;
}

/** Paths, kinds, sizes, nanosecond mtimes and inodes of everything under dir, in sorted order. */
export async function treeSignature(dir: string): Promise<string> {
  const lines: string[] = [];
  const walk = async (absolute: string, relative: string): Promise<void> => {
    const names = await ifPresent(readdir(absolute));
    if (names === undefined) return void lines.push(`${relative}\0gone`);
    names.sort();
    for (const name of names) {
      const path = relative ? `${relative}/${name}` : name;
      const info = await ifPresent(lstat(join(absolute, name), { bigint: true }));
      if (info === undefined) {
        lines.push(`${path}\0gone`);
        continue;
      }
      lines.push(`${path}\0${info.mode}\0${info.size}\0${info.mtimeNs}\0${info.ino}`);
      if (info.isDirectory()) await walk(join(absolute, name), path);
    }
  };
  await walk(dir, '');
  return lines.join('\n');
}

/** The promise's value, or undefined when it failed because the path no longer exists. */
export async function ifPresent<T>(pending: Promise<T>): Promise<T | undefined> {
  try {
    return await pending;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** Unpacks an archive made by packDirectory into dir. Throws on anything malformed or unsafe. */
export async function unpackArchive(data: Buffer, dir: string): Promise<number> {
  if (data.length < MAGIC.length || !data.subarray(0, MAGIC.length).equals(MAGIC)) {
    throw new Error('not a command-runtime checkpoint archive (bad magic)');
  }
  const root = resolve(dir);
  let offset = MAGIC.length;
  let files = 0;
  const need = (bytes: number): void => {
    if (offset + bytes > data.length) throw new Error('checkpoint archive is truncated');
  };
  for (;;) {
    need(1);
    const kind = data.readUInt8(offset);
    offset += 1;
    if (kind === KIND_END) break;
    if (kind !== KIND_FILE && kind !== KIND_DIR)
      throw new Error(`checkpoint archive has an unknown entry kind ${kind}`);
    need(8);
    const mode = data.readUInt32BE(offset);
    const nameLength = data.readUInt32BE(offset + 4);
    offset += 8;
    need(nameLength);
    const path = data.subarray(offset, offset + nameLength).toString('utf8');
    offset += nameLength;
    const target = safeTarget(root, path);
    if (kind === KIND_DIR) {
      await mkdir(target, { recursive: true });
      await chmod(target, (mode & 0o777) | 0o700);
      continue;
    }
    need(8);
    const size = data.readBigUInt64BE(offset);
    offset += 8;
    if (size > BigInt(data.length - offset)) throw new Error('checkpoint archive is truncated');
    const length = Number(size);
    await mkdir(resolve(target, '..'), { recursive: true });
    await writeFile(target, data.subarray(offset, offset + length), { mode: (mode & 0o777) | 0o600 });
    offset += length;
    files += 1;
  }
  if (offset !== data.length) throw new Error('checkpoint archive has trailing bytes');
  return files;
}

/** Where an archive entry's path lands under root; throws on anything unsafe (absolute, '..', NUL...). */
export function safeTarget(root: string, path: string): string {
  const normal = posix.normalize(path);
  if (
    path.length === 0 ||
    path.includes('\0') ||
    path.includes('\\') ||
    posix.isAbsolute(path) ||
    normal !== path ||
    normal.split('/').some((part) => part === '..' || part === '.' || part === '')
  ) {
    throw new Error(`checkpoint archive has an unsafe path ${JSON.stringify(path)}`);
  }
  const target = resolve(root, ...normal.split('/'));
  if (!target.startsWith(root + sep)) throw new Error(`checkpoint archive path escapes the directory: ${path}`);
  return target;
}
