#!/usr/bin/env node
/**
 * Test services: a JetStream-enabled nats-server and FerretDB (MongoDB wire protocol, SQLite
 * handler) on free loopback ports, for the contract, integration and distributed tests.
 *
 *   node scripts/services.mjs up                 start both (installing what is missing), write .services.env
 *   node scripts/services.mjs down               stop both, remove their data; idempotent
 *   node scripts/services.mjs env                print .services.env (KEY=VALUE lines)
 *   node scripts/services.mjs status             print what runs, as JSON
 *   node scripts/services.mjs stop  nats|mongo   stop one service (keeps its port and data)
 *   node scripts/services.mjs start nats|mongo   start it again on the same port and data
 *   node scripts/services.mjs restart nats|mongo stop then start
 *
 * When NATS_URL or MONGODB_URI is already set in the environment, `up` starts nothing for it
 * and writes the given value. State (pids, ports, data directories) lives in .services/.
 *
 * Also a module: `import { up, down, stop, start, restart, readEnv } from './services.mjs'`.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import {
  closeSync,
  cpSync,
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const STATE_DIR = join(ROOT, '.services');
const STATE_FILE = join(STATE_DIR, 'state.json');
const ENV_FILE = join(ROOT, '.services.env');
const FERRETDB_VERSION = 'v1.24.2';
const FERRETDB_MODULE = 'github.com/FerretDB/FerretDB';
const READY_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 5_000;

/** @typedef {'nats' | 'mongo'} ServiceName */
/**
 * @typedef {{ port: number, dir: string, pid?: number, bin: string, url: string }} ServiceState
 * @typedef {{ nats?: ServiceState, mongo?: ServiceState, external: { NATS_URL?: string, MONGODB_URI?: string } }} State
 */

function log(msg) {
  process.stderr.write(`services: ${msg}\n`);
}

// ------------------------------------------------------------------ state

/** @returns {State} */
function readState() {
  try {
    return JSON.parse(readFileSync(STATE_FILE, 'utf8'));
  } catch {
    return { external: {} };
  }
}

/** @param {State} state */
function writeState(state) {
  mkdirSync(STATE_DIR, { recursive: true });
  writeFileSync(STATE_FILE, JSON.stringify(state, null, 2) + '\n');
  for (const name of /** @type {ServiceName[]} */ (['nats', 'mongo'])) {
    const pidFile = join(STATE_DIR, `${name}.pid`);
    const pid = state[name]?.pid;
    if (pid) writeFileSync(pidFile, `${pid}\n`);
    else rmSync(pidFile, { force: true });
  }
}

/** @param {State} state */
function envOf(state) {
  return {
    NATS_URL: state.external.NATS_URL ?? state.nats?.url,
    MONGODB_URI: state.external.MONGODB_URI ?? state.mongo?.url,
  };
}

/** @param {State} state */
function writeEnvFile(state) {
  const env = envOf(state);
  const lines = Object.entries(env)
    .filter(([, v]) => v)
    .map(([k, v]) => `${k}=${v}`);
  writeFileSync(ENV_FILE, lines.join('\n') + '\n');
}

/** The variables from .services.env, or undefined when the file is missing. */
export function readEnv() {
  if (!existsSync(ENV_FILE)) return undefined;
  /** @type {Record<string, string>} */
  const out = {};
  for (const line of readFileSync(ENV_FILE, 'utf8').split('\n')) {
    const m = /^\s*([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line);
    if (m) out[m[1]] = m[2].trim();
  }
  return out;
}

// ------------------------------------------------------------------ processes

function isAlive(pid) {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
  } catch (err) {
    return err.code === 'EPERM';
  }
  // A zombie (exited, not yet reaped) counts as dead.
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) Z/.test(stat);
  } catch {
    return true;
  }
}

/** True when `pid` runs `bin` (guards against a pid reused by another program). */
function runs(pid, bin) {
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return cmdline.split('\0')[0] === bin;
  } catch {
    return isAlive(pid); // no /proc (macOS): trust the pid
  }
}

function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

async function stopPid(pid, bin) {
  if (!pid || !isAlive(pid) || !runs(pid, bin)) return;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  const deadline = Date.now() + STOP_GRACE_MS;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return;
    await sleep(50);
  }
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    return;
  }
  const killDeadline = Date.now() + STOP_GRACE_MS;
  while (isAlive(pid) && Date.now() < killDeadline) await sleep(50);
}

