/**
 * Backend selection falls through a native package that is installed but fails to load
 * (simulated with module hooks in a child process) to the WebAssembly backend, unless the native
 * backend is forced: then it fails and says how to set it up.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { within } from '../helpers/deadline.js';

const REGISTER = fileURLToPath(new URL('../../../test/fixtures/broken-native/register.mjs', import.meta.url));
const BACKEND = pathToFileURL(fileURLToPath(new URL('../../worker/runtimes/tfjs/backend.js', import.meta.url))).href;

/** Runs selectBackend(true) in a child whose native packages fail to load. */
async function selectInChild(
  extraEnv: Record<string, string>,
  log: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env, BROKEN_NATIVE_LOG: log, ...extraEnv };
  if (!('TRELLIS_TF_BACKEND' in extraEnv)) delete env.TRELLIS_TF_BACKEND;
  const script = `import(${JSON.stringify(BACKEND)}).then((m) => m.selectBackend(true)).then((b) => console.log(b.name, b.tf.getBackend()))`;
  return within(
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(
        process.execPath,
        ['--import', pathToFileURL(REGISTER).href, '--input-type=module', '-e', script],
        {
          env,
        },
      );
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('exit', (code) => resolve({ code: code ?? 1, stdout, stderr }));
    }),
    60_000,
    'the backend-selection child process to exit',
  );
}

describe('tfjs backend selection', () => {
  it('fails a forced native backend that cannot load with the setup hint, without falling back', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'trellis-backend-'));
    try {
      const log = join(dir, 'attempted');
      const result = await selectInChild({ TRELLIS_TF_BACKEND: 'tensorflow' }, log);
      assert.notEqual(result.code, 0, result.stdout);
      assert.equal(result.stdout, '', 'no backend was selected');
      assert.match(result.stderr, /no TensorFlow\.js backend could be loaded \(TRELLIS_TF_BACKEND=tensorflow\)/);
      assert.match(result.stderr, /@tensorflow\/tfjs-node: libtensorflow\.so\.2: cannot open shared object file/);
      assert.match(result.stderr, /run scripts\/setup-native-tf\.sh/);
      assert.deepEqual(readFileSync(log, 'utf8').trim().split('\n'), [
        '@tensorflow/tfjs-node-gpu',
        '@tensorflow/tfjs-node',
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('falls back to wasm when tfjs-node-gpu and tfjs-node are present but fail to load', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'trellis-backend-'));
    try {
      const log = join(dir, 'attempted');
      const result = await selectInChild({}, log);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stdout.trim(), 'wasm wasm');
      assert.deepEqual(
        readFileSync(log, 'utf8').trim().split('\n'),
        ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'],
        'both native packages were tried first',
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
