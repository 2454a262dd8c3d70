/**
 * podman for `npm run test:deploy`: every call goes through here with the project's
 * deploy/podman/containers.conf (runc, cgroupfs, no default ulimits: what works on the
 * development machine) unless CONTAINERS_CONF is set. Everything started is recorded, and
 * `cleanup()` removes it all (containers, pods, kube-played objects), also after a failure.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const ENV = {
  ...process.env,
  CONTAINERS_CONF: process.env.CONTAINERS_CONF ?? join(ROOT, 'deploy/podman/containers.conf'),
};

const containers = new Set();
/** The YAML of each played manifest (kube down needs it again). */
const kubeFiles = new Set();
const secrets = new Set();
/** Pods that kube play started: their containers go with their anonymous volumes (the image's VOLUME). */
const pods = new Set();

/** Runs `podman ...args`; resolves with stdout, rejects with stderr in the message. */
export function podman(args, { timeoutMs = 120_000, input } = {}) {
  return new Promise((resolvePromise, reject) => {
    const child = execFile(
      'podman',
      args,
      { env: ENV, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024, killSignal: 'SIGKILL' },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`podman ${args.slice(0, 3).join(' ')} ...: ${stderr.trim() || err.message}`));
        else resolvePromise(stdout);
      },
    );
    if (input !== undefined) child.stdin.end(input);
  });
}

/** Streams a long podman command (a build) to stderr; resolves when it exits 0. */
export function podmanStreaming(args, { timeoutMs }) {
  return new Promise((resolvePromise, reject) => {
    const child = spawn('podman', args, { env: ENV, stdio: ['ignore', 'inherit', 'inherit'] });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolvePromise();
      else reject(new Error(`podman ${args[0]} failed (${signal ?? `exit ${code}`})`));
    });
  });
}

/** `podman run -d` on the host network; the container is removed by cleanup(). */
export async function runContainer(name, image, command, { env = {}, volumes = [], user, entrypoint } = {}) {
  containers.add(name);
  const args = ['run', '-d', '--name', name, '--network', 'host'];
  if (entrypoint) args.push('--entrypoint', entrypoint);
  for (const [k, v] of Object.entries(env)) args.push('-e', `${k}=${v}`);
  for (const v of volumes) args.push('-v', v);
  if (user) args.push('--user', user);
  await podman([...args, image, ...command]);
}

/**
 * A podman secret that `podman kube play` resolves a `secretKeyRef` against. podman 4.3 reads
 * such a secret as JSON of key -> base64 value (a Secret object in the played YAML is stored as
 * YAML and then cannot be read back), so it is made here; cleanup() removes it.
 */
export async function createKubeSecret(name, data) {
  const json = JSON.stringify(
    Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
  );
  secrets.add(name);
  // From a file: podman wants a real pipe for `-`, and node's child stdin is a socket.
  const dir = mkdtempSync(join(tmpdir(), 'trellis-secret-'));
  try {
    writeFileSync(join(dir, 'data.json'), json, { mode: 0o600 });
    await podman(['secret', 'create', name, join(dir, 'data.json')]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** NATS JetStream and FerretDB as containers of `image`, running the host's own binaries. */
export async function startServices(image, prefix, natsPort, mongoPort, bins) {
  await runContainer(`${prefix}-nats`, image, ['-js', '-a', '127.0.0.1', '-p', String(natsPort), '-sd', '/tmp/js'], {
    entrypoint: '/opt/nats-server',
    volumes: [`${bins.nats}:/opt/nats-server:ro`],
  });
  await runContainer(
    `${prefix}-mongo`,
    image,
    [
      '-c',
      'mkdir -p /tmp/f/data /tmp/f/state && exec /opt/ferretdb --handler=sqlite --sqlite-url=file:/tmp/f/data/ ' +
        `--state-dir=/tmp/f/state --listen-addr=127.0.0.1:${mongoPort} --telemetry=disable --debug-addr=- --log-level=info`,
    ],
    { entrypoint: '/bin/sh', volumes: [`${bins.ferretdb}:/opt/ferretdb:ro`] },
  );
  await waitForLog(`${prefix}-nats`, /Server is ready/, 60_000, 'NATS ready');
  await waitForLog(`${prefix}-mongo`, /Listening on/i, 60_000, 'FerretDB listening');
}

/** `podman kube play FILE`; cleanup() runs `podman kube down FILE`. */
export async function kubePlay(file, extraArgs = []) {
  kubeFiles.add(readFileSync(file, 'utf8'));
  const out = await podman(['kube', 'play', ...extraArgs, file], { timeoutMs: 180_000 });
  for (const m of out.matchAll(/^Pod:\n([0-9a-f]{64})$/gm)) pods.add(m[1]);
  return out;
}

/**
 * Resolves with the first log line of the container that matches; rejects after `timeoutMs`
 * or when the container's log ends without one (it exited).
 */
export function waitForLog(name, pattern, timeoutMs, what = String(pattern)) {
  return new Promise((resolvePromise, reject) => {
    const child = spawn('podman', ['logs', '-f', name], { env: ENV, stdio: ['ignore', 'pipe', 'pipe'] });
    let buffer = '';
    let tail = [];
    let settled = false;
    const finish = (err, line) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.kill('SIGKILL');
      if (err) reject(err);
      else resolvePromise(line);
    };
    const onData = (chunk) => {
      buffer += chunk.toString();
      const lines = buffer.split('\n');
      buffer = lines.pop() ?? '';
      for (const line of lines) {
        tail = [...tail.slice(-9), line];
        if (pattern.test(line)) return finish(undefined, line);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', () => finish(new Error(`${name} logged no ${what} (log ended):\n${tail.join('\n')}`)));
    const timer = setTimeout(
      () => finish(new Error(`${name} logged no ${what} within ${timeoutMs} ms:\n${tail.join('\n')}`)),
      timeoutMs,
    );
  });
}

/** True when the image exists in local storage. */
export async function imageExists(image) {
  try {
    await podman(['image', 'exists', image]);
    return true;
  } catch {
    return false;
  }
}

/** Removes everything recorded, each step on its own (one failing does not skip the rest). */
export async function cleanup() {
  const problems = [];
  for (const pod of pods) {
    try {
      const ids = (await podman(['ps', '-a', '--filter', `pod=${pod}`, '--format', '{{.ID}} {{.IsInfra}}']))
        .split('\n')
        .filter((line) => line.endsWith(' false'))
        .map((line) => line.split(' ')[0]);
      if (ids.length > 0) await podman(['rm', '-f', '-v', '-t', '0', ...ids], { timeoutMs: 120_000 });
    } catch (err) {
      problems.push(err.message);
    }
  }
  pods.clear();
  for (const yaml of kubeFiles) {
    const dir = mkdtempSync(join(tmpdir(), 'trellis-kube-down-'));
    try {
      writeFileSync(join(dir, 'played.yaml'), yaml);
      await podman(['kube', 'down', join(dir, 'played.yaml')], { timeoutMs: 120_000 });
    } catch (err) {
      problems.push(err.message);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  kubeFiles.clear();
  if (containers.size > 0) {
    try {
      await podman(['rm', '-f', '-v', '-t', '0', '--ignore', ...containers], { timeoutMs: 120_000 });
    } catch (err) {
      problems.push(err.message);
    }
  }
  containers.clear();
  for (const name of secrets) {
    try {
      await podman(['secret', 'rm', name]);
    } catch (err) {
      problems.push(err.message);
    }
  }
  secrets.clear();
  return problems;
}