function freePort() {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolvePort(port));
    });
  });
}

function which(cmd) {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

function tail(file, n = 30) {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-n).join('\n');
  } catch {
    return '(no log)';
  }
}

// ------------------------------------------------------------------ installation

/**
 * Debian's chromium, for the dashboard's browser tests (driven by playwright-core; no browser
 * download). Installed with apt-get when missing and this is root; TRELLIS_CHROMIUM overrides.
 */
export function ensureChromium() {
  const found = process.env.TRELLIS_CHROMIUM ?? which('chromium');
  if (found) return found;
  if (process.getuid?.() !== 0) {
    throw new Error(
      'chromium is not installed and this is not root: install it (Debian: sudo apt-get install -y chromium) or set TRELLIS_CHROMIUM',
    );
  }
  log('installing chromium (apt-get)');
  execFileSync('sh', ['-c', 'apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium'], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const installed = which('chromium');
  if (!installed) throw new Error('apt-get install chromium finished but chromium is not on PATH');
  return installed;
}

function ensureNatsServer() {
  const found = which('nats-server');
  if (found) return found;
  if (process.getuid?.() !== 0) {
    throw new Error(
      'nats-server is not installed and this is not root: install it (Debian/Ubuntu: sudo apt-get install -y nats-server) or set NATS_URL',
    );
  }
  log('installing nats-server (apt-get)');
  execFileSync('sh', ['-c', 'apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y nats-server'], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const installed = which('nats-server');
  if (!installed) throw new Error('apt-get install nats-server finished but nats-server is not on PATH');
  return installed;
}

function goEnv(name) {
  return execFileSync('go', ['env', name], { encoding: 'utf8' }).trim();
}

function ferretdbWorks(bin) {
  if (!existsSync(bin)) return false;
  const r = spawnSync(bin, ['--version'], { encoding: 'utf8', timeout: 20_000 });
  return r.status === 0 && r.stdout.includes(FERRETDB_VERSION);
}

/**
 * FerretDB v1.24.2 built with `go install …@v1.24.2` panics at start ("Invalid
 * build/version/version.txt file content"): the module zip has no version.txt, which its
 * release build generates. So: fetch the module, copy it, write version.txt, `go build`.
 */
function ensureFerretdb() {
  if (process.env.FERRETDB_BIN) {
    if (!ferretdbWorks(process.env.FERRETDB_BIN))
      throw new Error(`FERRETDB_BIN=${process.env.FERRETDB_BIN} does not run as FerretDB ${FERRETDB_VERSION}`);
    return process.env.FERRETDB_BIN;
  }
  if (!which('go')) {
    const guess = join(process.env.HOME ?? '/root', 'go', 'bin', 'ferretdb');
    if (ferretdbWorks(guess)) return guess;
    throw new Error(
      `FerretDB is not built and Go is not installed: install Go, or set MONGODB_URI to a MongoDB server`,
    );
  }
  const bin = join(goEnv('GOPATH').split(':')[0], 'bin', 'ferretdb');
  if (ferretdbWorks(bin)) return bin;
  log(`building FerretDB ${FERRETDB_VERSION} into ${bin} (a few minutes the first time)`);
  const info = JSON.parse(
    execFileSync('go', ['mod', 'download', '-json', `${FERRETDB_MODULE}@${FERRETDB_VERSION}`], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    }),
  );
  if (!info.Dir)
    throw new Error(`go mod download ${FERRETDB_MODULE}@${FERRETDB_VERSION} gave no directory: ${info.Error ?? ''}`);
  const src = mkdtempSync(join(tmpdir(), 'trellis-ferretdb-src-'));
  try {
    cpSync(info.Dir, src, { recursive: true });
    makeWritable(src);
    writeFileSync(join(src, 'build', 'version', 'version.txt'), `${FERRETDB_VERSION}\n`);
    mkdirSync(dirname(bin), { recursive: true });
    execFileSync('go', ['build', '-o', bin, './cmd/ferretdb'], {
      cwd: src,
      stdio: ['ignore', 'inherit', 'inherit'],
      env: { ...process.env, GOFLAGS: '-mod=mod', CGO_ENABLED: '0' },
    });
  } finally {
    rmSync(src, { recursive: true, force: true });
  }
  if (!ferretdbWorks(bin)) throw new Error(`built ${bin} but it does not report ${FERRETDB_VERSION}`);
  return bin;
}

function makeWritable(dir) {
  chmodSync(dir, 0o755);
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const st = statSync(p);
    if (st.isDirectory()) makeWritable(p);
    else chmodSync(p, 0o644);
  }
}

