/**
 * Hostile workers against a real `trellis coordinator --tokens --stuck-after` process with a real
 * `trellis worker` (and scripted workers spoken by hand over real gRPC, test/helpers/raw-worker.ts):
 * forged and replayed attempt tokens, takeover through a hello, a duplicate worker id, a forged
 * score, artifact theft by a worker and by a client, `$artifact` of someone else's experiment, a
 * black-hole worker (capacity clamp and stuck detection), `fromWorkerEnv`, reflection behind
 * authentication, and the audit events on NATS. Every refusal is checked for its exact status
 * code and for leaving what is stored unchanged.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { TrellisClient } from '../../client/index.js';
import { eventSchema } from '../../shared/event-schemas.js';
import type { Assignment__Output } from '../../shared/generated/trellis/v1/Assignment.js';
import type { Hello } from '../../shared/generated/trellis/v1/Hello.js';
import { startSecureCluster, type SecureCluster } from '../helpers/secure.js';
import { RawWorker, workerCall } from '../helpers/raw-worker.js';
import { within } from '../helpers/deadline.js';
import { healthStatus, reflectionServices } from '../helpers/grpc-probe.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const SECRET_CHECK = join(ROOT, 'test/fixtures/security/secret-check.mjs');
const WORKER_SECRET = `worker-held-${randomBytes(6).toString('hex')}`;
const { PERMISSION_DENIED, UNAUTHENTICATED } = grpc.status;

async function refusedWith(code: grpc.status, call: () => Promise<unknown>): Promise<string> {
  try {
    await call();
  } catch (err) {
    assert.equal((err as { code?: number }).code, code, `expected ${grpc.status[code]}, got ${String(err)}`);
    return (err as Error).message;
  }
  assert.fail(`expected ${grpc.status[code]}, but the call succeeded`);
}

function spec(
  name: string,
  pool: string,
  trial: Record<string, unknown>,
  budget: Record<string, unknown> = {},
): string {
  return JSON.stringify({
    apiVersion: 'trellis/v1',
    kind: 'Sweep',
    name,
    trial: { runtime: 'command', objective: { metric: 'val_score', mode: 'max' }, stopGraceSeconds: 1, ...trial },
    search: { algorithm: 'random', seed: 1, space: { x: { uniform: [0, 1] } } },
    resources: { labels: { pool } },
    budget: { trials: 1, concurrency: 1, maxAttempts: 1, ...budget },
  });
}

/** Reports val_score 0.5 every 200 ms for two minutes: a live, honest trial. */
const STEADY = [
  process.execPath,
  '-e',
  'let s=0;setInterval(()=>{s++;console.log(JSON.stringify({step:s,val_score:0.5}));if(s>600)process.exit(0)},200)',
];

const helloOf = (id: string, patch: Partial<Hello> = {}): Hello => ({
  worker_id: id,
  slots: { cpus: 1 },
  labels: {},
  runtimes: ['command'],
  version: 'hostile',
  ...patch,
});

