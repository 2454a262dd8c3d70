/**
 * `npm run bench -- tf-backends`: the tfjs runtime on the native TensorFlow backend
 * (@tensorflow/tfjs-node, set up by scripts/setup-native-tf.sh) against WebAssembly, in the same
 * run. Two workloads, each a whole `trellis run --workers 2` timed from spawn to exit (so the fixed
 * start-up of node, coordinator and workers is in both sides):
 *
 *   quickstart  examples/quickstart.yaml as shipped (6 MLP trials on optdigits, 2 at a time)
 *   cnn         the same sweep with a CNN (conv 16 + conv 32, 3x3, then dense 64) on optdigits 8x8
 *
 * The backends alternate within each repetition (the order flips every repetition) so load drift on
 * the shared machine hits both alike; every run's load average is recorded next to its time. Each
 * run must succeed with every trial reporting the backend it was forced to (TRELLIS_TF_BACKEND), or
 * the suite fails: a native run that silently fell back to wasm would make the ratio meaningless.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { inheritedEnv } from '../shared/env.js';
import { median, now, progress, ratio, round, ROOT } from './common.js';

export interface TfBackendsOptions {
  reps: number;
}

const BACKENDS = ['wasm', 'tensorflow'] as const;
type Which = (typeof BACKENDS)[number];

interface Run {
  workload: string;
  backend: Which;
  rep: number;
  seconds: number;
  load1_before: number;
  load1_after: number;
  trials: number;
  best_val_accuracy: number;
}

function workloads(dir: string): Record<string, string> {
  const quickstart = join(ROOT, 'examples', 'quickstart.yaml');
  const spec = parse(readFileSync(quickstart, 'utf8')) as Record<string, unknown> & {
    trial: Record<string, unknown>;
    search: { space: Record<string, unknown> };
  };
  const cnn = {
    ...spec,
    name: 'bench-cnn-optdigits',
    trial: { ...spec.trial, model: { type: 'cnn', filters: [16, 32], hidden: [64] }, epochs: 5 },
    search: { ...spec.search, space: { lr: spec.search.space.lr } },
    budget: { trials: 4, concurrency: 2 },
  };
  const cnnPath = join(dir, 'cnn.yaml');
  writeFileSync(cnnPath, stringify(cnn));
  return { quickstart, cnn: cnnPath };
}

async function trellisRun(specPath: string, backend: Which, dir: string): Promise<{ seconds: number; doc: unknown }> {
  const env: NodeJS.ProcessEnv = { ...inheritedEnv(), TRELLIS_TF_BACKEND: backend, TF_CPP_MIN_LOG_LEVEL: '2' };
  // The embedded default: a local store and in-process bus, as `npm start` runs the quickstart.
  delete env.MONGODB_URI;
  delete env.NATS_URL;
  const started = now();
  const child = spawn(
    process.execPath,
    [join(ROOT, 'dist', 'cli', 'main.js'), 'run', specPath, '--workers', '2', '--json', '--dir', dir],
    { env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const code = await new Promise<number>((resolve) => child.on('exit', (c) => resolve(c ?? 1)));
  const seconds = (now() - started) / 1000;
  if (code !== 0) throw new Error(`trellis run ${specPath} (${backend}) exited ${code}: ${stderr}`);
  return { seconds, doc: JSON.parse(stdout) as unknown };
}

function check(doc: unknown, backend: Which, what: string): { trials: number; best: number } {
  const d = doc as {
    experiment: { status: string };
    trials: { status: string; backend?: string; metrics: Record<string, number> }[];
  };
  if (d.experiment.status !== 'succeeded') throw new Error(`${what}: experiment ${d.experiment.status}`);
  for (const t of d.trials) {
    if (t.status !== 'succeeded') throw new Error(`${what}: a trial ${t.status}`);
    if (t.backend !== backend) throw new Error(`${what}: a trial ran on ${String(t.backend)}, not ${backend}`);
  }
  return { trials: d.trials.length, best: Math.max(...d.trials.map((t) => t.metrics.val_accuracy ?? 0)) };
}

export async function runTfBackends(options: TfBackendsOptions): Promise<Record<string, unknown>> {
  const dir = mkdtempSync(join(tmpdir(), 'trellis-bench-tf-'));
  const runs: Run[] = [];
  try {
    const specs = workloads(dir);
    for (let rep = 1; rep <= options.reps; rep++) {
      const order = rep % 2 === 1 ? BACKENDS : [...BACKENDS].reverse();
      for (const [workload, specPath] of Object.entries(specs)) {
        for (const backend of order) {
          const load1Before = loadavg()[0]!;
          const { seconds, doc } = await trellisRun(specPath, backend, join(dir, `${workload}-${backend}-${rep}`));
          const { trials, best } = check(doc, backend, `${workload} on ${backend}`);
          const run: Run = {
            workload,
            backend,
            rep,
            seconds: round(seconds, 4),
            load1_before: round(load1Before, 3),
            load1_after: round(loadavg()[0]!, 3),
            trials,
            best_val_accuracy: round(best, 4),
          };
          runs.push(run);
          progress(`tf-backends: ${workload} on ${backend} (rep ${rep}): ${run.seconds} s, load ${run.load1_before}`);
        }
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const summary: Record<string, unknown> = {};
  for (const workload of ['quickstart', 'cnn']) {
    const seconds = (b: Which): number =>
      median(runs.filter((r) => r.workload === workload && r.backend === b).map((r) => r.seconds));
    const wasm = seconds('wasm');
    const native = seconds('tensorflow');
    summary[workload] = {
      wasm_median_s: round(wasm, 4),
      tensorflow_median_s: round(native, 4),
      speedup_tensorflow_over_wasm: ratio(wasm, native),
    };
  }
  return { reps: options.reps, loadavg_end: loadavg().map((l) => round(l, 3)), summary, runs };
}
