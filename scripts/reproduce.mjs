#!/usr/bin/env node
/**
 * Reproduce a pipeline template's comparison over several seeds.
 *
 *   node scripts/reproduce.mjs asteroid|useful|SPEC.yaml [--seeds 1,2,3,4,5] [--params JSON]
 *        [--workers 2] [--parallel 1] [--dir DIR] [--out PREFIX] [--json] [--no-cache] [--label TEXT]
 *
 * For each seed it writes the spec (the example `examples/pipelines/<template>.yaml`, or SPEC,
 * with `--params` merged over its params and `seed` set) to a temporary JSON file and runs
 * `node dist/cli/main.js run SPEC --json --workers N --dir DIR/seed-S` as a child process (one
 * run at a time, or --parallel K at once on a machine with the cores for it; MONGODB_URI and NATS_URL are removed from its environment so the embedded
 * coordinator is used). Every seed gets its own state directory, so no stage is served from a
 * previous seed's cache (within one run the ASTEROID baseline is the teacher's cached result,
 * by design). It then prints mean ± sd (sample sd, n − 1) per arm and metric, paired
 * differences between arms (same seed), per-seed rows and each run's wall time.
 *
 * Output: markdown on stdout (or the JSON document with --json); progress on stderr;
 * with --out PREFIX also PREFIX.json and PREFIX.md. Exit code 1 if any run failed.
 * Build first: `npx tsc -p tsconfig.json`.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { parse as parseYaml } from 'yaml';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CLI = join(ROOT, 'dist', 'cli', 'main.js');

/** What to compare for each template. `better`: which direction of the metric is better. */
const TEMPLATES = {
  asteroid: {
    arms: [
      {
        stage: 'finetune',
        label: 'finetune (bias-aware pretrain → fine-tune)',
        labelScoreMatching: 'finetune (score-matching pretrain → fine-tune)',
      },
      { stage: 'uniform-finetune', label: 'uniform-finetune (uniform pretrain → fine-tune)' },
      { stage: 'baseline', label: 'baseline (accurate only, scratch)' },
      // Only with `scoreMatchingArm: true`; arms no run has are left out of the report.
      { stage: 'sm-finetune', label: 'sm-finetune (score-matching pretrain → fine-tune)', optional: true },
    ],
    metrics: ['test_force_mae', 'test_energy_mae'],
    better: 'lower',
    // [a, b]: a is claimed better than b.
    comparisons: [
      ['finetune', 'baseline'],
      ['uniform-finetune', 'baseline'],
      ['finetune', 'uniform-finetune'],
      ['sm-finetune', 'baseline'],
      ['sm-finetune', 'uniform-finetune'],
      ['finetune', 'sm-finetune'],
    ],
    /** The full claimed ordering, best first. */
    ordering: ['finetune', 'uniform-finetune', 'baseline'],
    diagnostics: [
      ['bias', 'spearman_weight_true_bias'],
      ['bias', 'mean_weight'],
      ['bias', 'mean_e'],
      ['bias', 'min_weight'],
      ['pretrain', 'test_force_mae'],
      ['uniform-pretrain', 'test_force_mae'],
      ['sm-pretrain', 'test_force_mae'],
    ],
  },
  useful: {
    arms: [
      { stage: 'retrain', label: 'retrain (USEFUL upsampled)' },
      { stage: 'baseline', label: 'baseline (original data)' },
    ],
    metrics: ['test_accuracy', 'test_macro_f1'],
    better: 'higher',
    comparisons: [['retrain', 'baseline']],
    ordering: ['retrain', 'baseline'],
    diagnostics: [
      ['early', 'test_accuracy'],
      ['cluster', 'upsampled_fraction'],
    ],
  },
};

function usage(message, code = 2) {
  if (message) process.stderr.write(`reproduce: ${message}\n`);
  process.stderr.write(
    'usage: node scripts/reproduce.mjs asteroid|useful|SPEC.yaml [--seeds 1,2,3,4,5] [--params JSON]\n' +
      '       [--workers 2] [--parallel 1] [--dir DIR] [--out PREFIX] [--json] [--no-cache] [--label TEXT]\n',
  );
  process.exit(code);
}

