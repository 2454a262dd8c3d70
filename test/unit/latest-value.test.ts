import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { LatestValueWriter } from '../../coordinator/sweeps/latest-value.js';

/** A write that waits until the test lets it finish. */
function gatedWrites(): { writes: number[]; writer: LatestValueWriter; finish: (err?: Error) => void } {
  const writes: number[] = [];
  const gates: ((err?: Error) => void)[] = [];
  const writer = new LatestValueWriter(
    (value) =>
      new Promise<void>((resolve, reject) => {
        writes.push(value);
        gates.push((err) => (err ? reject(err) : resolve()));
      }),
  );
  return { writes, writer, finish: (err) => gates.shift()!(err) };
}

describe('LatestValueWriter (experiment counters written in batches)', () => {
  it('callers arriving during a write are answered by one next write of the highest value', async () => {
    const { writes, writer, finish } = gatedWrites();
    const done: number[] = [];
    const calls = [1, 2, 3, 4, 5].map((v) => writer.store(v).then(() => done.push(v)));
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(writes, [1]);
    finish();
    await calls[0];
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(done, [1]);
    assert.deepEqual(writes, [1, 5]);
    finish();
    await Promise.all(calls);
    assert.deepEqual(
      done.sort((x, y) => x - y),
      [1, 2, 3, 4, 5],
    );
    assert.deepEqual(writes, [1, 5]);
  });

  it('a value already stored (or lower) costs no write; values never go back', async () => {
    const { writes, writer, finish } = gatedWrites();
    const first = writer.store(7);
    await new Promise((r) => setImmediate(r));
    finish();
    await first;
    await writer.store(3);
    await writer.store(7);
    assert.deepEqual(writes, [7]);
  });

  it('a failed write rejects its callers; the next call writes again', async () => {
    const { writes, writer, finish } = gatedWrites();
    const a = writer.store(1);
    const b = writer.store(2);
    await new Promise((r) => setImmediate(r));
    finish(new Error('store down'));
    await assert.rejects(a, /store down/);
    await assert.rejects(b, /store down/);
    const c = writer.store(2);
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(writes, [1, 2]);
    finish();
    await c;
  });
});
