/**
 * Checkpoint archives (format in archive.ts) written to and read from files, streamed: packing
 * reads each file in chunks into the archive file while hashing it, unpacking copies each entry
 * out in chunks. Memory stays at a chunk or two whatever the checkpoint's size; the archive's
 * sha256 is known when it is written, so the upload can announce it up front.
 */
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { chmod, lstat, mkdir, open, readdir, rm, stat } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';
import { join, resolve } from 'node:path';
import { ifPresent, KIND_DIR, KIND_END, KIND_FILE, MAGIC, safeTarget, treeSignature } from './archive.js';

const PIECE_BYTES = 1 << 20;

/** A packed directory in a file. `stable` is false when the tree changed while it was read. */
export interface PackedFile {
  path: string;
  size: number;
  sha256: string;
  files: number;
  skipped: string[];
  stable: boolean;
}

/** Packs dir into the file `out` (same bytes as packDirectory), hashing as it writes. */
export async function packDirectoryToFile(dir: string, out: string): Promise<PackedFile> {
  const before = await treeSignature(dir);
  const sink = createWriteStream(out, { mode: 0o600 });
  const failed = once(sink, 'error').then(([err]) => Promise.reject(err as Error));
  failed.catch(() => undefined);
  const hash = createHash('sha256');
  let size = 0;
  const put = async (bytes: Buffer): Promise<void> => {
    hash.update(bytes);
    size += bytes.length;
    if (!sink.write(bytes)) await Promise.race([once(sink, 'drain'), failed]);
  };
  const header = async (kind: number, mode: number, path: string): Promise<void> => {
    const name = Buffer.from(path, 'utf8');
    const head = Buffer.alloc(9);
    head.writeUInt8(kind, 0);
    head.writeUInt32BE(mode & 0o7777, 1);
    head.writeUInt32BE(name.length, 5);
    await put(Buffer.concat([head, name]));
  };
  const skipped: string[] = [];
  let files = 0;
  let vanished = false;
  const walk = async (absolute: string, relative: string): Promise<void> => {
    const entries = await ifPresent(readdir(absolute, { withFileTypes: true }));
    if (entries === undefined) return void (vanished = true);
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      if (vanished) return;
      const path = relative ? `${relative}/${entry.name}` : entry.name;
      const full = join(absolute, entry.name);
      if (entry.isDirectory()) {
        const info = await ifPresent(stat(full));
        if (info === undefined) return void (vanished = true);
        await header(KIND_DIR, info.mode, path);
        await walk(full, path);
      } else if (entry.isFile()) {
        const info = await ifPresent(stat(full));
        if (info === undefined) return void (vanished = true);
        await header(KIND_FILE, info.mode, path);
        const length = Buffer.alloc(8);
        length.writeBigUInt64BE(BigInt(info.size));
        await put(length);
        // Exactly the stat'd size: a file that shrinks while read makes the pack unstable.
        let copied = 0;
        if (info.size > 0) {
          const source = createReadStream(full, { end: info.size - 1, highWaterMark: PIECE_BYTES });
          try {
            for await (const piece of source as AsyncIterable<Buffer>) {
              await put(piece);
              copied += piece.length;
            }
          } catch (err) {
            if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
          }
        }
        if (copied !== info.size) return void (vanished = true);
        files += 1;
      } else {
        skipped.push(path);
      }
    }
  };
  try {
    await put(MAGIC);
    await walk(dir, '');
    await put(Buffer.from([KIND_END]));
    sink.end();
    await Promise.race([once(sink, 'finish'), failed]);
  } catch (err) {
    sink.destroy();
    await rm(out, { force: true });
    throw err;
  }
  const stable = !vanished && before === (await treeSignature(dir));
  return { path: out, size, sha256: hash.digest('hex'), files, skipped, stable };
}

/**
 * Packs dir into `out` until two stat signatures taken around the read agree (up to `tries`
 * times); undefined (and no file) when the tree never held still.
 */
export async function snapshotDirectoryToFile(dir: string, out: string, tries = 4): Promise<PackedFile | undefined> {
  for (let attempt = 1; attempt <= tries; attempt++) {
    const packed = await packDirectoryToFile(dir, out);
    if (packed.stable) return packed;
    await rm(out, { force: true });
    if (attempt < tries) await delay(10 * attempt);
  }
  return undefined;
}

/** Unpacks an archive file made by packDirectoryToFile into dir; the number of files. Throws on anything malformed or unsafe. */
export async function unpackArchiveFile(archive: string, dir: string): Promise<number> {
  const root = resolve(dir);
  const source = await open(archive, 'r');
  try {
    const total = (await source.stat()).size;
    let offset = 0;
    const piece = Buffer.alloc(PIECE_BYTES);
    const read = async (bytes: number): Promise<Buffer> => {
      if (offset + bytes > total) throw new Error('checkpoint archive is truncated');
      const out = Buffer.alloc(bytes);
      let got = 0;
      while (got < bytes) {
        const { bytesRead } = await source.read(out, got, bytes - got, offset + got);
        if (bytesRead === 0) throw new Error('checkpoint archive is truncated');
        got += bytesRead;
      }
      offset += bytes;
      return out;
    };
    if (total < MAGIC.length || !(await read(MAGIC.length)).equals(MAGIC)) {
      throw new Error('not a command-runtime checkpoint archive (bad magic)');
    }
    let files = 0;
    for (;;) {
      const kind = (await read(1)).readUInt8(0);
      if (kind === KIND_END) break;
      if (kind !== KIND_FILE && kind !== KIND_DIR)
        throw new Error(`checkpoint archive has an unknown entry kind ${kind}`);
      const head = await read(8);
      const mode = head.readUInt32BE(0);
      const path = (await read(head.readUInt32BE(4))).toString('utf8');
      const target = safeTarget(root, path);
      if (kind === KIND_DIR) {
        await mkdir(target, { recursive: true });
        await chmod(target, (mode & 0o777) | 0o700);
        continue;
      }
      const size = (await read(8)).readBigUInt64BE(0);
      if (size > BigInt(total - offset)) throw new Error('checkpoint archive is truncated');
      await mkdir(resolve(target, '..'), { recursive: true });
      // Never write through a link the archive did not make (a restored tree is files and dirs).
      if ((await ifPresent(lstat(target)))?.isSymbolicLink()) await rm(target);
      const sink = await open(target, 'w', (mode & 0o777) | 0o600);
      try {
        let left = Number(size);
        while (left > 0) {
          const want = Math.min(left, piece.length);
          const { bytesRead } = await source.read(piece, 0, want, offset);
          if (bytesRead === 0) throw new Error('checkpoint archive is truncated');
          let written = 0;
          while (written < bytesRead) written += (await sink.write(piece, written, bytesRead - written)).bytesWritten;
          offset += bytesRead;
          left -= bytesRead;
        }
      } finally {
        await sink.close();
      }
      files += 1;
    }
    if (offset !== total) throw new Error('checkpoint archive has trailing bytes');
    return files;
  } finally {
    await source.close();
  }
}
