import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  accuracy,
  argmaxRows,
  aucBinary,
  balancedAccuracy,
  eceFromProbabilities,
  expectedCalibrationError,
  groupAccuracies,
  macroF1,
} from '../../worker/tasks/metrics.js';

const close = (actual: number, expected: number, tolerance = 1e-12): void => {
  assert.ok(Math.abs(actual - expected) <= tolerance, `expected ${expected}, got ${actual}`);
};

describe('accuracy', () => {
  it('counts exact matches', () => {
    assert.equal(accuracy([0, 1, 2, 2], [0, 2, 2, 2]), 0.75);
    assert.equal(accuracy(Int32Array.from([1, 1]), Int32Array.from([0, 0])), 0);
  });
  it('is NaN on empty input and rejects mismatched lengths', () => {
    assert.ok(Number.isNaN(accuracy([], [])));
    assert.throws(() => accuracy([1], [1, 2]), RangeError);
  });
});

describe('macroF1 and balancedAccuracy', () => {
  // true 0 0 1 1 2 2 / pred 0 1 1 1 2 0
  // class 0: TP 1, FP 1, FN 1 → F1 2/4;  class 1: TP 2, FP 1, FN 0 → 4/5;  class 2: TP 1, FP 0, FN 1 → 2/3
  const yTrue = [0, 0, 1, 1, 2, 2];
  const yPred = [0, 1, 1, 1, 2, 0];
  it('macro F1 averages per-class F1', () => {
    close(macroF1(yTrue, yPred), (0.5 + 0.8 + 2 / 3) / 3);
  });
  it('counts a predicted-only class with F1 0', () => {
    // class 3 is predicted but never true: F1 0; class 0: TP 1, FN 1 → 2/3
    close(macroF1([0, 0], [0, 3]), (2 / 3 + 0) / 2);
  });
  it('balanced accuracy averages recall over true classes', () => {
    close(balancedAccuracy(yTrue, yPred), (0.5 + 1 + 0.5) / 3);
    close(balancedAccuracy([0, 0, 0, 1], [0, 0, 0, 0]), 0.5);
  });
  it('are 1 for perfect predictions', () => {
    assert.equal(macroF1([2, 0, 1], [2, 0, 1]), 1);
    assert.equal(balancedAccuracy([2, 0, 1], [2, 0, 1]), 1);
  });
});

describe('aucBinary', () => {
  it('is the fraction of correctly ordered positive/negative pairs', () => {
    close(aucBinary([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]), 0.75);
    assert.equal(aucBinary([0, 1], [0.2, 0.9]), 1);
    assert.equal(aucBinary([1, 0], [0.2, 0.9]), 0);
  });
  it('counts ties as half (average ranks)', () => {
    // pairs: (0.5 vs 0.5) ½, (0.5 vs 0.1) 1, (0.9 vs 0.5) 1, (0.9 vs 0.1) 1 → 3.5 / 4
    close(aucBinary([1, 0, 1, 0], [0.5, 0.5, 0.9, 0.1]), 0.875);
    close(aucBinary([true, false, true, false], [0.3, 0.3, 0.3, 0.3]), 0.5);
  });
  it('is NaN with a single class', () => {
    assert.ok(Number.isNaN(aucBinary([1, 1], [0.2, 0.3])));
  });
});

describe('expectedCalibrationError', () => {
  it('weights each bin gap by its share of samples (15 bins)', () => {
    // 0.95 → bin 14: acc 0.5, conf 0.95 → 0.45 · ½;  0.55 → bin 8: acc 1, conf 0.55 → 0.45 · ½
    close(expectedCalibrationError([0.95, 0.95, 0.55, 0.55], [1, 0, 1, 1]), 0.45);
  });
  it('is 0 when confidence matches accuracy in every bin', () => {
    close(expectedCalibrationError([1, 1, 0.5, 0.5], [1, 1, 1, 0]), 0);
  });
  it('puts a confidence on a bin edge in the lower bin', () => {
    // 2/15 sits on the edge of bins 1 and 2: with 0.14 (bin 2) it would average differently.
    close(expectedCalibrationError([2 / 15, 0.14], [1, 0]), 0.5 * (1 - 2 / 15) + 0.5 * 0.14);
    close(expectedCalibrationError([2 / 15, 0.13], [1, 0]), Math.abs(0.5 - (2 / 15 + 0.13) / 2));
  });
  it('reads confidences from probability rows', () => {
    // rows: [0.9, 0.1] (pred 0, true 0), [0.2, 0.8] (pred 1, true 0)
    const probs = Float32Array.from([0.9, 0.1, 0.2, 0.8]);
    close(eceFromProbabilities(probs, 2, [0, 0]), 0.5 * Math.abs(1 - 0.9) + 0.5 * Math.abs(0 - 0.8), 1e-6);
    assert.deepEqual([...argmaxRows(probs, 2)], [0, 1]);
  });
});

describe('groupAccuracies', () => {
  it('gives per-group accuracy, the worst group and the gap', () => {
    const result = groupAccuracies([0, 1, 1, 0, 1], [0, 1, 0, 0, 0], ['a', 'a', 'b', 'b', 'b']);
    assert.deepEqual(Object.keys(result.perGroup), ['a', 'b']);
    assert.equal(result.perGroup.a, 1);
    close(result.perGroup.b!, 1 / 3);
    close(result.worst, 1 / 3);
    close(result.gap, 2 / 3);
  });
  it('orders numeric group ids numerically', () => {
    const result = groupAccuracies([1, 1, 1], [1, 0, 1], [10, 2, 2]);
    assert.deepEqual(Object.keys(result.perGroup), ['2', '10']);
    assert.equal(result.perGroup['2'], 0.5);
    assert.equal(result.gap, 0.5);
  });
});
