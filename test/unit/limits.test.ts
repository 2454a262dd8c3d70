/**
 * The limit table (shared/limits.ts), the depth pre-scan (shared/spec/depth.ts) on the inputs
 * that made the YAML parser run out of memory, the spec checks against the table, and the step
 * rules (shared/steps.ts).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { DEFAULT_LIMITS, loadLimitsFile, LimitsFileError, resolveLimits } from '../../shared/limits.js';
import { scanDepth } from '../../shared/spec/depth.js';
import { parseSpecText, SpecError } from '../../shared/spec/load.js';
import { validateSpecText } from '../../coordinator/experiments/validate.js';
import { InvalidArgumentError } from '../../shared/errors.js';
import { projectRoot } from '../../shared/paths.js';
import { stepFromWire, stepOnWire, stepProblem } from '../../shared/steps.js';

/** The depth the parser builds: mappings and sequences, counted the way the pre-scan counts. */
function parsedDepth(value: unknown): number {
  if (value === null || typeof value !== 'object') return 0;
  return 1 + Math.max(0, ...Object.values(value).map(parsedDepth));
}

function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof SpecError || err instanceof InvalidArgumentError) return err.issues.join('\n');
    throw err;
  }
  assert.fail('expected a refusal');
}

const sweep = (patch: Record<string, unknown> = {}, trialPatch: Record<string, unknown> = {}): string =>
  JSON.stringify({
    apiVersion: 'trellis/v1',
    kind: 'Sweep',
    name: 'limits',
    trial: { runtime: 'command', command: ['true'], objective: { metric: 'score', mode: 'max' }, ...trialPatch },
    search: { algorithm: 'random', space: { x: { uniform: [0, 1] } } },
    ...patch,
  });

describe('depth pre-scan', () => {
  it('counts what the parser nests, on every example spec shipped', () => {
    const dirs = ['examples', 'examples/pipelines', 'examples/losses', 'examples/pytorch'];
    let checked = 0;
    for (const dir of dirs) {
      for (const name of readdirSync(join(projectRoot(), dir)).filter((n) => /\.ya?ml$/.test(n))) {
        const text = readFileSync(join(projectRoot(), dir, name), 'utf8');
        assert.equal(scanDepth(text).depth, parsedDepth(parseYaml(text)), `${dir}/${name}`);
        checked++;
      }
    }
    assert.ok(checked >= 10, `only ${checked} examples found`);
  });

  it('refuses a 20 KB text nested 10,000 deep and a 200 KB one nested 100,000 deep before parsing', () => {
    const shallow = '['.repeat(10_000) + ']'.repeat(10_000); // 20 KB
    const deep = '['.repeat(100_000) + ']'.repeat(100_000); // 200 KB
    assert.equal(shallow.length, 20_000);
    assert.equal(deep.length, 200_000);
    for (const text of [
      shallow,
      deep,
      `{"apiVersion": "trellis/v1", "x": ${'{"a": '.repeat(10_000)}1${'}'.repeat(10_000)}}`,
    ]) {
      const scan = scanDepth(text, DEFAULT_LIMITS.maxSpecDepth);
      assert.equal(scan.depth, DEFAULT_LIMITS.maxSpecDepth + 1, 'the scan stops at the first level over the limit');
      const message = refusal(() => parseSpecText(text));
      assert.match(message, /nested more than 64 levels deep \(at line 1\); the limit is maxSpecDepth = 64/);
    }
  });

  it('counts block nesting: compact sequences on one line, indentation, keys after a dash', () => {
    assert.equal(scanDepth(`${'- '.repeat(10_000)}x`, 64).depth, 65);
    assert.equal(scanDepth(`${'? '.repeat(500)}x`, 64).depth, 65);
    const indented = Array.from({ length: 100 }, (_, i) => `${'  '.repeat(i)}k${i}:`).join('\n');
    assert.equal(scanDepth(indented, 64).depth, 65);
    assert.match(
      refusal(() => parseSpecText(indented)),
      /at line 65/,
    );
    const text = 'a:\n  - b: 1\n    c: [1, [2, {d: 3}]]\nz: 1\n';
    assert.equal(scanDepth(text).depth, parsedDepth(parseYaml(text)));
  });

  it('skips what YAML reads as text (quoted and block scalars, comments), but not a quote inside a plain scalar', () => {
    const texts = [
      'a: "[[[[[[[["\nb: [1, "]]]]", [2]]',
      "a: '{{{{ it''s }}'\nb: 1",
      'a: |\n  [[[[[[[[[\n  {{{{{{\nb: [[1]]',
      'a: 1 # [[[[[[[[\nb: {c: [1]}',
      'a: "multi\n  line [[[[[ string"\nb: [1]',
    ];
    for (const text of texts) assert.equal(scanDepth(text).depth, parsedDepth(parseYaml(text)), text);
    // YAML reads `it 's` as plain text: the apostrophe opens nothing, so the brackets below count.
    const hidden = `a: it 's\nb: ${'['.repeat(100)}`;
    assert.equal(scanDepth(hidden, 64).depth, 65);
  });

  it('refuses a spec over maxSpecBytes by its size, naming the limit', () => {
    const big = sweep({ description: 'x'.repeat(DEFAULT_LIMITS.maxSpecBytes) });
    assert.match(
      refusal(() => parseSpecText(big)),
      /^spec: \d+ bytes is more than the limit maxSpecBytes = 1048576$/,
    );
  });
});

