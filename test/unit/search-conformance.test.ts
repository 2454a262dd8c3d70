/**
 * The search-algorithm family's conformance suite: every registered algorithm, single- and
 * multi-objective, keeps the contract of coordinator/search/base.ts — valid params (conditional
 * parameters present iff their parent holds), a pure function of (seed, number, history) whatever
 * the history's order, settings checked with the field named. Then nsga2's and motpe's own rules.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Params, Space } from '../../shared/spec/space.js';
import type { TrialObservation } from '../../coordinator/search/base.js';
import { createSearch, searchAlgorithmNames } from '../../coordinator/search/registry.js';
import { isValidConfig } from '../../coordinator/search/domains.js';
import { Nsga2Search, polynomialMutation, sbx } from '../../coordinator/search/nsga2.js';
import { splitMultiObjective } from '../../coordinator/search/motpe.js';
import { rngFor, uniform } from '../../coordinator/search/rng.js';
import { hypervolume } from '../../shared/pareto.js';
import { messageOf } from '../helpers/errors.js';

const FC = { seed: 20261130, numRuns: 25 };

const MIXED: Space = {
  lr: { kind: 'loguniform', low: 1e-4, high: 1e-1 },
  dropout: { kind: 'uniform', low: 0, high: 0.5 },
  layers: { kind: 'int', low: 1, high: 4 },
  width: { kind: 'int', low: 8, high: 512, log: true },
  optimizer: { kind: 'choice', values: ['adam', 'sgd', 'rmsprop'] },
  momentum: { kind: 'uniform', low: 0, high: 0.99, when: { optimizer: 'sgd' } },
  nesterov: { kind: 'choice', values: [true, false], when: { optimizer: 'sgd' } },
  dampening: { kind: 'uniform', low: 0, high: 0.5, when: { nesterov: false } },
  hidden: { kind: 'choice', values: [[64], [128, 64]] },
};

/** Two conflicting objectives of the params, oriented larger-is-better. */
function objectives(p: Params): number[] {
  const lr = Math.log10(p.lr as number);
  const d = p.dropout as number;
  return [-((lr + 2) ** 2) - d, -((lr + 3) ** 2) - (0.5 - d) + (p.optimizer === 'sgd' ? 0.3 : 0)];
}

function observe(number: number, params: Params, m: number, state: number): TrialObservation {
  if (state === 0) return { number, params, state: 'running' };
  if (state === 1) return { number, params, state: 'failed' };
  const values = objectives(params).slice(0, m);
  return { number, params, state: 'complete', value: values[0]!, ...(m > 1 ? { values } : {}) };
}

function multiObjective(name: string): boolean {
  return name !== 'tpe';
}

for (const name of searchAlgorithmNames()) {
  describe(`search conformance: ${name}`, () => {
    for (const m of multiObjective(name) ? [1, 2] : [1]) {
      it(`gives valid params, deterministic and independent of history order (${m} objective${m > 1 ? 's' : ''}, property)`, () => {
        fc.assert(
          fc.property(
            fc.integer({ min: 0, max: 1000 }),
            fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 5, maxLength: 40 }),
            fc.integer({ min: 1, max: 1_000_000 }),
            (seed, states, shuffleSeed) => {
              const settings = name === 'nsga2' ? { population: 6 } : name === 'motpe' ? { startup: 4 } : {};
              const make = () => createSearch(name, { space: MIXED, seed, settings, objectives: m });
              const alg = make();
              const history: TrialObservation[] = [];
              for (let n = 0; n < states.length; n++) {
                const params = alg.suggest(n, history);
                if (params === undefined) break; // grid exhausted
                assert.ok(isValidConfig(MIXED, params), `${name} #${n}: ${JSON.stringify(params)}`);
                history.push(observe(n, params, m, states[n]!));
              }
              const next = history.length;
              const expected = alg.suggest(next, history);
              // A fresh instance, the history shuffled: the same suggestion.
              const rng = rngFor(shuffleSeed);
              const shuffled = [...history]
                .map((h) => ({ h, k: uniform(rng) }))
                .sort((a, b) => a.k - b.k)
                .map((x) => x.h);
              assert.deepEqual(make().suggest(next, shuffled), expected);
              // An entry with the requested number itself is ignored.
              if (expected) {
                const self = observe(next, expected, m, 5);
                assert.deepEqual(make().suggest(next, [...shuffled, self]), expected);
              }
            },
          ),
          FC,
        );
      });
    }

    it('names an unknown setting', () => {
      assert.match(
        messageOf(() => createSearch(name, { space: MIXED, seed: 0, settings: { bogus: 1 } })),
        /^search\.bogus: unknown setting; allowed: /,
      );
    });
  });
}

