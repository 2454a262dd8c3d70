#!/usr/bin/env node
// The orchestrator's overhead on training time.
//
// The same `classify` trainings (by default 4 configs × 5 epochs on optdigits) are run
//   A. standalone: in this process, sequentially, through the tfjs runtime with a minimal
//      AttemptContext (checkpoints kept in memory, reports kept in an array);
//   B. orchestrated: as the trials of one sweep through `trellis run --workers 1` (embedded
//      coordinator + 1 worker process, concurrency 1, so also sequential), timed from spawning
//      the command to its exit;
// alternating A/B/A/B... in the same run, plus
//   C. standalone in a fresh process: A's loop in a new `node` child, timed from spawn to exit,
//      so it pays the same cold start (node, imports, backend init, a cold JIT) as B's worker.
// Each repetition prints one JSON line {rep, standalone_s, orchestrated_s, ratio,
// standalone_fresh_s, ratio_fresh, ...}; the last line has the medians (median_ratio is B/A).
//
// Usage (after `npm run build`):
//   env -u MONGODB_URI -u NATS_URL node scripts/overhead.mjs [--reps 3] [--epochs 5] [--checkpoint-every 1]
// (--checkpoint-every is the trials' checkpointEvery on every side; 1 is the spec default, and A/C
// then encode every checkpoint too but keep it in memory, while B ships it to the coordinator.)
//
// Notes on fairness:
// - Both sides run the same resolved trial configs with the same seeds on the same backend
//   (whichever `selectBackend` picks here: the worker process makes the same choice; set
//   TRELLIS_TF_BACKEND to force one for both). The script checks that both got the same
//   test accuracies (the trainings are deterministic per seed).
// - A runs in an already warm process (TensorFlow.js initialised once before
//   the first repetition, JIT warm from earlier repetitions), while every orchestrated run starts
//   fresh processes; so `orchestrated_s - standalone_s` includes the fixed start-up cost (node,
//   coordinator, worker process, backend init) as well as the per-trial cost (gRPC dispatch,
//   metric and checkpoint traffic, store writes). `worker_task_s` (the trials' own durations as
//   the worker measured them, read from the local store's journal when available) separates the two.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = (p) => join(root, 'dist', p);

const { values: args } = parseArgs({
  options: {
    reps: { type: 'string', default: '3' },
    epochs: { type: 'string', default: '5' },
    'checkpoint-every': { type: 'string', default: '1' },
    // internal: run one standalone pass in this (fresh) process, print its JSON and exit
    child: { type: 'boolean', default: false },
  },
});
const reps = Number(args.reps);
const epochs = Number(args.epochs);
const checkpointEvery = Number(args['checkpoint-every']);

delete process.env.MONGODB_URI;
delete process.env.NATS_URL;

const { trialSchema } = await import(dist('shared/spec/schema.js'));
const { resolveTrialConfig } = await import(dist('shared/spec/resolve.js'));
const { selectBackend } = await import(dist('worker/runtimes/tfjs/backend.js'));
const { tfjsRuntime } = await import(dist('worker/runtimes/tfjs/runtime.js'));
const { CLI_PATH } = await import(dist('cli/embedded.js'));

const SEED = 1;
const trialBlock = {
  runtime: 'tfjs',
  task: 'classify',
  dataset: 'optdigits',
  model: { type: 'mlp', hidden: [128] },
  epochs,
  batchSize: 64,
  lr: 1e-3,
  loss: 'ce',
  checkpointEvery,
  seed: SEED,
};
// 4 configs: the losses of the noisy-label comparison plus focal.
const LOSSES = ['ce', 'focal', 'gce', 'ldr'];
const spec = {
  apiVersion: 'trellis/v1',
  kind: 'Sweep',
  name: 'overhead',
  trial: trialBlock,
  resources: { cpus: 1 },
  search: { algorithm: 'grid', space: { loss: { choice: LOSSES } } },
  scheduler: { type: 'fifo' },
  budget: { trials: LOSSES.length, concurrency: 1, maxAttempts: 1 },
};

// ---- A: standalone ---------------------------------------------------------------------------

function context(config, params, number) {
  let latest;
  const reports = [];
  return {
    reports,
    ctx: {
      experimentId: 'standalone',
      trialId: `standalone-t${number}`,
      trialNumber: number,
      attemptId: `standalone-t${number}-a1`,
      attemptNumber: 1,
      config,
      params,
      seed: SEED,
      gpuIds: [],
      signal: new AbortController().signal,
      report(step, metrics) {
        if (reports.length > 0 && step <= reports.at(-1).step) return;
        reports.push({ step, metrics });
      },
      checkpoint: {
        load: async () => undefined,
        save: async (checkpoint) => {
          latest = checkpoint;
        },
      },
      log: () => {},
    },
    latest: () => latest,
  };
}

const baseConfig = trialSchema.parse(trialBlock);
async function standalone() {
  const started = performance.now();
  const results = [];
  for (const [number, loss] of LOSSES.entries()) {
    const params = { loss };
    const { ctx } = context(resolveTrialConfig(baseConfig, params), params, number);
    const result = await tfjsRuntime.run(ctx);
    results.push({ loss, test_accuracy: result.metrics.test_accuracy, backend: result.info.backend });
  }
  return { seconds: (performance.now() - started) / 1000, results };
}

// ---- B: orchestrated -------------------------------------------------------------------------