function parseArgs(argv) {
  const opts = {
    seeds: [1, 2, 3, 4, 5],
    params: {},
    workers: 2,
    parallel: 1,
    dir: undefined,
    out: undefined,
    json: false,
    cache: true,
    label: undefined,
  };
  let target;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) usage(`${arg} needs a value`);
      return argv[++i];
    };
    switch (arg) {
      case '--seeds':
        opts.seeds = value()
          .split(',')
          .filter((s) => s.trim() !== '')
          .map((s) => {
            const n = Number(s);
            if (!Number.isInteger(n) || n < 0) usage(`bad seed ${JSON.stringify(s)}`);
            return n;
          });
        if (opts.seeds.length === 0) usage('--seeds is empty');
        break;
      case '--params':
        try {
          opts.params = JSON.parse(value());
        } catch (err) {
          usage(`--params is not JSON: ${err.message}`);
        }
        if (opts.params === null || typeof opts.params !== 'object' || Array.isArray(opts.params))
          usage('--params must be a JSON object');
        break;
      case '--workers':
        opts.workers = Number(value());
        if (!Number.isInteger(opts.workers) || opts.workers < 1) usage('--workers must be a positive integer');
        break;
      case '--parallel':
        opts.parallel = Number(value());
        if (!Number.isInteger(opts.parallel) || opts.parallel < 1) usage('--parallel must be a positive integer');
        break;
      case '--dir':
        opts.dir = value();
        break;
      case '--out':
        opts.out = value();
        break;
      case '--label':
        opts.label = value();
        break;
      case '--json':
        opts.json = true;
        break;
      case '--no-cache':
        opts.cache = false;
        break;
      case '-h':
      case '--help':
        usage(undefined, 0);
        break;
      default:
        if (arg.startsWith('--')) usage(`unknown option ${arg}`);
        if (target !== undefined) usage(`unexpected argument ${arg}`);
        target = arg;
    }
  }
  if (target === undefined) usage('which template? asteroid, useful or a spec file');
  return { target, opts };
}

/** The base spec: the template's example pipeline, or a spec file. */
function loadBaseSpec(target) {
  const path = TEMPLATES[target] ? join(ROOT, 'examples', 'pipelines', `${target}.yaml`) : resolve(target);
  if (!existsSync(path)) usage(`no spec at ${path}`);
  const spec = parseYaml(readFileSync(path, 'utf8'));
  if (!spec || typeof spec !== 'object' || typeof spec.template !== 'string')
    usage(`${path} is not a template pipeline spec`);
  if (!TEMPLATES[spec.template])
    usage(`template ${spec.template} has no comparison defined here (know: ${Object.keys(TEMPLATES).join(', ')})`);
  return { path, spec };
}

function runOnce(specFile, stateDir, opts) {
  return new Promise((resolvePromise) => {
    const env = { ...process.env };
    delete env.MONGODB_URI;
    delete env.NATS_URL;
    const args = [CLI, 'run', specFile, '--json', '--workers', String(opts.workers), '--dir', stateDir];
    if (!opts.cache) args.push('--no-cache');
    const started = performance.now();
    const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('close', (code, signal) => {
      const wallS = (performance.now() - started) / 1000;
      let doc = null;
      let error = null;
      try {
        doc = JSON.parse(stdout);
      } catch {
        error = `no JSON on stdout (exit ${code ?? signal}): ${stderr.trim().split('\n').slice(-3).join(' | ')}`;
      }
      if (!error && code !== 0) error = `exit ${code ?? signal}, experiment ${doc?.experiment?.status ?? '?'}`;
      resolvePromise({ doc, wallS, code, error, stderrTail: stderr.trim().split('\n').slice(-5) });
    });
  });
}

function mean(xs) {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

/** Sample standard deviation (n − 1); NaN for n < 2. */
function sd(xs) {
  if (xs.length < 2) return NaN;
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1));
}

function summary(xs) {
  const v = xs.filter((x) => typeof x === 'number' && Number.isFinite(x));
  return {
    n: v.length,
    mean: v.length ? mean(v) : NaN,
    sd: sd(v),
    min: v.length ? Math.min(...v) : NaN,
    max: v.length ? Math.max(...v) : NaN,
  };
}

function fmt(x, digits = 4) {
  if (typeof x !== 'number' || !Number.isFinite(x)) return '—';
  if (x !== 0 && Math.abs(x) < 10 ** -digits) return x.toExponential(2);
  return x.toFixed(digits);
}

