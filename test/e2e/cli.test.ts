/**
 * End to end through the `trellis` command exactly as a user runs it (embedded default, no
 * servers): real worker processes training TensorFlow.js models on optdigits.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, writeFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI_PATH } from '../../cli/embedded.js';
import { trellis } from '../helpers/cli.js';

describe('trellis run (embedded)', () => {
  it('runs a sweep on optdigits and prints one JSON document with a best val_accuracy >= 0.9', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'trellis-e2e-'));
    try {
      writeFileSync(
        join(dir, 'sweep.yaml'),
        `apiVersion: trellis/v1
kind: Sweep
name: e2e-optdigits
trial:
  runtime: tfjs
  task: classify
  dataset: optdigits
  model: { type: mlp, hidden: [64] }
  epochs: 4
search:
  algorithm: grid
  space:
    lr: { choice: [0.003, 0.01] }
budget: { trials: 2, concurrency: 2 }
`,
      );
      const result = await trellis(['run', 'sweep.yaml', '--workers', '2', '--json'], dir);
      assert.equal(result.code, 0, result.stderr.slice(-2000));
      const doc = JSON.parse(result.stdout) as {
        experiment: { status: string; kind: string };
        trials: {
          status: string;
          params: { lr: number };
          metrics: Record<string, number>;
          attempts: number;
          worker: string;
          backend: string;
        }[];
        best: { metric: string; value: number; params: { lr: number } };
      };
      assert.equal(doc.experiment.status, 'succeeded');
      assert.equal(doc.experiment.kind, 'Sweep');
      assert.deepEqual(doc.trials.map((t) => t.params.lr).sort(), [0.003, 0.01]);
      for (const t of doc.trials) {
        assert.equal(t.status, 'succeeded');
        assert.ok(t.metrics.test_accuracy! > 0.8, `test_accuracy ${t.metrics.test_accuracy}`);
        for (const m of ['loss', 'accuracy', 'val_loss', 'val_accuracy'])
          assert.equal(typeof t.metrics[m], 'number', m);
        assert.ok(['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'].includes(t.backend), `backend ${t.backend}`);
      }
      assert.equal(doc.best.metric, 'val_accuracy');
      assert.ok(doc.best.value >= 0.9, `best val_accuracy ${doc.best.value}`);
      assert.equal(doc.best.value, Math.max(...doc.trials.map((t) => t.metrics.val_accuracy!)));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('exits 2 on a bad spec, naming the field, and starts nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'trellis-e2e-'));
    try {
      writeFileSync(
        join(dir, 'bad.yaml'),
        `apiVersion: trellis/v1
kind: Sweep
name: bad
trial: { runtime: tfjs, task: classify, dataset: optdigits }
search:
  space:
    lr: { loguniform: [0, 0.1] }
`,
      );
      const result = await trellis(['run', 'bad.yaml', '--workers', '1', '--json'], dir);
      assert.equal(result.code, 2);
      assert.match(result.stderr, /search\.space\.lr\.loguniform: low must be > 0/);
      assert.equal(result.stdout, '', 'nothing on stdout');
      // Refused before anything starts: no state directory (.trellis/), no worker logs.
      assert.deepEqual(readdirSync(dir), ['bad.yaml']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('lists every loss with its inputs, params and defaults (losses --json)', async () => {
    const result = await trellis(['losses', '--json'], tmpdir());
    assert.equal(result.code, 0, result.stderr);
    const { losses } = JSON.parse(result.stdout) as {
      losses: { name: string; inputs: string[]; params: { name: string; default: unknown }[] }[];
    };
    assert.deepEqual(losses.map((l) => l.name).sort(), [
      'aldr',
      'anyloss',
      'bias',
      'ce',
      'compsum',
      'fairreg',
      'focal',
      'gce',
      'gfl',
      'groupdro',
      'ldr',
      'ms',
      'mw',
      'prototriplet',
      'rdpo',
      'tcm',
      'worstgroup',
      'zloss',
    ]);
    const gce = losses.find((l) => l.name === 'gce')!;
    assert.deepEqual(
      gce.params.map((p) => [p.name, p.default]),
      [['q', 0.7]],
    );
    assert.deepEqual(gce.inputs, ['logits', 'labels']);
  });

  it('runs through a symlink, as the installed `trellis` bin is', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'trellis-bin-'));
    try {
      symlinkSync(CLI_PATH, join(dir, 'trellis'));
      const result = await new Promise<{ code: number; stdout: string }>((resolve) => {
        const child = spawn(process.execPath, [join(dir, 'trellis'), 'losses', '--json']);
        let stdout = '';
        child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
        child.on('exit', (code) => resolve({ code: code ?? 1, stdout }));
      });
      assert.equal(result.code, 0);
      assert.equal((JSON.parse(result.stdout) as { losses: unknown[] }).losses.length, 18);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('exits 2 on unknown flags and missing files', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'trellis-e2e-'));
    try {
      const missing = await trellis(['run', 'missing.yaml'], dir);
      assert.equal(missing.code, 2);
      assert.match(missing.stderr, /cannot read spec missing\.yaml: ENOENT/);
      // A spec that exists and is valid, so only the flag can be what is refused.
      writeFileSync(
        join(dir, 'ok.yaml'),
        `apiVersion: trellis/v1
kind: Sweep
name: ok
trial: { runtime: tfjs, task: classify, dataset: optdigits }
search: { space: { lr: { loguniform: [0.001, 0.1] } } }
budget: { trials: 1 }
`,
      );
      const zero = await trellis(['run', 'ok.yaml', '--workers', 'zero'], dir);
      assert.equal(zero.code, 2);
      assert.match(zero.stderr, /--workers: must be an integer >= 1, got zero/);
      const unknown = await trellis(['frobnicate'], dir);
      assert.equal(unknown.code, 2);
      assert.match(unknown.stderr, /unknown command 'frobnicate'/);
      assert.deepEqual(readdirSync(dir), ['ok.yaml'], 'nothing started, no state directory');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
