import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ENV_NAMES, EnvError, parseEnv } from '../../shared/env.js';
import { InvalidArgumentError } from '../../shared/errors.js';

// dist/test/unit → repository root.
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** The message of the error parseEnv throws for source (fails the test when it does not throw). */
function envError(source: Record<string, string>): string {
  try {
    parseEnv(source);
  } catch (err) {
    assert.ok(err instanceof EnvError, `an EnvError, got ${String(err)}`);
    assert.ok(err instanceof InvalidArgumentError, 'the CLI maps InvalidArgumentError to exit code 2');
    return err.message;
  }
  assert.fail(`parseEnv(${JSON.stringify(source)}) did not throw`);
}

describe('environment', () => {
  it('has defaults for an empty environment, and blank values count as unset', () => {
    for (const source of [{}, { TRELLIS_LEASE_MS: '', MONGODB_URI: '  ', TRELLIS_REAPER: '' }]) {
      const env = parseEnv(source);
      assert.equal(env.TRELLIS_LEASE_MS, 30_000);
      assert.equal(env.TRELLIS_COORDINATOR, '127.0.0.1:50051');
      assert.equal(env.TRELLIS_HOME, '.trellis');
      assert.equal(env.TRELLIS_DB, 'trellis');
      assert.equal(env.TRELLIS_WRITE_CONCERN, 'majority');
      assert.equal(env.TRELLIS_MONGO_CAS, 'auto');
      assert.equal(env.TRELLIS_DURABLE, false);
      assert.equal(env.TRELLIS_REAPER, true);
      assert.equal(env.MONGODB_URI, undefined);
      assert.equal(env.NATS_URL, undefined);
      assert.equal(env.TRELLIS_LOG_LEVEL, undefined);
      assert.equal(env.TRELLIS_TF_BACKEND, undefined);
    }
  });

  it('parses good values into their types', () => {
    const env = parseEnv({
      TRELLIS_LEASE_MS: '4500',
      TRELLIS_WRITE_CONCERN: '2',
      TRELLIS_DURABLE: 'true',
      TRELLIS_REAPER: '0',
      TRELLIS_TF_BACKEND: ' WASM ',
      MONGODB_URI: 'mongodb+srv://db.example/x',
      NATS_URL: 'nats://a:4222, nats://b:4222',
      TRELLIS_LOG_LEVEL: 'debug',
      TRELLIS_COORDINATOR: 'coordinator.local:6000',
      UNRELATED: 'whatever',
    });
    assert.equal(env.TRELLIS_LEASE_MS, 4500);
    assert.equal(env.TRELLIS_WRITE_CONCERN, 2);
    assert.equal(env.TRELLIS_DURABLE, true);
    assert.equal(env.TRELLIS_REAPER, false);
    assert.equal(env.TRELLIS_TF_BACKEND, 'wasm');
    assert.equal(env.MONGODB_URI, 'mongodb+srv://db.example/x');
    assert.equal(env.TRELLIS_LOG_LEVEL, 'debug');
    assert.equal(env.TRELLIS_COORDINATOR, 'coordinator.local:6000');
    assert.ok(!('UNRELATED' in env), 'only Trellis variables are kept');
  });

  it('names the variable, what is allowed and the value it got', () => {
    const cases: [Record<string, string>, RegExp][] = [
      [{ TRELLIS_LEASE_MS: 'soon' }, /^TRELLIS_LEASE_MS: must be a whole number of milliseconds >= 100, got "soon"$/],
      [{ TRELLIS_LEASE_MS: '99' }, /^TRELLIS_LEASE_MS: .*>= 100, got "99"$/],
      [{ TRELLIS_LEASE_MS: '1500.5' }, /^TRELLIS_LEASE_MS: .*whole number/],
      [
        { TRELLIS_LOG_LEVEL: 'verbose' },
        /^TRELLIS_LOG_LEVEL: must be one of fatal, error, warn, info, debug, trace, silent, got "verbose"$/,
      ],
      [{ TRELLIS_TF_BACKEND: 'cuda' }, /^TRELLIS_TF_BACKEND: must be one of cpu, wasm, tensorflow, tensorflow-gpu/],
      [{ TRELLIS_MONGO_CAS: 'maybe' }, /^TRELLIS_MONGO_CAS: must be one of native, claims, auto, got "maybe"$/],
      [
        { TRELLIS_WRITE_CONCERN: 'all' },
        /^TRELLIS_WRITE_CONCERN: must be 'majority' or a number of members, got "all"$/,
      ],
      [{ TRELLIS_REAPER: 'off' }, /^TRELLIS_REAPER: must be 1 or true .*, 0 or false, got "off"$/],
      [{ TRELLIS_DURABLE: 'yes' }, /^TRELLIS_DURABLE: must be 1 or true/],
      [{ MONGODB_URI: 'db:27017' }, /^MONGODB_URI: must be a MongoDB connection string/],
      [{ TRELLIS_DB: 'a.b' }, /^TRELLIS_DB: must be a database name/],
      [{ TRELLIS_COORDINATOR: 'localhost' }, /^TRELLIS_COORDINATOR: must be host:port/],
    ];
    for (const [source, pattern] of cases) assert.match(envError(source), pattern);
  });

  it('reports every bad variable at once', () => {
    const lines = envError({ TRELLIS_LEASE_MS: '-1', TRELLIS_LOG_LEVEL: 'loud' }).split('\n');
    assert.equal(lines.length, 2);
    assert.ok(lines.some((line) => line.startsWith('TRELLIS_LEASE_MS:')));
    assert.ok(lines.some((line) => line.startsWith('TRELLIS_LOG_LEVEL:')));
  });

  it('README.md documents every variable, and names none that is not read', () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## Environment variables'));
    assert.ok(section.length > 0 && readme.includes('## Environment variables'), 'README has the section');
    const table = section.split('\n## ')[0]!;
    const documented = [...table.matchAll(/^\| `([A-Z_]+)` \|/gm)].map((m) => m[1]);
    assert.deepEqual([...documented].sort(), [...ENV_NAMES].sort());
  });

  it('is read by shared/env.ts alone', () => {
    const readers: string[] = [];
    const walk = (dir: string): void => {
      for (const name of readdirSync(dir)) {
        const path = join(dir, name);
        if (statSync(path).isDirectory()) {
          if (!['node_modules', 'dist', 'test', 'generated'].includes(name) && !name.startsWith('.')) walk(path);
        } else if (name.endsWith('.ts') && /process\.env\b/.test(readFileSync(path, 'utf8'))) {
          readers.push(relative(root, path));
        }
      }
    };
    walk(root);
    assert.deepEqual(readers, ['shared/env.ts']);
  });

  it('a bad variable makes the CLI exit 2 naming it', () => {
    const cli = join(root, 'dist', 'cli', 'main.js');
    const result = spawnSync(process.execPath, [cli, 'list'], {
      env: { ...process.env, TRELLIS_LEASE_MS: 'soon' },
      encoding: 'utf8',
      timeout: 30_000,
    });
    assert.equal(result.status, 2, result.stderr);
    assert.match(result.stderr, /TRELLIS_LEASE_MS: must be a whole number of milliseconds >= 100, got "soon"/);
  });
});
