/** The dashboard's binary curves (shared/curves-codec.ts): what goes in comes out, as float32. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decodeCurves, encodeCurves } from '../../shared/curves-codec.js';
import type { DashCurves } from '../../shared/dashboard.js';

describe('binary curves', () => {
  it('round-trips contiguous and sparse steps, gaps and several metrics', () => {
    const curves: DashCurves = {
      metrics: ['acc', 'loss', 'never'],
      steps: { 0: [1, 2, 3], 7: [0, 5, 10, 11], 12: [] },
      values: {
        loss: { 0: [0.9, 0.5, 0.25], 7: [2, null, 1.5, 1e-7], 12: [] },
        acc: { 0: [null, null, 0.75], 7: [0.1, 0.2, 0.3, 0.4] },
      },
    };
    const decoded = decodeCurves(copy(encodeCurves(curves)));
    assert.deepEqual(decoded.metrics, curves.metrics);
    assert.deepEqual(decoded.steps, curves.steps);
    assert.deepEqual(Object.keys(decoded.values).sort(), ['acc', 'loss']);
    for (const metric of ['acc', 'loss']) {
      for (const n of [0, 7, 12]) {
        const given: (number | null)[] =
          curves.values[metric]![n] ?? new Array<number | null>(curves.steps[n]!.length).fill(null);
        const want = given.map((y) => (y === null ? null : Math.fround(y)));
        assert.deepEqual(decoded.values[metric]![n], want, `${metric} of trial ${n}`);
      }
    }
  });

  it('is about a fifth of the JSON for dense curves', () => {
    const steps: Record<number, number[]> = {};
    const loss: Record<number, number[]> = {};
    for (let n = 0; n < 200; n++) {
      steps[n] = Array.from({ length: 100 }, (_, i) => i + 1);
      loss[n] = steps[n]!.map((s) => Math.exp(-s / (n + 1)) + 0.123456789);
    }
    const curves: DashCurves = { metrics: ['loss'], steps, values: { loss } };
    const bytes = encodeCurves(curves).length;
    assert.ok(bytes < JSON.stringify(curves).length / 4, `${bytes} bytes`);
    assert.ok(bytes >= 200 * 100 * 4, 'every value is carried');
  });

  it('refuses what is not a curves document', () => {
    assert.throws(() => decodeCurves(copy(new TextEncoder().encode('{"metrics":[]}'))), /not a TRC1 document/);
    const truncated = encodeCurves({ metrics: ['m'], steps: { 1: [1, 2] }, values: { m: { 1: [1, 2] } } });
    assert.throws(() => decodeCurves(copy(truncated.subarray(0, truncated.length - 4))), /expected 2 values, found 1/);
  });
});

function copy(bytes: Uint8Array): ArrayBuffer {
  return bytes.slice().buffer;
}
