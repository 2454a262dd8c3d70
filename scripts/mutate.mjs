#!/usr/bin/env node
/**
 * `npm run mutate`: a rerunnable mutation check. Each mutation breaks the built product on
 * purpose (one string replaced in one dist/ file), runs the tests that guard that behaviour, and
 * counts the mutation as killed when they fail, survived when they pass. A survivor is a place
 * where the suite stays green with a broken product. docs/testing.md describes it.
 *
 *   node scripts/mutate.mjs                 build, then every mutation
 *   node scripts/mutate.mjs --only a,b      only these mutation ids
 *   node scripts/mutate.mjs --list          list the mutations and exit
 *   node scripts/mutate.mjs --baseline      also run each mutation's tests on the unmutated copy first
 *                                           (they must pass, or "killed" means nothing)
 *   node scripts/mutate.mjs --json FILE     also write the results as JSON
 *
 * The mutations apply to a copy of dist/ in dist-mutant/ (gitignored): dist/ itself is never
 * changed, so an interrupted run leaves nothing broken behind. The test services are started
 * once (scripts/services.mjs) unless their variables are set. Exit code: 0 when every mutation
 * was killed, 1 when one survived or a target string was not found (the code moved: update the
 * mutation), 2 on bad arguments.
 */
import { execFileSync, spawn } from 'node:child_process';
import { cpSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const COPY = join(ROOT, 'dist-mutant');

/**
 * @typedef {{ id: string, what: string, file: string, find: string, replace: string,
 *   tests: string[], pattern?: string, finding?: string }} Mutation
 * `find` must occur exactly once in `file` (under dist/); `tests` are files under dist/test;
 * `pattern` narrows them to matching test names (node --test-name-pattern).
 */
/** @type {Mutation[]} */
const MUTATIONS = [
  {
    id: 'cas-native-no-expect',
    finding: 'issue 18 (1), review 1',
    what: 'MongoStore native compare-and-set ignores the expected state (every CAS applies)',
    file: 'coordinator/store/mongo-cas.js',
    find: '{ ...filter, _id: id }',
    replace: '{ _id: id }',
    tests: ['contract/store.contract.test.js'],
    pattern: 'mongo-java-server',
  },
  {
    id: 'insert-count-from-n',
    finding: 'issue 18 (mongo-java-server counts)',
    what: "insertIgnoringDuplicates trusts the server's n (mongo-java-server counts refused documents)",
    file: 'coordinator/store/mongo-batch.js',
    find: 'return docs.length - refused;',
    replace: 'return err.insertedCount;',
    tests: ['contract/store.contract.test.js'],
    pattern: 'metric',
  },
  {
    id: 'pbt-no-donor-checkpoint',
    finding: 'issue 18 (2), review 2 and 7',
    what: "PBT exploit keeps the trial's own checkpoint instead of the donor's",
    file: 'coordinator/sweeps/trial-writer.js',
    find: '{ params, lineage, checkpoint: donor.checkpoint, updatedAt: Date.now() }',
    replace: '{ params, lineage, checkpoint: trial.checkpoint, updatedAt: Date.now() }',
    tests: ['integration/schedulers.test.js'],
    pattern: 'PBT',
  },
  {
    id: 'useful-train-indices-ignored',
    finding: 'issue 18 (3), review 3',
    what: "classify ignores options.trainIndices (USEFUL's retrain trains on the original data)",
    file: 'worker/tasks/classify.js',
    find: 'if (trainIndices)',
    replace: 'if (false)',
    tests: ['integration/templates.test.js'],
    pattern: 'useful',
  },
  {
    id: 'cli-workers-unvalidated',
    finding: 'issue 18 (5), review 6',
    what: '`trellis run --workers` is no longer validated',
    file: 'cli/commands/run.js',
    find: "positiveInt('--workers')",
    replace: '(v) => Number(v)',
    tests: ['e2e/cli.test.js'],
    pattern: 'unknown flags',
  },
  {
    id: 'train-outputs-loss-sign',
    finding: 'review 3',
    what: 'exportTrainOutputs reports the negated per-example cross-entropy',
    file: 'worker/tasks/classify.js',
    find: 'const ce = tf.neg(tf.sum(tf.mul(tf.logSoftmax(out), tf.oneHot(y, k)), 1));',
    replace: 'const ce = tf.sum(tf.mul(tf.logSoftmax(out), tf.oneHot(y, k)), 1);',
    tests: ['integration/templates.test.js'],
    pattern: 'useful',
  },
  {
    id: 'useful-upsample-learned-cluster',
    finding: 'review 3',
    what: 'USEFUL upsamples the cluster with the lower early loss',
    file: 'worker/tasks/useful.js',
    find: 'const chosen = meanLoss[1] > meanLoss[0] ? 1 : 0;',
    replace: 'const chosen = meanLoss[1] > meanLoss[0] ? 0 : 1;',
    tests: ['integration/templates.test.js'],
    pattern: 'useful',
  },
  {
    id: 'artifact-refs-unresolved',
    finding: 'review 3 and 4',
    what: 'the worker passes `{ $artifact }` references to the task instead of their contents',
    file: 'worker/attempts.js',
    find: 'ctx.config = (await this.resolveArtifactRefs(ctx.config));',
    replace: 'ctx.config = ctx.config;',
    tests: ['integration/templates.test.js'],
    pattern: 'useful',
  },
  {
    id: 'mlff-init-ignored',
    finding: 'review 15',
    what: "mlff-train ignores options.init (fine-tuning starts from scratch, still labelled 'init')",
    file: 'worker/tasks/mlff/stages.js',
    find: 'let weights = opts.init ?? initWeights(',
    replace: 'let weights = initWeights(',
    tests: ['unit/asteroid.test.js'],
    pattern: 'outputs pass between stages',
  },
  {
    id: 'derive-seed-signed',
    finding: 'review 5',
    what: "the runner's derived trial seeds may be negative again",
    file: 'coordinator/search/replicates.js',
    find: 'return ((h ^ (h >>> 16)) >>> 0) % 2147483647;',
    replace: 'return (h ^ (h >>> 16)) % 2147483647;',
    tests: ['unit/search.test.js'],
    pattern: 'derivedSeed',
  },
  {
    id: 'replicate-mapping',
    finding: 'review 5',
    what: 'the runner maps trial numbers to configurations round-robin instead of k in a row',
    file: 'coordinator/sweeps/runner.js',
    find: 'const config = configOfTrial(number, k);',
    replace: 'const config = number % Math.ceil(this.spec.budget.trials / k);',
    tests: ['integration/schedulers.test.js'],
    pattern: 'k seeds per configuration',
  },
  {
    id: 'stable-stringify-constant',
    finding: 'review 10',
    what: "the stage cache key's canonical JSON is a constant",
    file: 'coordinator/pipelines/engine.js',
    find: 'export function stableStringify(value) {',
    replace: "export function stableStringify(value) { return '';",
    tests: ['unit/pipeline-spec.test.js'],
    pattern: 'key order',
  },
  {
    id: 'journal-reversed',
    finding: 'review 8',
    what: 'LocalStore writes a group of journal lines in reverse order',
    file: 'coordinator/store/local-journal.js',
    find: "const data = lines.join('\\n') + '\\n';",
    replace: "const data = [...lines].reverse().join('\\n') + '\\n';",
    tests: ['contract/store.contract.test.js'],
    pattern: 'groups writes',
  },
  {
    id: 'journal-ungrouped',
    finding: 'review 8',
    what: 'LocalStore fsyncs once per line instead of once per group',
    file: 'coordinator/store/local-journal.js',
    find: 'if (this.options.durable)\n                    await this.handle.datasync();',
    replace: 'if (this.options.durable)\n                    for (const _ of lines) await this.handle.datasync();',
    tests: ['contract/store.contract.test.js'],
    pattern: 'groups writes',
  },
];

function parseArgs(argv) {
  const out = { only: undefined, list: false, baseline: false, json: undefined };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--list') out.list = true;
    else if (a === '--baseline') out.baseline = true;
    else if (a === '--only') out.only = (argv[++i] ?? '').split(',').filter(Boolean);
    else if (a === '--json') out.json = argv[++i];
    else {
      process.stderr.write(`mutate: unknown argument ${a} (use --only ids, --list, --baseline, --json FILE)\n`);
      process.exit(2);
    }
  }
  return out;
}

