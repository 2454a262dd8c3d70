#!/usr/bin/env node
/**
 * Test services on free loopback ports, for the contract, integration and distributed tests:
 *   nats        a JetStream-enabled nats-server                              NATS_URL
 *   mongo       FerretDB (MongoDB wire protocol, SQLite handler)             MONGODB_URI
 *   mongonative mongo-java-server (in memory, reports MongoDB 6.0 / wire 17) MONGODB_NATIVE_URI
 * FerretDB's findAndModify is not atomic, so MongoStore takes its "claims" compare-and-set path
 * there; mongo-java-server is not FerretDB, so it takes the native path real MongoDB uses.
 *
 *   node scripts/services.mjs up                 start all (installing/building what is missing), write .services.env
 *   node scripts/services.mjs down               stop all, remove their data; idempotent
 *   node scripts/services.mjs env                print .services.env (KEY=VALUE lines)
 *   node scripts/services.mjs status             print what runs, as JSON
 *   node scripts/services.mjs stop  SERVICE      stop one service (keeps its port and data)
 *   node scripts/services.mjs start SERVICE      start it again on the same port and data
 *   node scripts/services.mjs restart SERVICE    stop then start
 *
 * When a service's variable is already set in the environment, `up` starts nothing for it and
 * writes the given value. State (pids, ports, data directories) lives in .services/; helpers in
 * scripts/services/ (processes.mjs, install.mjs, the Maven project mongo-java-server/).
 *
 * Also a module: `import { up, down, stop, start, restart, readEnv } from './services.mjs'`.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { ensureFerretdb, ensureMongoNative, ensureNatsServer } from './services/install.mjs';

export { ensureChromium, ensureFerretdb, ensureNatsServer } from './services/install.mjs';
import { freePort, isAlive, log, mongoAnswers, natsAnswers, runs, stopPid, waitFor } from './services/processes.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const STATE_DIR = join(ROOT, '.services');
const STATE_FILE = join(STATE_DIR, 'state.json');
const ENV_FILE = join(ROOT, '.services.env');

/** @typedef {'nats' | 'mongo' | 'mongonative'} ServiceName */
/**
 * @typedef {{ port: number, dir: string, pid?: number, bin: string, args?: string[], url: string }} ServiceState
 * @typedef {{ nats?: ServiceState, mongo?: ServiceState, mongonative?: ServiceState, external: Record<string, string> }} State
 */

/** @type {ServiceName[]} */
const NAMES = ['nats', 'mongo', 'mongonative'];
/** The environment variable each service is known by. */
const VARS = { nats: 'NATS_URL', mongo: 'MONGODB_URI', mongonative: 'MONGODB_NATIVE_URI' };
const TITLES = { nats: 'nats-server', mongo: 'FerretDB', mongonative: 'mongo-java-server' };

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
  for (const name of NAMES) {
    const pidFile = join(STATE_DIR, `${name}.pid`);
    const pid = state[name]?.pid;
    if (pid) writeFileSync(pidFile, `${pid}\n`);
    else rmSync(pidFile, { force: true });
  }
}

/** @param {State} state @returns {Record<string, string | undefined>} */
function envOf(state) {
  return Object.fromEntries(NAMES.map((n) => [VARS[n], state.external[VARS[n]] ?? state[n]?.url]));
}

/** @param {State} state */
function writeEnvFile(state) {
  const lines = Object.entries(envOf(state))
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

// ------------------------------------------------------------------ services

/** @param {ServiceName} name @param {ServiceState} s */
function argsOf(name, s) {
  if (name === 'nats') {
    mkdirSync(s.dir, { recursive: true });
    return ['-js', '-a', '127.0.0.1', '-p', String(s.port), '-sd', s.dir];
  }
  if (name === 'mongonative') return [...(s.args ?? []), String(s.port)]; // in memory: s.dir stays empty
  mkdirSync(join(s.dir, 'data'), { recursive: true });
  mkdirSync(join(s.dir, 'state'), { recursive: true });
  return [
    '--handler=sqlite',
    `--sqlite-url=file:${join(s.dir, 'data')}/`,
    `--listen-addr=127.0.0.1:${s.port}`,
    `--state-dir=${join(s.dir, 'state')}`,
    '--telemetry=disable',
    '--log-level=warn',
    '--debug-addr=-',
  ];
}

/** @param {ServiceName} name @param {ServiceState} s */
function spawnService(name, s) {
  const logFile = join(STATE_DIR, `${name}.log`);
  mkdirSync(STATE_DIR, { recursive: true });
  const fd = openSync(logFile, 'a');
  const child = spawn(s.bin, argsOf(name, s), { detached: true, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  child.unref();
  if (!child.pid) throw new Error(`could not start ${s.bin}`);
  s.pid = child.pid;
  return logFile;
}

/** @param {ServiceName} name @param {ServiceState} s */
function check(name, s) {
  return name === 'nats' ? natsAnswers(s.port) : mongoAnswers(s.url);
}

/** @param {ServiceName} name @param {ServiceState} s */
async function waitReady(name, s, logFile) {
  await waitFor(TITLES[name], () => check(name, s), logFile);
}

/** @param {ServiceName} name @param {ServiceState | undefined} s */
async function answers(name, s) {
  if (!s?.pid || !isAlive(s.pid) || !runs(s.pid, s.bin)) return false;
  return check(name, s);
}

/** @param {ServiceName} name @returns {Promise<ServiceState>} */
async function createService(name) {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), `trellis-${name}-`));
  if (name === 'nats') return { port, dir, bin: ensureNatsServer(), url: `nats://127.0.0.1:${port}` };
  const url = `mongodb://127.0.0.1:${port}/`;
  if (name === 'mongo') return { port, dir, bin: ensureFerretdb(), url };
  const { bin, args } = ensureMongoNative();
  return { port, dir, bin, args, url };
}

/**
 * Starts what is not running yet and writes .services.env. Returns the variables.
 * @returns {Promise<{ NATS_URL: string, MONGODB_URI: string, MONGODB_NATIVE_URI: string }>}
 */
export async function up() {
  const state = readState();
  state.external = {};
  for (const name of NAMES) if (process.env[VARS[name]]) state.external[VARS[name]] = process.env[VARS[name]];
  for (const name of NAMES) {
    const external = state.external[VARS[name]];
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
  return /** @type {{ NATS_URL: string, MONGODB_URI: string, MONGODB_NATIVE_URI: string }} */ (envOf(state));
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
  for (const name of NAMES) {
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
  if (name === 'mongonative' || name === 'mongo-java-server') return 'mongonative';
  throw new Error(`unknown service ${JSON.stringify(name)}: use nats, mongo or mongonative`);
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
  for (const name of NAMES) {
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
        log(`usage: services.mjs ${cmd} nats|mongo|mongonative`);
        return 2;
      }
      await { stop, start, restart }[cmd](arg);
      log(`${serviceName(arg)}: ${cmd === 'stop' ? 'stopped' : 'running'}`);
      return 0;
    }
    default:
      log('usage: node scripts/services.mjs up|down|env|status|stop|start|restart [nats|mongo|mongonative]');
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