function pct(x) {
  return typeof x === 'number' && Number.isFinite(x) ? `${(x * 100).toFixed(2)}%` : '—';
}

function pm(s, digits = 4) {
  return `${fmt(s.mean, digits)} ± ${fmt(s.sd, digits)}`;
}

/** Half-width of the 95 % CI of the mean: two-sided Student t (n − 1 df, 1..30, then 1.96); NaN for n < 2. */
const T95 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131];
const T95_TAIL = [2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042];
const ci95 = (s) => (s.n >= 2 ? ([...T95, ...T95_TAIL][s.n - 2] ?? 1.96) * (s.sd / Math.sqrt(s.n)) : NaN);

function pmCi(s, digits = 4) {
  return `${fmt(s.mean, digits)} ± ${fmt(ci95(s), digits)}`;
}

function aggregate(config, runs) {
  const ok = runs.filter((r) => !r.error);
  const arms = config.arms.map((arm) => {
    const metrics = {};
    for (const metric of config.metrics) metrics[metric] = summary(ok.map((r) => r.arms[arm.stage]?.[metric]));
    return { stage: arm.stage, label: arm.label, metrics };
  });
  const sign = config.better === 'lower' ? -1 : 1;
  const comparisons = [];
  for (const [a, b] of config.comparisons) {
    for (const metric of config.metrics) {
      const pairs = ok
        .map((r) => [r.arms[a]?.[metric], r.arms[b]?.[metric]])
        .filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
      const diffs = pairs.map(([x, y]) => x - y);
      const rel = pairs.map(([x, y]) => (x - y) / Math.abs(y));
      const s = summary(diffs);
      const wins = diffs.filter((d) => sign * d > 0).length;
      const t = s.n >= 2 && s.sd > 0 ? s.mean / (s.sd / Math.sqrt(s.n)) : NaN;
      comparisons.push({ a, b, metric, diff: s, relative: summary(rel), wins, n: s.n, t });
    }
  }
  const primary = config.metrics[0];
  const orderingHeld = ok.filter((r) => {
    const values = config.ordering.map((stage) => r.arms[stage]?.[primary]);
    if (!values.every(Number.isFinite)) return false;
    for (let i = 1; i < values.length; i++) if (!(sign * (values[i - 1] - values[i]) > 0)) return false;
    return true;
  }).length;
  const diagnostics = config.diagnostics
    .map(([stage, metric]) => ({ stage, metric, ...summary(ok.map((r) => r.diagnostics[`${stage}.${metric}`])) }))
    .filter((d) => d.n > 0);
  return {
    arms,
    comparisons,
    ordering: { stages: config.ordering, metric: primary, held: orderingHeld, n: ok.length },
    diagnostics,
    wall: summary(runs.map((r) => r.wallS)),
  };
}

