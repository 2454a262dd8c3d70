/**
 * `trellis store check|repair DIR` on a LocalStore directory (the one holding journal.jsonl).
 *
 * check: reads the journal (no LOCK needed, nothing written) and reports its records by kind and
 * every problem with its line (local-scan.ts says what a problem is).
 *
 * repair: under the LOCK (a live coordinator on the directory refuses it), moves every
 * unreadable line, the torn final write included, into `journal.jsonl.unreadable-<UTC time>`
 * next to the journal, byte for byte, one line each; keeps a copy of the whole journal as it
 * was in `journal.jsonl.before-repair-<UTC time>`; then writes the readable records back
 * (a temporary file, fsync, rename), behind a fresh header when the old one was unreadable.
 * Nothing is deleted. A journal written by a newer build (its header names a higher version or
 * another format) is not repaired: this build cannot tell its records from garbage.
 */
import { randomBytes } from 'node:crypto';
import { constants as fsConstants, promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { encode, JOURNAL } from './local-journal.js';
import { takeLock } from './local-lock.js';
import { LocalState } from './local-records.js';
import { scanJournal, type JournalProblem, type JournalScan } from './local-scan.js';
import { FORMAT, FORMAT_VERSION } from './local-schema.js';

export interface CheckReport {
  journal: string;
  lines: number;
  /** Readable records by kind. */
  records: Record<string, number>;
  problems: { line: number; reason: string }[];
  torn?: { line: number; reason: string };
}

export interface RepairReport extends CheckReport {
  /** Lines kept in the journal (the header included). */
  kept: number;
  /** Lines moved aside, with their numbers in the journal as it was. */
  moved: { line: number; reason: string }[];
  /** Where they went, and where the whole journal as it was went; absent when nothing changed. */
  asideFile?: string;
  backupFile?: string;
}

export async function checkStore(dir: string): Promise<CheckReport> {
  const path = join(dir, JOURNAL);
  return report(scanJournal(await readJournal(path), path));
}

export async function repairStore(
  dir: string,
  warn: (message: string, fields: Record<string, unknown>) => void,
  now = new Date(),
): Promise<RepairReport> {
  const path = join(dir, JOURNAL);
  await readJournal(path); // a missing journal fails before anything is locked
  const unlock = await takeLock(dir, warn);
  try {
    const scan = scanJournal(await readJournal(path), path);
    const base = report(scan);
    const newer = scan.problems.find((p) => p.line === 1 && /^header says /.test(p.reason));
    if (newer) {
      throw new Error(
        `${path}:1: ${newer.reason}; not repairing a journal this build cannot read (use the build that wrote it)`,
      );
    }
    const moved: JournalProblem[] = [...scan.problems, ...(scan.torn ? [scan.torn] : [])].sort(
      (a, b) => a.line - b.line,
    );
    if (moved.length === 0) return { ...base, kept: scan.records.length, moved: [] };
    const stamp = now
      .toISOString()
      .replace(/[-:]/g, '')
      .replace(/\.\d+Z$/, 'Z');
    const asideFile = `${path}.unreadable-${stamp}`;
    const backupFile = `${path}.before-repair-${stamp}`;
    await fsp.copyFile(path, backupFile, fsConstants.COPYFILE_EXCL);
    await writeDurably(asideFile, Buffer.concat(moved.flatMap((p) => [p.raw, Buffer.from('\n')])), 'wx');
    const keptLines = scan.records.map((r) => r.raw);
    if (scan.records[0]?.record.t !== 'header') {
      keptLines.unshift(Buffer.from(encode({ t: 'header', format: FORMAT, version: FORMAT_VERSION })));
    }
    const body = Buffer.concat(keptLines.flatMap((l) => [l, Buffer.from('\n')]));
    // What is written back must load: scan and replay it before it replaces the journal.
    const check = scanJournal(body, path);
    if (check.problems.length > 0 || check.torn) throw new Error(`repair would write an unreadable journal (${path})`);
    new LocalState().replay(body, (apply) => check.records.forEach(apply));
    const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    await writeDurably(tmp, body, 'w');
    await fsp.rename(tmp, path);
    return {
      ...base,
      kept: keptLines.length,
      moved: moved.map(({ line, reason }) => ({ line, reason })),
      asideFile,
      backupFile,
    };
  } finally {
    await unlock();
  }
}

function report(scan: JournalScan): CheckReport {
  const records: Record<string, number> = {};
  for (const { record } of scan.records) records[record.t] = (records[record.t] ?? 0) + 1;
  return {
    journal: scan.path,
    lines: scan.lines,
    records,
    problems: scan.problems.map(({ line, reason }) => ({ line, reason })),
    ...(scan.torn ? { torn: { line: scan.torn.line, reason: scan.torn.reason } } : {}),
  };
}

async function readJournal(path: string): Promise<Buffer> {
  try {
    return await fsp.readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new StoreNotFoundError(path);
    throw err;
  }
}

/** No journal where one was named: a usage error (exit 2), not a corrupt store. */
export class StoreNotFoundError extends Error {
  override readonly name = 'StoreNotFoundError';
  constructor(path: string) {
    super(`no LocalStore journal at ${path} (give the store directory: the one holding ${JOURNAL})`);
  }
}

async function writeDurably(path: string, data: Buffer, flag: 'w' | 'wx'): Promise<void> {
  const fh = await fsp.open(path, flag);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
}
