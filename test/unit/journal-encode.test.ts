/**
 * LocalStore's journal encoding (coordinator/store/local-journal.ts `encode`): the same text as
 * JSON.stringify with the tagging replacer for every value, whether or not it holds NaN or
 * ±Infinity (the fast path skips the replacer when a walk finds none), and read back equal.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { encode, reviveNumbers } from '../../coordinator/store/local-journal.js';
import { mulberry32 } from '../../shared/hash.js';

const NUM_TAG = '$trellis:num';
const reference = (value: unknown): string =>
  JSON.stringify(value, (_key, v: unknown) =>
    typeof v === 'number' && !Number.isFinite(v) ? { [NUM_TAG]: String(v) } : v,
  );

function randomValue(random: () => number, depth: number, odd: boolean): unknown {
  const r = random();
  if (depth > 3 || r < 0.35) {
    const numbers = odd ? [Number.NaN, Infinity, -Infinity, 0, -0, 1.5, 1e300] : [0, -0, 1.5, 1e300, -7];
    const leaves = [
      numbers[Math.floor(random() * numbers.length)],
      'text',
      true,
      null,
      undefined,
      new Date(1_700_000_000_000),
    ];
    return leaves[Math.floor(random() * leaves.length)];
  }
  if (r < 0.6) return Array.from({ length: Math.floor(random() * 4) }, () => randomValue(random, depth + 1, odd));
  const out: Record<string, unknown> = {};
  for (let i = 0; i < Math.floor(random() * 5); i++) out[`k${i}`] = randomValue(random, depth + 1, odd);
  return out;
}

describe('journal encode', () => {
  it('writes what the tagging replacer writes, for documents with and without non-finite numbers', () => {
    const random = mulberry32(7);
    let tagged = 0;
    for (let i = 0; i < 3000; i++) {
      const value = { t: 'trial', d: randomValue(random, 0, i % 2 === 0) };
      const text = encode(value);
      assert.equal(text, reference(value));
      if (text.includes(NUM_TAG)) tagged++;
    }
    assert.ok(tagged > 100, `only ${tagged} documents held a non-finite number`);
  });

  it('reads non-finite numbers back, nested in objects and arrays', () => {
    const doc = { metrics: { loss: Number.NaN, best: Infinity }, curve: [1, -Infinity, 2], ok: 3 };
    const back = JSON.parse(encode(doc), reviveNumbers) as typeof doc;
    assert.ok(Number.isNaN(back.metrics.loss));
    assert.equal(back.metrics.best, Infinity);
    assert.deepEqual(back.curve, [1, -Infinity, 2]);
    assert.equal(back.ok, 3);
  });

  it('a toJSON that yields a non-finite number is tagged too', () => {
    const value = { x: { toJSON: () => Number.NaN } };
    assert.equal(encode(value), reference(value));
    assert.match(encode(value), /\$trellis:num/);
  });
});