function markdown(result, config) {
  const { agg } = result;
  const lines = [];
  const arrow = config.better === 'lower' ? '↓' : '↑';
  lines.push(`### ${result.label}`);
  lines.push('');
  lines.push(
    `Template \`${result.template}\`, params \`${JSON.stringify(result.params)}\`, seeds ${result.seeds.join(', ')} (n = ${result.runs.filter((r) => !r.error).length} succeeded).`,
  );
  lines.push('');
  lines.push(`| arm | ${config.metrics.map((m) => `${m} ${arrow} (mean ± 95% CI)`).join(' | ')} | n |`);
  lines.push(`| --- | ${config.metrics.map(() => '---').join(' | ')} | --- |`);
  for (const arm of agg.arms) {
    lines.push(
      `| ${arm.label} | ${config.metrics.map((m) => pmCi(arm.metrics[m])).join(' | ')} | ${arm.metrics[config.metrics[0]].n} |`,
    );
  }
  lines.push('');
  lines.push(
    `Paired differences (same seed), a − b; "a better" counts seeds where a is better (${config.better} is better):`,
  );
  lines.push('');
  lines.push('| a − b | metric | mean ± 95% CI | relative (mean ± sd) | a better | paired t |');
  lines.push('| --- | --- | --- | --- | --- | --- |');
  for (const c of agg.comparisons) {
    lines.push(
      `| ${c.a} − ${c.b} | ${c.metric} | ${pmCi(c.diff)} | ${pct(c.relative.mean)} ± ${pct(c.relative.sd)} | ${c.wins}/${c.n} | ${fmt(c.t, 2)} |`,
    );
  }
  lines.push('');
  lines.push(
    `Full claimed ordering (${agg.ordering.stages.join(' better than ')}) on ${agg.ordering.metric}: held in ${agg.ordering.held}/${agg.ordering.n} seeds.`,
  );
  if (agg.diagnostics.length) {
    lines.push('');
    lines.push(
      `Diagnostics: ${agg.diagnostics.map((d) => `${d.stage}.${d.metric} ${fmt(d.mean, 3)} ± ${fmt(d.sd, 3)}`).join('; ')}.`,
    );
  }
  lines.push('');
  lines.push(`Per seed (${config.metrics[0]}), wall time of each run:`);
  lines.push('');
  lines.push(`| seed | ${config.arms.map((a) => a.stage).join(' | ')} | wall (s) | cached stages |`);
  lines.push(`| --- | ${config.arms.map(() => '---').join(' | ')} | --- | --- |`);
  for (const r of result.runs) {
    if (r.error) {
      lines.push(`| ${r.seed} | ${config.arms.map(() => 'failed').join(' | ')} | ${fmt(r.wallS, 1)} | ${r.error} |`);
    } else {
      lines.push(
        `| ${r.seed} | ${config.arms.map((a) => fmt(r.arms[a.stage]?.[config.metrics[0]])).join(' | ')} | ${fmt(r.wallS, 1)} | ${r.cached.join(', ') || '—'} |`,
      );
    }
  }
  lines.push('');
  lines.push(
    `Wall time per run: ${pm(agg.wall, 1)} s (total ${fmt(result.totalWallS, 1)} s, ${result.workers} workers${(result.parallel ?? 1) > 1 ? ` per run, ${result.parallel} runs at once` : ''}).`,
  );
  lines.push('');
  lines.push('Command:');
  lines.push('');
  lines.push('```sh');
  lines.push(result.command);
  lines.push('```');
  lines.push('');
  return lines.join('\n');
}