describe('search: multi-objective specs', () => {
  it('tpe refuses a list of objectives, naming motpe and nsga2', () => {
    assert.equal(
      messageOf(() => createSearch('tpe', { space: MIXED, seed: 0, settings: {}, objectives: 2 })),
      'search.algorithm: tpe optimises one objective and trial.objective lists 2; use motpe (multi-objective TPE) or nsga2, or random, sobol or grid',
    );
  });

  it('nsga2 validates its settings', () => {
    assert.equal(
      messageOf(() => createSearch('nsga2', { space: MIXED, seed: 0, settings: { population: 1 } })),
      'search.population: must be an integer >= 2 and <= 10000, got 1',
    );
    assert.equal(
      messageOf(() => createSearch('nsga2', { space: MIXED, seed: 0, settings: { mutationProb: 2 } })),
      'search.mutationProb: must be >= 0 and <= 1, got 2',
    );
    const alg = createSearch('nsga2', { space: MIXED, seed: 0, settings: {} }) as Nsga2Search;
    assert.deepEqual(alg.settings, {
      population: 50,
      crossoverProb: 0.9,
      crossoverEta: 20,
      mutationEta: 20,
      mutationProb: 1 / 9,
    });
  });
});

describe('nsga2', () => {
  const LINE: Space = { x: { kind: 'uniform', low: 0, high: 1 }, y: { kind: 'uniform', low: 0, high: 1 } };

  it('SBX and polynomial mutation stay in bounds (property)', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.integer({ min: 0, max: 1e6 }),
        fc.double({ min: 0, max: 50, noNaN: true }),
        (a, b, seed, eta) => {
          const c = sbx(a, b, 0, 1, eta, rngFor(seed));
          assert.ok(c >= 0 && c <= 1);
          const d = polynomialMutation(a, 0, 1, eta, rngFor(seed, 1));
          assert.ok(d >= 0 && d <= 1);
        },
      ),
      { ...FC, numRuns: 300 },
    );
  });

  it("parents: generation g breeds from the elite of every finished trial before it (Optuna's generations)", () => {
    const alg = new Nsga2Search({ space: LINE, seed: 1, settings: { population: 4 } });
    // Generation 0: numbers 0..3; generation 1: 4..7. Points (larger is better).
    const h = (number: number, values: number[] | undefined): TrialObservation =>
      values
        ? { number, params: { x: number / 10, y: 0 }, state: 'complete', value: values[0]!, values }
        : { number, params: { x: number / 10, y: 0 }, state: 'running' };
    const history = [
      h(0, [1, 1]),
      h(1, [3, 0]),
      h(2, [0, 3]),
      h(3, undefined), // still running: left out, not waited for
      h(4, [2, 2]),
      h(5, [0, 0]), // dominated by all: cut at generation 1
      h(6, [4, 4]), // dominates everything
      h(7, [2.5, 2.5]),
      h(8, [9, 9]), // generation 2: not a parent of generation 2
    ];
    assert.deepEqual(
      alg.parents(1, history).map((p) => p.params.x),
      [0, 0.1, 0.2],
    );
    const g2 = alg.parents(2, history);
    // P0 = {0,1,2}; P0 ∪ gen 1 = {0,1,2,4,5,6,7} cut to 4: rank 0 = {6}; rank 1 = {1 (3,0), 2 (0,3),
    // 7 (2.5,2.5)} (none dominates another; 7 dominates 0 and 4) — 1 + 3 fill the population.
    assert.deepEqual(
      g2.map((p) => [p.params.x, p.rank]),
      [
        [0.1, 1],
        [0.2, 1],
        [0.6, 0],
        [0.7, 1],
      ],
    );
  });

  it('with fewer than two finished parents, draws at random; children stay in the space', () => {
    const alg = createSearch('nsga2', { space: LINE, seed: 3, settings: { population: 2 }, objectives: 2 });
    const lone: TrialObservation[] = [{ number: 0, params: { x: 0.5, y: 0.5 }, state: 'complete', values: [1, 1] }];
    const p = alg.suggest(2, lone)!;
    assert.ok(isValidConfig(LINE, p));
  });
});

