/**
 * Reads a LocalStore journal's bytes into records and problems, line by line, without applying
 * anything: start-up refuses a journal with any problem (JournalCorruptError, naming file and
 * line), `trellis store check` lists them all and `trellis store repair` moves them aside.
 *
 * What is a problem: a line that is not UTF-8 text or not JSON, a record of an unknown kind or
 * with a field of the wrong type (local-schema.ts), a header of another format or a newer
 * version, a first line that is not the header (every journal is born as a snapshot with its
 * header first, written whole then renamed into place), an empty line (the writer never writes
 * one). The one thing tolerated is a torn final write: a last line without its newline that
 * starts like a record (`{"t":"`) and is cut short, from a process killed while appending. Its
 * write was never acknowledged, so dropping it loses nothing that was promised; it is reported
 * (`torn`) so the caller can say so. A last line that ends in a newline is complete by
 * construction, so if it is unreadable it is corruption.
 */
import { reviveNumbers } from './local-journal.js';
import type { Record_ } from './local-records.js';
import { recordProblem } from './local-schema.js';

export interface JournalProblem {
  /** 1-based line number. */
  line: number;
  reason: string;
  /** The line's bytes as they are on disk (without the newline). */
  raw: Buffer;
}

export interface JournalScan {
  path: string;
  /** Lines in the file (a torn last line included). */
  lines: number;
  records: { line: number; record: Record_; raw: Buffer }[];
  problems: JournalProblem[];
  /** A torn final write (tolerated, dropped). */
  torn?: JournalProblem;
}

const RECORD_START = Buffer.from('{"t":"');
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * With `onRecord`, each readable record goes to it as it is read (in order) instead of into
 * `records`: start-up replays a large journal without holding every record at once.
 */
export function scanJournal(
  data: Buffer,
  path: string,
  onRecord?: (entry: { line: number; record: Record_; raw: Buffer }) => void,
): JournalScan {
  const scan: JournalScan = { path, lines: 0, records: [], problems: [] };
  let start = 0;
  let line = 0;
  while (start < data.length) {
    const nl = data.indexOf(0x0a, start);
    const end = nl === -1 ? data.length : nl;
    const raw = data.subarray(start, end);
    line++;
    const last = nl === -1;
    const problem = readLine(raw, line, scan, onRecord);
    if (problem) {
      const entry = { line, reason: problem.reason, raw };
      if (last && line > 1 && problem.unparsable && raw.subarray(0, RECORD_START.length).equals(RECORD_START)) {
        entry.reason = `torn final write (${raw.length} bytes without a newline: the process was killed while appending; never acknowledged)`;
        scan.torn = entry;
      } else {
        scan.problems.push(entry);
      }
    }
    start = end + 1;
  }
  scan.lines = line;
  return scan;
}

function readLine(
  raw: Buffer,
  line: number,
  scan: JournalScan,
  onRecord?: (entry: { line: number; record: Record_; raw: Buffer }) => void,
): { reason: string; unparsable?: boolean } | undefined {
  if (raw.length === 0) return { reason: 'empty line (the journal writer never writes one)' };
  let text: string;
  try {
    text = utf8.decode(raw);
  } catch {
    return { reason: `not UTF-8 text (${raw.length} bytes of binary data)`, unparsable: true };
  }
  let value: unknown;
  try {
    value = JSON.parse(text, reviveNumbers);
  } catch (err) {
    return { reason: `not JSON: ${(err as Error).message}`, unparsable: true };
  }
  const problem = recordProblem(value);
  if (problem) return { reason: problem };
  const record = value as Record_;
  if (line === 1 && record.t !== 'header') {
    return { reason: `the first line is not the journal's header (it is a ${record.t} record)` };
  }
  if (line > 1 && record.t === 'header') return { reason: 'a header record after the first line' };
  if (onRecord) onRecord({ line, record, raw });
  else scan.records.push({ line, record, raw });
  return undefined;
}

/** Start-up's refusal: the first problem (file and line), how many more, and what to run. */
export class JournalCorruptError extends Error {
  override readonly name = 'JournalCorruptError';
  readonly path: string;
  readonly line: number;
  readonly problems: number;

  constructor(scan: JournalScan, dir: string) {
    const first = scan.problems[0]!;
    const more = scan.problems.length > 1 ? ` (and ${scan.problems.length - 1} more problem lines)` : '';
    super(
      `LocalStore: ${scan.path}:${first.line}: ${first.reason}${more}. The store was not opened; ` +
        `\`trellis store check ${dir}\` lists every problem, \`trellis store repair ${dir}\` moves the unreadable ` +
        `records aside and keeps the rest`,
    );
    this.path = scan.path;
    this.line = first.line;
    this.problems = scan.problems.length;
  }
}