// ------------------------------------------------------------------ readiness

/** Resolves when a NATS server at port sends its INFO line. */
function natsAnswers(port) {
  return new Promise((resolveOk) => {
    const sock = createConnection({ host: '127.0.0.1', port });
    let buf = '';
    const done = (ok) => {
      sock.destroy();
      resolveOk(ok);
    };
    sock.setTimeout(2000, () => done(false));
    sock.on('error', () => done(false));
    sock.on('data', (d) => {
      buf += d.toString('utf8');
      if (buf.includes('\r\n')) done(buf.startsWith('INFO ') && buf.includes('"jetstream":true'));
    });
  });
}

async function mongoAnswers(url) {
  const { MongoClient } = await import('mongodb');
  const client = new MongoClient(url, { serverSelectionTimeoutMS: 2000, connectTimeoutMS: 2000 });
  try {
    await client.db('admin').command({ ping: 1 });
    return true;
  } catch {
    return false;
  } finally {
    await client.close().catch(() => undefined);
  }
}

async function waitFor(name, check, logFile) {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(200);
  }
  throw new Error(`${name} did not answer within ${READY_TIMEOUT_MS / 1000} s; its log:\n${tail(logFile)}`);
}

// ------------------------------------------------------------------ services

/** @param {ServiceName} name @param {ServiceState} s */
function spawnService(name, s) {
  const logFile = join(STATE_DIR, `${name}.log`);
  mkdirSync(STATE_DIR, { recursive: true });
  const fd = openSync(logFile, 'a');
  let args;
  if (name === 'nats') {
    mkdirSync(s.dir, { recursive: true });
    args = ['-js', '-a', '127.0.0.1', '-p', String(s.port), '-sd', s.dir];
  } else {
    mkdirSync(join(s.dir, 'data'), { recursive: true });
    mkdirSync(join(s.dir, 'state'), { recursive: true });
    args = [
      '--handler=sqlite',
      `--sqlite-url=file:${join(s.dir, 'data')}/`,
      `--listen-addr=127.0.0.1:${s.port}`,
      `--state-dir=${join(s.dir, 'state')}`,
      '--telemetry=disable',
      '--log-level=warn',
      '--debug-addr=-',
    ];
  }
  const child = spawn(s.bin, args, { detached: true, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  child.unref();
  if (!child.pid) throw new Error(`could not start ${s.bin}`);
  s.pid = child.pid;
  return logFile;
}

/** @param {ServiceName} name @param {ServiceState} s */
async function waitReady(name, s, logFile) {
  if (name === 'nats') await waitFor('nats-server', () => natsAnswers(s.port), logFile);
  else await waitFor('FerretDB', () => mongoAnswers(s.url), logFile);
}

/** @param {ServiceName} name @param {ServiceState | undefined} s */
async function answers(name, s) {
  if (!s?.pid || !isAlive(s.pid) || !runs(s.pid, s.bin)) return false;
  return name === 'nats' ? natsAnswers(s.port) : mongoAnswers(s.url);
}

/** @param {ServiceName} name */
async function createService(name) {
  const bin = name === 'nats' ? ensureNatsServer() : ensureFerretdb();
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), name === 'nats' ? 'trellis-nats-' : 'trellis-ferretdb-'));
  const url = name === 'nats' ? `nats://127.0.0.1:${port}` : `mongodb://127.0.0.1:${port}/`;
  return { port, dir, bin, url };
}

/**
 * Starts what is not running yet and writes .services.env. Returns the variables.
 * @returns {Promise<{ NATS_URL: string, MONGODB_URI: string }>}
 */