describe('motpe', () => {
  it('splits by non-domination rank, the boundary front by crowding distance', () => {
    const h = (number: number, values: number[]): TrialObservation => ({
      number,
      params: {},
      state: 'complete',
      value: values[0]!,
      values,
    });
    // 30 finished → gamma = ceil(0.1·30) = 3. Front: 0 (0,10), 1 (10,0), 2 (5,5), 3 (4,6), 4 (6,4);
    // the rest dominated. Boundary front of 5 → the two extremes (infinite crowding), then the
    // largest crowding among 2, 3, 4: 3 and 4 have gaps (5−0)/10+(10−5)/10 = 1 each... 2 has (6−4)/10·2 = 0.4.
    const history = [h(0, [0, 10]), h(1, [10, 0]), h(2, [5, 5]), h(3, [4, 6]), h(4, [6, 4])];
    for (let i = 5; i < 30; i++) history.push(h(i, [i / 100, i / 100]));
    history.push({ number: 30, params: {}, state: 'running' });
    const split = splitMultiObjective(99, history, true);
    assert.equal(split.finished, 30);
    assert.deepEqual(
      split.below.map((t) => t.number),
      [0, 1, 3],
    );
    assert.equal(split.above.length, 28); // 27 complete + the running one (constant liar)
  });

  it('nsga2 and motpe beat random search on a 2-objective problem (hypervolume, 3 seeds, 120 trials)', () => {
    // ZDT1 with 5 variables, larger-is-better (negated) for the algorithms.
    const space: Space = Object.fromEntries(
      Array.from({ length: 5 }, (_, i) => [`x${i}`, { kind: 'uniform' as const, low: 0, high: 1 }]),
    );
    const zdt1 = (p: Params): number[] => {
      const x = Array.from({ length: 5 }, (_, i) => p[`x${i}`] as number);
      const g = 1 + (9 * x.slice(1).reduce((a, b) => a + b, 0)) / 4;
      return [x[0]!, g * (1 - Math.sqrt(x[0]! / g))];
    };
    const volume = (name: string, seed: number): number => {
      const settings = name === 'nsga2' ? { population: 20 } : {};
      const alg = createSearch(name, { space, seed, settings, objectives: 2 });
      const history: TrialObservation[] = [];
      const points: number[][] = [];
      for (let n = 0; n < 120; n++) {
        const params = alg.suggest(n, history)!;
        const f = zdt1(params);
        points.push(f);
        const values = f.map((v) => -v);
        history.push({ number: n, params, state: 'complete', value: values[0]!, values });
      }
      return hypervolume(points, [1.1, 11]);
    };
    for (const seed of [0, 1, 2]) {
      const random = volume('random', seed);
      for (const name of ['nsga2', 'motpe']) {
        const v = volume(name, seed);
        assert.ok(v > random, `${name} seed ${seed}: hypervolume ${v} <= random's ${random}`);
      }
    }
  });
});
