/**
 * The worker as the last line of defence, with real files and real processes: dataset paths a
 * submitter names must be regular files under the worker's data roots (no `../` escape, no
 * symlink out, no FIFO, no device, nothing over the size limit), and errors never carry the
 * file's bytes; programs run under the operator's limits, and a program that leaves its
 * process group (`setsid`) still dies with its attempt.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { trialSchema } from '../../shared/spec/schema.js';
import { PermanentRunError, type AttemptContext, type WorkerLimits } from '../../worker/runtimes/base.js';
import { loadDataset } from '../../worker/data/load.js';
import { dataSandbox, readDatasetFile } from '../../worker/data/sandbox.js';
import { commandRuntime } from '../../worker/runtimes/command/runtime.js';
import { limitedCommand } from '../../worker/runtimes/command/limits.js';
import { processEnded, waitUntil } from '../helpers/services.js';

const SECRET = 'TOPSECRET-3f9a1c';

describe('security: dataset files under the data roots', () => {
  let dir: string;
  let root: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'trellis-sandbox-'));
    root = join(dir, 'data');
    mkdirSync(root);
    writeFileSync(join(root, 'ok.csv'), 'a,b,label\n1,2,x\n3,4,y\n5,6,x\n7,8,y\n9,1,x\n2,3,y\n4,5,x\n6,7,y\n');
    writeFileSync(join(dir, 'secret.csv'), `${SECRET},b\n1,2\n`);
    writeFileSync(join(root, 'inside-secret.csv'), `${SECRET},other\n1,2\n`);
    symlinkSync(join(dir, 'secret.csv'), join(root, 'link-out.csv'));
    symlinkSync(join(root, 'ok.csv'), join(root, 'link-in.csv'));
    spawnSync('mkfifo', [join(root, 'fifo.csv')]);
    writeFileSync(join(root, 'big.csv'), 'a,label\n' + '1,x\n'.repeat(1000));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const sandbox = () => dataSandbox({ roots: [root], maxDatasetBytes: 2048 });
  const load = (path: string, label = 'label') =>
    loadDataset({ dataset: { path, label } } as Parameters<typeof loadDataset>[0], 1, sandbox());
  /** Asserts a PermanentRunError whose message matches `rule`, names `path`, and holds no secret. */
  const refused = (fn: () => unknown, path: string, rule: RegExp): void =>
    assert.throws(fn, (err: unknown) => {
      assert.ok(err instanceof PermanentRunError, `not a PermanentRunError: ${String(err)}`);
      assert.match(err.message, rule);
      assert.ok(err.message.includes(path), `the message does not name ${path}: ${err.message}`);
      assert.ok(!err.message.includes(SECRET), `the message leaks file contents: ${err.message}`);
      return true;
    });

  it('reads a regular file under a root, also through a symlink that stays inside', () => {
    assert.equal(load(join(root, 'ok.csv')).train.size + load(join(root, 'ok.csv')).validation.size > 0, true);
    assert.equal(load(join(root, 'link-in.csv')).numClasses, 2);
  });

  it('refuses a ../ escape, a symlink out and an absolute path elsewhere, naming the rule', () => {
    const escape = join(root, '..', 'secret.csv');
    refused(() => load(escape, 'b'), escape, /outside this worker's data roots .*--data-root DIR/);
    refused(() => load(join(root, 'link-out.csv'), 'b'), 'link-out.csv', /resolves to .*secret\.csv, outside/);
    refused(() => load('/etc/passwd'), '/etc/passwd', /outside this worker's data roots/);
    refused(() => load('/proc/self/environ'), '/proc/self/environ', /outside this worker's data roots/);
  });

  it('refuses a FIFO at once (no blocking read) and a device even under a root', () => {
    const started = Date.now();
    refused(() => load(join(root, 'fifo.csv')), 'fifo.csv', /is a FIFO; a dataset must be a regular file/);
    assert.ok(Date.now() - started < 5000, 'the FIFO check took too long');
    const dev = dataSandbox({ roots: ['/dev'], maxDatasetBytes: 2048 });
    assert.throws(() => readDatasetFile('/dev/zero', dev), /\/dev\/zero is a device; a dataset must be a regular file/);
    refused(() => load('/dev/zero'), '/dev/zero', /outside this worker's data roots/);
  });

  it('refuses a file over the size limit without reading it whole', () => {
    refused(
      () => load(join(root, 'big.csv')),
      'big.csv',
      /larger than this worker's limit of 2048 bytes \(--max-dataset-size\)/,
    );
  });

  it("never quotes a spec file's contents in an error (missing column, duplicate header)", () => {
    refused(
      () => load(join(root, 'inside-secret.csv'), 'label'),
      'inside-secret.csv',
      /label column "label" not found .*2 columns \(not listed/,
    );
    writeFileSync(join(root, 'dup.csv'), `${SECRET},${SECRET}\n1,2\n`);
    refused(() => load(join(root, 'dup.csv'), 'x'), 'dup.csv', /duplicate column name in the header line/);
  });

  it('refuses a --data-root that does not exist', () => {
    assert.throws(
      () => dataSandbox({ roots: [join(dir, 'nope')] }),
      /--data-root .*nope: not a usable folder \(ENOENT\)/,
    );
  });
});

/** An attempt of the command runtime (the real runtime, real processes) under `limits`. */
function commandAttempt(command: string[], limits?: Partial<WorkerLimits>) {
  const logs: string[] = [];
  const controller = new AbortController();
  const ctx: AttemptContext = {
    experimentId: 'exp-sandbox',
    trialId: 'exp-sandbox-t0',
    trialNumber: 0,
    attemptId: 'exp-sandbox-t0-a1',
    attemptNumber: 1,
    config: trialSchema.parse({
      runtime: 'command',
      command,
      objective: { metric: 'score', mode: 'max' },
      stopGraceSeconds: 1,
    }),
    params: {},
    seed: 1,
    gpuIds: [],
    signal: controller.signal,
    report: () => undefined,
    checkpoint: { load: async () => undefined, save: async () => undefined },
    log: (line) => logs.push(line),
    limits: { data: dataSandbox(), ...limits },
  };
  return { ctx, logs, controller };
}

describe('security: programs die with their attempt and run under the operator limits', () => {
  let dir: string;
  before(() => (dir = mkdtempSync(join(tmpdir(), 'trellis-escape-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** A shell program that starts `setsid sleep 300` (writing its pid to `pidFile`), then does `then`. */
  const escaping = (pidFile: string, then: string): string[] => [
    'sh',
    '-c',
    `setsid sh -c 'echo $$ > ${pidFile}; exec sleep 300' >/dev/null 2>&1 < /dev/null & ` +
      `while [ ! -s ${pidFile} ]; do sleep 0.05; done; ${then}`,
  ];

  const escapeePid = (pidFile: string): number => Number(readFileSync(pidFile, 'utf8').trim());

  it('kills a setsid escapee when the program exits', async () => {
    const pidFile = join(dir, 'exit.pid');
    const { ctx } = commandAttempt(escaping(pidFile, 'echo \'{"score": 1}\''));
    const result = await commandRuntime.run(ctx);
    assert.equal(result.metrics.score, 1);
    const pid = escapeePid(pidFile);
    // Left its process group and session: only the attempt mark can find it.
    await waitUntil(() => processEnded(pid), 10_000, `escaped sleep (pid ${pid}) to be killed`);
  });

  it('kills a setsid escapee when the attempt is stopped', async () => {
    const pidFile = join(dir, 'stop.pid');
    const { ctx, controller, logs } = commandAttempt(escaping(pidFile, 'sleep 300'));
    const run = commandRuntime.run(ctx);
    await waitUntil(() => readFileSync(pidFile, { flag: 'a+' }).length > 0, 20_000, 'the escapee to start');
    const pid = escapeePid(pidFile);
    assert.equal(processEnded(pid), false);
    controller.abort();
    await assert.rejects(run, { name: 'StoppedError' });
    await waitUntil(() => processEnded(pid), 10_000, `escaped sleep (pid ${pid}) to be killed`);
    assert.ok(
      logs.some((l) => /had left its process group/.test(l)),
      logs.join('\n'),
    );
  });

  it('--max-procs: an attempt running more processes than allowed fails for good and leaves none', async () => {
    const pidFile = join(dir, 'procs.pids');
    const { ctx } = commandAttempt(
      ['sh', '-c', `for i in 1 2 3 4 5 6 7 8; do sleep 300 & echo $! >> ${pidFile}; done; wait`],
      { maxProcs: 3 },
    );
    await assert.rejects(commandRuntime.run(ctx), (err: unknown) => {
      assert.ok(err instanceof PermanentRunError, String(err));
      assert.match(err.message, /ran \d+ processes at once, more than this worker's --max-procs 3; stopped/);
      return true;
    });
    const pids = readFileSync(pidFile, 'utf8').trim().split('\n').map(Number);
    assert.ok(pids.length > 3);
    await waitUntil(() => pids.every((pid) => processEnded(pid)), 10_000, 'every sleep to be killed');
  });

  it('--max-memory: an allocation past the limit fails the program, and the error names the limit', async () => {
    const python = spawnSync('sh', ['-c', 'command -v python3'], { encoding: 'utf8' }).stdout.trim();
    // python3 raises MemoryError; without it, Node itself cannot reserve its heap under 64 MiB.
    const command = python
      ? [python, '-c', 'x = bytearray(512 * 2**20); print(\'{"score": 1}\')']
      : [process.execPath, '-e', 'Buffer.alloc(512 * 2 ** 20); console.log(\'{"score": 1}\')'];
    const { ctx } = commandAttempt(command, { maxMemoryBytes: 64 * 2 ** 20 });
    await assert.rejects(commandRuntime.run(ctx), (err: unknown) => {
      assert.match((err as Error).message, /exited with code|killed by signal/);
      assert.match((err as Error).message, /this worker's limits --max-memory 64 MiB/);
      if (python) assert.match((err as Error).message, /MemoryError/);
      return true;
    });
    // The same program without the limit succeeds: the limit is what failed it.
    const free = commandAttempt(command);
    assert.equal((await commandRuntime.run(free.ctx)).metrics.score, 1);
  });

  it('sets the limits through prlimit when present, else sh ulimit, and leaves unlimited programs alone', () => {
    assert.deepEqual(limitedCommand('train', ['--x'], {}), { program: 'train', args: ['--x'], wrapped: false });
    const wrapped = limitedCommand('train', ['--x'], { maxMemoryBytes: 2 ** 30, maxProcs: 7 });
    assert.equal(wrapped.wrapped, true);
    const line = [wrapped.program, ...wrapped.args].join(' ');
    assert.ok(
      /prlimit --as=1073741824 --nproc=7 -- train --x$/.test(line) ||
        /^sh -c ulimit -v 1048576 && ulimit -u 7 && exec "\$0" "\$@" train --x$/.test(line),
      line,
    );
  });

  it('still reports a missing program as not found under limits', async () => {
    const { ctx } = commandAttempt([join(dir, 'no-such-program')], { maxMemoryBytes: 2 ** 30 });
    await assert.rejects(commandRuntime.run(ctx), (err: unknown) => {
      assert.ok(err instanceof PermanentRunError, String(err));
      assert.match(err.message, /program not found/);
      return true;
    });
  });
});
