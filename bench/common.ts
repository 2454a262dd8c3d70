/**
 * Helpers shared by the benchmark suites: statistics, timing, progress lines on stderr, and
 * running the Python peers (Optuna, Ray Tune) from bench/.venv.
 *
 * Contract with a peer script (bench/peers/*.py): it is run as `python SCRIPT ARGS...`, writes
 * progress to stderr and exactly one JSON object as the last line of stdout. A script whose
 * library is not installed prints `{"missing": "..."}`.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { fileURLToPath } from 'node:url';
import { Command, InvalidArgumentError } from 'commander';
import { inheritedEnv } from '../shared/env.js';
import type { ExperimentDoc } from '../shared/types.js';
import type { Store } from '../coordinator/store/base.js';
import { LocalStore } from '../coordinator/store/local.js';

/** The repository root (this file runs from dist/bench/). */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const PEERS_DIR = join(ROOT, 'bench', 'peers');
export const VENV_PYTHON = join(ROOT, 'bench', '.venv', 'bin', 'python');
export const SETUP_HINT = 'run bench/peers/setup';
/** The spec of the `pareto --task fairness` suite and of its evaluator (bench/fairness-trial.ts). */
export const FAIRNESS_SPEC = 'examples/fairness-pareto.yaml';

/** A peer's figures, or why there are none. */
export type PeerResult = Record<string, unknown> & { missing?: string; error?: string };

/** Writes one progress line to stderr (stdout belongs to the JSON document). */
export function progress(message: string): void {
  process.stderr.write(`bench: ${message}\n`);
}

export function now(): number {
  return performance.now();
}

export function mean(values: readonly number[]): number {
  return values.length === 0 ? NaN : values.reduce((s, v) => s + v, 0) / values.length;
}

/** Sample standard deviation (n − 1); 0 for a single value. */
export function sd(values: readonly number[]): number {
  if (values.length < 2) return 0;
  const m = mean(values);
  return Math.sqrt(values.reduce((s, v) => s + (v - m) ** 2, 0) / (values.length - 1));
}

/** Linear-interpolation percentile (q in [0, 1]). */
export function percentile(values: readonly number[], q: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo]! + (pos - lo) * (sorted[hi]! - sorted[lo]!);
}

export function median(values: readonly number[]): number {
  return percentile(values, 0.5);
}

/** Rounds for the JSON document (keeps it readable; figures are noisy beyond 3–4 digits). */
export function round(value: number, digits = 4): number {
  if (!Number.isFinite(value)) return value;
  const magnitude = Math.max(0, digits - 1 - Math.floor(Math.log10(Math.abs(value) || 1)));
  const f = 10 ** Math.min(magnitude, 12);
  return Math.round(value * f) / f;
}

/** a / b, rounded; null when either is missing. */
export function ratio(a: number | undefined, b: number | undefined): number | null {
  if (a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || b === 0) return null;
  return round(a / b, 3);
}

/** The numeric field `key` of a peer result, when the peer ran. */
export function peerNumber(peer: PeerResult | undefined, ...path: string[]): number | undefined {
  let value: unknown = peer;
  for (const key of path) {
    if (typeof value !== 'object' || value === null) return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return typeof value === 'number' ? value : undefined;
}

export function machine(): Record<string, unknown> {
  const list = cpus();
  return {
    cpu: list[0]?.model ?? 'unknown',
    cores: list.length,
    memory_gib: round(totalmem() / 2 ** 30, 3),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
  };
}

export function havePython(): boolean {
  return existsSync(VENV_PYTHON);
}

/**
 * Runs bench/peers/SCRIPT with ARGS under bench/.venv's Python and returns its JSON result.
 * Missing venv → `{ missing }` (unless `anyPython`: then the system python3); a crash, a timeout or unparsable output → `{ error }` (the suite
 * still reports Trellis's figures).
 */
export function runPeer(
  script: string,
  args: string[],
  timeoutMs: number,
  options: { anyPython?: boolean } = {},
): Promise<PeerResult> {
  let python = VENV_PYTHON;
  if (!havePython()) {
    if (!options.anyPython) return Promise.resolve({ missing: SETUP_HINT });
    python = 'python3'; // a script without dependencies (curve.py) runs on the system Python
  }
  return new Promise((resolve) => {
    const child = spawn(python, [join(PEERS_DIR, script), ...args], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...inheritedEnv(),
        PYTHONUNBUFFERED: '1',
        PYTHONPATH: PEERS_DIR,
        // Ray: no dashboard, no usage reporting, quiet.
        RAY_USAGE_STATS_ENABLED: '0',
        RAY_DEDUP_LOGS: '0',
        TUNE_DISABLE_AUTO_CALLBACK_LOGGERS: '1',
      },
      detached: true,
    });
    let stdout = '';
    let stderrTail = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderrTail = (stderrTail + chunk).slice(-4000);
      for (const line of chunk.split('\n')) if (line.startsWith('peer:')) process.stderr.write(`bench: ${line}\n`);
    });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        if (child.pid) process.kill(-child.pid, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      resolve({ error: `could not start ${script}: ${err.message}` });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (timedOut) return resolve({ error: `${script} ran past ${Math.round(timeoutMs / 1000)} s and was killed` });
      const last = stdout.trim().split('\n').pop() ?? '';
      try {
        const parsed = JSON.parse(last) as PeerResult;
        if (code !== 0 && !parsed.error && !parsed.missing) parsed.error = `${script} exited with ${code}`;
        resolve(parsed);
      } catch {
        resolve({
          error: `${script} exited with ${code} without a JSON result; stderr tail: ${stderrTail.slice(-600)}`,
        });
      }
    });
  });
}

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A process's CPU from /proc/PID/stat: its parent, and ms of its own CPU and of the children it waited for. */
export interface ProcessCpu {
  ppid: number;
  self: number;
  children: number;
}