export async function up() {
  const state = readState();
  state.external = {};
  if (process.env.NATS_URL) state.external.NATS_URL = process.env.NATS_URL;
  if (process.env.MONGODB_URI) state.external.MONGODB_URI = process.env.MONGODB_URI;
  for (const name of /** @type {ServiceName[]} */ (['nats', 'mongo'])) {
    const external = name === 'nats' ? state.external.NATS_URL : state.external.MONGODB_URI;
    if (external) {
      log(`${name}: using ${external} from the environment`);
      continue;
    }
    if (await answers(name, state[name])) {
      log(`${name}: already running at ${state[name].url}`);
      continue;
    }
    if (state[name]) await removeService(state, name);
    const s = await createService(name);
    state[name] = s;
    const logFile = spawnService(name, s);
    writeState(state);
    try {
      await waitReady(name, s, logFile);
    } catch (err) {
      await removeService(state, name);
      writeState(state);
      throw err;
    }
    log(`${name}: ${s.url} (pid ${s.pid}, data ${s.dir})`);
  }
  writeState(state);
  writeEnvFile(state);
  const env = envOf(state);
  return { NATS_URL: /** @type {string} */ (env.NATS_URL), MONGODB_URI: /** @type {string} */ (env.MONGODB_URI) };
}

/** @param {State} state @param {ServiceName} name */
async function removeService(state, name) {
  const s = state[name];
  if (!s) return;
  await stopPid(s.pid, s.bin);
  rmSync(s.dir, { recursive: true, force: true });
  delete state[name];
}

/** Stops everything `up` started and removes its data; idempotent. */
export async function down() {
  const state = readState();
  for (const name of /** @type {ServiceName[]} */ (['nats', 'mongo'])) {
    if (state[name]) log(`${name}: stopping pid ${state[name].pid ?? '-'}`);
    await removeService(state, name);
  }
  rmSync(STATE_DIR, { recursive: true, force: true });
  rmSync(ENV_FILE, { force: true });
}

/** @param {string} name @returns {ServiceName} */
function serviceName(name) {
  if (name === 'nats') return 'nats';
  if (name === 'mongo' || name === 'mongodb' || name === 'ferretdb') return 'mongo';
  throw new Error(`unknown service ${JSON.stringify(name)}: use nats or mongo`);
}

/** Stops one service, keeping its port and data for `start`. */
export async function stop(which_) {
  const name = serviceName(which_);
  const state = readState();
  const s = state[name];
  if (!s) throw new Error(`${name} was not started by this script (run up first)`);
  await stopPid(s.pid, s.bin);
  delete s.pid;
  writeState(state);
}

/** Starts a stopped service again on the same port with the same data. */
export async function start(which_) {
  const name = serviceName(which_);
  const state = readState();
  const s = state[name];
  if (!s) throw new Error(`${name} was not started by this script (run up first)`);
  if (await answers(name, s)) return;
  await stopPid(s.pid, s.bin);
  const logFile = spawnService(name, s);
  writeState(state);
  await waitReady(name, s, logFile);
}

export async function restart(which_) {
  await stop(which_);
  await start(which_);
}

export async function status() {
  const state = readState();
  const out = {};
  for (const name of /** @type {ServiceName[]} */ (['nats', 'mongo'])) {
    const s = state[name];
    out[name] = s ? { url: s.url, pid: s.pid ?? null, running: await answers(name, s), dir: s.dir } : null;
  }
  return { ...out, external: state.external, env: readEnv() ?? null };
}

// ------------------------------------------------------------------ CLI

async function main(argv) {
  const [cmd, arg] = argv;
  switch (cmd) {
    case 'up':
      await up();
      process.stdout.write(readFileSync(ENV_FILE, 'utf8'));
      return 0;
    case 'down':
      await down();
      return 0;
    case 'env': {
      if (!existsSync(ENV_FILE)) {
        log('not up: run `node scripts/services.mjs up`');
        return 1;
      }
      process.stdout.write(readFileSync(ENV_FILE, 'utf8'));
      return 0;
    }
    case 'status':
      process.stdout.write(JSON.stringify(await status(), null, 2) + '\n');
      return 0;
    case 'stop':
    case 'start':
    case 'restart': {
      if (!arg) {
        log(`usage: services.mjs ${cmd} nats|mongo`);
        return 2;
      }
      await { stop, start, restart }[cmd](arg);
      log(`${serviceName(arg)}: ${cmd === 'stop' ? 'stopped' : 'running'}`);
      return 0;
    }
    default:
      log('usage: node scripts/services.mjs up|down|env|status|stop|start|restart [nats|mongo]');
      return 2;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err) => {
      log(err instanceof Error ? err.message : String(err));
      process.exit(1);
    },
  );
}
