/**
 * linesIn (coordinator/store/local-cold.ts) reads the journal's lines through a reused 2 MiB
 * window: lines that cross the window's edge, a line longer than the window, a range that
 * starts and ends mid-file, and the same lines from a file and from bytes in memory.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { openSync, closeSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BufferSource, FileSource, borrowScratch, linesIn, returnScratch } from '../../coordinator/store/local-cold.js';
import { mulberry32 } from '../../shared/hash.js';
import { tempDir } from '../helpers/services.js';

const WINDOW = 2 << 20;

/** Lines of pseudo-random lengths (some multi-byte characters), one longer than the window. */
function journal(): { data: Buffer; lines: { text: string; at: number; next: number }[] } {
  const rand = mulberry32(11);
  const texts: string[] = [];
  let total = 0;
  while (total < 3 * WINDOW) {
    const len = Math.floor(rand() * 40_000);
    const text = `{"n":${texts.length},"x":"${'é'.repeat(len % 7)}${'a'.repeat(len)}"}`;
    texts.push(text);
    total += Buffer.byteLength(text) + 1;
    if (texts.length === 60) texts.push(`{"long":"${'b'.repeat(WINDOW + 12_345)}"}`);
  }
  const lines: { text: string; at: number; next: number }[] = [];
  let at = 0;
  for (const text of texts) {
    const next = at + Buffer.byteLength(text) + 1;
    lines.push({ text, at, next });
    at = next;
  }
  return { data: Buffer.from(texts.join('\n') + '\n'), lines };
}

describe('LocalStore: journal lines through a reused window', () => {
  const { data, lines } = journal();

  it('reads every line, with its offsets, from a file and from memory alike', () => {
    const dir = tempDir('lines');
    try {
      const path = join(dir.dir, 'journal.jsonl');
      writeFileSync(path, data);
      const fd = openSync(path, 'r');
      try {
        for (const source of [new FileSource(fd, () => data.length), new BufferSource(data)]) {
          assert.deepEqual([...linesIn(source, 0, data.length)], lines);
        }
      } finally {
        closeSync(fd);
      }
    } finally {
      dir.remove();
    }
  });

  it('reads a range that starts at a line and ends mid-file, and a last line without its newline', () => {
    const source = new BufferSource(data);
    const from = lines[5]!;
    const to = lines[70]!;
    assert.deepEqual([...linesIn(source, from.at, to.at)], lines.slice(5, 70));
    const unterminated = new BufferSource(data.subarray(0, lines[3]!.next - 1));
    assert.deepEqual(
      [...linesIn(unterminated, 0, unterminated.size)],
      [...lines.slice(0, 3), { ...lines[3]!, next: lines[3]!.next - 1 }],
    );
  });

  it('returns its window when a reader stops early, so the next one reuses it', () => {
    const source = new BufferSource(data);
    // Empty the pool (it keeps at most two), then put back one known buffer: the reader takes it.
    const held = [borrowScratch(), borrowScratch(), borrowScratch()];
    const known = held[0]!;
    returnScratch(known);
    for (const line of linesIn(source, 0, data.length)) {
      assert.equal(line.at, 0);
      break; // the generator's finally returns the window
    }
    assert.equal(borrowScratch(), known, 'the window went back to the pool');
  });
});
