/**
 * Bounds checked before any work, through a real `trellis coordinator` process (issue 11):
 * - a gRPC message over its method's limit is refused from its 5-byte frame header, before its
 *   body has arrived or been decoded (RESOURCE_EXHAUSTED naming the limit): a worker stream's
 *   heartbeat, sent whole by grpc-js or half-sent by hand, and a unary request;
 * - the dashboard's HTTP API answers 429 with Retry-After past a caller's request rate, while
 *   another caller is still served.
 * After each, GetExperiment answers within its deadline.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:http2';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import * as grpc from '@grpc/grpc-js';
import { stopChild } from '../../cli/embedded.js';
import { TrellisClient } from '../../client/index.js';
import { loadProto, type WorkerServiceClient } from '../../shared/proto.js';
import { cleanEnv, cli, startCoordinatorProcess } from '../helpers/secure.js';
import { within } from '../helpers/deadline.js';
import { waitUntil } from '../helpers/services.js';

const WORKER_MAX = 64 * 1024;
const CALLS_PER_SECOND = 10;

const SPEC = JSON.stringify({
  apiVersion: 'trellis/v1',
  kind: 'Sweep',
  name: 'messages',
  trial: { runtime: 'command', command: ['true'], objective: { metric: 'val_score', mode: 'max' } },
  search: { algorithm: 'random', seed: 1, space: { x: { uniform: [0, 1] } } },
  budget: { trials: 1, concurrency: 1, maxAttempts: 1 },
});

describe('robustness: message sizes before decode, HTTP request rate (real coordinator process)', () => {
  let dir: string;
  let coordinator: { child: ChildProcess; port: number; log: () => string };
  let address: string;
  let base: string;
  let experimentId: string;
  const tokens: Record<string, string> = {};

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'trellis-messages-'));
    const file = join(dir, 'tokens.json');
    for (const [name, role] of [
      ['ann', 'submitter'],
      ['vic', 'viewer'],
      ['val', 'viewer'],
      ['wkr', 'worker'],
    ] as const) {
      const made = await cli(['token', 'create', '--tokens', file, '--name', name, '--role', role]);
      assert.equal(made.code, 0, made.stderr);
      tokens[name] = made.stdout.trim();
    }
    coordinator = await startCoordinatorProcess(
      ['--listen', '127.0.0.1:0', '--http', '127.0.0.1:0', '--tokens', file, '--dir', join(dir, 'state')],
      cleanEnv({
        TRELLIS_WORKER_MESSAGE_MAX_BYTES: String(WORKER_MAX),
        TRELLIS_CALLS_PER_SECOND: String(CALLS_PER_SECOND),
      }),
    );
    address = `127.0.0.1:${coordinator.port}`;
    const url = /DASHBOARD (\S+)/.exec(coordinator.log())?.[1];
    assert.ok(url, `no dashboard URL in ${coordinator.log().slice(-500)}`);
    base = url.replace(/\/$/, '');
    const client = new TrellisClient(address, { token: tokens.ann!, timeoutMs: 20_000 });
    try {
      experimentId = (await client.submit(SPEC)).experiment.id;
    } finally {
      client.close();
    }
  });

  after(async () => {
    if (coordinator) await stopChild(coordinator.child, 5000);
    rmSync(dir, { recursive: true, force: true });
  });

  /** The coordinator kept serving: a GetExperiment answers within 2 s. */
  async function stillServing(): Promise<void> {
    const quick = new TrellisClient(address, { token: tokens.ann!, timeoutMs: 2000 });
    try {
      assert.equal((await quick.get(experimentId)).id, experimentId);
    } finally {
      quick.close();
    }
  }

  /** A raw gRPC call whose frame header claims `claimed` bytes, of which only `sent` are sent. */
  function halfSent(
    path: string,
    token: string,
    claimed: number,
    sent: number,
  ): Promise<{ code: number; message: string }> {
    const session = connect(`http://${address}`);
    const stream = session.request({
      ':method': 'POST',
      ':path': path,
      'content-type': 'application/grpc',
      te: 'trailers',
      authorization: `Bearer ${token}`,
    });
    const header = Buffer.alloc(5);
    header.writeUInt32BE(claimed, 1);
    stream.write(Buffer.concat([header, Buffer.alloc(sent, 0x0a)]));
    const status = new Promise<{ code: number; message: string }>((resolve) => {
      const take = (headers: Record<string, unknown>): void => {
        if (headers['grpc-status'] === undefined) return;
        resolve({
          code: Number(headers['grpc-status']),
          message: decodeURIComponent(typeof headers['grpc-message'] === 'string' ? headers['grpc-message'] : ''),
        });
      };
      stream.on('response', take);
      stream.on('trailers', take);
      stream.on('error', () => undefined); // the reset after the status
    });
    return within(status, 20_000, `a status for the half-sent ${path}`).finally(() => session.close());
  }

  it('refuses a worker message over the limit from its header, before the body arrives', async () => {
    const answer = await halfSent('/trellis.v1.WorkerService/Connect', tokens.wkr!, 2 * 1024 * 1024, 100);
    assert.equal(answer.code, grpc.status.RESOURCE_EXHAUSTED);
    assert.match(answer.message, /Connect: a message of 2097152 bytes is over the limit of 65536 bytes/);
    assert.match(answer.message, /TRELLIS_WORKER_MESSAGE_MAX_BYTES/);
    await stillServing();
  });

  it('refuses a 1 MB heartbeat sent whole by a grpc-js worker, and keeps serving', async () => {
    const { proto } = loadProto();
    const workers = new proto.trellis.v1.WorkerService(address, grpc.credentials.createInsecure(), {
      'grpc.use_local_subchannel_pool': 1,
    }) as unknown as WorkerServiceClient;
    try {
      const metadata = new grpc.Metadata();
      metadata.set('authorization', `Bearer ${tokens.wkr}`);
      const stream = workers.Connect(metadata, { deadline: Date.now() + 30_000 });
      const ended = new Promise<grpc.ServiceError>((resolve) => stream.on('error', resolve));
      stream.on('data', () => undefined);
      stream.write({ hello: { worker_id: 'big-heart', slots: { cpus: 1 }, runtimes: ['command'] } });
      const ids = Array.from({ length: 40_000 }, (_, n) => `ghost-attempt-${String(n).padStart(8, '0')}-a1`);
      stream.write({ heartbeat: { running_attempt_ids: ids } });
      const err = await within(ended, 20_000, 'the end of the stream of the big heartbeat');
      // grpc-js, still writing the message, reports the reset that follows the status as
      // CANCELLED (the status itself is read by the raw client in the test above).
      assert.ok(
        err.code === grpc.status.RESOURCE_EXHAUSTED || err.code === grpc.status.CANCELLED,
        `${err.code} ${err.message}`,
      );
      // The client can see the end of its stream before the coordinator's log line has come
      // through its stdout pipe: wait for the line (with a deadline), do not read once.
      await waitUntil(
        () => /"bytes":10\d{5},"limit":65536,"msg":"message refused"/.test(coordinator.log()),
        10_000,
        'the coordinator to log the refused 1 MB heartbeat',
      );
    } finally {
      (workers as unknown as grpc.Client).close();
    }
    await stillServing();
  });

  it('refuses a unary request over the message limit from its header', async () => {
    const answer = await halfSent('/trellis.v1.ExperimentService/GetExperiment', tokens.ann!, 64 * 1024 * 1024, 10);
    assert.equal(answer.code, grpc.status.RESOURCE_EXHAUSTED);
    assert.match(
      answer.message,
      /GetExperiment: a message of 67108864 bytes is over the limit of \d+ bytes \(TRELLIS_MESSAGE_MAX_BYTES\)/,
    );
    await stillServing();
  });

  it('answers 429 with Retry-After to a dashboard caller over its rate; another caller is still served', async () => {
    const get = (token: string): Promise<Response> =>
      fetch(`${base}/api/experiments`, { headers: { authorization: `Bearer ${token}` } });
    // Far more than the burst (twice the rate) at once: the bucket cannot refill fast enough.
    const answers = await within(
      Promise.all(Array.from({ length: 12 * CALLS_PER_SECOND }, () => get(tokens.vic!))),
      30_000,
      'the burst of dashboard requests',
    );
    const refused = answers.filter((r) => r.status === 429);
    const served = answers.filter((r) => r.status === 200);
    assert.equal(refused.length + served.length, answers.length, 'each answer is 200 or 429');
    assert.ok(refused.length > 0, 'some requests are refused');
    assert.ok(served.length >= 2 * CALLS_PER_SECOND, `the burst is served (${served.length})`);
    for (const r of refused) {
      assert.ok(Number(r.headers.get('retry-after')) >= 1, 'Retry-After in whole seconds');
    }
    const body = (await refused[0]!.json()) as { error: string };
    assert.match(body.error, /caller token:vic is over 10 requests per second \(TRELLIS_CALLS_PER_SECOND\)/);
    await Promise.all(answers.filter((r) => !r.bodyUsed).map((r) => r.arrayBuffer()));
    const other = await get(tokens.val!);
    assert.equal(other.status, 200, 'another caller has its own budget');
    await other.arrayBuffer();
    await stillServing();
  });
});
