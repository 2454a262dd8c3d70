// Finding or installing the test servers' programs: nats-server (Debian package), FerretDB
// (built with Go) and mongo-java-server (built with Maven). Each is built once and reused.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { log, which } from './processes.mjs';

const FERRETDB_VERSION = 'v1.24.2';
const FERRETDB_MODULE = 'github.com/FerretDB/FerretDB';
export const MONGO_JAVA_SERVER_VERSION = '1.46.0';
const MONGO_NATIVE_SRC = join(dirname(fileURLToPath(import.meta.url)), 'mongo-java-server');

function aptInstall(what, packages) {
  if (process.getuid?.() !== 0) {
    throw new Error(
      `${what} is not installed and this is not root: install it (Debian/Ubuntu: sudo apt-get install -y ${packages})`,
    );
  }
  log(`installing ${packages} (apt-get)`);
  execFileSync('sh', ['-c', `apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y ${packages}`], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
}

/**
 * Debian's chromium, for the dashboard's browser tests (driven by playwright-core; no browser
 * download). Installed with apt-get when missing and this is root; TRELLIS_CHROMIUM overrides.
 */
export function ensureChromium() {
  const found = process.env.TRELLIS_CHROMIUM ?? which('chromium');
  if (found) return found;
  aptInstall('chromium (or set TRELLIS_CHROMIUM)', 'chromium');
  const installed = which('chromium');
  if (!installed) throw new Error('apt-get install chromium finished but chromium is not on PATH');
  return installed;
}

export function ensureNatsServer() {
  const found = which('nats-server');
  if (found) return found;
  aptInstall('nats-server (or set NATS_URL)', 'nats-server');
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
export function ensureFerretdb() {
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

/** The cache folder for built test servers: $TRELLIS_CACHE_DIR, else $XDG_CACHE_HOME/trellis, else ~/.cache/trellis. */
function cacheDir() {
  if (process.env.TRELLIS_CACHE_DIR) return process.env.TRELLIS_CACHE_DIR;
  return join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'trellis');
}

/**
 * mongo-java-server, built with Maven from scripts/services/mongo-java-server (a pom and one
 * Java main) into a cache folder keyed by its version and a hash of those sources, so a changed
 * main is rebuilt and an unchanged one never is. Returns the java binary and its arguments
 * (without the port).
 * @returns {{ bin: string, args: string[] }}
 */
export function ensureMongoNative() {
  const hash = createHash('sha256');
  for (const file of ['pom.xml', 'src/main/java/trellis/MongoNativeServer.java'])
    hash.update(readFileSync(join(MONGO_NATIVE_SRC, file)));
  const dir = join(cacheDir(), `mongo-java-server-${MONGO_JAVA_SERVER_VERSION}-${hash.digest('hex').slice(0, 12)}`);
  const jar = join(dir, 'trellis-mongo-native.jar');
  if (!existsSync(jar) || !which('java')) {
    if (!which('java') || !which('mvn'))
      aptInstall(
        'Java 17 and Maven (for mongo-java-server; or set MONGODB_NATIVE_URI)',
        'openjdk-17-jdk-headless maven',
      );
    const mvn = which('mvn');
    if (!mvn || !which('java')) throw new Error('apt-get installed Java and Maven but java or mvn is not on PATH');
  }
  const java = /** @type {string} */ (which('java'));
  if (!existsSync(jar)) {
    const mvn = /** @type {string} */ (which('mvn'));
    log(`building mongo-java-server ${MONGO_JAVA_SERVER_VERSION} with Maven into ${dir} (once)`);
    mkdirSync(cacheDir(), { recursive: true });
    const work = mkdtempSync(join(cacheDir(), 'build-'));
    try {
      cpSync(MONGO_NATIVE_SRC, work, { recursive: true });
      execFileSync(mvn, ['-q', '-B', '-Dstyle.color=never', 'package'], {
        cwd: work,
        stdio: ['ignore', 'inherit', 'inherit'],
      });
      rmSync(dir, { recursive: true, force: true });
      renameSync(join(work, 'target'), dir); // one rename: a half-built folder is never seen as built
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
    if (!existsSync(jar)) throw new Error(`mvn package finished but ${jar} is missing`);
  }
  // Small heap, serial GC, C1 only: a test server on a shared 2-core machine.
  const jvm = ['-Xmx512m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', '-Dslf4j.internal.verbosity=ERROR'];
  return { bin: java, args: [...jvm, '-cp', `${join(dir, 'lib')}/*:${jar}`, 'trellis.MongoNativeServer'] };
}
