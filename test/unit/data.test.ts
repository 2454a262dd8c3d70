import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { projectRoot } from '../../shared/paths.js';
import { trialSchema, type TrialConfig } from '../../shared/spec/schema.js';
import { PermanentRunError } from '../../worker/runtimes/base.js';
import { parseCsv, readCsvTable } from '../../worker/data/csv.js';
import { getBuiltinDataset, registerBuiltinDataset } from '../../worker/data/datasets.js';
import { loadDataset, type PreparedDataset } from '../../worker/data/load.js';
import { applyLabelNoise } from '../../worker/data/noise.js';
import { indexValues } from '../../worker/data/preprocess.js';
import { Rng } from '../../worker/data/rng.js';
import { splitIndices } from '../../worker/data/split.js';

const root = projectRoot();
const fixture = (name: string): string => join(root, 'test', 'fixtures', name);
const optdigitsColumns = getBuiltinDataset('optdigits')!.columns!;

function config(extra: Record<string, unknown>): TrialConfig {
  return trialSchema.parse(extra);
}

/** Population mean and std of column `c` of a row-major matrix. */
function columnStats(x: Float32Array, d: number, c: number): { mean: number; std: number } {
  const n = x.length / d;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += x[i * d + c]!;
  const mean = sum / n;
  let sq = 0;
  for (let i = 0; i < n; i++) sq += (x[i * d + c]! - mean) ** 2;
  return { mean, std: Math.sqrt(sq / n) };
}

const optdigitsCache = new Map<string, PreparedDataset>();
function optdigits(seed: number, extra: Record<string, unknown> = {}): PreparedDataset {
  const key = `${seed}:${JSON.stringify(extra)}`;
  let data = optdigitsCache.get(key);
  if (!data) optdigitsCache.set(key, (data = loadDataset(config({ dataset: 'optdigits', ...extra }), seed)));
  return data;
}

describe('parseCsv', () => {
  it('handles quotes, escaped quotes, embedded separators and line breaks, CRLF, BOM and blank lines', () => {
    const text = '\ufeffa,b,c\r\n1,"x, y",3\r\n\r\n"multi\nline","say ""hi""", 7 \n"",,last\r\n';
    const { rows, lines } = parseCsv(text);
    assert.deepEqual(rows, [
      ['a', 'b', 'c'],
      ['1', 'x, y', '3'],
      ['multi\nline', 'say "hi"', '7'],
      ['', '', 'last'],
    ]);
    assert.deepEqual(lines, [1, 2, 4, 6]);
  });

  it('handles a lone CR line ending and a last line without a newline', () => {
    assert.deepEqual(parseCsv('a,b\r1,2\r3,4').rows, [
      ['a', 'b'],
      ['1', '2'],
      ['3', '4'],
    ]);
  });

  it('rejects an unterminated quote', () => {
    assert.throws(() => parseCsv('a,b\n1,"oops\n'), /unterminated quoted field starting on line 2/);
  });
});

