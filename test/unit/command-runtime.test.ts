import { describe, it } from 'node:test';
import { spawnSync } from 'node:child_process';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, mkdir, readFile, rm, writeFile, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sweepSpecSchema, trialSchema, type TrialConfig } from '../../shared/spec/schema.js';
import { parseSpecText } from '../../shared/spec/load.js';
import type { Params } from '../../shared/spec/space.js';
import {
  DivergedError,
  PermanentRunError,
  StoppedError,
  type AttemptContext,
  type Checkpoint,
} from '../../worker/runtimes/base.js';
import { commandRuntime } from '../../worker/runtimes/command/runtime.js';
import { substitute } from '../../worker/runtimes/command/args.js';
import { LineSplitter, parseMetricLine } from '../../worker/runtimes/command/output.js';
import { packDirectory, unpackArchive } from '../../worker/runtimes/command/archive.js';
import { processEnded } from '../helpers/services.js';

// dist-cmd/test/unit → repository root (the fixtures are not copied by tsc).
const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..', '..', '..');
const program = (name: string): string => join(root, 'test', 'fixtures', 'programs', name);
const node = process.execPath;

interface FakeAttempt {
  ctx: AttemptContext;
  reports: Array<{ step: number; metrics: Record<string, number> }>;
  logs: string[];
  store: Checkpoint[];
  controller: AbortController;
  /** Resolves with the first log line matching the pattern (already logged or future). */
  waitForLog(pattern: RegExp): Promise<RegExpExecArray>;
}

function fakeAttempt(options: {
  command: string[];
  params?: Params;
  trial?: Partial<TrialConfig>;
  gpuIds?: string[];
  attemptNumber?: number;
  store?: Checkpoint[];
  /** trial.objective.metric (default `loss`, what most fixtures report). */
  objective?: string;
}): FakeAttempt {
  const reports: FakeAttempt['reports'] = [];
  const logs: string[] = [];
  const store = options.store ?? [];
  const controller = new AbortController();
  const waiters: Array<{ pattern: RegExp; resolve: (match: RegExpExecArray) => void }> = [];
  const config: TrialConfig = {
    ...trialSchema.parse({
      runtime: 'command',
      command: options.command,
      objective: { metric: options.objective ?? 'loss', mode: 'min' },
    }),
    ...options.trial,
  };
  const attemptNumber = options.attemptNumber ?? 1;
  const ctx: AttemptContext = {
    experimentId: 'exp-1',
    trialId: 'trial-42',
    trialNumber: 7,
    attemptId: `trial-42/attempt-${attemptNumber}`,
    attemptNumber,
    config,
    params: options.params ?? {},
    seed: 1234,
    gpuIds: options.gpuIds ?? [],
    signal: controller.signal,
    report(step, metrics) {
      const last = reports.at(-1);
      if (last && step <= last.step) return;
      reports.push({ step, metrics });
    },
    checkpoint: {
      async load() {
        return store.at(-1);
      },
      async save(checkpoint) {
        store.push({ step: checkpoint.step, data: Buffer.from(checkpoint.data) });
      },
    },
    log(line) {
      logs.push(line);
      for (let i = waiters.length - 1; i >= 0; i--) {
        const match = waiters[i]!.pattern.exec(line);
        if (match) {
          waiters[i]!.resolve(match);
          waiters.splice(i, 1);
        }
      }
    },
  };
  return {
    ctx,
    reports,
    logs,
    store,
    controller,
    waitForLog(pattern) {
      for (const line of logs) {
        const match = pattern.exec(line);
        if (match) return Promise.resolve(match);
      }
      return new Promise((resolveWait) => waiters.push({ pattern, resolve: resolveWait }));
    },
  };
}

