/**
 * Hostile and honest clients against a coordinator started with `--tokens` (real processes:
 * `trellis token create`, `trellis coordinator`, `trellis worker`), over real gRPC. Every refused
 * call must carry the exact status code and leave what is stored unchanged.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { TrellisClient } from '../../client/index.js';
import type { ExperimentView } from '../../shared/convert.js';
import { cleanEnv, cli, startSecureCluster, type SecureCluster } from '../helpers/secure.js';

const SECRET_CHECK = fileURLToPath(new URL('../../../test/fixtures/security/secret-check.mjs', import.meta.url));
const SECRET = `s3cr3t-${Date.now()}-do-not-leak`;

function codeOf(err: unknown): number | undefined {
  return (err as { code?: number }).code;
}

async function refusedWith(code: grpc.status, call: () => Promise<unknown>): Promise<string> {
  try {
    await call();
  } catch (err) {
    assert.equal(codeOf(err), code, `expected ${grpc.status[code]}, got ${String(err)}`);
    return (err as Error).message;
  }
  assert.fail(`expected ${grpc.status[code]}, but the call succeeded`);
}

function withDeadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<T>(
      (_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms)),
    ),
  ]);
}

function secretSpec(name: string, outFile: string): string {
  return JSON.stringify({
    apiVersion: 'trellis/v1',
    kind: 'Sweep',
    name,
    trial: {
      runtime: 'command',
      command: [process.execPath, SECRET_CHECK, outFile],
      env: { API_KEY: SECRET },
      objective: { metric: 'val_score', mode: 'max' },
    },
    search: { algorithm: 'random', seed: 1, space: { x: { uniform: [0, 1] } } },
    budget: { trials: 1, concurrency: 1, maxAttempts: 1 },
  });
}

/** A spec whose one trial waits for a long time (kept running to test cancellation). */
function slowSpec(name: string): string {
  return JSON.stringify({
    apiVersion: 'trellis/v1',
    kind: 'Sweep',
    name,
    trial: {
      runtime: 'command',
      command: [process.execPath, '-e', 'setTimeout(() => {}, 600000)'],
      objective: { metric: 'val_score', mode: 'max' },
      stopGraceSeconds: 1,
    },
    search: { algorithm: 'random', seed: 1, space: { x: { uniform: [0, 1] } } },
    budget: { trials: 1, concurrency: 1, maxAttempts: 1 },
  });
}

