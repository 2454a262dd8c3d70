/**
 * The Python SDK (sdk/python) is installed with `pip install ./sdk/python` into a fresh venv and
 * its tests are run there: with pytest when the venv has it (pip may fetch it from PyPI; a
 * failure to fetch is not fatal), otherwise with `python -m unittest` (the tests are unittest
 * style, so both runners run the same tests). Skipped, saying so, only when there is no Python 3.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const sdk = join(root, 'sdk', 'python');

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

const python = python3();

describe('Python SDK (sdk/python)', () => {
  it(
    'installs with pip install ./sdk/python and passes its tests',
    { skip: python ? false : 'no Python 3 on this machine' },
    async () => {
      const venv = await mkdtemp(join(tmpdir(), 'trellis-sdk-venv-'));
      try {
        const made = run(python!, ['-m', 'venv', venv], 120_000);
        assert.equal(made.status, 0, `python -m venv failed:\n${made.output}`);
        const py = join(venv, 'bin', 'python');
        // `pip install ./sdk/python` as a user runs it; pip fetches the build backend (setuptools)
        // from PyPI. Offline, the venv's bundled setuptools cannot build a wheel, so the source
        // folder goes on the venv's path instead (a .pth file) and the test says so.
        const install = run(py, ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', sdk], 180_000);
        if (install.status !== 0) {
          console.log(
            `python-sdk: pip install ./sdk/python needs PyPI for setuptools and failed here; testing the source tree instead:\n${install.output.slice(-2000)}`,
          );
          const site = run(
            py,
            ['-c', 'import sysconfig; print(sysconfig.get_paths()["purelib"])'],
            30_000,
          ).output.trim();
          await writeFile(join(site, 'trellis-sdk-src.pth'), `${join(sdk, 'src')}\n`);
        }
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
          run(
            py,
            ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '--timeout', '15', 'pytest'],
            120_000,
          ).status === 0;
        const tests = join(sdk, 'tests');
        const result = hasPytest
          ? run(py, ['-m', 'pytest', '-q', '-p', 'no:cacheprovider', tests], 300_000)
          : run(py, ['-m', 'unittest', 'discover', '-s', tests, '-t', tests, '-v'], 300_000);
        if (!hasPytest)
          console.log('python-sdk: pytest could not be installed (offline?); ran the same tests with unittest');
        assert.equal(result.status, 0, `SDK tests failed:\n${result.output}`);
        assert.match(result.output, hasPytest ? /\d+ passed/ : /Ran \d+ tests[^]*OK/);
        assert.ok(existsSync(join(venv, 'bin', 'python')));
      } finally {
        await rm(venv, { recursive: true, force: true });
      }
    },
  );
});