describe('command runtime: metrics', () => {
  it('parses JSON lines as metrics, with and without step, across split writes, and logs the rest', async () => {
    const attempt = fakeAttempt({ command: [node, program('metrics.mjs')] });
    const result = await commandRuntime.run(attempt.ctx);
    assert.equal(commandRuntime.name, 'command');
    assert.deepEqual(attempt.reports, [
      { step: 1, metrics: { loss: 0.9, acc: 0.1 } },
      { step: 2, metrics: { loss: 0.8, acc: 0.2 } },
      { step: 5, metrics: { loss: 0.5, acc: 0.6 } },
      { step: 6, metrics: { loss: 0.4, acc: 0.7 } },
      { step: 9, metrics: { loss: 0.3 } },
    ]);
    assert.deepEqual(result.metrics, { loss: 0.3, acc: 0.7, test_accuracy: 0.75 });
    assert.equal(result.info.exitCode, 0);
    assert.equal(result.info.command, node);
    assert.equal(typeof result.info.durationMs, 'number');
    for (const line of [
      'starting metrics fixture',
      'not json {',
      'a warning on stderr',
      '[1, 2, 3]',
      'last line without newline',
    ]) {
      assert.ok(attempt.logs.includes(line), `log has ${JSON.stringify(line)}: ${JSON.stringify(attempt.logs)}`);
    }
    assert.ok(attempt.logs.some((line) => line.includes('non-finite') && line.includes('acc')));
    assert.ok(!attempt.logs.some((line) => line.startsWith('{"loss"')), 'metric lines are not logged');
  });

  it('splits lines at any chunk boundary, inside UTF-8 characters and with CRLF', () => {
    const text = '{"step": 1, "loss": 0.5}\r\nplain é line\n{"x": "ü", "v": 2}\nlast';
    const bytes = Buffer.from(text, 'utf8');
    for (let cut = 0; cut <= bytes.length; cut++) {
      for (const size of [1, 3, 7]) {
        const lines: string[] = [];
        const splitter = new LineSplitter((line) => lines.push(line));
        splitter.push(bytes.subarray(0, cut));
        for (let i = cut; i < bytes.length; i += size) splitter.push(bytes.subarray(i, i + size));
        splitter.end();
        assert.deepEqual(lines, ['{"step": 1, "loss": 0.5}', 'plain é line', '{"x": "ü", "v": 2}', 'last']);
      }
    }
  });

  it('parseMetricLine: step, epoch, final, checkpoint, Python NaN and non-objects', () => {
    assert.deepEqual(parseMetricLine('{"step": 3, "epoch": 1.5, "loss": 2, "name": "x"}'), {
      metrics: { epoch: 1.5, loss: 2 },
      step: 3,
      checkpoint: false,
      final: false,
      nonFinite: [],
    });
    assert.deepEqual(parseMetricLine('  {"epoch": 4, "acc": 0.5}  ')?.step, 4);
    assert.deepEqual(parseMetricLine('{"checkpoint": true, "step": 8}'), {
      metrics: {},
      step: 8,
      checkpoint: true,
      final: false,
      nonFinite: [],
    });
    assert.deepEqual(parseMetricLine('{"loss": NaN, "a": -Infinity, "b": Infinity, "s": "NaN", "c": 1}'), {
      metrics: { c: 1 },
      checkpoint: false,
      final: false,
      nonFinite: ['loss', 'a', 'b'],
    });
    assert.equal(parseMetricLine('{"final": true, "test_accuracy": 0.9}')?.final, true);
    assert.equal(parseMetricLine('[1, 2]'), undefined);
    assert.equal(parseMetricLine('{not json}'), undefined);
    assert.equal(parseMetricLine('epoch 3 done'), undefined);
  });
});