/** Undefined when the process is gone (or there is no /proc). */
export function processCpu(pid: number): ProcessCpu | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return {
      ppid: Number(f[1]),
      self: (Number(f[11]) + Number(f[12])) * 10,
      children: (Number(f[13]) + Number(f[14])) * 10,
    };
  } catch {
    return undefined;
  }
}

/** A minimal running sweep document, for benchmarks that write a store directly. */
export function runningSweepDoc(id: string, fields: Partial<ExperimentDoc> = {}): ExperimentDoc {
  return {
    id,
    name: 'bench',
    kind: 'Sweep',
    status: 'running',
    spec: { apiVersion: 'trellis/v1' } as never,
    requestId: `r-${id}`,
    createdAt: 1,
    updatedAt: 1,
    trialsCreated: 0,
    ...fields,
  } as ExperimentDoc;
}

/** A `--flag VALUE` of this process's arguments: a number > 0 (whole with `integer`), else `fallback`. */
export function numberArg(flag: string, fallback: number, integer = false): number {
  const at = process.argv.indexOf(flag);
  if (at < 0) return fallback;
  const value = Number(process.argv[at + 1]);
  if (!(integer ? Number.isInteger(value) : Number.isFinite(value)) || value <= 0)
    throw new Error(`${flag}: must be ${integer ? 'an integer' : 'a number'} > 0`);
  return value;
}

let gc: (() => void) | undefined;

/** A full garbage collection now (V8's `gc`, exposed on first use), for heap figures of live data only. */
export function collectGarbage(): void {
  if (!gc) {
    setFlagsFromString('--expose-gc');
    gc = runInNewContext('gc') as () => void;
  }
  gc();
}

/** A standalone bench's command line: bad input is a clear error and exit code 2 (--help: 0). */
export function benchCommand(name: string): Command {
  return new Command(name).exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2));
}

/**
 * A LocalStore in a fresh temporary directory (`prefix`), holding `trials` finished trials
 * (fillFinishedTrials) and compacting never by itself: the compaction benches start the one
 * they measure. The caller removes `dir`; it is removed here if the filling fails.
 */
export async function filledLocalStore(prefix: string, trials: number): Promise<{ dir: string; store: LocalStore }> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  try {
    const store = new LocalStore(dir, { compactAfterBytes: 2 ** 40 });
    await store.start();
    progress(`filling ${trials} finished trials`);
    await fillFinishedTrials(store, trials);
    return { dir, store };
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

/**
 * Fills a store with `trials` finished trials of experiment `e`, each with one published
 * `trial.state` event (about what the million run's journal holds per trial), 1,000 at a time.
 */
export async function fillFinishedTrials(store: Store, trials: number): Promise<void> {
  await store.createExperiment(runningSweepDoc('e'));
  const BATCH = 1000;
  for (let from = 0; from < trials; from += BATCH) {
    const writes: Promise<unknown>[] = [];
    const seqs: number[] = [];
    for (let n = from; n < Math.min(trials, from + BATCH); n++) {
      writes.push(
        store.insertTrial({
          id: `e-t${n}`,
          experimentId: 'e',
          number: n,
          status: 'succeeded',
          params: { lr: 0.01, layers: n % 7 },
          seed: n,
          attempts: [],
          metrics: { loss: 1 / (n + 1) },
          createdAt: n,
          updatedAt: n,
        }),
      );
      seqs.push(n + 1);
    }
    writes.push(
      store.appendEvents(
        seqs.map((seq) => ({
          seq,
          type: 'trial.state',
          time: seq,
          experimentId: 'e',
          trialNumber: seq - 1,
          payload: { status: 'succeeded', params: { lr: 0.01 }, attempt: 1, workerId: 'w1', metrics: { loss: 0.5 } },
        })),
      ),
    );
    await Promise.all(writes);
    await store.markPublished('e', seqs);
  }
}

/** A commander parser of an integer >= 1 for option `name` (a clear error otherwise). */
export function positiveInt(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${name} must be an integer >= 1, got ${value}`);
    return n;
  };
}
