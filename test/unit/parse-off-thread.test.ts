/**
 * Large spec texts are parsed on worker threads through a bounded p-queue: PARSE_THREADS at once,
 * PARSE_WAITING more waiting, and every further one refused with RESOURCE_EXHAUSTED at once
 * (never queued without bound). The ones admitted all parse to the document they hold.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  PARSE_IN_PLACE_BYTES,
  PARSE_THREADS,
  PARSE_WAITING,
  parseSpec,
} from '../../coordinator/experiments/parse-off-thread.js';
import { DEFAULT_LIMITS } from '../../shared/limits.js';
import { ResourceExhaustedError } from '../../shared/errors.js';

/** A YAML spec over the in-place size (padded with comments), naming itself `name`. */
function largeSpec(name: string): string {
  const padding = `# ${'x'.repeat(98)}\n`.repeat(Math.ceil((PARSE_IN_PLACE_BYTES + 1024) / 100));
  return `${padding}apiVersion: trellis/v1\nkind: Sweep\nname: ${name}\n`;
}

describe('parsing large specs off the event loop', () => {
  it('runs the admitted ones, refuses those past the waiting bound at once, and serves again after', async () => {
    const extra = 3;
    const calls = Array.from({ length: PARSE_THREADS + PARSE_WAITING + extra }, (_, i) =>
      parseSpec(largeSpec(`s${i}`), DEFAULT_LIMITS).then(
        (doc) => ({ ok: true as const, doc }),
        (err: unknown) => ({ ok: false as const, err }),
      ),
    );
    const results = await Promise.all(calls);
    const admitted = results.slice(0, PARSE_THREADS + PARSE_WAITING);
    admitted.forEach((r, i) => {
      assert.ok(r.ok, `call ${i} was admitted and parsed`);
      assert.equal((r.doc as { name: string }).name, `s${i}`);
    });
    for (const r of results.slice(PARSE_THREADS + PARSE_WAITING)) {
      assert.ok(!r.ok);
      assert.ok(r.err instanceof ResourceExhaustedError, String(r.err));
      assert.match(r.err.message, new RegExp(`at most ${PARSE_THREADS + PARSE_WAITING}`));
    }
    // The queue drained: a new large spec is parsed again.
    assert.equal(((await parseSpec(largeSpec('after'), DEFAULT_LIMITS)) as { name: string }).name, 'after');
  });
});