function shellQuote(s) {
  return /^[A-Za-z0-9_./:=,@-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

async function main() {
  const { target, opts } = parseArgs(process.argv.slice(2));
  if (!existsSync(CLI)) usage(`${CLI} not found: build first (npx tsc -p tsconfig.json)`);
  const { path: basePath, spec: baseSpec } = loadBaseSpec(target);
  const config = TEMPLATES[baseSpec.template];
  const params = { ...(baseSpec.params ?? {}), ...opts.params };
  delete params.seed;
  const scoreMatching = params.pretrainLoss === 'score-matching';
  if (scoreMatching) config.diagnostics = config.diagnostics.filter(([stage]) => stage !== 'bias');
  const arms = config.arms.map((a) => ({
    ...a,
    label: scoreMatching && a.labelScoreMatching ? a.labelScoreMatching : a.label,
  }));
  const cfg = { ...config, arms };

  const dir = opts.dir ? resolve(opts.dir) : mkdtempSync(join(tmpdir(), 'trellis-repro-'));
  mkdirSync(dir, { recursive: true });
  const label =
    opts.label ?? `${baseSpec.template}${Object.keys(opts.params).length ? ` ${JSON.stringify(opts.params)}` : ''}`;
  process.stderr.write(`reproduce ${label}: seeds ${opts.seeds.join(',')}, state under ${dir}\n`);

  const runs = [];
  const startedAll = performance.now();
  /** The aggregate of `runs` (optional arms only when some run has them); writes --out files. */
  const report = (runs, partial) => {
    const totalWallS = (performance.now() - startedAll) / 1000;
    const absent = new Set(
      cfg.arms.filter((a) => a.optional && !runs.some((r) => r.arms[a.stage])).map((a) => a.stage),
    );
    const shown = {
      ...cfg,
      arms: cfg.arms.filter((a) => !absent.has(a.stage)),
      comparisons: cfg.comparisons.filter(([a, b]) => !absent.has(a) && !absent.has(b)),
    };
    const command = [
      'node scripts/reproduce.mjs',
      shellQuote(target),
      '--seeds',
      opts.seeds.join(','),
      ...(Object.keys(opts.params).length ? ['--params', shellQuote(JSON.stringify(opts.params))] : []),
      ...(opts.workers !== 2 ? ['--workers', String(opts.workers)] : []),
      ...(opts.parallel !== 1 ? ['--parallel', String(opts.parallel)] : []),
      ...(opts.cache ? [] : ['--no-cache']),
    ].join(' ');
    const result = {
      label: partial ? `${label} (partial: ${runs.length} of ${opts.seeds.length} seeds)` : label,
      template: baseSpec.template,
      baseSpec: basePath,
      params,
      seeds: runs.map((r) => r.seed),
      workers: opts.workers,
      parallel: opts.parallel,
      better: cfg.better,
      command,
      totalWallS,
      agg: aggregate(shown, runs),
      runs,
      ...(partial ? { partial: true } : {}),
    };
    const md = markdown(result, shown);
    if (opts.out) {
      mkdirSync(dirname(resolve(opts.out)), { recursive: true });
      writeFileSync(`${opts.out}.json`, `${JSON.stringify(result, null, 2)}\n`);
      writeFileSync(`${opts.out}.md`, md);
      if (!partial) process.stderr.write(`wrote ${opts.out}.json and ${opts.out}.md\n`);
    }
    return { result, md };
  };
  /** Runs one seed in its own state directory; its result joins `runs` (kept in seed order). */
  const runSeed = async (seed) => {
    const spec = { ...baseSpec, name: `${baseSpec.name ?? baseSpec.template}-s${seed}`, params: { ...params, seed } };
    const stateDir = join(dir, `seed-${seed}`);
    mkdirSync(stateDir, { recursive: true });
    const specFile = join(stateDir, 'spec.json');
    writeFileSync(specFile, `${JSON.stringify(spec, null, 2)}\n`);
    const r = await runOnce(specFile, stateDir, opts);
    const run = { seed, wallS: r.wallS, error: r.error, arms: {}, diagnostics: {}, cached: [], stages: {} };
    if (r.doc?.stages) {
      for (const [name, stage] of Object.entries(r.doc.stages)) {
        run.stages[name] = { status: stage.status, cached: stage.cached, metrics: stage.metrics };
        if (stage.cached) run.cached.push(name);
        if (stage.status !== 'succeeded' && !run.error) run.error = `stage ${name} ${stage.status}`;
      }
      for (const arm of cfg.arms)
        if (r.doc.stages[arm.stage]?.metrics) run.arms[arm.stage] = r.doc.stages[arm.stage].metrics;
      for (const [stage, metric] of cfg.diagnostics) {
        const v = r.doc.stages[stage]?.metrics?.[metric];
        if (typeof v === 'number') run.diagnostics[`${stage}.${metric}`] = v;
      }
    }
    if (run.error) run.stderrTail = r.stderrTail;
    runs.push(run);
    runs.sort((a, b) => opts.seeds.indexOf(a.seed) - opts.seeds.indexOf(b.seed));
    const primary = cfg.metrics[0];
    process.stderr.write(
      `  seed ${seed}: ${run.error ? `FAILED (${run.error})` : cfg.arms.map((a) => `${a.stage} ${fmt(run.arms[a.stage]?.[primary])}`).join(', ')} [${r.wallS.toFixed(1)} s]\n`,
    );
    // Until the last seed is in, PREFIX.json/.md hold the seeds done so far (marked partial),
    // so a study stopped early keeps what it measured.
    if (opts.out && runs.length < opts.seeds.length) report(runs, true);
  };
  // --parallel K: K seeds at once, each a separate `trellis run` with its own workers.
  const queue = [...opts.seeds];
  const lanes = Array.from({ length: Math.min(opts.parallel, queue.length) }, async () => {
    for (let seed = queue.shift(); seed !== undefined; seed = queue.shift()) await runSeed(seed);
  });
  await Promise.all(lanes);
  const { result, md } = report(runs, false);
  process.stdout.write(opts.json ? `${JSON.stringify(result, null, 2)}\n` : md);
  if (runs.some((r) => r.error)) process.exitCode = 1;
}

main().catch((err) => {
  process.stderr.write(`reproduce: ${err.stack ?? err}\n`);
  process.exit(1);
});
