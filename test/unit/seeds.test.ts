/**
 * Every seed Trellis derives for a trial is in [0, 2^31 − 1], the range numpy.random.seed,
 * torch.manual_seed and random.seed all accept (issue 12: half of them used to be negative).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { derivedSeed as deriveSeed, seedOfTrial } from '../../coordinator/search/replicates.js';
import { trialSchema } from '../../shared/spec/schema.js';

const MAX = 2 ** 31 - 1;
const inRange = (seed: number): boolean => Number.isInteger(seed) && seed >= 0 && seed <= MAX;

describe('derived seeds', () => {
  it('deriveSeed(searchSeed, n) is an integer in [0, 2^31 − 1] over 100,000 derivations, and spread out', () => {
    const searchSeeds = [0, 1, 7, 42, 12345, MAX, 2 ** 32 - 1, 2 ** 40 + 3, Number.MAX_SAFE_INTEGER, 987654321];
    let count = 0;
    let high = 0;
    for (const searchSeed of searchSeeds) {
      const seen = new Set<number>();
      for (let n = 0; n < 10_000; n++) {
        const seed = deriveSeed(searchSeed, n);
        assert.ok(inRange(seed), `deriveSeed(${searchSeed}, ${n}) = ${seed}`);
        if (seed >= 2 ** 30) high += 1;
        seen.add(seed);
        count += 1;
      }
      // The trials of one sweep get distinct seeds.
      assert.ok(seen.size > 9_990, `${seen.size} distinct seeds among 10,000 trials of search seed ${searchSeed}`);
    }
    assert.equal(count, 100_000);
    // Not squeezed into a corner of the range: about half above 2^30.
    assert.ok(high > 45_000 && high < 55_000, `${high} of 100,000 above 2^30`);
  });

  it('seedOfTrial with replicates (always derived) is an integer in [0, 2^31 − 1] over 100,000 trials', () => {
    let count = 0;
    for (const searchSeed of [0, 3, MAX, 2 ** 33]) {
      for (let number = 0; number < 25_000; number++) {
        const value = seedOfTrial(number, { searchSeed, replicates: 3, params: { seed: -5 } });
        assert.ok(inRange(value), `seedOfTrial(${number}, searchSeed ${searchSeed}) = ${value}`);
        count += 1;
      }
    }
    assert.equal(count, 100_000);
  });

  it('a fixed trial.seed must be in [0, 2^31 − 1]', () => {
    assert.equal(trialSchema.parse({ seed: MAX }).seed, MAX);
    for (const bad of [-1, MAX + 1, 1.5]) {
      const result = trialSchema.safeParse({ seed: bad });
      assert.equal(result.success, false, `seed ${bad} is refused`);
    }
  });
});