/** Runs the mutation's tests against dist-mutant/; resolves with the exit code and the output's tail. */
function runTests(m, env) {
  const files = m.tests.map((t) => join(COPY, 'test', t));
  const args = [
    '--test',
    '--test-concurrency=1',
    `--test-timeout=${env.TRELLIS_TEST_TIMEOUT_MS}`,
    '--test-reporter=spec',
  ];
  if (m.pattern) args.push(`--test-name-pattern=${m.pattern}`);
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...args, ...files], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('exit', (code, signal) => resolve({ code: code ?? (signal ? 1 : 0), out }));
  });
}

/** The first failure message in node's spec output, for the report. */
function firstFailure(out) {
  const m = /\n\s*(?:error|Error|AssertionError[^:]*):\s*['"]?([^\n]{0,140})/.exec(out);
  if (m) return m[1].trim();
  const timedOut = /test timed out after (\d+)ms/.exec(out);
  return timedOut ? `test timed out after ${timedOut[1]} ms` : '';
}

const opts = parseArgs(process.argv.slice(2));
const chosen = opts.only ? MUTATIONS.filter((m) => opts.only.includes(m.id)) : MUTATIONS;
if (opts.only && chosen.length !== opts.only.length) {
  const known = new Set(MUTATIONS.map((m) => m.id));
  process.stderr.write(`mutate: unknown ids: ${opts.only.filter((id) => !known.has(id)).join(', ')}\n`);
  process.exit(2);
}
if (opts.list) {
  for (const m of MUTATIONS) process.stdout.write(`${m.id.padEnd(32)} ${m.what}\n`);
  process.exit(0);
}

execFileSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], {
  cwd: ROOT,
  stdio: 'inherit',
});
rmSync(COPY, { recursive: true, force: true });
cpSync(join(ROOT, 'dist'), COPY, { recursive: true });

