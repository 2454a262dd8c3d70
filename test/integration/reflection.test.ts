/**
 * Server reflection and health as tools see them: grpcurl (a reflection client nobody in this
 * project wrote) describes every service and message the server speaks, and calls methods with
 * nothing but what reflection returned.
 */
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../../shared/paths.js';
import { startCluster, sweepSpec, waitForWorkers } from '../helpers/cluster.js';
import { TrellisClient } from '../../client/index.js';
import { CLI_PATH } from '../../cli/embedded.js';

let grpcurlBin = '';

function grpcurl(args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      grpcurlBin,
      ['-plaintext', '-max-time', '30', ...args],
      { timeout: 60_000, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) =>
        err ? reject(new Error(`grpcurl ${args.join(' ')}: ${err.message}\n${stderr}`)) : resolve(stdout),
    );
    if (input !== undefined) child.stdin!.end(input);
  });
}

/** Every top-level message and enum declared in the .proto files, read from the files themselves. */
function declaredTypes(): string[] {
  const names: string[] = [];
  const walk = (dir: string, pkg: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.isDirectory()) walk(join(dir, entry.name), pkg);
      else if (entry.name.endsWith('.proto')) {
        const text = readFileSync(join(dir, entry.name), 'utf8');
        const file = /^package ([\w.]+);/m.exec(text)![1]!;
        for (const m of text.matchAll(/^(?:message|enum) (\w+)/gm)) names.push(`${file}.${m[1]}`);
      }
    }
  };
  walk(join(projectRoot(), 'proto'), '');
  return names.sort();
}