describe('command runtime: results are never silent', () => {
  it('accepts {"metrics": {...}, "step": N} as the flat form', async () => {
    const attempt = fakeAttempt({ command: [node, program('loud.mjs'), 'nested'] });
    const result = await commandRuntime.run(attempt.ctx);
    assert.deepEqual(attempt.reports, [
      { step: 1, metrics: { loss: 1, acc: 0.1 } },
      { step: 2, metrics: { loss: 0.5, acc: 0.2 } },
      { step: 3, metrics: { loss: 1 / 3, acc: 0.3 } },
    ]);
    assert.deepEqual(result.metrics, { loss: 1 / 3, acc: 0.3 });
  });

  it('fails a program that exits 0 without its objective, naming the metric, the malformed lines and the output tail', async () => {
    const attempt = fakeAttempt({ command: [node, program('loud.mjs'), 'missing'], objective: 'val_loss' });
    await assert.rejects(commandRuntime.run(attempt.ctx), (err: Error) => {
      assert.ok(err instanceof PermanentRunError, String(err));
      assert.match(err.message, /never reported the objective metric "val_loss"/);
      assert.match(err.message, /3 line\(s\) looked like JSON but did not parse/);
      assert.ok(err.message.includes('{"loss": 0.5, "step": 1'), err.message);
      assert.ok(err.message.includes('{"val_loss" 0.3}'), err.message);
      assert.match(err.message, /last 6 lines of output:\nepoch 1 done\n[^]*training finished$/);
      return true;
    });
    assert.equal(attempt.logs.filter((line) => line.startsWith('malformed metric line')).length, 3);
  });

  it('a non-finite objective stops the program and fails the attempt as diverged', async () => {
    const attempt = fakeAttempt({ command: [node, program('loud.mjs'), 'nan'], trial: { stopGraceSeconds: 5 } });
    await assert.rejects(commandRuntime.run(attempt.ctx), (err: Error) => {
      assert.ok(err instanceof DivergedError, String(err));
      assert.equal((err as DivergedError).kind, 'diverged');
      assert.match(err.message, /training diverged: the objective loss is not finite/);
      return true;
    });
    assert.deepEqual(attempt.reports, [{ step: 1, metrics: { loss: 0.9 } }]);
  });

  it('a non-finite metric that is not the objective is dropped, not fatal', () => {
    assert.deepEqual(parseMetricLine('{"metrics": {"loss": 0.2, "grad_norm": Infinity}, "step": 4}'), {
      metrics: { loss: 0.2 },
      step: 4,
      checkpoint: false,
      final: false,
      nonFinite: ['grad_norm'],
    });
  });
});

