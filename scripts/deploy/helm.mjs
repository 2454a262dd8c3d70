/**
 * Helm for `npm run test:deploy`: helm v3.22.0 built with `go install` into GOPATH/bin (once;
 * reused while it reports that version), kubernetes-validate (PyPI, offline Kubernetes
 * schemas) in a venv under .tools/ (once), then `helm lint` and
 * `helm template | kubernetes-validate --strict` for each values set.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { ROOT } from './podman.mjs';

const HELM_VERSION = 'v3.22.0';
// `go install` builds carry no release ldflags: they report only the minor version.
const HELM_REPORTS = 'v3.22';
const KUBE_VERSION = '1.30';
export const CHART = join(ROOT, 'deploy/helm/trellis');

function log(msg) {
  process.stderr.write(`test:deploy: ${msg}\n`);
}

export function ensureHelm() {
  const gopath = execFileSync('go', ['env', 'GOPATH'], { encoding: 'utf8' }).trim().split(':')[0];
  const bin = join(gopath, 'bin', 'helm');
  const works = () =>
    existsSync(bin) && spawnSync(bin, ['version', '--short'], { encoding: 'utf8' }).stdout?.startsWith(HELM_REPORTS);
  if (works()) return bin;
  log(`building helm ${HELM_VERSION} with go install (a few minutes, once)`);
  execFileSync('go', ['install', `helm.sh/helm/v3/cmd/helm@${HELM_VERSION}`], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  if (!works()) throw new Error(`go install helm@${HELM_VERSION} did not leave a working ${bin}`);
  return bin;
}

export function ensureValidator() {
  const venv = join(ROOT, '.tools', 'kubernetes-validate');
  const bin = join(venv, 'bin', 'kubernetes-validate');
  if (existsSync(bin)) return bin;
  log('installing kubernetes-validate into .tools/kubernetes-validate (once)');
  mkdirSync(join(ROOT, '.tools'), { recursive: true });
  execFileSync('python3', ['-m', 'venv', venv], { stdio: ['ignore', 'inherit', 'inherit'] });
  execFileSync(join(venv, 'bin', 'pip'), ['install', '--quiet', 'kubernetes-validate'], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  if (!existsSync(bin)) throw new Error('pip install kubernetes-validate left no kubernetes-validate');
  return bin;
}

/** Renders the chart with `--set` pairs (and values files); returns the YAML. */
export function template(helm, { set = [], values = [], release = 'trellis', namespace = 'trellis' } = {}) {
  // The Kubernetes version the schemas check (a go-installed helm would assume v1.20).
  const args = ['template', release, CHART, '--namespace', namespace, '--kube-version', `${KUBE_VERSION}.0`];
  for (const file of values) args.push('-f', file);
  for (const pair of set) args.push('--set', pair);
  return execFileSync(helm, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
}

/**
 * `helm lint --strict` and `helm template | kubernetes-validate --strict` for each values set.
 * KEDA's ScaledObject has no schema among Kubernetes' own: it is checked by its own rules in
 * checkScaledObject. Returns how many documents were validated.
 */
export function lintAndValidate(helm, validator, sets) {
  let documents = 0;
  const dir = mkdtempSync(join(tmpdir(), 'trellis-helm-'));
  try {
    for (const [name, set] of Object.entries(sets)) {
      const lintArgs = ['lint', '--strict', '--kube-version', `${KUBE_VERSION}.0`, CHART];
      for (const pair of set) lintArgs.push('--set', pair);
      execFileSync(helm, lintArgs, { stdio: ['ignore', 'pipe', 'inherit'] });
      const yaml = template(helm, { set });
      const file = join(dir, `${name}.yaml`);
      writeFileSync(file, yaml);
      const r = spawnSync(validator, ['--strict', '--kubernetes-version', KUBE_VERSION, file], { encoding: 'utf8' });
      if (r.status !== 0 || /\bERROR\b/.test(r.stdout + r.stderr)) {
        throw new Error(`kubernetes-validate --strict (${name}):\n${r.stdout}${r.stderr}`);
      }
      // Only KEDA's kind may lack a schema; anything else unvalidated is a failure.
      for (const line of (r.stdout + r.stderr).split('\n').filter((l) => /Couldn't find schema/.test(l))) {
        if (!/kind ScaledObject with api version keda\.sh\/v1alpha1/.test(line)) throw new Error(`${name}: ${line}`);
      }
      const docs = parseAllDocuments(yaml)
        .map((d) => d.toJS())
        .filter(Boolean);
      const passed = (r.stdout.match(/ passed for resource /g) ?? []).length;
      const expected = docs.filter((d) => d.kind !== 'ScaledObject').length;
      if (passed !== expected) throw new Error(`${name}: ${passed} of ${expected} documents passed:\n${r.stdout}`);
      documents += passed;
      const scaled = docs.find((d) => d.kind === 'ScaledObject');
      if (scaled) checkScaledObject(scaled, docs, name);
      checkDrainGrace(docs, name);
      checkSecretFlags(docs, name, set);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return documents;
}

/**
 * A drained worker needs its whole --grace (attempts checkpoint and are handed back as
 * preempted) before Kubernetes' SIGKILL: every worker Deployment's terminationGracePeriodSeconds
 * must exceed the --grace its container is given, with at least 5 s to spare.
 */
export function checkDrainGrace(docs, name) {
  let workers = 0;
  for (const d of docs.filter((doc) => doc.kind === 'Deployment')) {
    const pod = d.spec.template.spec;
    const args = pod.containers[0].args ?? [];
    if (args[0] !== 'worker') continue;
    workers++;
    const grace = Number(args.find((a) => a.startsWith('--grace='))?.slice('--grace='.length));
    if (!Number.isFinite(grace)) throw new Error(`${name}: ${d.metadata.name}: worker without --grace`);
    if (!(pod.terminationGracePeriodSeconds >= grace + 5)) {
      throw new Error(
        `${name}: ${d.metadata.name}: terminationGracePeriodSeconds ${pod.terminationGracePeriodSeconds} leaves no time for --grace=${grace}`,
      );
    }
  }
  if (workers === 0) throw new Error(`${name}: no worker Deployment rendered`);
}

/** Secrets set in the values reach the pods as the agreed flags, env and mounts. */
function checkSecretFlags(docs, name, set) {
  const coordinator = docs.find(
    (d) => d.kind === 'Deployment' && d.spec.template.spec.containers[0].args[0] === 'coordinator',
  );
  const container = coordinator.spec.template.spec.containers[0];
  const has = (flag) => container.args.includes(flag);
  const mounted = (path) => (container.volumeMounts ?? []).some((m) => m.mountPath === path);
  if (set.some((p) => p.startsWith('auth.tokensSecret='))) {
    if (!has('--tokens=/etc/trellis/auth/tokens.json') || !mounted('/etc/trellis/auth') || has('--insecure')) {
      throw new Error(`${name}: the coordinator does not read its tokens file from the Secret`);
    }
  }
  if (set.some((p) => p.startsWith('tls.existingSecret='))) {
    if (
      !has('--tls-cert=/etc/trellis/tls/tls.crt') ||
      !has('--tls-key=/etc/trellis/tls/tls.key') ||
      !mounted('/etc/trellis/tls')
    ) {
      throw new Error(`${name}: the coordinator does not serve TLS from the Secret`);
    }
    for (const d of docs.filter(
      (doc) => doc.kind === 'Deployment' && doc.spec.template.spec.containers[0].args[0] === 'worker',
    )) {
      if (!d.spec.template.spec.containers[0].args.includes('--tls-ca=/etc/trellis/tls/ca.crt')) {
        throw new Error(`${name}: ${d.metadata.name} does not trust the Secret's CA`);
      }
    }
  }
  if (set.some((p) => p.startsWith('nats.credsSecret='))) {
    if (!(container.env ?? []).some((e) => e.name === 'NATS_CREDS') || !mounted('/etc/trellis/nats')) {
      throw new Error(`${name}: NATS credentials are not mounted`);
    }
  }
}

/**
 * KEDA's ScaledObject has no schema among Kubernetes' own: check what matters for safe scaling —
 * it targets the GPU worker Deployment (which leaves `replicas` to KEDA), triggers on the GPU
 * slots of pending and running attempts, one replica per gpusPerWorker slots.
 */
function checkScaledObject(scaled, docs, name) {
  const gpu = docs.find((d) => d.kind === 'Deployment' && d.metadata.name === scaled.spec.scaleTargetRef.name);
  const fail = (what) => {
    throw new Error(`${name}: ScaledObject ${scaled.metadata.name}: ${what}`);
  };
  if (!gpu) fail(`scaleTargetRef ${scaled.spec.scaleTargetRef.name} is no Deployment of the chart`);
  if (gpu.spec.replicas !== undefined) fail('the scaled Deployment sets replicas (KEDA and helm upgrades would fight)');
  const limit = gpu.spec.template.spec.containers[0].resources.limits['nvidia.com/gpu'];
  if (limit === undefined) fail('the scaled Deployment requests no nvidia.com/gpu');
  const [trigger] = scaled.spec.triggers;
  if (trigger?.type !== 'prometheus') fail('the trigger is not prometheus');
  if (!/trellis_slots_demanded\{resource="gpu"\}/.test(trigger.metadata.query)) fail(`query ${trigger.metadata.query}`);
  if (trigger.metricType !== 'AverageValue' || Number(trigger.metadata.threshold) !== Number(limit)) {
    fail(`threshold ${trigger.metadata.threshold} (${trigger.metricType}) is not the ${limit} GPUs of a worker`);
  }
}