describe('reflection with grpcurl', () => {
  before(async () => {
    // Built by scripts/grpcurl.mjs (go install, cached in GOPATH/bin); the test must run it.
    const { ensureGrpcurl } = (await import(join(projectRoot(), 'scripts', 'grpcurl.mjs'))) as {
      ensureGrpcurl: () => string;
    };
    grpcurlBin = ensureGrpcurl();
  });

  it('describes every service and every message and enum, and calls methods knowing only what reflection said', async () => {
    const cluster = await startCluster({ workers: 0 });
    try {
      const address = cluster.address;
      const services = (await grpcurl([address, 'list'])).trim().split('\n').sort();
      for (const name of ['grpc.health.v1.Health', 'trellis.v1.ExperimentService', 'trellis.v1.WorkerService']) {
        assert.ok(services.includes(name), `${name} is listed: ${services.join(', ')}`);
      }

      // Walk: each service's methods name their request and response types; each type's fields
      // name more types. grpcurl fails on any descriptor it cannot use (the old map-entry bug).
      const described = new Map<string, string>();
      const queue = services.filter((s) => s !== 'grpc.reflection.v1.ServerReflection');
      while (queue.length > 0) {
        const symbol = queue.shift()!;
        if (described.has(symbol)) continue;
        const text = await grpcurl([address, 'describe', symbol]);
        described.set(symbol, text);
        for (const m of text.matchAll(/(?<=[\s(<,])\.([a-z]\w*(?:\.\w+)*\.[A-Z]\w*)\b/g)) {
          const ref = m[1]!.replace(/\.(\w+Entry)$/, '');
          if (!described.has(ref)) queue.push(ref);
        }
      }
      const missing = declaredTypes().filter((t) => !described.has(t));
      assert.deepEqual(missing, [], 'every declared message and enum is reachable and describable');
      assert.match(described.get('trellis.v1.Trial')!, /map<string, double> metrics = 6;/);
      assert.match(described.get('trellis.v1.Trial')!, /google\.protobuf\.Struct params = 15;/);
      assert.match(described.get('trellis.v1.TrialStatus')!, /TRIAL_STATUS_UNSPECIFIED = 0;/);
      assert.ok(described.has('google.protobuf.Struct'), 'Struct is served with its file');

      const health = JSON.parse(
        await grpcurl(['-d', '{"service": "trellis.v1.ExperimentService"}', address, 'grpc.health.v1.Health/Check']),
      ) as {
        status: string;
      };
      assert.equal(health.status, 'SERVING');

      // Calls built from reflection only: JSON in, JSON out, enums and Structs as JSON.
      cluster.spawnWorker('reflect-w1');
      await waitForWorkers(cluster, 1);
      const spec = sweepSpec({ name: 'reflected', trials: 2, concurrency: 2, steps: 2, delay: 1 });
      const submitted = JSON.parse(
        await grpcurl(['-d', '@', address, 'trellis.v1.ExperimentService/SubmitExperiment'], JSON.stringify({ spec })),
      ) as { experiment: { id: string; state: string; spec: { name: string } } };
      assert.equal(submitted.experiment.spec.name, 'reflected');
      const id = submitted.experiment.id;
      await cluster.waitForEvent(
        (e) => e.experimentId === id && e.type === 'experiment.state' && e.payload.status === 'succeeded',
      );
      const got = JSON.parse(
        await grpcurl(['-d', JSON.stringify({ id }), address, 'trellis.v1.ExperimentService/GetExperiment']),
      ) as { experiment: { state: string; best: { params: Record<string, unknown> } } };
      assert.equal(got.experiment.state, 'EXPERIMENT_STATUS_SUCCEEDED');
      assert.equal(typeof got.experiment.best.params.x, 'number');
      const trials = JSON.parse(
        await grpcurl(['-d', JSON.stringify({ experimentId: id }), address, 'trellis.v1.ExperimentService/ListTrials']),
      ) as { trials: { state: string; params: Record<string, unknown>; metrics: Record<string, number> }[] };
      assert.equal(trials.trials.length, 2);
      for (const t of trials.trials) {
        assert.equal(t.state, 'TRIAL_STATUS_SUCCEEDED');
        assert.equal(typeof t.metrics.score, 'number');
      }
      // The spec a client read back is submittable as it is.
      const again = JSON.parse(
        await grpcurl(
          ['-d', '@', address, 'trellis.v1.ExperimentService/SubmitExperiment'],
          JSON.stringify({ specDocument: submitted.experiment.spec }),
        ),
      ) as { experiment: { id: string; spec: unknown } };
      assert.notEqual(again.experiment.id, id);
      assert.deepEqual(again.experiment.spec, submitted.experiment.spec);
      const workers = JSON.parse(await grpcurl([address, 'trellis.v1.ExperimentService/ListWorkers'])) as {
        workers: { id: string; state: string; runtimes: string[]; lastHeartbeatMs: string }[];
      };
      const w = workers.workers.find((x) => x.id === 'reflect-w1');
      assert.ok(w, JSON.stringify(workers));
      assert.equal(w.state, 'WORKER_STATUS_CONNECTED');
      assert.ok(Number(w.lastHeartbeatMs) > 0);
      // Events from the start by default: the first one has seq 1.
      const events = (
        await grpcurl(['-d', JSON.stringify({ experimentId: id }), address, 'trellis.v1.ExperimentService/WatchEvents'])
      )
        .split(/\n(?=\{)/)
        .map((chunk) => JSON.parse(chunk) as { seq: string; type: string; payload: Record<string, unknown> });
      assert.equal(events[0]!.seq, '1');
      assert.equal(events.at(-1)!.payload.status, 'succeeded');
    } finally {
      await cluster.stop();
    }
  });
  it('trellis --version prints the version; trellis watch ends with the best trial and shows pending reasons', async () => {
    const run = (args: string[]): Promise<{ code: number; stdout: string; stderr: string }> =>
      new Promise((resolve) => {
        execFile(
          process.execPath,
          [CLI_PATH, ...args], // The cluster's bus is in-process: watch must not read NATS_URL's stream.
          { timeout: 60_000, env: { ...process.env, NATS_URL: '' } },
          (err, stdout, stderr) =>
            resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
        );
      });
    const version = await run(['--version']);
    const pkg = JSON.parse(readFileSync(join(projectRoot(), 'package.json'), 'utf8')) as { version: string };
    assert.equal(version.code, 0);
    assert.equal(version.stdout.trim(), pkg.version);

    const cluster = await startCluster({ workers: 0 });
    const client = new TrellisClient(cluster.address);
    try {
      cluster.spawnWorker('watch-w1');
      await waitForWorkers(cluster, 1);
      const { experiment } = await client.submit(
        sweepSpec({ name: 'watched', trials: 2, concurrency: 2, steps: 2, delay: 1 }),
      );
      const final = await client.wait(experiment.id);
      const watched = await run(['watch', experiment.id, '--from-start', '--coordinator', cluster.address]);
      assert.equal(watched.code, 0, watched.stderr);
      assert.ok(final.best);
      assert.ok(
        watched.stderr.includes(`best: trial #${final.best.number} val_score=${final.best.value}`),
        watched.stderr.slice(-2000),
      );

      const { experiment: gpu } = await client.submit(
        JSON.stringify({ ...JSON.parse(sweepSpec({ name: 'gpu' })), resources: { gpus: 1 } }),
      );
      await cluster.waitForEvent(
        (e) => e.experimentId === gpu.id && e.type === 'trial.state' && typeof e.payload.pendingReason === 'string',
      );
      const status = await run(['status', gpu.id, '--coordinator', cluster.address]);
      assert.match(
        status.stdout,
        /waiting: trials? [\d, ]+: no connected worker \(1 accepting\) can ever run this trial: needs gpus 1/,
      );
      await client.cancel(gpu.id);
      const cancelledWatch = await run(['watch', gpu.id, '--from-start', '--coordinator', cluster.address]);
      assert.match(cancelledWatch.stderr, /trial \d waiting: no connected worker/);
      assert.equal(cancelledWatch.code, 1, 'a cancelled experiment exits 1');
    } finally {
      client.close();
      await cluster.stop();
    }
  });
});
