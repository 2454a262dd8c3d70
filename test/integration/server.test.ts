/**
 * The coordinator's standard services (health, reflection), graceful worker shutdown, and export.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { protoPath as healthProto } from 'grpc-health-check';
import { join } from 'node:path';
import { TrellisClient } from '../../client/index.js';
import { exportExperiment } from '../../cli/export.js';
import { stopChild } from '../../cli/embedded.js';
import { projectRoot } from '../../shared/paths.js';
import { startCluster, sweepSpec, waitForWorkers } from '../helpers/cluster.js';
import { WAIT_MS } from '../helpers/deadline.js';

type Unary = (req: object, cb: (err: grpc.ServiceError | null, res: Record<string, unknown>) => void) => void;

describe('coordinator services', () => {
  it('serves grpc.health.v1 (SERVING once started) and server reflection listing the Trellis services', async () => {
    const cluster = await startCluster({ workers: 0 });
    try {
      const health = grpc.loadPackageDefinition(protoLoader.loadSync(healthProto, { enums: String })) as unknown as {
        grpc: {
          health: { v1: { Health: new (a: string, c: grpc.ChannelCredentials) => grpc.Client & { Check: Unary } } };
        };
      };
      const client = new health.grpc.health.v1.Health(cluster.address, grpc.credentials.createInsecure());
      for (const service of ['', 'trellis.v1.ExperimentService', 'trellis.v1.WorkerService']) {
        const response = await new Promise<Record<string, unknown>>((resolve, reject) =>
          client.Check({ service }, (err, res) => (err ? reject(err) : resolve(res))),
        );
        assert.equal(response.status, 'SERVING', service || '(server)');
      }
      client.close();

      const reflectionProto = join(
        projectRoot(),
        'node_modules',
        '@grpc',
        'reflection',
        'build',
        'proto',
        'grpc',
        'reflection',
        'v1',
        'reflection.proto',
      );
      const reflection = grpc.loadPackageDefinition(
        protoLoader.loadSync(reflectionProto, { keepCase: true }),
      ) as unknown as {
        grpc: {
          reflection: {
            v1: {
              ServerReflection: new (
                a: string,
                c: grpc.ChannelCredentials,
              ) => grpc.Client & {
                ServerReflectionInfo(): grpc.ClientDuplexStream<
                  object,
                  { list_services_response?: { service: { name: string }[] } }
                >;
              };
            };
          };
        };
      };
      const rc = new reflection.grpc.reflection.v1.ServerReflection(cluster.address, grpc.credentials.createInsecure());
      const call = rc.ServerReflectionInfo();
      const names = await new Promise<string[]>((resolve, reject) => {
        call.on('data', (msg: { list_services_response?: { service: { name: string }[] } }) => {
          resolve((msg.list_services_response?.service ?? []).map((s) => s.name));
          call.end();
        });
        call.on('error', reject);
        call.write({ list_services: '' });
      });
      assert.ok(
        names.includes('trellis.v1.ExperimentService') && names.includes('trellis.v1.WorkerService'),
        names.join(', '),
      );
      rc.close();
    } finally {
      await cluster.stop();
    }
  });

  it('a worker stopped with SIGTERM preempts its running attempt (stopped within the grace time); another worker finishes it', async () => {
    const cluster = await startCluster({ workers: 0 });
    const client = new TrellisClient(cluster.address);
    try {
      const first = cluster.spawnWorker('leaving', { args: ['--grace', '0.5'] });
      await waitForWorkers(cluster, 1);
      const { experiment } = await client.submit(
        sweepSpec({ name: 'handback', trials: 1, concurrency: 1, steps: 30, delay: 100 }),
      );
      await cluster.waitForEvent((e) => e.type === 'trial.metric' && e.experimentId === experiment.id);
      cluster.spawnWorker('staying');
      // SIGTERM: the worker drains: its 3 s attempt gets SIGTERM and goes back as preempted within 0.5 s.
      await stopChild(first, 20_000);
      assert.equal(first.exitCode, 0, 'the worker exited cleanly');
      // Draining is recorded: ListWorkers shows the drained worker gone, marked draining.
      await cluster.waitForEvent(
        (e) => e.type === 'worker.state' && e.workerId === 'leaving' && e.payload.status === 'disconnected',
      );
      const leaving = (await client.workers()).find((w) => w.id === 'leaving');
      assert.deepEqual([leaving?.status, leaving?.draining], ['disconnected', true]);
      const final = await client.wait(experiment.id, undefined, { timeoutMs: WAIT_MS });
      assert.equal(final.status, 'succeeded');
      const [trial] = await client.trials(experiment.id);
      assert.equal(trial!.attemptHistory[0]!.workerId, 'leaving');
      assert.equal(trial!.attemptHistory[0]!.status, 'preempted');
      assert.equal(trial!.attemptHistory.at(-1)!.workerId, 'staying');
      assert.equal(trial!.attemptHistory.at(-1)!.status, 'succeeded');

      const csv = await exportExperiment(client, experiment.id, 'csv', false);
      const [header, row] = csv.trim().split('\n');
      assert.match(
        header!,
        /^trial,trial_id,status,attempts,seed,param\.delay,param\.steps,param\.x,metric\.score,metric\.val_score$/,
      );
      assert.match(row!, /^0,handback-[0-9a-f]+-t0,succeeded,\d,/);
      const steps = JSON.parse(await exportExperiment(client, experiment.id, 'json', true)) as {
        steps: { step: number }[];
      };
      assert.deepEqual(
        steps.steps.map((s) => s.step),
        Array.from({ length: 30 }, (_, i) => i + 1),
      );
    } finally {
      client.close();
      await cluster.stop();
    }
  });
});
