/**
 * A program's output kept bounded (`trellis logs`, docs/logs.md): the first lines up to
 * HEAD_BYTES, the last lines up to TAIL_BYTES, and counts of what was omitted between them.
 * Each line is cut to LINE_CHARS first, ending with a marker such as `…[cut 49.9 MB]`, so one
 * 50 MB line costs LINE_CHARS, not 50 MB. Used by the worker (the log it sends) and the
 * coordinator (what it keeps of the live stream).
 */

/** A kept line longer than this is cut (with a marker saying how much was cut). */
export const LINE_CHARS = 8 * 1024;
export const HEAD_BYTES = 64 * 1024;
export const TAIL_BYTES = 64 * 1024;

/** 52428800 -> "50.0 MB" (decimal units, as the marker shows them). */
export function formatBytes(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let value = bytes / 1000;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

/**
 * The line cut to `limit` characters, with a marker when anything was cut; `alreadyCut` counts
 * bytes of the line dropped before it got here (the line splitter's own bound).
 */
export function cutLine(line: string, alreadyCut = 0, limit = LINE_CHARS): string {
  if (line.length <= limit && alreadyCut === 0) return line;
  const kept = line.slice(0, limit);
  const cut = alreadyCut + (line.length > limit ? Buffer.byteLength(line.slice(limit)) : 0);
  return `${kept}…[cut ${formatBytes(cut)}]`;
}

/** What a bounded log holds; the shape of the API's AttemptLog and the stored log artifact. */
export interface LogSnapshot {
  head: string[];
  tail: string[];
  omittedLines: number;
  omittedBytes: number;
  totalLines: number;
  totalBytes: number;
}

export class BoundedLog {
  private readonly head: string[] = [];
  private headBytes = 0;
  private headFull = false;
  private tail: string[] = [];
  private tailBytes = 0;
  private omittedLines = 0;
  private omittedBytes = 0;
  private totalLines = 0;
  private totalBytes = 0;

  constructor(
    private readonly headLimit = HEAD_BYTES,
    private readonly tailLimit = TAIL_BYTES,
  ) {}

  /**
   * Adds a line (already cut to the line limit). `originalBytes` is its size before any cut
   * (counted in totalBytes); by default the kept line's size.
   */
  push(line: string, originalBytes = Buffer.byteLength(line) + 1): void {
    const size = Buffer.byteLength(line) + 1;
    this.totalLines += 1;
    this.totalBytes += originalBytes;
    if (!this.headFull && this.headBytes + size <= this.headLimit) {
      this.head.push(line);
      this.headBytes += size;
      return;
    }
    this.headFull = true;
    this.tail.push(line);
    this.tailBytes += size;
    while (this.tailBytes > this.tailLimit && this.tail.length > 1) {
      const dropped = this.tail.shift()!;
      const droppedSize = Buffer.byteLength(dropped) + 1;
      this.tailBytes -= droppedSize;
      this.omittedLines += 1;
      this.omittedBytes += droppedSize;
    }
  }

  snapshot(): LogSnapshot {
    return {
      head: [...this.head],
      tail: [...this.tail],
      omittedLines: this.omittedLines,
      omittedBytes: this.omittedBytes,
      totalLines: this.totalLines,
      totalBytes: this.totalBytes,
    };
  }
}

/** Characters a cut marker (`…[cut 49.9 MB]`) may add to a LINE_CHARS line. */
const MARKER_ROOM = 32;

/**
 * Lines cut to LINE_CHARS (plus a marker) and kept within `budget` bytes: the first ones, or with `fromEnd` the
 * last ones. For logs received from elsewhere (a worker), which are bounded again on arrival.
 */
export function clampLines(lines: readonly string[], budget: number, fromEnd = false): string[] {
  const out: string[] = [];
  let used = 0;
  const ordered = fromEnd ? [...lines].reverse() : lines;
  for (const line of ordered) {
    // A line cut by the sender already ends with its marker: room for it.
    const kept = line.length <= LINE_CHARS + MARKER_ROOM ? line : cutLine(line);
    used += Buffer.byteLength(kept) + 1;
    if (used > budget) break;
    out.push(kept);
  }
  return fromEnd ? out.reverse() : out;
}

/** The lines to show: head, a marker where lines were omitted, tail. */
export function logLines(log: LogSnapshot): string[] {
  const marker =
    log.omittedLines > 0 ? [`…[${log.omittedLines} lines (${formatBytes(log.omittedBytes)}) omitted]`] : [];
  return [...log.head, ...marker, ...log.tail];
}
