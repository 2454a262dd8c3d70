/**
 * The `kube` phase of `npm run test:deploy`: the Helm chart rendered for podman (host network,
 * the image just built, a CPU worker Deployment of two replicas, the test program mounted from
 * deploy/test) and started with `podman kube play`, then the same scenario as the `run` phase.
 *
 * What podman 4.3 does with the rendered kinds (checked here; see deploy/README.md):
 * Deployment → one pod per replica (run); Service and ServiceAccount → ignored; grpc probes →
 * no health check; Secret → stored in a form its secretKeyRef cannot read, so the MongoDB
 * Secret is made as a podman secret and the chart is given mongodb.existingSecret;
 * spec.nodeName (downward API) → refused, so worker.nodeLabel=false; nvidia.com/gpu, node
 * selectors, tolerations and KEDA are not exercised (no GPU, no scheduler, no operator).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, createKubeSecret, kubePlay, podman, startServices, waitForLog } from './podman.mjs';
import { ensureHelm, template } from './helm.mjs';
import { runScenario } from './scenario.mjs';

export async function kubePhase({ image, run, facts, freePorts, bins }) {
  const helm = ensureHelm();
  const [natsPort, mongoPort, grpcPort, metricsPort] = await freePorts(4);
  const prefix = `trellis-${run}-kube`;
  await startServices(image, prefix, natsPort, mongoPort, bins);
  const secret = `${run}-mongodb`;
  await createKubeSecret(secret, { uri: `mongodb://127.0.0.1:${mongoPort}/` });
  const [repository, tag] = image.split(/:(?=[^:]+$)/);
  const values = {
    hostNetwork: true,
    image: { repository, tag, pullPolicy: 'Never' },
    mongodb: { existingSecret: secret, database: 'trellis_kube' },
    nats: { url: `nats://127.0.0.1:${natsPort}` },
    coordinator: { port: grpcPort, metrics: { enabled: true, port: metricsPort }, leaseMs: 4000 },
    worker: {
      graceSeconds: 10,
      allowCommand: { enabled: true },
      nodeLabel: false,
      // Two workers on one host network cannot both listen on the worker metrics port.
      metrics: { enabled: false },
      extraVolumes: [{ name: 'fixtures', hostPath: { path: join(ROOT, 'deploy/test'), type: 'Directory' } }],
      extraVolumeMounts: [{ name: 'fixtures', mountPath: '/fixtures', readOnly: true }],
      cpu: {
        replicas: 2,
        cpus: 1,
        resources: { requests: { cpu: '1', memory: '1Gi' }, limits: { cpu: '1', memory: '1Gi' } },
      },
    },
  };
  const dir = mkdtempSync(join(tmpdir(), 'trellis-kube-'));
  try {
    const valuesFile = join(dir, 'values.json');
    writeFileSync(valuesFile, JSON.stringify(values));
    const manifest = join(dir, 'trellis.yaml');
    writeFileSync(manifest, template(helm, { values: [valuesFile], release: run }));
    await kubePlay(manifest);
    const full = `${run}-trellis`;
    const coordinatorContainer = `${full}-coordinator-pod-0-coordinator`;
    await waitForLog(coordinatorContainer, /coordinator serving/, 120_000, 'coordinator serving');
    const workers = [0, 1].map((i) => {
      const container = `${full}-worker-cpu-pod-${i}-worker`;
      return { id: `${full}-worker-cpu-pod-${i}`, kill: () => podman(['kill', container]) };
    });
    const result = await runScenario({
      coordinator: `127.0.0.1:${grpcPort}`,
      coordinatorContainer,
      natsUrl: `nats://127.0.0.1:${natsPort}`,
      mongoUri: `mongodb://127.0.0.1:${mongoPort}/`,
      db: 'trellis_kube',
      metrics: `127.0.0.1:${metricsPort}`,
      workers,
    });
    facts.push(
      `kube: ${result.events} events gap-free, trial ${result.killedTrial} resumed from step ${result.resumedFrom}`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