describe('command runtime: params and environment', () => {
  it('substitutes params and trial facts into args and passes the environment', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'trellis-cmd-test-'));
    try {
      const out = join(dir, 'report.json');
      const params: Params = { lr: 0.001, 'loss.q': 0.7, 'model.hidden': [64, 32], optimizer: 'adam', flag: true };
      const attempt = fakeAttempt({
        command: [
          node,
          program('report-env.mjs'),
          out,
          '--lr=${params.lr}',
          '--q',
          '${params.loss.q}',
          '--hidden=${params.model.hidden}',
          '--opt=${params.optimizer}/${params.flag}',
          'trial-${trial.number}-seed-${trial.seed}-${trial.id}-a${trial.attempt}',
          'literal-$${params.lr}-${HOME}',
        ],
        params,
        gpuIds: ['0', '2'],
        attemptNumber: 2,
        trial: { env: { FIXTURE_LR: 'lr=${params.lr}', CUDA_VISIBLE_DEVICES: '5' } },
      });
      const result = await commandRuntime.run(attempt.ctx);
      assert.ok(attempt.logs.includes('reported'));
      const report = JSON.parse(await readFile(out, 'utf8')) as {
        args: string[];
        env: Record<string, string>;
        paramsFile: string;
      };
      assert.deepEqual(report.args, [
        '--lr=0.001',
        '--q',
        '0.7',
        '--hidden=[64,32]',
        '--opt=adam/true',
        'trial-7-seed-1234-trial-42-a2',
        'literal-${params.lr}-${HOME}',
      ]);
      assert.deepEqual(JSON.parse(report.env.TRELLIS_PARAMS!), params);
      assert.deepEqual(JSON.parse(report.paramsFile), params);
      assert.equal(report.env.TRELLIS_TRIAL_ID, 'trial-42');
      assert.equal(report.env.TRELLIS_TRIAL_NUMBER, '7');
      assert.equal(report.env.TRELLIS_ATTEMPT, '2');
      assert.equal(report.env.TRELLIS_SEED, '1234');
      assert.equal(report.env.FIXTURE_LR, 'lr=0.001');
      assert.equal(report.env.PYTHONUNBUFFERED, process.env.PYTHONUNBUFFERED ?? '1');
      assert.equal(report.env.CUDA_VISIBLE_DEVICES, '0,2', 'the assigned GPUs win over trial.env');
      assert.equal(report.env.TRELLIS_RESUME_STEP, undefined);
      const checkpointDir = report.env.TRELLIS_CHECKPOINT_DIR!;
      const paramsFile = report.env.TRELLIS_PARAMS_FILE!;
      assert.ok(checkpointDir.length > 0 && paramsFile.length > 0);
      // The directory goes after the result (the worker sends the result, then awaits cleanup).
      assert.ok(result.cleanup, 'the removal of the temp dir is left to cleanup');
      await result.cleanup;
      assert.ok(!existsSync(paramsFile), 'the params file is removed after the run');
      assert.ok(!existsSync(dirname(checkpointDir)), 'the per-attempt temp dir is removed after the run');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('sets CUDA_VISIBLE_DEVICES to the empty string without GPUs', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'trellis-cmd-test-'));
    try {
      const out = join(dir, 'report.json');
      const attempt = fakeAttempt({ command: [node, program('report-env.mjs'), out], gpuIds: [] });
      await commandRuntime.run(attempt.ctx);
      const report = JSON.parse(await readFile(out, 'utf8')) as { env: Record<string, string> };
      assert.equal(report.env.CUDA_VISIBLE_DEVICES, '');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('an unknown ${params.X} is a PermanentRunError naming X and the known params', async () => {
    const attempt = fakeAttempt({
      command: [node, '-e', '', '--x=${params.lossq}'],
      params: { lr: 0.1, 'loss.q': 0.5 },
    });
    await assert.rejects(commandRuntime.run(attempt.ctx), (err: unknown) => {
      assert.ok(err instanceof PermanentRunError);
      assert.match(err.message, /params\.lossq/);
      assert.match(err.message, /known params: loss\.q, lr/);
      return true;
    });
    assert.throws(
      () => substitute('${trial.name}', { params: {}, trialId: 't', trialNumber: 1, attemptNumber: 1, seed: 0 }, 'arg'),
      PermanentRunError,
    );
  });
});

describe('command runtime: failures', () => {
  it('a non-zero exit rejects with the code and the last 20 lines of stderr', async () => {
    const attempt = fakeAttempt({ command: [node, program('fail.mjs'), 'code'] });
    await assert.rejects(commandRuntime.run(attempt.ctx), (err: unknown) => {
      assert.ok(err instanceof Error);
      assert.ok(!(err instanceof PermanentRunError) && !(err instanceof StoppedError));
      assert.match(err.message, /exited with code 3/);
      assert.match(err.message, /err-11\nerr-12/);
      assert.match(err.message, /err-30/);
      assert.doesNotMatch(err.message, /err-10/);
      return true;
    });
  });

  it('death by a signal nobody asked for is reported with the signal', async () => {
    const attempt = fakeAttempt({ command: [node, program('fail.mjs'), 'signal'] });
    await assert.rejects(commandRuntime.run(attempt.ctx), /killed by signal SIGKILL/);
  });

  it('a missing program is a PermanentRunError naming it', async () => {
    for (const missing of ['/nonexistent/trellis-no-such-program', 'trellis-no-such-program-on-path']) {
      const attempt = fakeAttempt({ command: [missing, '--flag'] });
      await assert.rejects(commandRuntime.run(attempt.ctx), (err: unknown) => {
        assert.ok(err instanceof PermanentRunError, String(err));
        assert.ok(err.message.includes(missing), err.message);
        return true;
      });
    }
  });

  it('a spec without command is a PermanentRunError', async () => {
    const attempt = fakeAttempt({ command: ['x'], trial: { command: undefined } });
    await assert.rejects(commandRuntime.run(attempt.ctx), PermanentRunError);
  });
});