describe('header handling', () => {
  it('reads optdigits with its header line and a copy without one to the same columns and rows', () => {
    const withHeader = readCsvTable(join(root, 'datasets/optdigits/optdigits.tra'), {
      defaultColumns: optdigitsColumns,
    });
    const without = readCsvTable(fixture('optdigits-noheader.csv'), { defaultColumns: optdigitsColumns });
    assert.equal(withHeader.hadHeader, true);
    assert.equal(without.hadHeader, false);
    assert.equal(withHeader.rows.length, 3823);
    assert.equal(without.rows.length, 300);
    assert.deepEqual(without.columns, withHeader.columns);
    assert.equal(withHeader.columns[0], 'Block 1');
    assert.equal(withHeader.columns[64], 'Class');
    assert.deepEqual(without.rows, withHeader.rows.slice(0, 300));
    assert.deepEqual(without.rows[0]!.slice(0, 4), ['0', '1', '6', '15']);
  });

  it('loads a header-less built-in through the registry', () => {
    registerBuiltinDataset({
      name: 'optdigits-noheader-test',
      description: 'fixture',
      train: fixture('optdigits-noheader.csv'),
      label: 'Class',
      columns: optdigitsColumns,
      shape: [8, 8, 1],
    });
    const data = loadDataset(config({ dataset: 'optdigits-noheader-test', split: { validation: 0.1, test: 0.2 } }), 3);
    assert.equal(data.hadHeader, false);
    assert.equal(data.numFeatures, 64);
    assert.deepEqual(data.classes, ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    assert.equal(data.test.size, 60);
    assert.equal(data.validation.size, 30);
    assert.equal(data.train.size, 210);
    assert.deepEqual(data.shape, [8, 8, 1]);
  });

  it('names the label column and hints at a missing header for a user CSV without one', () => {
    assert.throws(
      () => loadDataset(config({ dataset: { path: fixture('headerless.csv'), label: 'y' } }), 1),
      (err: unknown) =>
        err instanceof PermanentRunError &&
        /label column "y" not found in .*headerless\.csv; it has 3 columns \(not listed/.test(err.message) &&
        !err.message.includes('"1", "2"') &&
        /does the file have a header line/.test(err.message),
    );
  });

  it('names a missing file', () => {
    assert.throws(
      () => loadDataset(config({ dataset: { path: 'test/fixtures/nope.csv', label: 'y' } }), 1),
      (err: unknown) => err instanceof PermanentRunError && /dataset file not found: .*nope\.csv/.test(err.message),
    );
  });

  it('names a missing feature or group column and an unknown built-in', () => {
    assert.throws(
      () => loadDataset(config({ dataset: { path: fixture('mixed.csv'), label: 'label', features: ['a', 'zzz'] } }), 1),
      /feature column "zzz" not found/,
    );
    assert.throws(
      () => loadDataset(config({ dataset: { path: fixture('mixed.csv'), label: 'label', group: 'grp' } }), 1),
      /group column "grp" not found/,
    );
    assert.throws(
      () => loadDataset(config({ dataset: 'mnist' }), 1),
      /unknown built-in dataset "mnist"; built-ins: .*optdigits/,
    );
  });
});

describe('preprocessing', () => {
  const mixed = (): PreparedDataset =>
    loadDataset(
      config({
        dataset: { path: fixture('mixed.csv'), label: 'label', group: 'region', test: fixture('mixed-test.csv') },
        split: { validation: 0, test: 0 },
      }),
      5,
    );

  it('drops and counts rows with a missing value, one-hot encodes strings, maps labels and groups', () => {
    const data = mixed();
    assert.equal(data.droppedRows, 5); // 4 in the training file ('', '?', 'NA', 'NaN'), 1 in the test file
    assert.equal(data.train.size, 8);
    assert.equal(data.validation.size, 0);
    assert.equal(data.test.size, 2);
    assert.deepEqual(data.featureNames, [
      'a',
      'color=blue',
      'color=green',
      'color=red',
      'color=red, dark',
      'color=say "hi"',
      'b',
    ]);
    assert.deepEqual(data.classes, ['cat', 'dog']);
    assert.deepEqual(data.groupNames, ['north', 'south']);
    assert.deepEqual([...data.train.y], [0, 1, 0, 0, 1, 1, 0, 1]);
    assert.deepEqual([...data.train.groups!], [0, 1, 0, 0, 1, 1, 1, 0]);
    assert.deepEqual([...data.test.y], [0, 1]);
    const d = data.numFeatures;
    // Row 0 of training is color=red; row 4 ("say ""hi""") is the last training row.
    assert.deepEqual([...data.train.x.subarray(1, 6)], [0, 0, 1, 0, 0]);
    assert.deepEqual([...data.train.x.subarray(7 * d + 1, 7 * d + 6)], [0, 0, 0, 0, 1]);
    // purple was never seen in training: all zeros; red: its one-hot.
    assert.deepEqual([...data.test.x.subarray(1, 6)], [0, 0, 0, 0, 0]);
    assert.deepEqual([...data.test.x.subarray(d + 1, d + 6)], [0, 0, 1, 0, 0]);
  });

  it('standardises numeric columns with the training split statistics only', () => {
    const data = mixed();
    const d = data.numFeatures;
    const rawA = [1, 2, 3, 5, 6, 8, 10, 11];
    const meanA = rawA.reduce((s, v) => s + v, 0) / rawA.length;
    const stdA = Math.sqrt(rawA.reduce((s, v) => s + (v - meanA) ** 2, 0) / rawA.length);
    assert.equal(meanA, 5.75);
    const trainA = columnStats(data.train.x, d, 0);
    assert.ok(Math.abs(trainA.mean) < 1e-6);
    assert.ok(Math.abs(trainA.std - 1) < 1e-6);
    const trainB = columnStats(data.train.x, d, 6);
    assert.ok(Math.abs(trainB.mean) < 1e-6);
    assert.ok(Math.abs(trainB.std - 1) < 1e-6);
    // Test rows a=100 and a=0 use the training mean/std, not their own.
    assert.ok(Math.abs(data.test.x[0]! - (100 - meanA) / stdA) < 1e-5);
    assert.ok(Math.abs(data.test.x[d]! - (0 - meanA) / stdA) < 1e-5);
    assert.deepEqual(data.encoder.columns[0]!.stats, { mean: meanA, std: stdA });
  });

  it('standardises optdigits on training rows (constant columns: std 1 → zeros)', () => {
    const data = optdigits(11);
    const d = data.numFeatures;
    for (const c of [0, 10, 36, 63]) {
      const s = columnStats(data.train.x, d, c);
      assert.ok(Math.abs(s.mean) < 1e-4, `column ${c} mean ${s.mean}`);
    }
    assert.equal(data.encoder.columns[0]!.stats!.std, 1); // Block 1 is always 0
    assert.ok(data.train.x.every((v, i) => i % d !== 0 || v === 0));
    const val = columnStats(data.validation.x, d, 20);
    const test = columnStats(data.test.x, d, 20);
    assert.notEqual(val.mean, 0);
    assert.notEqual(test.mean, 0);
    assert.ok(Math.abs(test.mean) < 0.2);
  });

  it('sorts numeric labels numerically and string labels lexicographically', () => {
    const numeric = indexValues(['10', '9', '2', '9.0', '10']);
    assert.deepEqual(numeric.names, ['2', '9', '10']);
    assert.deepEqual([...numeric.index], [2, 1, 0, 1, 2]);
    const strings = indexValues(['b', 'a', 'c', 'a']);
    assert.deepEqual(strings.names, ['a', 'b', 'c']);
    assert.deepEqual([...strings.index], [1, 0, 2, 0]);
  });
});

describe('splits', () => {
  it('are deterministic by seed, disjoint and cover every row', () => {
    const a = splitIndices(100, { validation: 0.2, test: 0.1 }, 7);
    const b = splitIndices(100, { validation: 0.2, test: 0.1 }, 7);
    const c = splitIndices(100, { validation: 0.2, test: 0.1 }, 8);
    assert.deepEqual(a, b);
    assert.notDeepEqual([...a.train], [...c.train]);
    assert.equal(a.train.length, 70);
    assert.equal(a.validation.length, 20);
    assert.equal(a.test.length, 10);
    const all = [...a.train, ...a.validation, ...a.test].sort((x, y) => x - y);
    assert.deepEqual(
      all,
      Array.from({ length: 100 }, (_, i) => i),
    );
  });

  it('take validation from the training file and the test set from the test file', () => {
    const one = optdigits(1);
    const again = loadDataset(config({ dataset: 'optdigits' }), 1);
    const other = optdigits(2);
    assert.equal(one.train.size + one.validation.size, 3823);
    assert.equal(one.validation.size, Math.round(3823 * 0.15));
    assert.equal(one.test.size, 1797);
    assert.deepEqual(one.train.ids, again.train.ids);
    assert.deepEqual(one.validation.ids, again.validation.ids);
    assert.notDeepEqual([...one.validation.ids], [...other.validation.ids]);
    const trainIds = new Set(one.train.ids);
    assert.ok([...one.validation.ids].every((id) => !trainIds.has(id) && id < 3823));
    assert.ok([...one.test.ids].every((id) => id >= 3823));
    assert.deepEqual(
      [...one.test.ids],
      Array.from({ length: 1797 }, (_, i) => 3823 + i),
    );
  });

  it('rejects fractions that leave nothing to train on', () => {
    assert.throws(() => splitIndices(10, { validation: 0.6, test: 0.4 }, 1), PermanentRunError);
  });
});

describe('label noise', () => {
  it('symmetric: flips the rate of training labels to other classes, never validation or test', () => {
    const clean = optdigits(4);
    const noisy = optdigits(4, { labelNoise: { rate: 0.2, kind: 'symmetric' } });
    const n = noisy.train.size;
    assert.equal(noisy.flippedLabels, Math.round(0.2 * n));
    let changed = 0;
    const targets = new Array<number>(10).fill(0);
    for (let i = 0; i < n; i++) {
      if (noisy.train.y[i] !== noisy.train.cleanY[i]) {
        changed++;
        targets[(noisy.train.y[i]! - noisy.train.cleanY[i]! + 10) % 10]!++;
      }
    }
    assert.equal(changed, noisy.flippedLabels); // every chosen label moved to another class
    assert.ok(Math.abs(changed / n - 0.2) < 0.01);
    assert.equal(targets[0], 0);
    // Offsets 1..9 are roughly uniform (650 flips, ~72 each).
    for (let o = 1; o < 10; o++) assert.ok(targets[o]! > 35 && targets[o]! < 115, `offset ${o}: ${targets[o]}`);
    assert.deepEqual(noisy.train.cleanY, clean.train.y);
    assert.deepEqual(noisy.validation.y, clean.validation.y);
    assert.deepEqual(noisy.test.y, clean.test.y);
    assert.deepEqual(noisy.train.x, clean.train.x);
  });

  it('asymmetric: class c becomes (c + 1) mod K', () => {
    const noisy = optdigits(4, { labelNoise: { rate: 0.3, kind: 'asymmetric' } });
    const n = noisy.train.size;
    let changed = 0;
    for (let i = 0; i < n; i++) {
      const y = noisy.train.y[i]!;
      const c = noisy.train.cleanY[i]!;
      if (y !== c) {
        changed++;
        assert.equal(y, (c + 1) % 10);
      }
    }
    assert.equal(changed, Math.round(0.3 * n));
    assert.equal(noisy.flippedLabels, changed);
  });

  it('is seeded', () => {
    const labels = Int32Array.from({ length: 200 }, (_, i) => i % 4);
    const a = labels.slice();
    const b = labels.slice();
    const c = labels.slice();
    applyLabelNoise(a, 4, { rate: 0.25, kind: 'symmetric' }, 9);
    applyLabelNoise(b, 4, { rate: 0.25, kind: 'symmetric' }, 9);
    applyLabelNoise(c, 4, { rate: 0.25, kind: 'symmetric' }, 10);
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, c);
  });
});

describe('imbalance', () => {
  it('keeps the fraction of the listed classes in training only', () => {
    const clean = optdigits(6);
    const data = optdigits(6, { imbalance: { classes: [0, '1'], fraction: 0.1 } });
    const count = (y: Int32Array, c: number): number => y.reduce((s, v) => s + (v === c ? 1 : 0), 0);
    for (const c of [0, 1]) assert.equal(count(data.train.y, c), Math.round(0.1 * count(clean.train.y, c)));
    for (const c of [2, 5, 9]) assert.equal(count(data.train.y, c), count(clean.train.y, c));
    assert.equal(data.imbalanceRemoved, clean.train.size - data.train.size);
    assert.deepEqual(data.validation.ids, clean.validation.ids);
    assert.equal(data.test.size, clean.test.size);
  });

  it('names a class the dataset does not have', () => {
    assert.throws(
      () => optdigits(6, { imbalance: { classes: [42], fraction: 0.5 } }),
      /trial\.imbalance\.classes: 42 is not a class of optdigits/,
    );
  });
});

describe('rng', () => {
  it('restores a saved position exactly', () => {
    const rng = Rng.create(123, 'train');
    rng.permutation(50);
    const state = rng.getState();
    const next = [rng.uint32(), rng.int(10), rng.float()];
    const restored = Rng.fromState(state);
    assert.deepEqual([restored.uint32(), restored.int(10), restored.float()], next);
  });
});
