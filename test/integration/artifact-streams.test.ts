/**
 * The streamed artifact RPCs over real gRPC (an in-process coordinator with a LocalStore, a
 * scripted worker holding a real attempt and its token): uploads and downloads of files in
 * chunks with sha256 checked end to end, resumed after the connection is cut mid-transfer (a TCP
 * proxy that forwards a few MiB, stalls, then drops everything), and every refusal: a wrong
 * sha256 (DATA_LOSS, nothing stored), a missing token (PERMISSION_DENIED), a size over the
 * staging area (RESOURCE_EXHAUSTED), an idle upload (DEADLINE_EXCEEDED, its bytes kept).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { TrellisClient } from '../../client/index.js';
import { Coordinator } from '../../coordinator/coordinator.js';
import { startServer, type ServerHandle } from '../../coordinator/server.js';
import { LocalStore } from '../../coordinator/store/local.js';
import { LocalBus } from '../../coordinator/bus/local.js';
import { flowLimitsFromEnv } from '../../coordinator/flow/limits.js';
import { createLogger } from '../../shared/log.js';
import { loadProto, type WorkerServiceClient } from '../../shared/proto.js';
import { downloadFile, uploadFile, type UploadRequest } from '../../shared/artifact-transfer.js';
import type { Assignment__Output } from '../../shared/generated/trellis/v1/Assignment.js';
import { RawWorker } from '../helpers/raw-worker.js';
import { tempDir, waitUntil } from '../helpers/services.js';

const MiB = 1024 * 1024;

/**
 * Forwards at most `limit` bytes each way per connection, then stalls (nothing more passes);
 * `cut()` drops every connection, and later connections pass everything.
 */
class StallingProxy {
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private limit: number;
  port = 0;