describe('command runtime: a file that is not a program', () => {
  it('a file that is not executable is a PermanentRunError naming it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'trellis-cmd-test-'));
    try {
      const plain = join(dir, 'not-a-program.sh');
      await writeFile(plain, 'echo hi\n');
      const attempt = fakeAttempt({ command: [plain] });
      await assert.rejects(commandRuntime.run(attempt.ctx), (err: unknown) => {
        assert.ok(err instanceof PermanentRunError, String(err));
        assert.match(err.message, /cannot run/);
        assert.ok(err.message.includes(plain));
        return true;
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('command runtime: stop', () => {
  it('SIGTERM stops a program that handles it; the run rejects with StoppedError', async () => {
    const attempt = fakeAttempt({ command: [node, program('trap-term.mjs')], trial: { stopGraceSeconds: 60 } });
    const running = commandRuntime.run(attempt.ctx);
    const [, pid] = await attempt.waitForLog(/^ready (\d+)$/);
    attempt.controller.abort(new StoppedError('pruned by asha'));
    await assert.rejects(running, (err: unknown) => {
      assert.ok(err instanceof StoppedError);
      assert.match(err.message, /pruned by asha/);
      return true;
    });
    assert.ok(attempt.logs.includes('got SIGTERM, exiting'));
    assert.ok(!attempt.logs.some((line) => line.includes('SIGKILL') && line.includes('did not stop')));
    assert.ok(processEnded(Number(pid)));
  });

  it('a program (and its grandchild) ignoring SIGTERM is SIGKILLed after the grace period', async () => {
    const attempt = fakeAttempt({ command: [node, program('ignore-term.mjs')], trial: { stopGraceSeconds: 0.3 } });
    const running = commandRuntime.run(attempt.ctx);
    const [, pid, grandchild] = await attempt.waitForLog(/^ready (\d+) (\d+)$/);
    attempt.controller.abort();
    await assert.rejects(running, StoppedError);
    assert.ok(attempt.logs.some((line) => line.includes(`pid ${pid} ignores SIGTERM`)));
    assert.ok(attempt.logs.some((line) => line.includes('did not stop') && line.includes('SIGKILL')));
    assert.ok(processEnded(Number(pid)), 'the program ended');
    assert.ok(processEnded(Number(grandchild)), 'the grandchild ended');
  });

  it('an attempt aborted before it starts rejects with StoppedError without running anything', async () => {
    const attempt = fakeAttempt({ command: ['/nonexistent/never-run'] });
    attempt.controller.abort();
    await assert.rejects(commandRuntime.run(attempt.ctx), StoppedError);
  });
});

describe('command runtime: checkpoints', () => {
  it('saves checkpoints and resumes from them on the next attempt', async () => {
    const store: Checkpoint[] = [];
    const first = fakeAttempt({ command: [node, program('checkpointer.mjs'), '6', '3'], store, attemptNumber: 1 });
    await assert.rejects(commandRuntime.run(first.ctx), /exited with code 1[\s\S]*simulated crash after step 3/);
    assert.deepEqual(
      first.reports.map((r) => r.step),
      [1, 2, 3],
    );
    assert.ok(first.logs.includes('resume env=none file=0'));
    assert.equal(store.at(-1)?.step, 3);

    const second = fakeAttempt({ command: [node, program('checkpointer.mjs'), '6', '0'], store, attemptNumber: 2 });
    const result = await commandRuntime.run(second.ctx);
    assert.ok(second.logs.includes('resume env=3 file=3'), JSON.stringify(second.logs));
    assert.deepEqual(
      second.reports.map((r) => r.step),
      [4, 5, 6],
    );
    assert.equal(result.info.resumedFromStep, 3);
    assert.deepEqual(result.metrics, { loss: 1 / 6 });
    const last = store.at(-1)!;
    assert.equal(last.step, 6);
    // The saved archive holds the program's files as it wrote them.
    const dir = await mkdtemp(join(tmpdir(), 'trellis-cmd-test-'));
    try {
      await unpackArchive(last.data, dir);
      const state = JSON.parse(await readFile(join(dir, 'state.json'), 'utf8')) as { step: number; history: number[] };
      assert.deepEqual(state, { step: 6, history: [1, 2, 3, 4, 5, 6] });
      assert.equal((await readFile(join(dir, 'weights', 'layer.bin'))).readUInt32BE(0), 6);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('never saves a directory that changed while it was copied, and never fails on a renamed temp file', async () => {
    const store: Checkpoint[] = [];
    const attempt = fakeAttempt({ command: [node, program('churn.mjs'), '40'], store });
    await commandRuntime.run(attempt.ctx);
    assert.ok(!attempt.logs.some((line) => line.includes('could not be saved')), JSON.stringify(attempt.logs));
    assert.ok(store.length >= 1);
    assert.equal(store.at(-1)!.step, 40, 'the directory at exit is saved');
    const dir = await mkdtemp(join(tmpdir(), 'trellis-cmd-test-'));
    try {
      for (const saved of store) {
        const target = join(dir, String(store.indexOf(saved)));
        await mkdir(target);
        await unpackArchive(saved.data, target);
        const state = JSON.parse(await readFile(join(target, 'state.json'), 'utf8')) as { step: number };
        // The directory at any one moment holds state.json and step.txt of the same step, or
        // step.txt one behind while the next step's state is being written; a copy read over
        // a longer stretch could pair them any other way.
        const step = Number(await readFile(join(target, 'step.txt'), 'utf8'));
        assert.ok(
          state.step === step || state.step === step + 1,
          `state.json at step ${state.step}, step.txt at ${step}`,
        );
        assert.ok(saved.step <= state.step);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('packs the checkpoint dir at a successful exit when the program wrote it without saying so', async () => {
    const store: Checkpoint[] = [];
    const attempt = fakeAttempt({ command: [node, program('checkpointer.mjs'), '4', '0', 'silent'], store });
    await commandRuntime.run(attempt.ctx);
    assert.equal(store.length, 1);
    assert.equal(store[0]!.step, 4);

    // Resumed and already done: nothing changes, nothing is saved again.
    const again = fakeAttempt({
      command: [node, program('checkpointer.mjs'), '4', '0', 'silent'],
      store,
      attemptNumber: 2,
    });
    await commandRuntime.run(again.ctx);
    assert.deepEqual(again.reports, []);
    assert.equal(store.length, 1);
  });

  it('saves nothing for a program that leaves the checkpoint dir empty', async () => {
    const store: Checkpoint[] = [];
    const attempt = fakeAttempt({ command: [node, program('metrics.mjs')], store });
    await commandRuntime.run(attempt.ctx);
    assert.equal(store.length, 0);
  });

  it('a checkpoint that is not an archive is a PermanentRunError', async () => {
    const store: Checkpoint[] = [{ step: 2, data: Buffer.from('tfjs weights, not an archive') }];
    const attempt = fakeAttempt({ command: [node, program('metrics.mjs')], store });
    await assert.rejects(commandRuntime.run(attempt.ctx), PermanentRunError);
  });

  it('archives round-trip, are deterministic and refuse unsafe paths', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'trellis-cmd-test-'));
    try {
      const source = join(dir, 'src');
      await mkdir(join(source, 'a', 'empty'), { recursive: true });
      await writeFile(join(source, 'a', 'b.bin'), Buffer.from([0, 1, 2, 255]));
      await writeFile(join(source, 'top.txt'), 'héllo');
      await symlink('top.txt', join(source, 'link'));
      const packed = await packDirectory(source);
      assert.equal(packed.files, 2);
      assert.deepEqual(packed.skipped, ['link']);
      assert.ok(packed.data.equals((await packDirectory(source)).data));
      const target = join(dir, 'dst');
      await mkdir(target);
      assert.equal(await unpackArchive(packed.data, target), 2);
      assert.deepEqual(await readFile(join(target, 'a', 'b.bin')), Buffer.from([0, 1, 2, 255]));
      assert.equal(await readFile(join(target, 'top.txt'), 'utf8'), 'héllo');
      assert.ok(existsSync(join(target, 'a', 'empty')));

      // Rewrite the path of the first entry ("a", a directory) to "..": refused.
      const evil = Buffer.from(packed.data);
      const pathStart = 14 + 9; // magic, then kind u8, mode u32, length u32
      evil.write('.', pathStart, 'latin1');
      await assert.rejects(unpackArchive(evil, target), /unsafe path/);
      await assert.rejects(unpackArchive(packed.data.subarray(0, packed.data.length - 3), target), /truncated/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('command runtime: a Python program (stdlib only)', () => {
  const script = [
    'import json, os, sys',
    'params = json.loads(os.environ["TRELLIS_PARAMS"])',
    'with open(os.environ["TRELLIS_PARAMS_FILE"]) as f: assert json.load(f) == params',
    'ckpt = os.path.join(os.environ["TRELLIS_CHECKPOINT_DIR"], "state.json")',
    'start = json.load(open(ckpt))["epoch"] if os.path.exists(ckpt) else 0',
    'assert str(start or "") == os.environ.get("TRELLIS_RESUME_STEP", ""), "resume step mismatch"',
    'for epoch in range(start + 1, int(sys.argv[1]) + 1):',
    '    print(json.dumps({"epoch": epoch, "loss": params["lr"] / epoch, "bad": float("nan")}))',
    '    json.dump({"epoch": epoch}, open(ckpt + ".tmp", "w")); os.replace(ckpt + ".tmp", ckpt)',
    '    print(json.dumps({"checkpoint": True, "step": epoch}))',
    'print("done", file=sys.stderr)',
    'print(json.dumps({"final": True, "test_accuracy": 0.5}))',
  ].join('\n');

  it('reports metrics, checkpoints and resumes', async () => {
    const store: Checkpoint[] = [];
    const first = fakeAttempt({ command: ['python3', '-c', script, '2'], params: { lr: 0.5 }, store });
    const result = await commandRuntime.run(first.ctx);
    assert.deepEqual(first.reports, [
      { step: 1, metrics: { loss: 0.5 } },
      { step: 2, metrics: { loss: 0.25 } },
    ]);
    assert.deepEqual(result.metrics, { loss: 0.25, test_accuracy: 0.5 });
    assert.ok(first.logs.includes('done'));
    assert.equal(store.at(-1)?.step, 2);

    const second = fakeAttempt({
      command: ['python3', '-c', script, '4'],
      params: { lr: 0.5 },
      store,
      attemptNumber: 2,
    });
    await commandRuntime.run(second.ctx);
    assert.deepEqual(
      second.reports.map((r) => r.step),
      [3, 4],
    );
    assert.equal(store.at(-1)?.step, 4);
  });
});

describe('command runtime: a Python program using the trellis SDK (sdk/python)', () => {
  const sdkSrc = join(root, 'sdk', 'python', 'src');
  const script = [
    'import sys, time, trellis',
    'p = trellis.params({"lr": 1.0, "epochs": 3})',
    'for epoch in range(1, int(p["epochs"]) + 1):',
    '    trellis.report(step=epoch, val_loss=p["lr"] / epoch, seed=trellis.seed())',
    '    if p.get("wait_for_stop"):',
    '        trellis.should_stop()  # installs the SIGTERM handler before saying it waits',
    '        print("waiting", flush=True)',
    '        while not trellis.should_stop(): time.sleep(0.01)',
    '        print(f"stop seen after epoch {epoch}", file=sys.stderr, flush=True)',
    '        sys.exit(0)',
    'trellis.report_final(test_accuracy=0.75)',
  ].join('\n');

  it("its reports are the trial's metrics; the objective and the seed arrive", async () => {
    const attempt = fakeAttempt({
      command: ['python3', '-c', script],
      params: { lr: 0.5 },
      objective: 'val_loss',
      trial: { env: { PYTHONPATH: sdkSrc } },
    });
    const result = await commandRuntime.run(attempt.ctx);
    assert.deepEqual(attempt.reports, [
      { step: 1, metrics: { val_loss: 0.5, seed: 1234 } },
      { step: 2, metrics: { val_loss: 0.25, seed: 1234 } },
      { step: 3, metrics: { val_loss: 0.5 / 3, seed: 1234 } },
    ]);
    assert.deepEqual(result.metrics, { val_loss: 0.5 / 3, seed: 1234, test_accuracy: 0.75 });
  });

  it('a stop request (SIGTERM) reaches trellis.should_stop() and the program ends on its own', async () => {
    const attempt = fakeAttempt({
      command: ['python3', '-c', script],
      params: { wait_for_stop: true },
      objective: 'val_loss',
      trial: { env: { PYTHONPATH: sdkSrc }, stopGraceSeconds: 30 },
    });
    const running = commandRuntime.run(attempt.ctx);
    await attempt.waitForLog(/^waiting$/);
    attempt.controller.abort(new StoppedError('pruned'));
    await assert.rejects(running, StoppedError);
    assert.deepEqual(attempt.reports, [{ step: 1, metrics: { val_loss: 1, seed: 1234 } }]);
    assert.ok(
      !attempt.logs.some((line) => line.includes('SIGKILL') && line.includes('did not stop')),
      'no SIGKILL needed',
    );
  });
});

describe('examples/pytorch', () => {
  // Static checks only: the example needs PyTorch, which the test machines do not install (a
  // download of hundreds of MB); train.py is compiled, so a syntax error fails here, but it is
  // not run (review finding 13).
  it('sweep.yaml is a valid command-runtime sweep whose params train.py reads (static; train.py compiled, not run)', async () => {
    const text = await readFile(join(root, 'examples', 'pytorch', 'sweep.yaml'), 'utf8');
    const spec = sweepSpecSchema.parse(parseSpecText(text));
    assert.equal(spec.trial.runtime, 'command');
    assert.equal(spec.trial.command?.[1], 'examples/pytorch/train.py');
    const epochsArg = spec.trial.command?.[spec.trial.command.indexOf('--epochs') + 1];
    assert.equal(Number(epochsArg), spec.trial.epochs, '--epochs matches trial.epochs');
    const script = await readFile(join(root, 'examples', 'pytorch', 'train.py'), 'utf8');
    for (const name of Object.keys(spec.search.space)) {
      assert.ok(script.includes(`params["${name}"]`), `train.py reads param ${name}`);
    }
    const compiled = spawnSync(
      'python3',
      [
        '-c',
        'import ast, sys; ast.parse(open(sys.argv[1]).read(), sys.argv[1])',
        join(root, 'examples', 'pytorch', 'train.py'),
      ],
      { encoding: 'utf8', timeout: 30_000 },
    );
    assert.equal(compiled.status, 0, `train.py does not parse: ${compiled.stderr}`);
  });
});