describe('security: hostile workers', () => {
  let cluster: SecureCluster;
  let nats: NatsConnection;
  const audits: { subject: string; event: unknown }[] = [];
  const clients: TrellisClient[] = [];
  const raw: RawWorker[] = [];
  const as = (name: string): TrellisClient => {
    const client = new TrellisClient(cluster.address, { timeoutMs: 20_000, token: cluster.tokens[name] ?? '' });
    clients.push(client);
    return client;
  };
  const rawWorker = (token: string, hello: Hello): RawWorker => {
    const worker = new RawWorker(cluster.workerClient(cluster.tokens[token]), hello);
    raw.push(worker);
    return worker;
  };
  let honestId: string;
  let honestAttempt: string;
  let scribe: RawWorker;
  let scribeAttempt: Assignment__Output;
  let bobArtifact: string;
  let progressTimer: NodeJS.Timeout | undefined;
  const scribeRunning = new Map<string, string>(); // attempt id → token

  before(async () => {
    const natsUrl = process.env.NATS_URL;
    assert.ok(natsUrl, 'NATS_URL is set (scripts/test.mjs starts nats-server)');
    nats = await connect({ servers: natsUrl });
    const sub = nats.subscribe('trellis.v1.audit.>');
    void (async () => {
      for await (const m of sub) audits.push({ subject: m.subject, event: m.json() });
    })();
    cluster = await startSecureCluster(
      {
        root: 'admin',
        alice: 'submitter',
        bob: 'submitter',
        val: 'viewer',
        node: 'worker',
        scribe: 'worker',
        evil: 'worker',
        hole: ['worker', '--max-slots', '2'],
      },
      [
        {
          token: 'node',
          args: ['--allow-command', '--labels', 'pool=real', '--cpus', '3'],
          env: { FIXTURE_WORKER_SECRET: WORKER_SECRET },
        },
      ],
      { coordinatorArgs: ['--stuck-after', '2'], env: { NATS_URL: natsUrl } },
    );
    // An honest trial of alice's, running on the real worker.
    const honest = await as('alice').submit(spec('alice-honest', 'real', { command: STEADY }));
    honestId = honest.experiment.id;
    honestAttempt = `${honestId}-t0-a1`;
    const watch = new AbortController();
    await within(
      (async () => {
        for await (const e of as('alice').watch(honestId, { fromSeq: 1, signal: watch.signal }))
          if (e.type === 'trial.metric') return watch.abort();
      })(),
      60_000,
      "alice's honest trial reporting",
    );
    // Bob's trial, taken by a scripted worker (scribe) that stores an artifact for it.
    const bob = await as('bob').submit(spec('bob-private', 'scribe', { command: ['never-run'] }));
    scribe = rawWorker('scribe', helloOf('scribe-1', { slots: { cpus: 2 }, labels: { pool: 'scribe' } }));
    await scribe.heartbeats(() => [...scribeRunning.keys()]);
    scribeAttempt = await scribe.nextAssignment();
    assert.equal(scribeAttempt.experiment_id, bob.experiment.id);
    assert.match(scribeAttempt.attempt_token, /^[A-Za-z0-9_-]{43}$/, '32 random bytes, base64url');
    scribeRunning.set(scribeAttempt.attempt_id, scribeAttempt.attempt_token);
    // A live worker reports progress (stuck detection is on at 2 s).
    let step = 0;
    progressTimer = setInterval(() => {
      step++;
      for (const [attempt_id, attempt_token] of scribeRunning)
        scribe.send({ progress: { attempt_id, attempt_token, step, metrics: { val_score: 0.1 } } });
    }, 300);
    const put = await workerCall<{ artifact_id: string }>(cluster.workerClient(cluster.tokens.scribe), 'PutArtifact', {
      attempt_id: scribeAttempt.attempt_id,
      attempt_token: scribeAttempt.attempt_token,
      kind: 'checkpoint',
      step: 1,
      data: Buffer.from('"bob-private-weights"'),
    });
    bobArtifact = put.artifact_id;
  });

  after(async () => {
    clearInterval(progressTimer);
    for (const worker of raw) worker.close();
    await as('root')
      .cancel(honestId)
      .catch(() => undefined);
    for (const client of clients) client.close();
    await cluster?.close();
    await nats?.close();
  });

  /** The honest trial as stored: still running on the real worker, never scored by anyone else. */
  async function assertHonestUntouched(): Promise<void> {
    const [trial] = await as('root').trials(honestId);
    assert.equal(trial?.status, 'running');
    assert.equal(trial?.worker, 'sec-w0');
    assert.notEqual(trial?.metrics.val_score, 1e9);
    assert.equal((await as('root').get(honestId)).best, undefined);
  }

  it('forged attempt tokens (result, progress, checkpoint) end the stream with PERMISSION_DENIED; the score never counts', async () => {
    for (const [n, message] of [
      { result: { attempt_id: honestAttempt, metrics: { val_score: 1e9 }, info_json: '{}' } },
      { progress: { attempt_id: honestAttempt, step: 1_000_000, metrics: { val_score: 1e9 } } },
      { checkpoint: { attempt_id: honestAttempt, artifact_id: bobArtifact, step: 1_000_000 } },
    ].entries()) {
      const evil = rawWorker('evil', helloOf(`evil-forge-${n}`));
      await within(evil.welcomed, 20_000, 'welcome');
      const body = Object.values(message)[0] as Record<string, unknown>;
      body.attempt_token = randomBytes(32).toString('base64url');
      evil.send(message);
      const status = await evil.status();
      assert.equal(status.code, PERMISSION_DENIED, status.details);
      assert.match(
        status.details,
        new RegExp(`attempt ${honestAttempt} refused: it is not bound to worker identity evil`),
      );
    }
    // A real token stolen from another identity's attempt (scribe's) is no better.
    const thief = rawWorker('evil', helloOf('evil-thief'));
    await within(thief.welcomed, 20_000, 'welcome');
    thief.send({
      result: {
        attempt_id: scribeAttempt.attempt_id,
        attempt_token: scribeAttempt.attempt_token,
        metrics: { val_score: 1e9 },
        info_json: '{}',
      },
    });
    assert.equal((await thief.status()).code, PERMISSION_DENIED);
    await assertHonestUntouched();
    const [bobTrial] = await as('root').trials(scribeAttempt.experiment_id);
    assert.equal(bobTrial?.status, 'running', "bob's trial was not ended by the thief");
  });

  it('a hello cannot take over attempts of another identity, nor one shown with a wrong token', async () => {
    const evil = rawWorker(
      'evil',
      helloOf('evil-takeover', {
        running_attempt_ids: [honestAttempt, scribeAttempt.attempt_id],
        attempt_tokens: { [honestAttempt]: 'guess', [scribeAttempt.attempt_id]: scribeAttempt.attempt_token },
      }),
    );
    await evil.stops.find((s) => s.attempt_id === honestAttempt, 20_000, 'a stop for the honest attempt');
    await evil.stops.find((s) => s.attempt_id === scribeAttempt.attempt_id, 20_000, "a stop for scribe's attempt");
    await assertHonestUntouched();
    const workers = await as('root').workers();
    assert.equal(workers.find((w) => w.id === 'evil-takeover')?.running, 0, 'it holds nothing');
    assert.equal(workers.find((w) => w.id === 'scribe-1')?.running, 1);
  });

  it('a second connection with an existing worker id from another identity is refused', async () => {
    const impostor = rawWorker('evil', helloOf('sec-w0', { slots: { cpus: 64 }, labels: { pool: 'real' } }));
    const status = await impostor.status();
    assert.equal(status.code, PERMISSION_DENIED);
    assert.match(status.details, /worker id sec-w0 is in use by another worker identity/);
    const real = (await as('root').workers()).find((w) => w.id === 'sec-w0');
    assert.equal(real?.status, 'connected');
    assert.equal(real?.cpus, 3, 'the real worker keeps its own capacity');
    await assertHonestUntouched();
  });

  it('artifacts: workers read only what their attempts need, clients only their own experiments', async () => {
    const evil = cluster.workerClient(cluster.tokens.evil);
    const get = (client: typeof evil, request: object) => workerCall<{ data: Buffer }>(client, 'GetArtifact', request);
    assert.match(
      await refusedWith(PERMISSION_DENIED, () => get(evil, { artifact_id: bobArtifact })),
      /a worker reads artifacts only for an attempt it runs/,
    );
    await refusedWith(PERMISSION_DENIED, () =>
      get(evil, { artifact_id: bobArtifact, attempt_id: honestAttempt, attempt_token: 'forged' }),
    );
    // Its own attempt's token does not open an artifact that attempt does not need.
    const scribeClient = cluster.workerClient(cluster.tokens.scribe);
    assert.match(
      await refusedWith(PERMISSION_DENIED, () =>
        get(scribeClient, {
          artifact_id: bobArtifact,
          attempt_id: scribeAttempt.attempt_id,
          attempt_token: scribeAttempt.attempt_token,
        }),
      ),
      /is not an input or the checkpoint of attempt/,
    );
    await refusedWith(PERMISSION_DENIED, () =>
      workerCall(evil, 'PutArtifact', {
        attempt_id: honestAttempt,
        attempt_token: 'x',
        kind: 'checkpoint',
        data: Buffer.from('x'),
      }),
    );
    // Clients: through the same RPC with their own tokens.
    for (const name of ['alice', 'val']) {
      await refusedWith(PERMISSION_DENIED, () =>
        get(cluster.workerClient(cluster.tokens[name]), { artifact_id: bobArtifact }),
      );
    }
    for (const name of ['bob', 'root']) {
      const read = await get(cluster.workerClient(cluster.tokens[name]), { artifact_id: bobArtifact });
      assert.equal(Buffer.from(read.data).toString(), '"bob-private-weights"');
    }
  });

  it("`$artifact` of someone else's experiment is refused naming the field; the owner's is resolved for its attempt", async () => {
    const before = (await as('root').list()).length;
    const referencing = (name: string) =>
      spec(name, 'scribe', { command: ['never-run'], options: { init: { $artifact: bobArtifact } } });
    const message = await refusedWith(PERMISSION_DENIED, () => as('alice').submit(referencing('alice-steals')));
    assert.match(
      message,
      /trial\.options\.init: \{"\$artifact": ".*"\} is not an artifact of an experiment alice owns/,
    );
    assert.equal((await as('root').list()).length, before, 'nothing stored');
    const { experiment } = await as('bob').submit(referencing('bob-reuses'));
    const attempt = await scribe.nextAssignment();
    assert.equal(attempt.experiment_id, experiment.id);
    scribeRunning.set(attempt.attempt_id, attempt.attempt_token);
    const read = await workerCall<{ data: Buffer }>(cluster.workerClient(cluster.tokens.scribe), 'GetArtifact', {
      artifact_id: bobArtifact,
      attempt_id: attempt.attempt_id,
      attempt_token: attempt.attempt_token,
    });
    assert.equal(Buffer.from(read.data).toString(), '"bob-private-weights"', 'an input of its attempt');
    // Both of scribe's attempts end; their tokens are then worthless (replay).
    for (const a of [scribeAttempt, attempt]) {
      scribeRunning.delete(a.attempt_id);
      scribe.send({
        result: {
          attempt_id: a.attempt_id,
          attempt_token: a.attempt_token,
          metrics: { val_score: 0.1 },
          info_json: '{}',
        },
      });
    }
    assert.equal((await as('bob').wait(experiment.id, undefined, { timeoutMs: 30_000 })).status, 'succeeded');
    await refusedWith(PERMISSION_DENIED, () =>
      workerCall(cluster.workerClient(cluster.tokens.scribe), 'PutArtifact', {
        attempt_id: scribeAttempt.attempt_id,
        attempt_token: scribeAttempt.attempt_token,
        kind: 'checkpoint',
        data: Buffer.from('replayed'),
      }),
    );
  });

  it('a black-hole worker: its capacity claim is clamped to --max-slots, and an attempt without progress is stopped and retried', async () => {
    const hole = rawWorker('hole', helloOf('hole-1', { slots: { cpus: 1e6 }, labels: { pool: 'hole' } }));
    const holding = new Set<string>();
    await hole.heartbeats(() => [...holding]);
    assert.equal((await as('root').workers()).find((w) => w.id === 'hole-1')?.cpus, 2);
    const more = rawWorker('hole', helloOf('hole-2', { labels: { pool: 'hole' } }));
    const status = await more.status();
    assert.equal(status.code, PERMISSION_DENIED);
    assert.match(status.details, /hole may advertise at most 2 CPU slots in all/);

    const { experiment } = await as('alice').submit(spec('alice-hole', 'hole', { command: ['x'] }, { maxAttempts: 2 }));
    for (let n = 1; n <= 2; n++) {
      const a = await hole.nextAssignment();
      holding.add(a.attempt_id);
      const stop = await hole.stops.find((s) => s.attempt_id === a.attempt_id, 20_000, `a stop for attempt ${n}`);
      assert.match(stop.reason, /stuck: no progress report for \d+ s on worker hole-1, which still heartbeats/);
      holding.delete(a.attempt_id);
    }
    const ended = await as('alice').wait(experiment.id, undefined, { timeoutMs: 30_000 });
    assert.equal(ended.status, 'failed');
    const [trial] = await as('root').trials(experiment.id);
    assert.equal(trial?.attempts, 2);
    assert.match(trial?.error ?? '', /stuck: no progress report/);
  });

  it('fromWorkerEnv: the worker resolves its own variable; a missing one fails the attempt naming it', async () => {
    const outFile = join(cluster.dir, 'from-worker.sha256');
    const ok = await as('alice').submit(
      spec('alice-worker-secret', 'real', {
        command: [process.execPath, SECRET_CHECK, outFile],
        env: { API_KEY: { fromWorkerEnv: 'FIXTURE_WORKER_SECRET' } },
      }),
    );
    assert.equal((await as('alice').wait(ok.experiment.id, undefined, { timeoutMs: 60_000 })).status, 'succeeded');
    assert.equal(readFileSync(outFile, 'utf8'), createHash('sha256').update(WORKER_SECRET).digest('hex'));
    const shown = await as('alice').get(ok.experiment.id);
    assert.deepEqual((shown.spec as { trial: { env: unknown } }).trial.env, {
      API_KEY: { fromWorkerEnv: 'FIXTURE_WORKER_SECRET' },
    });
    assert.ok(!cluster.coordinatorLog().includes(WORKER_SECRET), 'the value never reached the coordinator');

    const missing = await as('alice').submit(
      spec('alice-missing-secret', 'real', {
        command: [process.execPath, SECRET_CHECK, outFile],
        env: { API_KEY: { fromWorkerEnv: 'NO_SUCH_WORKER_VARIABLE' } },
      }),
    );
    assert.equal((await as('alice').wait(missing.experiment.id, undefined, { timeoutMs: 60_000 })).status, 'failed');
    const [trial] = await as('alice').trials(missing.experiment.id);
    assert.match(
      trial?.error ?? '',
      /trial\.env\.API_KEY: \{fromWorkerEnv: NO_SUCH_WORKER_VARIABLE\}: this worker has no environment variable NO_SUCH_WORKER_VARIABLE/,
    );
  });

  it('reflection needs a token when tokens are configured; health does not', async () => {
    const listServices = (token?: string) => reflectionServices(cluster.address, token);
    const denied = await refusedWith(UNAUTHENTICATED, () => listServices());
    assert.match(denied, /no token/);
    await refusedWith(UNAUTHENTICATED, () => listServices('trellis_forged'));
    assert.ok((await listServices(cluster.tokens.val)).includes('trellis.v1.ExperimentService'));
    const served = { status: await healthStatus(cluster.address) };
    assert.equal(served.status, 'SERVING');
  });

  it('audits submits, token uses, authentication failures, denials and clamps on trellis.v1.audit.<kind>', async () => {
    await refusedWith(UNAUTHENTICATED, () => new TrellisClient(cluster.address, { token: '' }).list());
    const find = (kind: string, match: (p: Record<string, unknown>) => boolean) =>
      within(
        (async () => {
          for (;;) {
            const hit = audits.find(
              (a) =>
                (a.event as { payload: { kind: string } }).payload.kind === kind &&
                match((a.event as { payload: Record<string, unknown> }).payload),
            );
            if (hit) return hit;
            await nats.flush();
            await new Promise((resolve) => setImmediate(resolve));
          }
        })(),
        20_000,
        `an audit event of kind ${kind}`,
      );
    const submit = await find('submit', (p) => p.identity === 'alice' && p.experimentId === honestId);
    assert.equal((submit.event as { payload: { outcome: string } }).payload.outcome, 'ok');
    await find('denied', (p) => p.identity === 'alice' && p.method === 'ExperimentService.SubmitExperiment');
    await find('denied', (p) => p.identity === 'evil' && p.method === 'WorkerService.Connect');
    await find('unauthenticated', (p) => p.identity === 'unknown' && p.outcome === 'UNAUTHENTICATED');
    await find('clamped', (p) => p.identity === 'hole' && p.workerId === 'hole-1');
    await find('token', (p) => p.identity === 'val' && p.outcome === 'ok');
    for (const { subject, event } of audits) {
      const parsed = eventSchema.parse(event) as { type: string; payload: { kind: string } };
      assert.equal(parsed.type, 'audit');
      assert.equal(subject, `trellis.v1.audit.${parsed.payload.kind}`);
      assert.ok(!JSON.stringify(event).includes(cluster.tokens.evil!), 'no token in an audit record');
    }
    assert.match(cluster.coordinatorLog(), /"msg":"audit denied"/);
  });
});
