/**
 * The coordinator loads no training code: `trellis coordinator` runs as a real process (loopback,
 * temporary state directory, embedded store and bus), takes a submitted classify sweep (validated
 * from shared/catalogue), and the modules it loaded — recorded from inside the process by a
 * `--import` hook — include no `@tensorflow/*` package. The same hook, run over the worker's loss
 * module, does see TensorFlow.js: the check can fail.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CLI_PATH } from '../../cli/embedded.js';
import { trellis } from '../helpers/cli.js';
import { tempDir } from '../helpers/services.js';

const HOOK = fileURLToPath(new URL('../../../test/fixtures/record-modules.mjs', import.meta.url));
const LOSSES = fileURLToPath(new URL('../../worker/losses/index.js', import.meta.url));
const TENSORFLOW = /[/\\]node_modules[/\\]@tensorflow[/\\]/;

function embeddedEnv(log: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, TRELLIS_MODULE_LOG: log };
  delete env.MONGODB_URI;
  delete env.NATS_URL;
  return env;
}

function loaded(log: string): string[] {
  return existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter(Boolean) : [];
}

describe('coordinator process', () => {
  it('loads no @tensorflow module, before and after validating a classify sweep', async () => {
    const tmp = tempDir('trellis-modules-');
    const log = join(tmp.dir, 'modules.txt');
    const child = spawn(
      process.execPath,
      ['--import', HOOK, CLI_PATH, 'coordinator', '--listen', '127.0.0.1:0', '--dir', join(tmp.dir, 'state')],
      { env: embeddedEnv(log), stdio: ['ignore', 'ignore', 'pipe'] },
    );
    try {
      let stderr = '';
      const port = await new Promise<number>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no LISTENING line in 60 s: ${stderr.slice(-2000)}`)), 60_000);
        child.stderr.on('data', (d: Buffer) => {
          stderr += d.toString();
          const match = /LISTENING (\d+)/.exec(stderr);
          if (match) {
            clearTimeout(timer);
            resolve(Number(match[1]));
          }
        });
        child.once('exit', (code) => {
          clearTimeout(timer);
          reject(new Error(`coordinator exited (${code}): ${stderr.slice(-2000)}`));
        });
      });

      writeFileSync(
        join(tmp.dir, 'sweep.yaml'),
        `apiVersion: trellis/v1
kind: Sweep
name: modules-check
trial: { runtime: tfjs, task: classify, dataset: optdigits, loss: { name: gce, q: 0.5 } }
search: { algorithm: random, space: { lr: { loguniform: [0.001, 0.1] } } }
budget: { trials: 1 }
`,
      );
      const good = await trellis(['submit', 'sweep.yaml', '--coordinator', `127.0.0.1:${port}`], tmp.dir);
      assert.equal(good.code, 0, good.stderr);
      writeFileSync(
        join(tmp.dir, 'bad.yaml'),
        readFileSync(join(tmp.dir, 'sweep.yaml'), 'utf8').replace('q: 0.5', 'q: 1.5'),
      );
      const bad = await trellis(['submit', 'bad.yaml', '--coordinator', `127.0.0.1:${port}`], tmp.dir);
      assert.equal(bad.code, 2, bad.stderr);
      assert.match(bad.stderr, /trial\.loss: loss gce: q must be in \(0, 1\], got 1\.5/);

      child.kill('SIGTERM');
      const [code] = (await once(child, 'exit')) as [number | null];
      assert.equal(code, 0, stderr.slice(-2000));

      const modules = loaded(log);
      assert.ok(
        modules.some((m) => m.includes('/coordinator/coordinator.js')),
        'the hook recorded the coordinator itself',
      );
      assert.ok(
        modules.some((m) => m.includes('/shared/catalogue/')),
        'the coordinator validated from the catalogue',
      );
      assert.deepEqual(
        modules.filter((m) => TENSORFLOW.test(m) || m.includes('/worker/')),
        [],
        'modules from @tensorflow or worker/',
      );
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      tmp.remove();
    }
  });

  it('the same hook sees TensorFlow.js when the worker loss module is loaded', async () => {
    const tmp = tempDir('trellis-modules-');
    const log = join(tmp.dir, 'modules.txt');
    try {
      const child = spawn(process.execPath, ['--import', HOOK, LOSSES], { env: embeddedEnv(log), stdio: 'ignore' });
      const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
      const [code] = (await once(child, 'exit')) as [number | null];
      clearTimeout(timer);
      assert.equal(code, 0);
      assert.ok(
        loaded(log).some((m) => TENSORFLOW.test(m)),
        'the worker loss module loads @tensorflow/tfjs',
      );
    } finally {
      tmp.remove();
    }
  });
});
