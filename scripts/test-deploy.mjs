#!/usr/bin/env node
/**
 * `npm run test:deploy`: Trellis deployed for real with podman, then checked (deploy/README.md).
 *
 *   image  build deploy/Dockerfile (on the local base from deploy/base/ unless --base official)
 *   run    NATS JetStream, FerretDB, a coordinator and two workers as containers on the host
 *          network (loopback); a sweep from the host CLI; one worker `podman kill`ed mid-trial;
 *          then a third worker and `podman stop` on the one running a trial (drain: preempted)
 *   helm   helm lint + helm template | kubernetes-validate --strict, for the chart's flavours
 *   kube   the chart rendered for podman and run with `podman kube play`: the same scenario
 *
 *   node scripts/test-deploy.mjs [--base local|official] [--phases image,run,helm,kube]
 *
 * Everything it starts it removes, also on failure or Ctrl-C. Prints one summary line; exit 0/1.
 */
import { createServer } from 'node:net';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import {
  ROOT,
  cleanup,
  imageExists,
  podman,
  podmanStreaming,
  runContainer,
  startServices,
  waitForLog,
} from './deploy/podman.mjs';
import { runScenario } from './deploy/scenario.mjs';
import { ensureHelm, ensureValidator, lintAndValidate } from './deploy/helm.mjs';
import { drainScenario } from './deploy/drain.mjs';
import { kubePhase } from './deploy/kube.mjs';
import { ensureFerretdb, ensureNatsServer } from './services.mjs';

const PHASES = ['image', 'run', 'helm', 'kube'];
/** The workers' --grace in the run phase (podman stop waits twice that before SIGKILL). */
const WORKER_GRACE_S = 15;
const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
};
const base = option('--base', 'local');
const phases = option('--phases', PHASES.join(',')).split(',');
for (const p of phases) if (!PHASES.includes(p)) usage(`--phases: unknown phase ${p} (allowed: ${PHASES.join(', ')})`);
if (!['local', 'official'].includes(base)) usage(`--base: ${base} (allowed: local, official)`);

function usage(message) {
  process.stderr.write(`test:deploy: ${message}\n`);
  process.exit(2);
}
function log(msg) {
  process.stderr.write(`test:deploy: ${msg}\n`);
}

const IMAGE = 'localhost/trellis:test-deploy';
const bins = () => ({ nats: ensureNatsServer(), ferretdb: ensureFerretdb() });
const RUN = `td${process.pid}`;
const started = Date.now();
const timings = {};
const facts = [];

async function timed(name, fn) {
  const t0 = Date.now();
  try {
    return await fn();
  } finally {
    timings[name] = ((Date.now() - t0) / 1000).toFixed(0) + 's';
  }
}

/** Free loopback TCP ports (host networking: the containers bind them on 127.0.0.1). */
async function freePorts(n) {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise((resolve) => {
          const s = createServer();
          s.listen(0, '127.0.0.1', () => resolve(s));
        }),
    ),
  );
  const ports = servers.map((s) => s.address().port);
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}

async function buildImage() {
  const buildArgs = [
    'build',
    '--network',
    'host',
    '--ignorefile',
    'deploy/Dockerfile.dockerignore',
    '-f',
    'deploy/Dockerfile',
  ];
  // The official node image downloads the native TensorFlow binding; the local base cannot.
  buildArgs.push('--build-arg', 'TFJS_NODE=false');
  if (base === 'local') {
    const localBase = execFileSync('bash', [join(ROOT, 'deploy/base/build-local-base.sh')], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    }).trim();
    buildArgs.push('--build-arg', `NODE_IMAGE=${localBase}`);
  }
  const ca = process.env.NODE_EXTRA_CA_CERTS;
  if (ca) buildArgs.push('--secret', `id=npm_ca,src=${ca}`);
  buildArgs.push('-t', IMAGE, ROOT);
  await podmanStreaming(buildArgs, { timeoutMs: 30 * 60_000 });
}

