/**
 * Transport security with real processes and real servers: certificates made here with
 * `openssl` (a CA, the coordinator's and servers' certificate, a worker's client certificate,
 * and a rogue CA with its own "worker"); `trellis coordinator --tls-cert/--tls-key` with a TLS
 * worker and a TLS CLI running a real sweep; plaintext against TLS (both ways) and an untrusted
 * certificate failing at once with a clear message; mTLS, where the worker's certificate CN is
 * its identity; a nats-server started here with `--auth TOKEN` and TLS; FerretDB with a TLS
 * listener.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createServer } from 'node:net';
import { pathToFileURL } from 'node:url';
import { CLI_PATH, stopChild } from '../../cli/embedded.js';
import { TrellisClient } from '../../client/index.js';
import { MongoStore } from '../../coordinator/store/mongo.js';
import { natsAuthOptions, redactNatsUrl } from '../../coordinator/bus/nats-auth.js';
import { projectRoot } from '../../shared/paths.js';
import { cleanEnv, cli, startCoordinatorProcess } from '../helpers/secure.js';
import { waitUntil } from '../helpers/services.js';

interface Certs {
  ca: string;
  server: string;
  serverKey: string;
  worker: string;
  workerKey: string;
  rogueCa: string;
  rogue: string;
  rogueKey: string;
}

/** A CA, a server certificate for localhost / 127.0.0.1, a client certificate per name; all with openssl. */
function makeCerts(dir: string): Certs {
  const ssl = (...args: string[]): void => {
    execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  };
  const ca = (name: string): void =>
    ssl(
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '2',
      '-subj',
      `/CN=${name}`,
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.pem`,
    );
  const leaf = (name: string, cn: string, signer: string, ext: string): void => {
    writeFileSync(join(dir, `${name}.ext`), ext);
    ssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${cn}`, '-keyout', `${name}.key`, '-out', `${name}.csr`);
    ssl(
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      `${signer}.pem`,
      '-CAkey',
      `${signer}.key`,
      '-CAcreateserial',
      '-days',
      '2',
      '-out',
      `${name}.pem`,
      '-extfile',
      `${name}.ext`,
    );
  };
  ca('test-ca');
  ca('rogue-ca');
  leaf('server', 'localhost', 'test-ca', 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  leaf('worker', 'gpu-node-7', 'test-ca', 'extendedKeyUsage=clientAuth\n');
  leaf('rogue', 'gpu-node-7', 'rogue-ca', 'extendedKeyUsage=clientAuth\n');
  const p = (file: string): string => join(dir, file);
  return {
    ca: p('test-ca.pem'),
    server: p('server.pem'),
    serverKey: p('server.key'),
    worker: p('worker.pem'),
    workerKey: p('worker.key'),
    rogueCa: p('rogue-ca.pem'),
    rogue: p('rogue.pem'),
    rogueKey: p('rogue.key'),
  };
}

function sweepSpec(name: string): string {
  return JSON.stringify({
    apiVersion: 'trellis/v1',
    kind: 'Sweep',
    name,
    trial: {
      runtime: 'command',
      command: [
        process.execPath,
        '-e',
        'console.log(JSON.stringify({ val_score: Number(process.env.TRELLIS_SEED) % 7 }))',
      ],
      objective: { metric: 'val_score', mode: 'max' },
    },
    search: { algorithm: 'random', seed: 1, space: { x: { uniform: [0, 1] } } },
    budget: { trials: 2, concurrency: 2, maxAttempts: 1 },
  });
}

/** A `trellis worker` process; its log (stderr) is kept. */
function startWorker(address: string, args: string[]): { child: ChildProcess; log: () => string } {
  const child = spawn(process.execPath, [CLI_PATH, 'worker', '--coordinator', address, '--cpus', '2', ...args], {
    env: cleanEnv({ TRELLIS_LOG_LEVEL: 'info' }),
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  return { child, log: () => log };
}

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => resolvePort(addr && typeof addr === 'object' ? addr.port : 0));
    });
  });
}

/** Resolves once something accepts TCP connections on the port (deadline 20 s). */
async function listening(port: number, what: string): Promise<void> {
  const { createConnection } = await import('node:net');
  await waitUntil(
    () =>
      new Promise<boolean>((ok) => {
        const socket = createConnection({ host: '127.0.0.1', port });
        socket.once('connect', () => (socket.destroy(), ok(true)));
        socket.once('error', () => ok(false));
      }),
    20_000,
    what,
  );
}

