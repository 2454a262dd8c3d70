/**
 * Deterministic train/validation/test splits: a seeded shuffle (pure-rand) of the row indices,
 * cut by the requested fractions. Indices within each split are returned in ascending order.
 */
import { PermanentRunError } from '../runtimes/base.js';
import { Rng } from './rng.js';

export interface SplitFractions {
  validation: number;
  test: number;
}

export interface SplitIndices {
  train: Int32Array;
  validation: Int32Array;
  test: Int32Array;
}

function sorted(values: Int32Array): Int32Array {
  return values.slice().sort();
}

/**
 * Splits `n` rows. With `separateTest` the test set comes from another file: only a validation
 * set is cut (from these rows) and `test` is empty.
 */
export function splitIndices(n: number, fractions: SplitFractions, seed: number, separateTest = false): SplitIndices {
  const testFraction = separateTest ? 0 : fractions.test;
  if (fractions.validation + testFraction >= 1) {
    throw new PermanentRunError(
      `trial.split: validation (${fractions.validation}) + test (${testFraction}) must leave rows for training`,
    );
  }
  const order = Rng.create(seed, 'split').permutation(n);
  const nTest = Math.round(n * testFraction);
  const nVal = Math.round(n * fractions.validation);
  const nTrain = n - nTest - nVal;
  if (nTrain < 1) throw new PermanentRunError(`trial.split: no rows left for training (${n} rows)`);
  return {
    test: sorted(order.subarray(0, nTest)),
    validation: sorted(order.subarray(nTest, nTest + nVal)),
    train: sorted(order.subarray(nTest + nVal)),
  };
}
