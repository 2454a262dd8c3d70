/**
 * When LocalStore's journal (without fsync) writes a batch: at the end of the event loop's turn,
 * so every line queued in a turn shares one write; but a turn that runs long (many I/O callbacks
 * at 1,000 workers) does not hold its first writers for all of it: once a batch is older than
 * HURRY_MS, it is written when the current callback is done.
 *
 * Two timers due at the same moment run in the same turn, one after the other, before the
 * turn's check phase: the second sees whether the first one's write has been made yet.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Journal } from '../../coordinator/store/local-journal.js';

async function openJournal(dir: string, hurryMs?: number): Promise<Journal> {
  const options = { durable: false, lock: false, compactAfterBytes: 1 << 30, warn: () => {}, hurryMs };
  const journal = new Journal(dir, options, (out) => {
    out.line('{"header":true}');
    return Promise.resolve(() => undefined);
  });
  await journal.open();
  await journal.rewrite();
  return journal;
}

/**
 * Runs `first` and then `second` in one turn of the event loop: two timers, both due by the time
 * the loop looks (each setTimeout reads the clock anew, so without the wait the second can fall
 * a millisecond later, into the next turn).
 */
function sameTurn<T>(first: () => void, second: () => T): Promise<T> {
  return new Promise<T>((resolve) => {
    setTimeout(first, 1);
    setTimeout(() => resolve(second()), 1);
    spin(3);
  });
}

function spin(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // A callback that keeps the event loop busy, as a large batch of gRPC messages does.
  }
}

/**
 * Two writes queued by one timer callback, `spinMs` apart; a second timer of the same turn
 * notes whether the first write has been made. Returns that, and the lines written.
 */
async function twoWritesInOneTurn(spinMs: number, hurryMs?: number): Promise<{ early: boolean; lines: string[] }> {
  const dir = await mkdtemp(join(tmpdir(), 'trellis-turns-'));
  const journal = await openJournal(dir, hurryMs);
  try {
    let written = false;
    let second: Promise<void> | undefined;
    const early = await sameTurn(
      () => {
        void journal.write(['{"a":1}']).then(() => (written = true));
        spin(spinMs);
        second = journal.write(['{"b":2}']);
      },
      () => written,
    );
    await second;
    assert.equal(written, true);
    const text = await readFile(join(dir, 'journal.jsonl'), 'utf8');
    return { early, lines: text.trim().split('\n').slice(1) };
  } finally {
    await journal.close();
    await rm(dir, { recursive: true, force: true });
  }
}

describe('LocalStore journal: when a batch is written', () => {
  it('holds a short turn’s lines until the turn ends, in one write', async () => {
    // A minute's hurry: a pause of this process between the two writes cannot hurry the batch.
    const { early, lines } = await twoWritesInOneTurn(0, 60_000);
    assert.equal(early, false, 'a short turn’s batch waits for the end of the turn');
    assert.deepEqual(lines, ['{"a":1}', '{"b":2}']);
  });

  it('writes a batch older than HURRY_MS (2 ms) once the callback that queued more is done', async () => {
    const { early, lines } = await twoWritesInOneTurn(5);
    assert.equal(early, true, 'the first writer heard back before the rest of the turn ran');
    assert.deepEqual(lines, ['{"a":1}', '{"b":2}']);
  });
});