describe('security: gRPC over TLS', () => {
  let dir: string;
  let certs: Certs;
  const children: ChildProcess[] = [];
  let tls: { child: ChildProcess; port: number; log: () => string };
  let mtls: { child: ChildProcess; port: number; log: () => string };
  let plain: { child: ChildProcess; port: number; log: () => string };
  const at = (port: number): string => `localhost:${port}`;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'trellis-tls-'));
    certs = makeCerts(dir);
    const serve = ['--tls-cert', certs.server, '--tls-key', certs.serverKey];
    [tls, mtls, plain] = await Promise.all([
      startCoordinatorProcess(['--listen', '127.0.0.1:0', '--dir', join(dir, 'a'), ...serve]),
      startCoordinatorProcess([
        '--listen',
        '127.0.0.1:0',
        '--dir',
        join(dir, 'b'),
        ...serve,
        '--tls-client-ca',
        certs.ca,
      ]),
      startCoordinatorProcess(['--listen', '127.0.0.1:0', '--dir', join(dir, 'c')]),
    ]);
    children.push(tls.child, mtls.child, plain.child);
  });
  after(async () => {
    await Promise.all(children.map((c) => stopChild(c, 5000)));
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs a real sweep: a TLS worker and the TLS CLI against a TLS coordinator', async () => {
    const worker = startWorker(at(tls.port), ['--tls-ca', certs.ca, '--allow-command', '--id', 'tls-w1']);
    children.push(worker.child);
    const specFile = join(dir, 'sweep.json');
    writeFileSync(specFile, sweepSpec('tls-sweep'));
    const submitted = await cli([
      'submit',
      specFile,
      '--wait',
      '--json',
      '--coordinator',
      at(tls.port),
      '--tls-ca',
      certs.ca,
    ]);
    assert.equal(submitted.code, 0, submitted.stderr.slice(-2000));
    const document = JSON.parse(submitted.stdout) as {
      experiment?: { id: string; status: string };
      id?: string;
      status?: string;
    };
    const experiment = document.experiment ?? (document as { id: string; status: string });
    assert.equal(experiment.status, 'succeeded');
    const client = new TrellisClient(at(tls.port), { tls: { ca: certs.ca } });
    try {
      const trials = await client.trials(experiment.id);
      assert.equal(trials.length, 2);
      assert.ok(
        trials.every((t) => t.status === 'succeeded'),
        JSON.stringify(trials.map((t) => t.status)),
      );
      const workers = await client.workers();
      assert.ok(
        workers.some((w) => w.id === 'tls-w1' && w.status === 'connected'),
        JSON.stringify(workers),
      );
    } finally {
      client.close();
    }
    // The same CA through the environment variable.
    const listed = await cli(['list', '--coordinator', at(tls.port)], cleanEnv({ TRELLIS_TLS_CA: certs.ca }));
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, /tls-sweep/);
    await stopChild(worker.child, 5000);
  });

  it('a plaintext client against the TLS coordinator fails at once, saying to pass --tls-ca', async () => {
    const started = Date.now();
    const result = await cli(['list', '--coordinator', at(tls.port)]);
    assert.equal(result.code, 1);
    assert.match(
      result.stderr,
      /closed the connection before gRPC started: it probably serves TLS; pass --tls-ca FILE/,
    );
    assert.ok(Date.now() - started < 15_000, `took ${Date.now() - started} ms`);
  });

  it('a TLS client against a plaintext coordinator fails at once, saying the coordinator has no TLS', async () => {
    const started = Date.now();
    const result = await cli(['list', '--coordinator', at(plain.port), '--tls-ca', certs.ca]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /TLS handshake with the coordinator at .* failed: it does not answer in TLS/);
    assert.ok(Date.now() - started < 15_000, `took ${Date.now() - started} ms`);
  });

  it('a certificate the CA did not sign is refused, naming the reason', async () => {
    const [result, missing] = await Promise.all([
      cli(['list', '--coordinator', at(tls.port), '--tls-ca', certs.rogueCa]),
      cli(['list', '--coordinator', at(tls.port), '--tls-ca', join(dir, 'nope.pem')]),
    ]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /presented a certificate that --tls-ca does not verify/);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /--tls-ca: cannot read .*nope\.pem \(ENOENT\)/);
  });

  it('mTLS: the worker certificate CN is the identity; no certificate or a rogue one is refused', async () => {
    const good = startWorker(at(mtls.port), [
      '--tls-ca',
      certs.ca,
      '--tls-cert',
      certs.worker,
      '--tls-key',
      certs.workerKey,
      '--id',
      'm-good',
    ]);
    const bare = startWorker(at(mtls.port), ['--tls-ca', certs.ca, '--id', 'm-bare']);
    const rogue = startWorker(at(mtls.port), [
      '--tls-ca',
      certs.ca,
      '--tls-cert',
      certs.rogue,
      '--tls-key',
      certs.rogueKey,
      '--id',
      'm-rogue',
    ]);
    children.push(good.child, bare.child, rogue.child);
    await waitUntil(
      () => /"identity":"gpu-node-7","role":"worker".*worker stream opened/.test(mtls.log()),
      30_000,
      'the certificate identity',
    );
    for (const refused of [bare, rogue]) {
      await waitUntil(
        () =>
          /the coordinator refused this worker: .*identifies workers by client certificate \(--tls-client-ca\)/.test(
            refused.log(),
          ),
        30_000,
        'the refusal in the worker log',
      );
    }
    // Clients without certificates still reach the ExperimentService (tokens are their identity).
    const client = new TrellisClient(at(mtls.port), { tls: { ca: certs.ca } });
    try {
      const workers = await client.workers();
      assert.deepEqual(
        workers.filter((w) => w.status === 'connected').map((w) => w.id),
        ['m-good'],
      );
    } finally {
      client.close();
    }
    assert.doesNotMatch(mtls.log(), /"identity":"anonymous".*worker stream opened/);
    await Promise.all([good, bare, rogue].map((w) => stopChild(w.child, 5000)));
  });

  it('refuses half a TLS configuration at start (exit 2)', async () => {
    const result = await cli([
      'coordinator',
      '--listen',
      '127.0.0.1:0',
      '--tls-cert',
      certs.server,
      '--dir',
      join(dir, 'd'),
    ]);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /--tls-cert, --tls-key: give both or neither/);
  });
});

