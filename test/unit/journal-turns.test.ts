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

async function openJournal(dir: string): Promise<Journal> {
  const journal = new Journal(
    dir,
    { durable: false, lock: false, compactAfterBytes: 1 << 30, warn: () => {} },
    (out) => {
      out.line('{"header":true}');
      return Promise.resolve(() => undefined);
    },
  );
  await journal.open();
  await journal.rewrite();
  return journal;
}

/** Runs `first` and then `second` in one turn of the event loop (two timers due together). */
function sameTurn<T>(first: () => void, second: () => T): Promise<T> {
  return new Promise<T>((resolve) => {
    setTimeout(first, 1);
    setTimeout(() => resolve(second()), 1);
  });
}

function spin(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // A callback that keeps the event loop busy, as a large batch of gRPC messages does.
  }
}

describe('LocalStore journal: when a batch is written', () => {
  it('holds a short turn’s lines until the turn ends, in one write', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'trellis-turns-'));
    const journal = await openJournal(dir);
    try {
      let written = false;
      let second: Promise<void> | undefined;
      const writtenBeforeTurnEnd = await sameTurn(
        () => {
          void journal.write(['{"a":1}']).then(() => (written = true));
          second = journal.write(['{"b":2}']);
        },
        () => written,
      );
      assert.equal(writtenBeforeTurnEnd, false, 'a short turn’s batch waits for the end of the turn');
      await second;
      assert.equal(written, true);
      const text = await readFile(join(dir, 'journal.jsonl'), 'utf8');
      assert.deepEqual(text.trim().split('\n').slice(1), ['{"a":1}', '{"b":2}']);
    } finally {
      await journal.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('writes a batch older than HURRY_MS once the callback that queued more is done', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'trellis-turns-'));
    const journal = await openJournal(dir);
    try {
      let written = false;
      let second: Promise<void> | undefined;
      const writtenBeforeTurnEnd = await sameTurn(
        () => {
          void journal.write(['{"a":1}']).then(() => (written = true));
          spin(5);
          second = journal.write(['{"b":2}']);
        },
        () => written,
      );
      assert.equal(writtenBeforeTurnEnd, true, 'the first writer heard back before the rest of the turn ran');
      await second;
      const text = await readFile(join(dir, 'journal.jsonl'), 'utf8');
      assert.deepEqual(text.trim().split('\n').slice(1), ['{"a":1}', '{"b":2}']);
    } finally {
      await journal.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