const services = await import('./services.mjs');
let started = false;
if (!process.env.MONGODB_URI || !process.env.NATS_URL || !process.env.MONGODB_NATIVE_URI) {
  Object.assign(process.env, await services.up());
  started = true;
}
const env = {
  ...process.env,
  TRELLIS_LOG_LEVEL: process.env.TRELLIS_LOG_LEVEL ?? 'warn',
  TRELLIS_TF_BACKEND: process.env.TRELLIS_TF_BACKEND ?? 'wasm',
  // A mutation that makes an experiment hang fails at these deadlines instead of the defaults.
  TRELLIS_TEST_WAIT_MS: process.env.TRELLIS_TEST_WAIT_MS ?? '45000',
  TRELLIS_TEST_TIMEOUT_MS: process.env.TRELLIS_TEST_TIMEOUT_MS ?? '90000',
};

const results = [];
try {
  for (const m of chosen) {
    const path = join(COPY, m.file);
    const original = existsSync(path) ? readFileSync(path, 'utf8') : '';
    const count = original.split(m.find).length - 1;
    if (count !== 1) {
      results.push({ ...m, result: 'not applied', seconds: 0, note: `target found ${count} times in dist/${m.file}` });
      continue;
    }
    if (opts.baseline) {
      const base = await runTests(m, env);
      if (base.code !== 0) {
        results.push({ ...m, result: 'baseline failed', seconds: 0, note: firstFailure(base.out) });
        continue;
      }
    }
    const t0 = Date.now();
    writeFileSync(path, original.replace(m.find, m.replace));
    let run;
    try {
      run = await runTests(m, env);
    } finally {
      writeFileSync(path, original);
    }
    const seconds = Math.round((Date.now() - t0) / 100) / 10;
    const logFile = join(tmpdir(), `trellis-mutate-${m.id}.log`);
    writeFileSync(logFile, run.out);
    const result = run.code === 0 ? 'SURVIVED' : 'killed';
    results.push({ ...m, result, seconds, note: run.code === 0 ? '' : firstFailure(run.out) });
    process.stderr.write(`mutate: ${m.id}: ${result} (${seconds} s; test output in ${logFile})\n`);
  }
} finally {
  rmSync(COPY, { recursive: true, force: true });
  if (started) await services.down();
}

const lines = [
  '| mutation | what it breaks | guarded by | result | s |',
  '| --- | --- | --- | --- | --- |',
  ...results.map(
    (r) =>
      `| ${r.id} | ${r.what} | ${r.tests.join(', ')}${r.pattern ? ` (${r.pattern})` : ''} | ${r.result}${
        r.note ? `: ${r.note.replace(/\|/g, '/')}` : ''
      } | ${r.seconds} |`,
  ),
];
process.stdout.write(lines.join('\n') + '\n');
const killed = results.filter((r) => r.result === 'killed').length;
process.stdout.write(`\n${killed} of ${results.length} mutations killed\n`);
if (opts.json) writeFileSync(opts.json, JSON.stringify(results, null, 2) + '\n');
process.exit(killed === results.length ? 0 : 1);