function runCli(args, cwd) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI_PATH, ...args], { cwd, env: process.env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('exit', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

/** Best effort: the trials' own durations as the worker recorded them (local store journal). */
function workerTaskSeconds(dir) {
  const journal = join(dir, 'state', 'store', 'journal.jsonl');
  if (!existsSync(journal)) return undefined;
  const byTrial = new Map();
  for (const line of readFileSync(journal, 'utf8').split('\n')) {
    if (!line.includes('"durationMs"')) continue;
    try {
      const record = JSON.parse(line);
      const d = record?.d;
      if (d?.id && typeof d?.info?.durationMs === 'number') byTrial.set(d.id, d.info.durationMs);
    } catch {
      // not ours to judge
    }
  }
  if (byTrial.size !== LOSSES.length) return undefined;
  return [...byTrial.values()].reduce((a, b) => a + b, 0) / 1000;
}

async function orchestrated() {
  const dir = mkdtempSync(join(tmpdir(), 'trellis-overhead-'));
  try {
    writeFileSync(join(dir, 'spec.json'), JSON.stringify(spec));
    const started = performance.now();
    const out = await runCli(['run', 'spec.json', '--workers', '1', '--json', '--dir', join(dir, 'state')], dir);
    const seconds = (performance.now() - started) / 1000;
    if (out.code !== 0) throw new Error(`trellis run exited ${out.code}: ${out.stderr.slice(-2000)}`);
    const doc = JSON.parse(out.stdout);
    const results = doc.trials
      .sort((a, b) => a.number - b.number)
      .map((t) => ({
        loss: t.params.loss,
        test_accuracy: t.metrics.test_accuracy,
        backend: t.backend,
        status: t.status,
      }));
    if (results.some((r) => r.status !== 'succeeded'))
      throw new Error(`a trial did not succeed: ${JSON.stringify(results)}`);
    return { seconds, results, workerTask: workerTaskSeconds(dir) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---- C: standalone in a fresh process (same cold start as a worker) -----------------------------

if (args.child) {
  await selectBackend(false);
  const a = await standalone();
  process.stdout.write(JSON.stringify(a));
  process.exit(0);
}

async function standaloneFresh() {
  const started = performance.now();
  const out = await new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      [
        fileURLToPath(import.meta.url),
        '--child',
        '--epochs',
        String(epochs),
        '--checkpoint-every',
        String(checkpointEvery),
      ],
      { env: process.env },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('exit', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
  const seconds = (performance.now() - started) / 1000;
  if (out.code !== 0) throw new Error(`standalone child exited ${out.code}: ${out.stderr.slice(-2000)}`);
  const inner = JSON.parse(out.stdout);
  return { seconds, trainSeconds: inner.seconds, results: inner.results };
}

// ---- A/B/C, A/B/C... -------------------------------------------------------------------------

const initStart = performance.now();
const backend = await selectBackend(false);
const backendInitSeconds = (performance.now() - initStart) / 1000;
const round = (x, d = 3) => (x === undefined ? undefined : Number(x.toFixed(d)));

const ratios = [];
const rows = [];
for (let rep = 1; rep <= reps; rep++) {
  const a = await standalone();
  const b = await orchestrated();
  const c = await standaloneFresh();
  const maxDiff = Math.max(
    ...a.results.map((r, i) =>
      Math.max(
        Math.abs(r.test_accuracy - b.results[i].test_accuracy),
        Math.abs(r.test_accuracy - c.results[i].test_accuracy),
      ),
    ),
  );
  const ratio = b.seconds / a.seconds;
  ratios.push(ratio);
  const row = {
    rep,
    standalone_s: round(a.seconds),
    orchestrated_s: round(b.seconds),
    ratio: round(ratio),
    worker_task_s: round(b.workerTask),
    fixed_and_dispatch_s: round(b.workerTask === undefined ? undefined : b.seconds - b.workerTask),
    standalone_fresh_s: round(c.seconds),
    standalone_fresh_train_s: round(c.trainSeconds),
    ratio_fresh: round(b.seconds / c.seconds),
    backend: { standalone: a.results[0].backend, orchestrated: b.results[0].backend, fresh: c.results[0].backend },
    max_test_accuracy_diff: maxDiff,
  };
  rows.push(row);
  console.log(JSON.stringify(row));
}
const sorted = [...ratios].sort((x, y) => x - y);
const median =
  sorted.length % 2 ? sorted[(sorted.length - 1) / 2] : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2;
const med = (xs) => {
  const s = xs.filter((x) => x !== undefined).sort((x, y) => x - y);
  if (s.length === 0) return undefined;
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
console.log(
  JSON.stringify({
    summary: true,
    configs: LOSSES.length,
    epochs,
    checkpointEvery,
    reps,
    backend: backend.name,
    backend_init_s: round(backendInitSeconds),
    median_standalone_s: round(med(rows.map((r) => r.standalone_s))),
    median_orchestrated_s: round(med(rows.map((r) => r.orchestrated_s))),
    median_worker_task_s: round(med(rows.map((r) => r.worker_task_s))),
    median_standalone_fresh_s: round(med(rows.map((r) => r.standalone_fresh_s))),
    median_standalone_fresh_train_s: round(med(rows.map((r) => r.standalone_fresh_train_s))),
    median_ratio: round(median),
    median_ratio_fresh: round(med(rows.map((r) => r.ratio_fresh))),
    median_task_ratio: round(
      med(rows.map((r) => (r.worker_task_s === undefined ? undefined : r.worker_task_s / r.standalone_s))),
    ),
  }),
);
process.exit(0);
