/**
 * The Python SDK (sdk/python), installed with `pip install ./sdk/python` into a fresh venv
 * (pip fetches grpcio and protobuf from PyPI, or its cache):
 *  1. its own tests (pytest when the venv has it or pip can fetch it, else `python -m
 *     unittest`: the tests are unittest style, so both run the same tests);
 *  2. the held-out user script of issue 12 (test/fixtures/python/heldout_client.py, written
 *     from the README alone) against a real coordinator with worker processes: submit a sweep
 *     whose trials run a training script using trellis.report, stream its events from the
 *     start, read the best trial, export all metrics of a 2,000-trial experiment.
 * Skipped, saying so, only when there is no Python 3. Without PyPI (and nothing cached) the
 * in-trial tests still run from the source tree; the client test then fails, naming pip's error.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { validateSpecText } from '../../coordinator/experiments/validate.js';
import type { MetricDoc, SweepDoc } from '../../shared/types.js';
import type { Store } from '../../coordinator/store/base.js';
import { startCluster, waitForWorkers } from '../helpers/cluster.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const sdk = join(root, 'sdk', 'python');
const fixtures = join(root, 'test', 'fixtures', 'python');

function python3(): string | undefined {
  for (const candidate of ['python3', 'python']) {
    const probe = spawnSync(candidate, ['-c', 'import sys; print(sys.version_info[0])'], { encoding: 'utf8' });
    if (probe.status === 0 && probe.stdout.trim() === '3') return candidate;
  }
  return undefined;
}

function run(program: string, args: string[], timeoutMs: number): { status: number | null; output: string } {
  const result = spawnSync(program, args, { encoding: 'utf8', timeout: timeoutMs, cwd: root });
  return { status: result.status, output: `${result.stdout ?? ''}${result.stderr ?? ''}` };
}

/** Like `run`, without blocking the event loop (the coordinator under test lives in this process). */
function runAsync(
  program: string,
  args: string[],
  timeoutMs: number,
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(program, args, { cwd: root });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      stderr += `\n(killed after ${timeoutMs} ms)`;
    }, timeoutMs);
    child.on('exit', (status) => {
      clearTimeout(timer);
      done({ status, stdout, stderr });
    });
  });
}

/** A finished 2,000-trial sweep with 6 steps per trial (12,000 rows: more than one export page). */
async function fillBigExperiment(store: Store): Promise<{ id: string; rows: number; sum: number }> {
  const spec = validateSpecText(
    JSON.stringify({
      apiVersion: 'trellis/v1',
      kind: 'Sweep',
      name: 'big',
      trial: { runtime: 'command', command: ['true'], objective: { metric: 'loss', mode: 'min' } },
      search: { algorithm: 'random', seed: 1, space: { x: { uniform: [0, 1] } } },
      budget: { trials: 2000, concurrency: 8 },
    }),
  ) as SweepDoc['spec'];
  const now = Date.now();
  const id = `big-${now}`;
  await store.createExperiment({
    id,
    name: 'big',
    kind: 'Sweep',
    spec,
    status: 'succeeded',
    requestId: id,
    createdAt: now,
    updatedAt: now,
    trialsCreated: 2000,
  });
  let sum = 0;
  const metrics: MetricDoc[] = [];
  for (let n = 0; n < 2000; n++) {
    const trialId = `${id}-t${n}`;
    await store.insertTrial({
      id: trialId,
      experimentId: id,
      number: n,
      status: 'succeeded',
      params: { x: n / 2000 },
      seed: n,
      attempts: [],
      metrics: { loss: n + 6 },
      createdAt: now,
      updatedAt: now,
    });
    for (let step = 1; step <= 6; step++) {
      metrics.push({ experimentId: id, trialId, attempt: 1, step, time: now, values: { loss: n + step } });
      sum += n + step;
    }
  }
  for (let i = 0; i < metrics.length; i += 2000) await store.appendMetrics(metrics.slice(i, i + 2000));
  return { id, rows: metrics.length, sum };
}

const python = python3();

