#!/usr/bin/env node
// `npm test`: brings up the test services (NATS JetStream, FerretDB and mongo-java-server on
// loopback) unless NATS_URL, MONGODB_URI and MONGODB_NATIVE_URI are already set, runs every test
// file under dist/test with node's test runner, and brings the services down again. Exit code:
// the test runner's.
//
// Every test has a deadline: --test-timeout (TRELLIS_TEST_TIMEOUT_MS, default 180 s per test), so a
// hang is a failure naming the test rather than a stalled suite. Tests put tighter deadlines on
// what they await (see docs/testing.md).
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const only = process.argv.slice(2); // optional: folders or files under dist/test to run

function findTests(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...findTests(path));
    else if (name.endsWith('.test.js')) out.push(path);
  }
  return out;
}

const files = (only.length > 0 ? only.map((p) => join(root, p)) : [join(root, 'dist', 'test')]).flatMap((p) =>
  statSync(p).isDirectory() ? findTests(p) : [p],
);

let started = false;
const services = await import('./services.mjs');
// The dashboard's browser tests need Debian's chromium (test/browser/).
if (files.some((f) => f.includes(`${join('test', 'browser')}`)))
  process.env.TRELLIS_CHROMIUM = services.ensureChromium();
if (!process.env.MONGODB_URI || !process.env.NATS_URL || !process.env.MONGODB_NATIVE_URI) {
  const env = await services.up();
  Object.assign(process.env, env);
  started = true;
}

const timeoutMs = Number(process.env.TRELLIS_TEST_TIMEOUT_MS ?? 180_000);
if (!Number.isInteger(timeoutMs) || timeoutMs < 1000) {
  process.stderr.write(
    `TRELLIS_TEST_TIMEOUT_MS must be an integer >= 1000 (ms), got ${process.env.TRELLIS_TEST_TIMEOUT_MS}\n`,
  );
  process.exit(2);
}
const args = ['--test', '--test-concurrency=1', `--test-timeout=${timeoutMs}`, '--test-reporter=spec', ...files];

const code = await new Promise((resolve) => {
  const child = spawn(process.execPath, args, {
    stdio: 'inherit',
    env: {
      ...process.env,
      TRELLIS_LOG_LEVEL: process.env.TRELLIS_LOG_LEVEL ?? 'warn',
      TRELLIS_TF_BACKEND: process.env.TRELLIS_TF_BACKEND ?? 'wasm',
    },
  });
  child.on('exit', (c, signal) => resolve(c ?? (signal ? 1 : 0)));
});

if (started) await services.down();
process.exit(code);