  constructor(
    private readonly target: number,
    limit: { up: number; down: number },
  ) {
    this.limit = Math.max(limit.up, limit.down);
    const { up, down } = limit;
    this.server = createServer((client) => {
      const upstream = createConnection({ host: '127.0.0.1', port: this.target });
      const limits = this.limit === Infinity ? { up: Infinity, down: Infinity } : { up, down };
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('error', () => undefined).on('close', () => this.sockets.delete(s));
      }
      const forward = (from: Socket, to: Socket, max: number): void => {
        let sent = 0;
        from.on('data', (chunk: Buffer) => {
          const room = max - sent;
          if (room <= 0) return;
          sent += Math.min(room, chunk.length);
          to.write(chunk.subarray(0, room));
        });
      };
      forward(client, upstream, limits.up);
      forward(upstream, client, limits.down);
    });
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as { port: number }).port;
  }

  cut(): void {
    this.limit = Infinity;
    for (const s of this.sockets) s.destroy();
  }

  async stop(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

describe('streamed artifacts over gRPC', () => {
  const tmp = tempDir('trellis-art-streams-');
  const log = createLogger('artifact-streams', 'error');
  let coordinator: Coordinator;
  let server: ServerHandle;
  let client: WorkerServiceClient;
  let submitter: TrellisClient;
  let worker: RawWorker;
  let attempt: Assignment__Output;
  const clients: WorkerServiceClient[] = [];

  const workerClient = (address: string): WorkerServiceClient => {
    const { proto } = loadProto();
    const c = new proto.trellis.v1.WorkerService(
      address,
      grpc.credentials.createInsecure(),
    ) as unknown as WorkerServiceClient;
    clients.push(c);
    return c;
  };
  const file = (name: string, bytes: Buffer): UploadRequest => {
    const path = join(tmp.dir, name);
    writeFileSync(path, bytes);
    return {
      attemptId: attempt.attempt_id,
      attemptToken: attempt.attempt_token,
      kind: 'checkpoint',
      step: 3,
      path,
      size: bytes.length,
      sha256: createHash('sha256').update(bytes).digest('hex'),
    };
  };
  const refused = async (code: grpc.status, pending: Promise<unknown>): Promise<string> => {
    const err = await pending.then(
      () => assert.fail(`expected ${grpc.status[code]}, the call succeeded`),
      (e: unknown) => e as grpc.ServiceError,
    );
    assert.equal(err.code, code, `expected ${grpc.status[code]}, got ${String(err)}`);
    return err.details;
  };

  before(async () => {
    coordinator = new Coordinator({
      store: new LocalStore(join(tmp.dir, 'store')),
      bus: new LocalBus(),
      log,
      leaseMs: 20_000,
    });
    await coordinator.start();
    server = await startServer(coordinator, '127.0.0.1:0', log, {
      limits: {
        ...flowLimitsFromEnv(),
        uploadIdleMs: 1500,
        stagingDir: join(tmp.dir, 'staging'),
        stagingMaxBytes: 64 * MiB,
        artifactMaxBytes: 1024 * MiB,
      },
    });
    client = workerClient(server.address);
    submitter = new TrellisClient(server.address);
    await submitter.submit(
      JSON.stringify({
        apiVersion: 'trellis/v1',
        kind: 'Sweep',
        name: 'streams',
        trial: { runtime: 'command', command: ['never-run'], objective: { metric: 'score', mode: 'max' } },
        search: { algorithm: 'random', seed: 1, space: { x: { uniform: [0, 1] } } },
        budget: { trials: 1, concurrency: 1, maxAttempts: 1 },
      }),
    );
    worker = new RawWorker(client, {
      worker_id: 'scripted',
      slots: { cpus: 1 },
      labels: {},
      runtimes: ['command'],
      version: 'test',
    });
    attempt = await worker.nextAssignment();
    await worker.heartbeats(() => [attempt.attempt_id]);
  });

  after(async () => {
    worker?.close();
    submitter?.close();
    for (const c of clients) c.close();
    await server?.close();
    await coordinator?.close();
    tmp.remove();
  });

  it('uploads a file in chunks and downloads it whole and from an offset, sha256 checked', async () => {
    const bytes = randomBytes(9 * MiB + 123);
    const request = file('whole.bin', bytes);
    const id = await uploadFile(client, request);
    const stored = await coordinator.store.getArtifact(id);
    assert.equal(stored?.meta.sha256, request.sha256);
    assert.equal(stored?.meta.experimentId, attempt.experiment_id);
    assert.equal(stored?.meta.kind, 'checkpoint');
    assert.ok(stored?.data.equals(bytes));
    const out = join(tmp.dir, 'whole.out');
    const got = await downloadFile(client, { artifactId: id, path: out });
    assert.deepEqual(got, { kind: 'checkpoint', size: bytes.length, sha256: request.sha256 });
    assert.ok(readFileSync(out).equals(bytes));
    // From an offset: the header still carries the whole artifact's size and sha256.
    const call = client.GetArtifactStream({ artifact_id: id, offset: 5 * MiB + 1 });
    const parts: Buffer[] = [];
    let header: { size: string; sha256: string; offset: string } | undefined;
    for await (const m of call as AsyncIterable<{ header?: typeof header; chunk?: Buffer }>) {
      if (m.header) header = m.header;
      if (m.chunk) parts.push(m.chunk);
    }
    assert.equal(header?.sha256, request.sha256);
    assert.equal(Number(header?.size), bytes.length);
    assert.ok(Buffer.concat(parts).equals(bytes.subarray(5 * MiB + 1)));
    // Past the end: INVALID_ARGUMENT naming the field.
    const past = client.GetArtifactStream({ artifact_id: id, offset: bytes.length + 1 });
    const details = await refused(
      grpc.status.INVALID_ARGUMENT,
      (async () => {
        for await (const _ of past);
      })(),
    );
    assert.match(details, /offset/);
  });

  it('an upload cut off mid-way resumes from the bytes the coordinator holds', async () => {
    const bytes = randomBytes(24 * MiB);
    const request = { ...file('cut.bin', bytes), uploadId: 'cut-upload' };
    const proxy = new StallingProxy(server.port, { up: 6 * MiB, down: Infinity });
    await proxy.start();
    try {
      const resumes: number[] = [];
      const done = uploadFile(workerClient(`127.0.0.1:${proxy.port}`), request, {
        minBackoffMs: 50,
        onResume: (_err, offset) => resumes.push(offset),
      });
      // The proxy lets ~6 MiB through and stalls: wait until the coordinator has staged some.
      const staged = await waitUntil(
        async () => {
          const s = await status(client, request);
          return s.received_bytes > MiB ? s.received_bytes : 0;
        },
        30_000,
        'bytes staged before the cut',
      );
      proxy.cut();
      const id = await done;
      assert.equal(resumes.length >= 1, true, 'the upload was resumed');
      assert.ok(resumes[0]! >= staged, `resumed from ${resumes[0]} >= ${staged} bytes staged, not from 0`);
      const stored = await coordinator.store.getArtifact(id);
      assert.equal(stored?.meta.sha256, request.sha256);
      assert.ok(stored?.data.equals(bytes), 'byte-identical after the resume');
      // The finished upload answers its status with the artifact id (a lost final answer is recoverable).
      assert.equal((await status(client, request)).artifact_id, id);
    } finally {
      await proxy.stop();
    }
  });

  it('a download cut off mid-way resumes from the bytes on disk', async () => {
    const bytes = randomBytes(20 * MiB + 5);
    const request = file('down.bin', bytes);
    const id = await uploadFile(client, request);
    const proxy = new StallingProxy(server.port, { up: Infinity, down: 5 * MiB });
    await proxy.start();
    try {
      const out = join(tmp.dir, 'down.out');
      const resumes: number[] = [];
      let cut = false;
      const done = downloadFile(
        workerClient(`127.0.0.1:${proxy.port}`),
        { artifactId: id, path: out },
        {
          minBackoffMs: 50,
          onResume: (_err, offset) => resumes.push(offset),
        },
      );
      // Cut once the reader has written part of the file (it stalls at ~5 MiB).
      await waitUntil(
        () => {
          try {
            return readFileSync(out).length > MiB;
          } catch {
            return false;
          }
        },
        30_000,
        'part of the download on disk',
      );
      proxy.cut();
      cut = true;
      const got = await done;
      assert.ok(cut);
      assert.equal(got.sha256, request.sha256);
      assert.ok(resumes[0]! > MiB, `resumed from ${resumes[0]} bytes, not from 0`);
      assert.ok(readFileSync(out).equals(bytes));
    } finally {
      await proxy.stop();
    }
  });

  it('refuses wrong bytes, missing tokens, oversize and idle uploads, each with its code', async () => {
    const bytes = randomBytes(2 * MiB);
    const good = file('refusals.bin', bytes);
    // Wrong sha256: DATA_LOSS after the bytes, nothing stored, the staged bytes dropped.
    const wrong = {
      ...good,
      sha256: createHash('sha256').update('not these bytes').digest('hex'),
      uploadId: 'wrong-sha',
    };
    assert.match(await refused(grpc.status.DATA_LOSS, uploadFile(client, wrong)), /sha256/);
    assert.equal((await status(client, wrong)).received_bytes, 0);
    // No token, or another attempt's token: PERMISSION_DENIED.
    await refused(grpc.status.PERMISSION_DENIED, uploadFile(client, { ...good, attemptToken: '' }));
    await refused(grpc.status.PERMISSION_DENIED, uploadFile(client, { ...good, attemptToken: 'x'.repeat(43) }));
    // More than the staging area holds (64 MiB here): RESOURCE_EXHAUSTED before any byte; the
    // client tries a few times (it may free up), then gives up with the same code.
    const huge = { ...good, size: 65 * MiB };
    assert.match(
      await refused(grpc.status.RESOURCE_EXHAUSTED, uploadFile(client, huge, { minBackoffMs: 1, maxBackoffMs: 5 })),
      /TRELLIS_ARTIFACT_STAGING_MAX_BYTES/,
    );
    // A bad header: INVALID_ARGUMENT naming each field.
    const bad = await refused(
      grpc.status.INVALID_ARGUMENT,
      uploadFile(client, { ...good, sha256: 'abc', kind: 'no/slashes', size: 2048 * MiB }),
    );
    assert.match(bad, /header\.sha256/);
    assert.match(bad, /header\.kind/);
    assert.match(bad, /TRELLIS_ARTIFACT_MAX_BYTES/);
    // Idle: a header and one chunk, then silence: DEADLINE_EXCEEDED, and the chunk stays staged.
    const idle = { ...good, uploadId: 'idle-upload' };
    const ended = new Promise<grpc.ServiceError | null>((resolve) => {
      const call = client.PutArtifactStream((err) => resolve(err));
      call.write({
        header: {
          attempt_id: idle.attemptId,
          attempt_token: idle.attemptToken,
          kind: idle.kind,
          step: idle.step,
          upload_id: idle.uploadId,
          total_size: idle.size,
          sha256: idle.sha256,
          offset: 0,
        },
      });
      call.write({ chunk: bytes.subarray(0, MiB) });
    });
    const err = await ended;
    assert.equal(err?.code, grpc.status.DEADLINE_EXCEEDED);
    assert.match(err?.details ?? '', /TRELLIS_UPLOAD_IDLE_MS/);
    assert.equal(Number((await status(client, idle)).received_bytes), MiB);
    // ... and the same upload id finishes from there.
    const resumes: number[] = [];
    const id = await uploadFile(client, idle, { minBackoffMs: 1, onResume: (_e, offset) => resumes.push(offset) });
    assert.deepEqual(resumes, [MiB]);
    assert.ok((await coordinator.store.getArtifact(id))?.data.equals(bytes));
  });
});

function status(
  client: WorkerServiceClient,
  request: UploadRequest,
): Promise<{ received_bytes: number; artifact_id: string }> {
  return new Promise((resolve, reject) =>
    client.GetArtifactUploadStatus(
      { attempt_id: request.attemptId, attempt_token: request.attemptToken, upload_id: request.uploadId ?? '' },
      (err, response) =>
        err || !response
          ? reject(err ?? new Error('no response'))
          : resolve({ received_bytes: Number(response.received_bytes), artifact_id: response.artifact_id }),
    ),
  );
}