describe('security: tokens, roles, owners, redaction', () => {
  let cluster: SecureCluster;
  const clients: TrellisClient[] = [];
  const as = (name?: string): TrellisClient => {
    const client = new TrellisClient(cluster.address, {
      timeoutMs: 20_000,
      token: name ? (cluster.tokens[name] ?? name) : '',
    });
    clients.push(client);
    return client;
  };
  let secretExperiment: ExperimentView;
  let outFile: string;

  before(async () => {
    cluster = await startSecureCluster(
      { root: 'admin', alice: 'submitter', bob: 'submitter', val: 'viewer', node: 'worker' },
      [{ token: 'node', args: ['--allow-command'] }],
    );
    outFile = join(cluster.dir, 'secret.sha256');
    const submitted = await as('alice').submit(secretSpec('alice-secret', outFile));
    secretExperiment = await withDeadline(as('alice').wait(submitted.experiment.id), 120_000, 'alice-secret');
  });

  after(async () => {
    for (const client of clients) client.close();
    await cluster?.close();
  });

  it('stores only hashes, in a file only its owner can read', () => {
    const text = readFileSync(cluster.tokensFile, 'utf8');
    assert.equal(statSync(cluster.tokensFile).mode & 0o777, 0o600);
    for (const [name, token] of Object.entries(cluster.tokens)) {
      assert.ok(!text.includes(token), `the token of ${name} is stored in clear`);
      assert.ok(text.includes(createHash('sha256').update(token).digest('hex')));
    }
  });

  it('runs the experiment of a submitter with a worker token, and the worker got the real secret', () => {
    assert.equal(secretExperiment.status, 'succeeded');
    assert.equal(secretExperiment.owner, 'alice');
    assert.equal(readFileSync(outFile, 'utf8'), createHash('sha256').update(SECRET).digest('hex'));
  });

  it('refuses every ExperimentService method without a token or with an unknown one: UNAUTHENTICATED', async () => {
    for (const client of [as(), as('trellis_not-a-real-token')]) {
      const id = secretExperiment.id;
      await refusedWith(grpc.status.UNAUTHENTICATED, () => client.list());
      await refusedWith(grpc.status.UNAUTHENTICATED, () => client.get(id));
      await refusedWith(grpc.status.UNAUTHENTICATED, () => client.trials(id));
      await refusedWith(grpc.status.UNAUTHENTICATED, () => client.exportMetrics(id));
      await refusedWith(grpc.status.UNAUTHENTICATED, () => client.cancel(id));
      await refusedWith(grpc.status.UNAUTHENTICATED, () => client.submit(slowSpec('anon')));
      await refusedWith(grpc.status.UNAUTHENTICATED, async () => {
        for await (const event of client.watch(id, { fromSeq: 1 })) void event;
      });
    }
    const all = await as('root').list();
    assert.deepEqual(
      all.map((e) => e.id),
      [secretExperiment.id],
      'a refused submit stored nothing',
    );
  });

  it('refuses WorkerService to callers without a worker token', async () => {
    for (const [token, code] of [
      [undefined, grpc.status.UNAUTHENTICATED],
      ['trellis_forged', grpc.status.UNAUTHENTICATED],
      [cluster.tokens.alice, grpc.status.PERMISSION_DENIED],
      [cluster.tokens.val, grpc.status.PERMISSION_DENIED],
    ] as const) {
      const client = cluster.workerClient(token);
      await refusedWith(
        code,
        () =>
          new Promise((resolve, reject) =>
            client.GetArtifact({ artifact_id: 'any' }, { deadline: Date.now() + 20_000 }, (err, res) =>
              err ? reject(err) : resolve(res),
            ),
          ),
      );
      await refusedWith(
        code,
        () =>
          new Promise((resolve, reject) =>
            client.PutArtifact(
              { attempt_id: `${secretExperiment.id}-t0-a1`, kind: 'checkpoint', step: 1, data: Buffer.from('forged') },
              { deadline: Date.now() + 20_000 },
              (err, res) => (err ? reject(err) : resolve(res)),
            ),
          ),
      );
      await refusedWith(
        code,
        () =>
          new Promise<void>((resolve, reject) => {
            const stream = client.Connect({ deadline: Date.now() + 20_000 });
            stream.on('data', () => reject(new Error('the coordinator talked to an unauthorised worker')));
            stream.on('error', reject);
            stream.on('end', () => resolve());
            stream.write({ hello: { worker_id: 'black-hole', slots: { cpus: 1e6 }, runtimes: ['command'] } });
          }),
      );
    }
  });

  it('keeps each role to its methods: PERMISSION_DENIED, nothing changed', async () => {
    const viewerMessage = await refusedWith(grpc.status.PERMISSION_DENIED, () =>
      as('val').submit(slowSpec('viewer-submit')),
    );
    assert.match(viewerMessage, /val \(role viewer\) may not call ExperimentService\.SubmitExperiment/);
    await refusedWith(grpc.status.PERMISSION_DENIED, () => as('val').cancel(secretExperiment.id));
    await refusedWith(grpc.status.PERMISSION_DENIED, () => as('node').list());
    await refusedWith(grpc.status.PERMISSION_DENIED, () => as('node').submit(slowSpec('worker-submit')));
    // A viewer reads.
    assert.deepEqual(
      (await as('val').list()).map((e) => e.id),
      [secretExperiment.id],
    );
  });

  it('lets submitters cancel only their own experiments; admins any', async () => {
    const { experiment } = await as('alice').submit(slowSpec('alice-slow'));
    assert.equal(experiment.owner, 'alice');
    const message = await refusedWith(grpc.status.PERMISSION_DENIED, () => as('bob').cancel(experiment.id));
    assert.match(message, /bob may not change experiment .* it belongs to alice/);
    assert.notEqual((await as('root').get(experiment.id)).status, 'cancelled');
    const cancelled = await as('alice').cancel(experiment.id);
    assert.equal(cancelled.status, 'cancelled');

    const { experiment: second } = await as('bob').submit(slowSpec('bob-slow'));
    assert.equal(second.owner, 'bob');
    assert.equal((await as('root').cancel(second.id)).status, 'cancelled');
  });

  it('never returns trial.env values: get, list, watch', async () => {
    for (const reader of ['val', 'bob', 'alice', 'root']) {
      const one = await as(reader).get(secretExperiment.id);
      assert.deepEqual((one.spec as { trial: { env: unknown } }).trial.env, { API_KEY: '[redacted]' });
      const listed = await as(reader).list();
      assert.ok(!JSON.stringify(listed).includes(SECRET), `${reader} read the secret from list`);
      assert.ok(!JSON.stringify(one).includes(SECRET), `${reader} read the secret from get`);
    }
    const events = [];
    for await (const event of as('val').watch(secretExperiment.id, { fromSeq: 1 })) events.push(event);
    assert.ok(events.length > 0);
    assert.ok(!JSON.stringify(events).includes(SECRET), 'an event carries the secret');
    assert.ok(!cluster.coordinatorLog().includes(SECRET), 'the coordinator logged the secret');
  });

  it('lets every reader see the program output of an attempt, env values redacted; others are refused', async () => {
    const [trial] = await as('val').trials(secretExperiment.id);
    for (const reader of ['val', 'bob', 'alice', 'root']) {
      const log = await as(reader).logs(trial!.id);
      assert.equal(log.source, 'worker');
      assert.ok(log.head.includes('debug: API_KEY=[redacted]'), `${reader}: ${JSON.stringify(log.head)}`);
      assert.ok(!JSON.stringify(log).includes(SECRET), `${reader} read the secret from the log`);
    }
    await refusedWith(grpc.status.UNAUTHENTICATED, () => as().logs(trial!.id));
    await refusedWith(grpc.status.PERMISSION_DENIED, () => as('node').logs(trial!.id));
    await refusedWith(grpc.status.PERMISSION_DENIED, async () => {
      for await (const m of as('node').followLogs(trial!.id)) void m;
    });
  });

  it('picks up created and revoked tokens without a restart', async () => {
    const token = await cluster.createToken('carol', 'viewer');
    const carol = new TrellisClient(cluster.address, { token, timeoutMs: 20_000 });
    clients.push(carol);
    assert.ok((await carol.list()).length >= 1);
    const revoked = await cli(['token', 'revoke', '--tokens', cluster.tokensFile, '--name', 'carol']);
    assert.equal(revoked.code, 0, revoked.stderr);
    await refusedWith(grpc.status.UNAUTHENTICATED, () => carol.list());
  });

  it('CLI: a refused call prints one line and exits 1', async () => {
    const missing = await cli(['list', '--coordinator', cluster.address]);
    assert.equal(missing.code, 1);
    assert.equal(missing.stderr.trim().split('\n').length, 1, missing.stderr);
    assert.match(missing.stderr, /no token: this coordinator requires one \(pass --token or set TRELLIS_TOKEN/);

    const denied = await cli([
      'cancel',
      secretExperiment.id,
      '--coordinator',
      cluster.address,
      '--token',
      cluster.tokens.val!,
    ]);
    assert.equal(denied.code, 1);
    assert.equal(denied.stderr.trim().split('\n').length, 1, denied.stderr);
    assert.match(denied.stderr, /may not call ExperimentService\.CancelExperiment/);

    const listed = await cli(
      ['list', '--coordinator', cluster.address],
      cleanEnv({ TRELLIS_TOKEN: cluster.tokens.val! }),
    );
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, new RegExp(`${secretExperiment.id} .*owner alice`));

    const tokenList = await cli(['token', 'list', '--tokens', cluster.tokensFile, '--json']);
    const names = (JSON.parse(tokenList.stdout) as { tokens: { name: string; role: string }[] }).tokens;
    assert.deepEqual(
      names.map((t) => `${t.name}:${t.role}`),
      ['root:admin', 'alice:submitter', 'bob:submitter', 'val:viewer', 'node:worker'],
    );
    assert.ok(!tokenList.stdout.includes(cluster.tokens.root!));
  });
});