describe('Python SDK (sdk/python)', { skip: python ? false : 'no Python 3 on this machine' }, () => {
  let venv = '';
  let py = '';
  /** pip's output when `pip install ./sdk/python` failed (then only the source tree is on the path). */
  let installFailure: string | undefined;

  before(async () => {
    venv = await mkdtemp(join(tmpdir(), 'trellis-sdk-venv-'));
    const made = run(python!, ['-m', 'venv', venv], 120_000);
    assert.equal(made.status, 0, `python -m venv failed:\n${made.output}`);
    py = join(venv, 'bin', 'python');
    // `pip install ./sdk/python` as a user runs it (setuptools, grpcio and protobuf from PyPI).
    const install = run(py, ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', sdk], 300_000);
    if (install.status !== 0) {
      installFailure = install.output.slice(-3000);
      console.log(`python-sdk: pip install ./sdk/python failed; testing the source tree instead:\n${installFailure}`);
      const site = run(py, ['-c', 'import sysconfig; print(sysconfig.get_paths()["purelib"])'], 30_000).output.trim();
      await writeFile(join(site, 'trellis-sdk-src.pth'), `${join(sdk, 'src')}\n`);
    }
  });

  after(async () => {
    if (venv) await rm(venv, { recursive: true, force: true });
  });

  it('installs with pip install ./sdk/python and passes its tests', () => {
    const probe = run(
      py,
      [
        '-c',
        'import trellis, pathlib; print(trellis.__version__, (pathlib.Path(trellis.__file__).parent / "py.typed").exists())',
      ],
      30_000,
    );
    assert.equal(probe.output.trim(), '0.1.0 True', 'the installed package imports as trellis and ships py.typed');
    const hasPytest =
      run(py, ['-c', 'import pytest'], 30_000).status === 0 ||
      run(py, ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '--timeout', '15', 'pytest'], 120_000)
        .status === 0;
    const tests = join(sdk, 'tests');
    const result = hasPytest
      ? run(py, ['-m', 'pytest', '-q', '-p', 'no:cacheprovider', tests], 300_000)
      : run(py, ['-m', 'unittest', 'discover', '-s', tests, '-t', tests, '-v'], 300_000);
    if (!hasPytest)
      console.log('python-sdk: pytest could not be installed (offline?); ran the same tests with unittest');
    assert.equal(result.status, 0, `SDK tests failed:\n${result.output}`);
    assert.match(result.output, hasPytest ? /\d+ passed/ : /Ran \d+ tests[^]*OK/);
  });

  it('a held-out script drives a real coordinator with trellis.Client', { timeout: 240_000 }, async () => {
    assert.equal(installFailure, undefined, `trellis.Client needs grpcio and protobuf from PyPI:\n${installFailure}`);
    const cluster = await startCluster({ workers: 2 });
    try {
      await waitForWorkers(cluster, 2);
      const big = await fillBigExperiment(cluster.coordinator.store);
      const script = await runAsync(
        py,
        [join(fixtures, 'heldout_client.py'), cluster.address, join(fixtures, 'train.py'), big.id],
        180_000,
      );
      assert.equal(script.status, 0, `the script failed:\n${script.stdout}\n${script.stderr}`);
      const out = JSON.parse(script.stdout.trim().split('\n').pop()!) as {
        invalid_fields: string[];
        not_found: string;
        status: string;
        event_seqs: number[];
        event_types: string[];
        last_event_status: string;
        best: { metric: string; value: number; params: Record<string, number> };
        best_trial: {
          status: string;
          params: Record<string, number>;
          metrics: Record<string, number>;
          attempts: string[];
        };
        trials: [string, number, number][];
        rows: number;
        row_steps: number[];
        big_rows: number;
        big_trials: number;
        big_sum: number;
        big_distinct: number;
        workers: [string, string[]][];
      };
      assert.ok(
        out.invalid_fields.includes('budget.trials'),
        `InvalidSpec names the field: ${out.invalid_fields.join(', ')}`,
      );
      assert.equal(out.not_found, 'NOT_FOUND');
      assert.equal(out.status, 'succeeded');
      // From the first event, without gaps, ending with the terminal experiment state.
      assert.deepEqual(
        out.event_seqs,
        out.event_seqs.map((_, i) => i + 1),
      );
      assert.equal(out.event_types[0], 'experiment.state');
      assert.equal(out.event_types.at(-1), 'experiment.state');
      assert.equal(out.last_event_status, 'succeeded');
      assert.equal(out.event_types.filter((t) => t === 'trial.metric').length, 12, '4 trials x 3 reported epochs');
      // The best lr is 0.3; its last loss is (0.3 - 0.3)^2 + 1/3, reported by train.py through trellis.report.
      assert.equal(out.best.metric, 'val_loss');
      assert.deepEqual(out.best.params, { lr: 0.3 });
      assert.ok(Math.abs(out.best.value - 1 / 3) < 1e-12, `best value ${out.best.value}`);
      assert.equal(out.best_trial.status, 'succeeded');
      assert.deepEqual(out.best_trial.params, { lr: 0.3 });
      assert.equal(out.best_trial.metrics.lr_seen, 0.3, 'report_final reached the trial');
      assert.deepEqual(out.best_trial.attempts, ['succeeded']);
      for (const [status, lr, loss] of out.trials) {
        assert.equal(status, 'succeeded');
        assert.ok(Math.abs(loss - ((lr - 0.3) ** 2 + 1 / 3)) < 1e-12, `lr ${lr}: loss ${loss}`);
      }
      assert.equal(out.rows, 12);
      assert.deepEqual(out.row_steps, [1, 2, 3]);
      assert.equal(out.big_rows, big.rows);
      assert.equal(out.big_distinct, big.rows, 'no row twice across pages');
      assert.equal(out.big_sum, big.sum);
      assert.equal(out.big_trials, 2000);
      assert.deepEqual(
        out.workers.map(([status]) => status),
        ['connected', 'connected'],
      );
      assert.ok(out.workers.every(([, runtimes]) => runtimes.includes('command')));
    } finally {
      await cluster.stop();
    }
  });
});