describe('limit table', () => {
  it('overrides keys, refuses unknown keys and non-positive or fractional counts', () => {
    assert.equal(resolveLimits({ maxTrials: 5 }).maxTrials, 5);
    assert.equal(resolveLimits({}).maxTrials, DEFAULT_LIMITS.maxTrials);
    assert.throws(() => resolveLimits({ maxTrails: 5 }), /maxTrails: unknown limit; known: maxSpecBytes/);
    assert.throws(() => resolveLimits({ maxTrials: 0 }), /maxTrials: must be a whole number > 0, got 0/);
    assert.throws(() => resolveLimits({ maxTrials: 1.5 }), /maxTrials: must be a whole number > 0, got 1.5/);
    assert.equal(resolveLimits({ minCpus: 0.5 }).minCpus, 0.5);
    assert.throws(() => resolveLimits({ minCpus: 8, maxCpus: 4 }), /minCpus: 8 is more than maxCpus \(4\)/);
  });

  it('reads a --limits file, naming the file on a problem', () => {
    const dir = mkdtempSync(join(tmpdir(), 'trellis-limits-'));
    try {
      const file = join(dir, 'limits.json');
      writeFileSync(file, JSON.stringify({ maxConcurrency: 8 }));
      assert.equal(loadLimitsFile(file).maxConcurrency, 8);
      writeFileSync(file, '{"maxConcurrency": -1}');
      assert.throws(
        () => loadLimitsFile(file),
        (err: unknown) => {
          assert.ok(err instanceof LimitsFileError);
          assert.match(err.message, new RegExp(`${file}: maxConcurrency: must be a whole number > 0, got -1`));
          return true;
        },
      );
      writeFileSync(file, '[1]');
      assert.throws(() => loadLimitsFile(file), /must be a JSON object of limits/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('spec limits', () => {
  const cases: [string, string, RegExp][] = [
    [
      'budget.trials',
      sweep({ budget: { trials: 1e9 } }),
      /^budget\.trials: 1000000000 is more than the limit maxTrials = 1000000$/m,
    ],
    [
      'budget.concurrency',
      sweep({ budget: { concurrency: 1e9 } }),
      /^budget\.concurrency: 1000000000 is more than the limit maxConcurrency = 1024$/m,
    ],
    [
      'budget.maxAttempts',
      sweep({ budget: { maxAttempts: 1e9 } }),
      /^budget\.maxAttempts: 1000000000 is more than the limit maxAttempts = 100$/m,
    ],
    [
      'trial.epochs',
      sweep({}, { epochs: 1e9 }),
      /^trial\.epochs: 1000000000 is more than the limit maxEpochs = 1000000$/m,
    ],
    [
      'stopGraceSeconds',
      sweep({}, { stopGraceSeconds: 1e12 }),
      /^trial\.stopGraceSeconds: 1000000000000 is more than the limit maxStopGraceSeconds = 3600$/m,
    ],
    [
      'cpus min',
      sweep({ resources: { cpus: 1e-300 } }),
      /^resources\.cpus: 1e-300 is less than the limit minCpus = 0\.01$/m,
    ],
    [
      'memory',
      sweep({ resources: { memory: '99999999999Ti' } }),
      /^resources\.memory: "99999999999Ti" \(\d.*bytes\) is more than the limit maxMemoryBytes = 1125899906842624$/m,
    ],
    ['gpus', sweep({ resources: { gpus: 1000 } }), /^resources\.gpus: 1000 is more than the limit maxGpus = 64$/m],
    [
      'tpe candidates',
      sweep({ search: { algorithm: 'tpe', candidates: 1e9, space: { x: { uniform: [0, 1] } } } }),
      /search\.candidates: .*1000000000/,
    ],
    [
      'grid size',
      sweep({ search: { algorithm: 'grid', space: { a: { int: [0, 999_999] }, b: { int: [0, 999_999] } } } }),
      /^search \(grid combinations\): 1000000000000 is more than the limit maxGridSize = 1000000$/m,
    ],
    [
      'description',
      sweep({ description: 'd'.repeat(20_000) }),
      /^description: 20000 characters is more than the limit maxDescriptionLength = 10000$/m,
    ],
  ];
  for (const [what, text, expected] of cases) {
    it(`refuses ${what} over its limit`, () =>
      assert.match(
        refusal(() => validateSpecText(text)),
        expected,
      ));
  }

  it('counts parameters, choices and stages before the schema reads them', () => {
    const space = Object.fromEntries(Array.from({ length: 20_000 }, (_, i) => [`p${i}`, { uniform: [0, 1] }]));
    assert.match(
      refusal(() => validateSpecText(sweep({ search: { algorithm: 'random', space } }))),
      /^search\.space \(parameters\): 20000 is more than the limit maxParams = 200$/,
    );
    const choice = { c: { choice: Array.from({ length: 20_000 }, (_, i) => i) } };
    assert.match(
      refusal(() => validateSpecText(sweep({ search: { algorithm: 'random', space: choice } }))),
      /^search\.space\.c\.choice \(values\): 20000 is more than the limit maxChoices = 10000$/,
    );
    const stages = Array.from({ length: 10_000 }, (_, i) => ({ name: `s${i}`, task: 'x' }));
    assert.match(
      refusal(() =>
        validateSpecText(JSON.stringify({ apiVersion: 'trellis/v1', kind: 'Pipeline', name: 'p', stages })),
      ),
      /^stages \(count\): 10000 is more than the limit maxStages = 200$/,
    );
  });

  it('takes a raised limit from the table it is given', () => {
    const text = sweep({ budget: { trials: 2_000_000 } });
    assert.match(
      refusal(() => validateSpecText(text)),
      /maxTrials = 1000000/,
    );
    assert.equal(
      (validateSpecText(text, resolveLimits({ maxTrials: 5_000_000 })) as { budget: { trials: number } }).budget.trials,
      2_000_000,
    );
  });
});

describe('steps', () => {
  it('travel as int64 beside an int32 that never wraps', () => {
    assert.deepEqual(stepOnWire(3e9), { step: 0, step64: '3000000000' });
    assert.deepEqual(stepOnWire(7), { step: 7, step64: '7' });
    assert.equal(stepFromWire(0, '3000000000'), 3_000_000_000);
    assert.equal(stepFromWire(7, '0'), 7, 'an older peer sends only the int32');
  });

  it('refuse non-integer, negative, unsafe and decreasing steps with a reason', () => {
    assert.equal(stepProblem(3e9, 5), undefined);
    assert.equal(stepProblem(2.5, -Infinity), 'step 2.5 is not a whole number');
    assert.equal(stepProblem(-1, -Infinity), 'step -1 is negative');
    assert.equal(stepProblem(1e300, -Infinity), 'step 1e+300 is more than 2^53 - 1');
    assert.equal(stepProblem(4, 5), 'step 4 is before the last step reported (5)');
    assert.equal(stepProblem(5, 5), undefined, 'the worker ignores a repeated step, as documented');
  });
});
