/**
 * LocalStore's small per-record indexes for what lives only on disk (finished trials, their
 * sealed metric blocks, published events), and sync line reads from the journal's bytes.
 *
 * `Slots` maps a small non-negative integer (a trial number, an event block) to a number in a
 * growable Float64Array: 8 bytes a slot, no object per record. Integers outside the dense
 * range (negative, fractional, huge) go to a Map, so odd keys cost memory only for themselves.
 * `SeqSet` is a bitset of event seqs (1 bit each), with the same fallback.
 *
 * Reads are synchronous (readSync of a line or two from the page cache, microseconds): a
 * LocalStore mutation stays one synchronous step (its compare-and-set atomic within the
 * process), and the file a read goes to cannot be swapped by a compaction in the middle of it.
 */
import { readSync } from 'node:fs';

/** Keys below this are dense (array slots); others go to the sparse Map. */
const DENSE_LIMIT = 1 << 26;

function dense(key: number): boolean {
  return Number.isInteger(key) && key >= 0 && key < DENSE_LIMIT;
}

export class Slots {
  private values = new Float64Array(0);
  private readonly sparse = new Map<number, number>();
  /** Highest dense key set + 1 (the dense part is scanned up to it). */
  private top = 0;

  get(key: number): number {
    if (dense(key)) return key < this.values.length ? this.values[key]! : NaN;
    return this.sparse.get(key) ?? NaN;
  }

  has(key: number): boolean {
    return !Number.isNaN(this.get(key));
  }

  set(key: number, value: number): void {
    if (!dense(key)) {
      if (Number.isNaN(value)) this.sparse.delete(key);
      else this.sparse.set(key, value);
      return;
    }
    if (key >= this.values.length) {
      const grown = new Float64Array(Math.max(1024, key + 1, this.values.length * 2)).fill(NaN);
      grown.set(this.values);
      this.values = grown;
    }
    this.values[key] = value;
    if (key >= this.top) this.top = key + 1;
  }

  /** Keys with a value, ascending, strictly after `after` (all when undefined). */
  *keysAfter(after?: number): IterableIterator<number> {
    const sparse = [...this.sparse.keys()].filter((k) => after === undefined || k > after).sort((a, b) => a - b);
    let s = 0;
    const start = after === undefined ? 0 : Math.max(0, Math.floor(after) + 1);
    for (let k = start; k < this.top; k++) {
      if (Number.isNaN(this.values[k]!)) continue;
      while (s < sparse.length && sparse[s]! < k) yield sparse[s++]!;
      yield k;
    }
    while (s < sparse.length) yield sparse[s++]!;
  }

  /** Calls `visit` with every (key, value), in no particular order (no object per entry). */
  forEach(visit: (key: number, value: number) => void): void {
    for (let k = 0; k < this.top; k++) if (!Number.isNaN(this.values[k]!)) visit(k, this.values[k]!);
    for (const [k, v] of this.sparse) visit(k, v);
  }

  /** Every (key, value), in no particular order. */
  *entries(): IterableIterator<[number, number]> {
    for (let k = 0; k < this.top; k++) if (!Number.isNaN(this.values[k]!)) yield [k, this.values[k]!];
    yield* this.sparse;
  }

  /** Slots held (dense capacity + sparse entries): what the bounded-memory tests count. */
  get footprint(): number {
    return this.values.length + this.sparse.size;
  }
}

export class SeqSet {
  private bits = new Uint8Array(0);
  private readonly sparse = new Set<number>();

  has(seq: number): boolean {
    if (!dense(seq)) return this.sparse.has(seq);
    return seq >> 3 < this.bits.length && (this.bits[seq >> 3]! & (1 << (seq & 7))) !== 0;
  }

  add(seq: number): void {
    if (!dense(seq)) {
      this.sparse.add(seq);
      return;
    }
    const byte = seq >> 3;
    if (byte >= this.bits.length) {
      const grown = new Uint8Array(Math.max(128, byte + 1, this.bits.length * 2));
      grown.set(this.bits);
      this.bits = grown;
    }
    this.bits[byte]! |= 1 << (seq & 7);
  }
}

/** Bytes the journal's lines can be read from by offset: the file, or (at start-up) its bytes in memory. */
export interface ByteSource {
  /** Reads up to `length` bytes at `position`; fewer at the end. */
  read(position: number, length: number): Buffer;
  /** Bytes readable (the journal's written end). */
  readonly size: number;
}

export class BufferSource implements ByteSource {
  constructor(private readonly data: Buffer) {}
  read(position: number, length: number): Buffer {
    return this.data.subarray(position, Math.min(this.data.length, position + length));
  }
  get size(): number {
    return this.data.length;
  }
}

export class FileSource implements ByteSource {
  constructor(
    private readonly fd: number,
    private readonly getSize: () => number,
  ) {}
  read(position: number, length: number): Buffer {
    const end = Math.min(this.size, position + length);
    const buf = Buffer.allocUnsafe(Math.max(0, end - position));
    let done = 0;
    while (done < buf.length) {
      const n = readSync(this.fd, buf, done, buf.length - done, position + done);
      if (n === 0) break;
      done += n;
    }
    return buf.subarray(0, done);
  }
  get size(): number {
    return this.getSize();
  }
}

/** The line that starts at `position` (without its newline) and where the next one starts. */
export function lineAt(source: ByteSource, position: number): { text: string; next: number } {
  let chunk = 4096;
  for (;;) {
    const buf = source.read(position, chunk);
    const nl = buf.indexOf(0x0a);
    if (nl >= 0) return { text: buf.toString('utf8', 0, nl), next: position + nl + 1 };
    if (position + buf.length >= source.size) return { text: buf.toString('utf8'), next: position + buf.length };
    chunk *= 4;
  }
}

/** The first line start at or after `position` (lines start after a newline, or at `floor`). */
export function lineStartFrom(source: ByteSource, position: number, floor: number): number {
  if (position <= floor) return floor;
  let at = position - 1;
  for (;;) {
    const buf = source.read(at, 4096);
    if (buf.length === 0) return source.size;
    const nl = buf.indexOf(0x0a);
    if (nl >= 0) return at + nl + 1;
    at += buf.length;
  }
}

/** Every line in [start, end), in order, with its offset and the next line's. */
export function* linesIn(
  source: ByteSource,
  start: number,
  end: number,
): IterableIterator<{ text: string; at: number; next: number }> {
  const CHUNK = 1 << 20;
  let at = start;
  let carry: Buffer | undefined;
  let carryAt = start;
  while (at < end) {
    const buf = source.read(at, Math.min(CHUNK, end - at));
    if (buf.length === 0) break;
    const data: Buffer = carry ? Buffer.concat([carry, buf]) : buf;
    const base = carry ? carryAt : at;
    at += buf.length;
    let from = 0;
    for (;;) {
      const nl = data.indexOf(0x0a, from);
      if (nl < 0) break;
      yield { text: data.toString('utf8', from, nl), at: base + from, next: base + nl + 1 };
      from = nl + 1;
    }
    carry = from < data.length ? data.subarray(from) : undefined;
    carryAt = base + from;
  }
  if (carry && carry.length > 0) yield { text: carry.toString('utf8'), at: carryAt, next: carryAt + carry.length };
}
