/**
 * Where each trial's line is after a compaction that ran behind the writes
 * (coordinator/store/local-trials.ts `relocation`): every case of a trial's life during the
 * snapshot, set up by hand at chosen offsets, so that none depends on an interleaving the
 * store's own tests can only hope to meet. The old journal was 10,000 bytes when the snapshot
 * began (`from`); the snapshot is 3,000 bytes, so a line copied from the old journal's tail
 * moves by -7,000.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BufferSource, type ByteSource } from '../../coordinator/store/local-cold.js';
import { encode } from '../../coordinator/store/local-journal.js';
import { TrialTable } from '../../coordinator/store/local-trials.js';
import { TRIAL_STATUSES, type TrialStatus } from '../../shared/states.js';
import type { TrialDoc } from '../../shared/types.js';

const EXP = 'reloc';
const FROM = 10_000;
const SNAPSHOT_BYTES = 3_000;
const BY = SNAPSHOT_BYTES - FROM;

function doc(number: number, status: TrialStatus, mark: string): TrialDoc {
  return {
    id: `${EXP}-t${number}`,
    experimentId: EXP,
    number,
    status,
    params: { mark },
    seed: number,
    attempts: [],
    metrics: {},
    createdAt: number,
    updatedAt: number,
  };
}

/** A file with each document's trial line at its offset (and newline padding between). */
function fileWith(lines: [number, TrialDoc][], size: number): Buffer {
  const buf = Buffer.alloc(size, '\n');
  for (const [offset, d] of lines) {
    const text = encode({ t: 'trial', d });
    assert.ok(offset + text.length < size, 'fits');
    buf.write(text, offset);
  }
  return buf;
}

describe('LocalStore relocation after a compaction behind the writes', () => {
  it('puts every trial at the line that holds its latest document', () => {
    let source: ByteSource = new BufferSource(Buffer.alloc(0));
    const table = new TrialTable({ source: () => source, write: () => Promise.resolve() });
    const code = (s: TrialStatus): number => TRIAL_STATUSES.indexOf(s);
    /** Makes `d` the trial's document, its line written at `offset` (with `pending` writes still queued). */
    const write = (d: TrialDoc, offset: number, pending = 0) => {
      const h = table.set(d);
      table.queued(Array.from({ length: pending + 1 }, () => h));
      table.placed([h], [d], [offset]);
      return h;
    };
    /** One of the queued writes without a trial line (a sealed block) is done. */
    const sealed = (h: ReturnType<typeof write>) => table.placed([h], [], []);

    // A: cold before the snapshot began (old offset 50); the snapshot copied its line to 1,200.
    const a = doc(1, 'succeeded', 'a');
    write(a, 50);
    // C: its last line written before the snapshot began (9,500 < FROM) with its rows still to
    // seal: hot when the snapshot began, cold before its end.
    const c = doc(3, 'succeeded', 'c');
    const hc = write(c, 9_500, 1);
    // F: running, line at 800 (< FROM), unchanged: the snapshot writes it as hot at 1,600.
    const f = doc(6, 'running', 'f');
    const hf = write(f, 800);

    const rel = table.relocation();
    rel.trial(EXP, 1, 1_200, code('succeeded'));
    sealed(hc); // C goes cold while the snapshot runs
    assert.equal(table.wentCold(hc), true);

    // B: its last line written before FROM (9,000), rows still to seal: written as hot at 400
    // by the snapshot's end, cold before the new file replaces the old.
    const b = doc(2, 'succeeded', 'b');
    const hb = write(b, 9_000, 1);
    // E: running; the snapshot writes it as hot at 2,000, then it changes again (line at 10,800).
    const e1 = doc(5, 'running', 'e1');
    const he = write(e1, 9_900);
    rel.hot(hb, 400);
    rel.hot(he, 2_000);
    rel.hot(hf, 1_600);
    rel.cold(hc, 800);
    const e2 = doc(5, 'running', 'e2');
    write(e2, 10_800);
    sealed(hb); // B goes cold after the snapshot was written
    // D: created and finished while the snapshot was written: its line is in the tail (10,400).
    const d = doc(4, 'succeeded', 'd');
    write(d, 10_400);

    rel.commit({ from: FROM, by: BY });
    source = new BufferSource(
      fileWith(
        [
          [400, b],
          [800, c],
          [1_200, a],
          [1_600, f],
          [2_000, e1],
          [10_400 + BY, d],
          [10_800 + BY, e2],
        ],
        4_200,
      ),
    );

    const mark = (number: number) => (table.get(`${EXP}-t${number}`)?.params as { mark: string } | undefined)?.mark;
    assert.equal(mark(1), 'a', 'cold before: relocated by the snapshot');
    assert.equal(mark(2), 'b', 'hot at the snapshot, cold before the replacement: the snapshot line');
    assert.equal(mark(3), 'c', 'hot when it began, cold before its end: written by the snapshot');
    assert.equal(mark(4), 'd', 'cold while it ran: its tail line, moved');
    assert.equal(table.hot.get(`${EXP}-t5`)?.offset, 10_800 + BY, 'hot, changed after the snapshot: its tail line');
    assert.equal(table.hot.get(`${EXP}-t6`)?.offset, 1_600, 'hot, unchanged: the snapshot line');
    assert.deepEqual(
      [...table.byNumber(EXP)].map((t) => (t.params as { mark: string }).mark),
      ['a', 'b', 'c', 'd', 'e2', 'f'],
    );
  });
});