async function runPhase() {
  const [natsPort, mongoPort, grpcPort, metricsPort, w1Metrics, w2Metrics, w3Metrics] = await freePorts(7);
  const prefix = `trellis-${RUN}`;
  await startServices(IMAGE, prefix, natsPort, mongoPort, bins());
  const coordinator = `${prefix}-coordinator`;
  await runContainer(
    coordinator,
    IMAGE,
    ['coordinator', '--listen', `127.0.0.1:${grpcPort}`, '--metrics-listen', `127.0.0.1:${metricsPort}`],
    {
      env: {
        MONGODB_URI: `mongodb://127.0.0.1:${mongoPort}/`,
        TRELLIS_DB: 'trellis_deploy',
        NATS_URL: `nats://127.0.0.1:${natsPort}`,
        TRELLIS_LEASE_MS: '4000',
      },
    },
  );
  await waitForLog(coordinator, /coordinator serving/, 120_000, 'coordinator serving');
  const workers = [
    { id: `${RUN}-w1`, metrics: w1Metrics },
    { id: `${RUN}-w2`, metrics: w2Metrics },
  ];
  const startWorker = async (w) => {
    w.container = `${prefix}-${w.id.split('-').pop()}`;
    await runContainer(
      w.container,
      IMAGE,
      [
        'worker',
        '--coordinator',
        `127.0.0.1:${grpcPort}`,
        '--id',
        w.id,
        '--cpus',
        '1',
        '--allow-command',
        '--grace',
        String(WORKER_GRACE_S),
        '--metrics-listen',
        `127.0.0.1:${w.metrics}`,
      ],
      { volumes: [`${join(ROOT, 'deploy/test')}:/fixtures:ro`] },
    );
    w.kill = () => podman(['kill', w.container]).then(() => log(`killed ${w.container}`));
    // SIGTERM (through tini), SIGKILL only after twice the grace: the drain must not need it.
    w.stop = async () => {
      const t0 = Date.now();
      await podman(['stop', '-t', String(2 * WORKER_GRACE_S), w.container], { timeoutMs: 4 * WORKER_GRACE_S * 1000 });
      log(`stopped ${w.container} in ${Date.now() - t0} ms`);
      return Date.now() - t0;
    };
  };
  for (const w of workers) await startWorker(w);
  const result = await runScenario({
    coordinator: `127.0.0.1:${grpcPort}`,
    coordinatorContainer: coordinator,
    natsUrl: `nats://127.0.0.1:${natsPort}`,
    mongoUri: `mongodb://127.0.0.1:${mongoPort}/`,
    db: 'trellis_deploy',
    metrics: `127.0.0.1:${metricsPort}`,
    workers,
  });
  // The surviving worker serves its own metrics.
  const text = await (
    await fetch(`http://127.0.0.1:${w2Metrics}/metrics`, { signal: AbortSignal.timeout(10_000) })
  ).text();
  if (!/^trellis_worker_attempts_running 0$/m.test(text))
    throw new Error('worker metrics: trellis_worker_attempts_running 0 expected after the sweep');
  facts.push(
    `run: ${result.events} events gap-free, trial ${result.killedTrial} resumed from step ${result.resumedFrom}`,
  );
  // Drain: a third worker joins; `podman stop` on whichever runs the next trial.
  const spare = { id: `${RUN}-w3`, metrics: w3Metrics };
  await startWorker(spare);
  const drained = await drainScenario({
    coordinator: `127.0.0.1:${grpcPort}`,
    coordinatorContainer: coordinator,
    natsUrl: `nats://127.0.0.1:${natsPort}`,
    mongoUri: `mongodb://127.0.0.1:${mongoPort}/`,
    db: 'trellis_deploy',
    drainWorkers: [workers[1], spare],
    graceSeconds: WORKER_GRACE_S,
  });
  facts.push(
    `drain: podman stop took ${drained.stopMs} ms, attempt preempted, resumed from step ${drained.resumedFrom}`,
  );
}

async function helmPhase() {
  const helm = ensureHelm();
  const validator = ensureValidator();
  const documents = lintAndValidate(helm, validator, {
    defaults: [],
    gpu: ['worker.gpu.enabled=true', 'worker.cpu.enabled=false'],
    secrets: [
      'auth.existingSecret=trellis-auth',
      'auth.tokensSecret=trellis-tokens',
      'tls.existingSecret=trellis-tls',
      'tls.clientAuth=true',
      'mongodb.existingSecret=trellis-mongodb',
      'mongodb.caSecret=trellis-mongodb-ca',
      'nats.existingSecret=trellis-nats',
      'nats.credsSecret=trellis-nats-creds',
      'nats.caSecret=trellis-nats-ca',
    ],
    keda: ['worker.gpu.enabled=true', 'keda.enabled=true', 'worker.gpu.gpusPerWorker=2'],
  });
  facts.push(`helm: lint ok, ${documents} documents valid`);
}

let failed;
const onSignal = (signal) => {
  log(`${signal}: cleaning up`);
  cleanup().finally(() => process.exit(1));
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);
try {
  if (phases.includes('image')) await timed('image', buildImage);
  else if (!(await imageExists(IMAGE))) throw new Error(`${IMAGE} is not built: run with the image phase`);
  if (phases.includes('run')) await timed('run', runPhase);
  if (phases.includes('helm')) await timed('helm', helmPhase);
  if (phases.includes('kube')) {
    await cleanup();
    await timed('kube', () => kubePhase({ image: IMAGE, run: RUN, facts, freePorts, bins: bins() }));
  }
} catch (err) {
  failed = err;
  process.stderr.write(`test:deploy: ${err.stack ?? err}\n`);
} finally {
  const problems = await cleanup();
  for (const p of problems) log(`cleanup: ${p}`);
  if (problems.length > 0) failed ??= new Error('cleanup failed');
}
const total = ((Date.now() - started) / 1000).toFixed(0);
const times = Object.entries(timings)
  .map(([k, v]) => `${k} ${v}`)
  .join(', ');
process.stdout.write(
  `test:deploy: ${failed ? 'FAIL' : 'PASS'} in ${total}s (${times}; base ${base})${facts.length ? ' — ' + facts.join('; ') : ''}${failed ? ` — ${String(failed.message ?? failed).split('\n')[0]}` : ''}\n`,
);
process.exit(failed ? 1 : 0);