describe('security: NATS with a token and TLS, MongoDB wire over TLS', () => {
  let dir: string;
  let certs: Certs;
  let natsPort: number;
  const TOKEN = 'nats-s3cret-token-4411';
  const servers: ChildProcess[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'trellis-tls-svc-'));
    certs = makeCerts(dir);
    natsPort = await freePort();
    const nats = spawnSync('sh', ['-c', 'command -v nats-server'], { encoding: 'utf8' }).stdout.trim();
    assert.ok(nats, 'nats-server is not on PATH (node scripts/services.mjs up installs it)');
    mkdirSync(join(dir, 'nats'));
    const server = spawn(
      nats,
      [
        '-js',
        '-a',
        '127.0.0.1',
        '-p',
        String(natsPort),
        '-sd',
        join(dir, 'nats'),
        '--auth',
        TOKEN,
        '--tls',
        '--tlscert',
        certs.server,
        '--tlskey',
        certs.serverKey,
      ],
      { stdio: 'ignore' },
    );
    servers.push(server);
    await listening(natsPort, 'nats-server with --auth and --tls');
  });
  after(async () => {
    await Promise.all(servers.map((s) => stopChild(s, 5000)));
    rmSync(dir, { recursive: true, force: true });
  });

  const coordinatorEnv = (extra: Record<string, string>) => cleanEnv({ TRELLIS_LOG_LEVEL: 'warn', ...extra });

  it('the coordinator connects to NATS with the token and the CA', async () => {
    const started = await startCoordinatorProcess(
      ['--listen', '127.0.0.1:0', '--dir', join(dir, 'ok')],
      coordinatorEnv({ NATS_URL: `nats://${TOKEN}@127.0.0.1:${natsPort}`, NATS_TLS_CA: certs.ca }),
    );
    try {
      assert.match(started.log(), /"bus":"nats"/);
      assert.ok(!started.log().includes(TOKEN), 'the token is in the log');
    } finally {
      await stopChild(started.child, 5000);
    }
  });

  it('without the token, or without the CA, the coordinator exits with a clear error', async () => {
    const [noToken, noCa] = await Promise.all([
      cli(
        ['coordinator', '--listen', '127.0.0.1:0', '--dir', join(dir, 'no-token')],
        coordinatorEnv({ NATS_URL: `nats://127.0.0.1:${natsPort}`, NATS_TLS_CA: certs.ca }),
      ),
      cli(
        ['coordinator', '--listen', '127.0.0.1:0', '--dir', join(dir, 'no-ca')],
        coordinatorEnv({ NATS_URL: `tls://${TOKEN}@127.0.0.1:${natsPort}` }),
      ),
    ]);
    assert.notEqual(noToken.code, 0);
    assert.match(noToken.stderr, /NATS at nats:\/\/127\.0\.0\.1:\d+ refused the credentials .*NATS_CREDS/);
    assert.notEqual(noCa.code, 0);
    assert.match(noCa.stderr, /NATS at tls:\/\/\*\*\*@127\.0\.0\.1:\d+: TLS failed .*set NATS_TLS_CA/);
    assert.ok(!noCa.stderr.includes(TOKEN), 'the token is in the error');
  });

  it('takes user/password and tokens out of NATS URLs and never shows them', () => {
    assert.deepEqual(natsAuthOptions(['nats://ann:p%40ss@h1:4222', 'tls://h2:4222']), {
      servers: ['nats://h1:4222', 'nats://h2:4222'],
      user: 'ann',
      pass: 'p@ss',
      tls: {},
    });
    assert.deepEqual(natsAuthOptions(['nats://tok@h:4222'], { tlsCa: certs.ca }), {
      servers: ['nats://h:4222'],
      token: 'tok',
      tls: { caFile: certs.ca },
    });
    assert.equal(redactNatsUrl('nats://ann:secret@h:4222'), 'nats://ann:***@h:4222');
    assert.equal(redactNatsUrl('nats://tok@h:4222'), 'nats://***@h:4222');
    assert.throws(
      () => natsAuthOptions(['nats://h'], { creds: join(dir, 'missing.creds') }),
      /NATS_CREDS: cannot read .*missing\.creds \(ENOENT\)/,
    );
  });

  it('MongoStore reaches FerretDB over TLS with MONGODB_TLS_CA_FILE, and fails without it', async () => {
    const install = (await import(pathToFileURL(resolve(projectRoot(), 'scripts/services/install.mjs')).href)) as {
      ensureFerretdb(): string;
    };
    const ferretdb = install.ensureFerretdb();
    const port = await freePort();
    mkdirSync(join(dir, 'fdb', 'data'), { recursive: true });
    mkdirSync(join(dir, 'fdb', 'state'), { recursive: true });
    const server = spawn(
      ferretdb,
      [
        '--handler=sqlite',
        `--sqlite-url=file:${join(dir, 'fdb', 'data')}/`,
        '--listen-addr=',
        `--listen-tls=127.0.0.1:${port}`,
        `--listen-tls-cert-file=${certs.server}`,
        `--listen-tls-key-file=${certs.serverKey}`,
        `--state-dir=${join(dir, 'fdb', 'state')}`,
        '--telemetry=disable',
        '--log-level=warn',
        '--debug-addr=-',
      ],
      { stdio: 'ignore' },
    );
    servers.push(server);
    await listening(port, 'FerretDB with a TLS listener');
    const uri = `mongodb://localhost:${port}/`;
    const store = new MongoStore({ uri, db: 'tlstest', tlsCAFile: certs.ca, cas: 'claims' });
    try {
      await store.start();
      assert.deepEqual(await store.listExperiments(), []);
    } finally {
      await store.close();
    }
    const untrusted = new MongoStore({
      uri: `${uri}?tls=true`,
      db: 'tlstest',
      tlsCAFile: certs.rogueCa,
      serverSelectionTimeoutMS: 1500,
    });
    await assert.rejects(untrusted.start(), /certificate|unreachable/i);
    await untrusted.close().catch(() => undefined);
    const plainClient = new MongoStore({ uri, db: 'tlstest', serverSelectionTimeoutMS: 1500 });
    await assert.rejects(plainClient.start(), /unreachable/i);
    await plainClient.close().catch(() => undefined);
  });
});
