/**
 * Back-pressure through the real gRPC API of a real `trellis coordinator` process (issue 11):
 * one reply per heartbeat, a watcher that does not read is disconnected with a resume point and
 * the TS client resumes by itself, uploads that stall or are too large are ended, and streams
 * and unary calls per caller are bounded. The limits are set low through the environment
 * (README, "Environment variables") so each probe takes about a second; after each, a
 * GetExperiment must still answer within its deadline.
 *
 * The workers here are raw gRPC clients speaking the worker protocol (hostile or scripted
 * workers, not stand-ins for a service); the uploads and the unread watcher are raw HTTP/2
 * streams, because a stalled half-sent frame, or a stream whose bytes are never taken off the
 * connection, cannot be produced through a grpc-js client (it reads into memory regardless).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type ClientHttp2Session, type ClientHttp2Stream } from 'node:http2';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import * as grpc from '@grpc/grpc-js';
import { stopChild } from '../../cli/embedded.js';
import { TrellisClient } from '../../client/index.js';
import { loadProto, type ExperimentServiceClient, type WorkerServiceClient } from '../../shared/proto.js';
import type { TrellisEvent } from '../../shared/events.js';
import { cleanEnv, startCoordinatorProcess } from '../helpers/secure.js';
import { unreadWatch } from '../../bench/flood.js';

const DRAIN_MS = 1000;
const IDLE_MS = 500;
const UPLOAD_DEADLINE_MS = 3000;
const UPLOAD_MAX = 2 * 1024 * 1024;
const UPLOADS_MAX = 3 * 1024 * 1024;
const STREAMS = 20;

const SPEC = JSON.stringify({
  apiVersion: 'trellis/v1',
  kind: 'Sweep',
  name: 'flow',
  trial: { runtime: 'command', command: ['true'], objective: { metric: 'val_score', mode: 'max' } },
  search: { algorithm: 'random', seed: 1, space: { x: { uniform: [0, 1] } } },
  budget: { trials: 1, concurrency: 1, maxAttempts: 1 },
});

/** Resolves when `predicate` holds, checking on each new line of the log; rejects after `ms`. */
function waitForLog(log: () => string, child: ChildProcess, predicate: (text: string) => boolean, ms = 30_000) {
  return new Promise<void>((resolve, reject) => {
    const check = (): void => {
      if (!predicate(log())) return;
      clearTimeout(timer);
      child.stderr!.off('data', check);
      resolve();
    };
    const timer = setTimeout(() => {
      child.stderr!.off('data', check);
      reject(new Error(`log condition not met within ${ms} ms: ${log().slice(-1500)}`));
    }, ms);
    child.stderr!.on('data', check);
    check();
  });
}

const count = (text: string, pattern: RegExp): number => text.split('\n').filter((l) => pattern.test(l)).length;

/** A raw PutArtifact: the 5-byte gRPC frame header claims `claimed` bytes; `send` writes the body. */
function rawUpload(
  session: ClientHttp2Session,
  claimed: number,
): { stream: ClientHttp2Stream; status: Promise<{ code: number; message: string; ms: number }> } {
  const t0 = Date.now();
  const stream = session.request({
    ':method': 'POST',
    ':path': '/trellis.v1.WorkerService/PutArtifact',
    'content-type': 'application/grpc',
    te: 'trailers',
  });
  const header = Buffer.alloc(5);
  header.writeUInt32BE(claimed, 1);
  stream.write(header);
  const status = new Promise<{ code: number; message: string; ms: number }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('upload got no status within 20 s')), 20_000);
    const take = (headers: Record<string, unknown>): void => {
      if (headers['grpc-status'] === undefined) return;
      clearTimeout(timer);
      resolve({
        code: Number(headers['grpc-status']),
        message: decodeURIComponent(typeof headers['grpc-message'] === 'string' ? headers['grpc-message'] : ''),
        ms: Date.now() - t0,
      });
    };
    stream.on('response', take);
    stream.on('trailers', take);
    stream.on('error', () => undefined); // the reset after the status
  });
  return { stream, status };
}

describe('robustness: back-pressure and bounds (real coordinator process)', { timeout: 180_000 }, () => {
  let dir: string;
  let coordinator: { child: ChildProcess; port: number; log: () => string };
  let address: string;
  let client: TrellisClient;
  let experiments: ExperimentServiceClient;
  let workers: WorkerServiceClient;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'trellis-flow-'));
    coordinator = await startCoordinatorProcess(
      ['--listen', '127.0.0.1:0', '--dir', join(dir, 'state')],
      cleanEnv({
        TRELLIS_WATCH_DRAIN_MS: String(DRAIN_MS),
        TRELLIS_UPLOAD_IDLE_MS: String(IDLE_MS),
        TRELLIS_UPLOAD_DEADLINE_MS: String(UPLOAD_DEADLINE_MS),
        TRELLIS_UPLOAD_MAX_BYTES: String(UPLOAD_MAX),
        TRELLIS_UPLOADS_MAX_BYTES: String(UPLOADS_MAX),
        TRELLIS_STREAMS_PER_CALLER: String(STREAMS),
      }),
    );
    address = `127.0.0.1:${coordinator.port}`;
    client = new TrellisClient(address, { timeoutMs: 10_000 });
    const { proto } = loadProto();
    const own = { 'grpc.use_local_subchannel_pool': 1 };
    experiments = new proto.trellis.v1.ExperimentService(
      address,
      grpc.credentials.createInsecure(),
      own,
    ) as unknown as ExperimentServiceClient;
    workers = new proto.trellis.v1.WorkerService(
      address,
      grpc.credentials.createInsecure(),
      own,
    ) as unknown as WorkerServiceClient;
  });

  after(async () => {
    client?.close();
    (experiments as unknown as grpc.Client | undefined)?.close();
    (workers as unknown as grpc.Client | undefined)?.close();
    if (coordinator) await stopChild(coordinator.child, 5000);
    rmSync(dir, { recursive: true, force: true });
  });

  /** The coordinator kept serving: a GetExperiment answers within 2 s. */
  async function stillServing(id: string): Promise<void> {
    const quick = new TrellisClient(address, { timeoutMs: 2000 });
    try {
      assert.equal((await quick.get(id)).id, id);
    } finally {
      quick.close();
    }
  }

  it('answers a heartbeat naming 50,000 unknown attempts with one Stop', async () => {
    const stream = workers.Connect({ deadline: Date.now() + 30_000 });
    const stops: { attempt_id: string; attempt_ids: string[] }[] = [];
    const marker = 'marker-t0-a1';
    const done = new Promise<void>((resolve, reject) => {
      stream.on('data', (m: { stop?: { attempt_id: string; attempt_ids: string[] } }) => {
        if (!m.stop) return;
        stops.push(m.stop);
        if (m.stop.attempt_id === marker) resolve();
      });
      stream.on('error', reject);
    });
    stream.write({ hello: { worker_id: 'ghosts', slots: { cpus: 1 }, runtimes: ['none'] } });
    const ids = Array.from({ length: 50_000 }, (_, n) => `ghost-t${n}-a1`);
    stream.write({ heartbeat: { running_attempt_ids: ids } });
    // Replies come in order: the marker's Stop comes after every reply to the big heartbeat.
    stream.write({ heartbeat: { running_attempt_ids: [marker] } });
    await done;
    stream.cancel();
    assert.equal(stops.length, 2, 'one Stop for the big heartbeat, one for the marker');
    const named = [stops[0]!.attempt_id, ...stops[0]!.attempt_ids];
    assert.equal(named.length, 1000, 'one Stop names at most 1000 attempts');
    assert.deepEqual(named.slice(0, 3), ids.slice(0, 3));
  });

  it('disconnects a watcher that does not read, with a resume point; the TS client resumes by itself', async () => {
    const { experiment } = await client.submit(SPEC);
    // Two watchers from the first event: a raw one that reads nothing, and the TS client whose
    // consumer stops at the first event until both were disconnected.
    const session = connect(`http://${address}`);
    session.on('error', () => undefined);
    const raw = unreadWatch(session, experiment.id);
    const disconnected = waitForLog(
      coordinator.log,
      coordinator.child,
      (text) => count(text, /slow watcher disconnected/) >= 2,
    );
    const resumes: number[] = [];
    const seen: TrellisEvent[] = [];
    const consumer = (async () => {
      for await (const event of client.watch(experiment.id, { onResume: (seq) => resumes.push(seq) })) {
        if (seen.length === 0) await disconnected;
        seen.push(event);
      }
    })();

    // A scripted worker takes the trial and reports 400 steps of 200 metrics (~8 KB each).
    const worker = workers.Connect({ deadline: Date.now() + 120_000 });
    const assigned = new Promise<{ attempt_id: string; attempt_token: string }>((resolve, reject) => {
      worker.on(
        'data',
        (m: { assign?: { attempt_id: string; attempt_token: string } }) => m.assign && resolve(m.assign),
      );
      worker.on('error', reject);
    });
    worker.write({ hello: { worker_id: 'scripted', slots: { cpus: 1 }, runtimes: ['command'] } });
    const { attempt_id: attemptId, attempt_token: token } = await assigned;
    const metrics = Object.fromEntries(Array.from({ length: 200 }, (_, k) => [`metric_${k}`, k]));
    for (let step = 1; step <= 400; step++) {
      const ok = worker.write({
        progress: { attempt_id: attemptId, attempt_token: token, step, metrics: { ...metrics, val_score: step } },
      });
      if (!ok) await new Promise((resolve) => worker.once('drain', resolve));
    }
    await disconnected;

    // The raw watcher now reads what was written before its status, then the status.
    const { seqs: got, status, message, resumeFromSeq } = await raw.read();
    session.destroy();
    assert.equal(status, grpc.status.RESOURCE_EXHAUSTED);
    assert.match(message, /slow consumer.*TRELLIS_WATCH_DRAIN_MS.*from_seq=\d+/);
    assert.ok(got.length > 0, 'some events were written before the disconnect');
    assert.ok(got.length < 400, `the unread stream was cut off early (${got.length} events), not fed everything`);
    assert.deepEqual(
      got,
      got.map((_, n) => n + 1),
      'events 1..n without gaps',
    );
    assert.equal(resumeFromSeq, got.at(-1)! + 1, 'the resume point (trailer) is the first event not written');
    await stillServing(experiment.id);

    worker.write({
      result: { attempt_id: attemptId, attempt_token: token, metrics: { val_score: 400 }, info_json: '{}' },
    });
    await consumer;
    worker.cancel();
    assert.ok(resumes.length >= 1, 'the client resumed at least once');
    const seqs = seen.map((e) => e.seq);
    assert.deepEqual(
      seqs,
      seqs.map((_, n) => n + 1),
      'the resumed watch saw every event once, in order',
    );
    assert.equal(seen.filter((e) => e.type === 'trial.metric').length, 400, 'all 400 metric events');
    assert.equal(seen.at(-1)!.type, 'experiment.state');
  });

  it('ends stalled, slow and oversized uploads; the coordinator keeps serving', async () => {
    const { experiment } = await client.submit(SPEC.replace('"flow"', '"uploads"'));
    const session = connect(`http://${address}`);
    try {
      // Idle: part of a 10 MB frame, then nothing.
      const idle = rawUpload(session, 10 * 1024 * 1024);
      idle.stream.write(Buffer.alloc(100 * 1024));
      const idleStatus = await idle.status;
      assert.equal(idleStatus.code, grpc.status.DEADLINE_EXCEEDED);
      assert.match(idleStatus.message, /sent nothing for 500 ms \(TRELLIS_UPLOAD_IDLE_MS\)/);
      assert.ok(idleStatus.ms < 10_000, `ended after ${idleStatus.ms} ms`);

      // Too large: bytes past TRELLIS_UPLOAD_MAX_BYTES are refused before the frame completes.
      const big = rawUpload(session, 8 * 1024 * 1024);
      for (let n = 0; n < 5 && !big.stream.destroyed; n++) big.stream.write(Buffer.alloc(512 * 1024));
      const bigStatus = await big.status;
      assert.equal(bigStatus.code, grpc.status.RESOURCE_EXHAUSTED);
      assert.match(bigStatus.message, /over 2097152 bytes \(TRELLIS_UPLOAD_MAX_BYTES\)/);

      // Together: one upload holds 1.8 MB and stalls; a second one passes 3 MiB in flight.
      const first = rawUpload(session, 2 * 1024 * 1024 - 100);
      const second = rawUpload(session, 2 * 1024 * 1024 - 100);
      first.stream.write(Buffer.alloc(1800 * 1024));
      second.stream.write(Buffer.alloc(1800 * 1024));
      const [a, b] = await Promise.all([first.status, second.status]);
      const refused = [a, b].filter((s) => s.code === Number(grpc.status.RESOURCE_EXHAUSTED));
      assert.equal(refused.length, 1, `one of the two refused: ${JSON.stringify([a, b])}`);
      assert.match(refused[0]!.message, /TRELLIS_UPLOADS_MAX_BYTES/);
      assert.equal([a, b].find((s) => s !== refused[0])!.code, grpc.status.DEADLINE_EXCEEDED, 'the other idles out');

      // Slow: a byte every 100 ms never idles, but the total deadline ends it.
      const slow = rawUpload(session, 1024 * 1024);
      const trickle = setInterval(() => slow.stream.destroyed || slow.stream.write(Buffer.alloc(1)), 100);
      const slowStatus = await slow.status.finally(() => clearInterval(trickle));
      assert.equal(slowStatus.code, grpc.status.DEADLINE_EXCEEDED);
      assert.match(slowStatus.message, /not finished within 3000 ms \(TRELLIS_UPLOAD_DEADLINE_MS\)/);
      assert.ok(slowStatus.ms >= UPLOAD_DEADLINE_MS - 100, `the trickle was not ended as idle (${slowStatus.ms} ms)`);
    } finally {
      session.destroy();
    }
    await stillServing(experiment.id);
  });

  it('bounds open streams per caller, and frees them when they close', async () => {
    const { experiment } = await client.submit(SPEC.replace('"flow"', '"streams"'));
    const open = Array.from({ length: STREAMS }, () =>
      experiments.WatchEvents({ experiment_id: experiment.id, live_only: true }),
    );
    for (const call of open) call.on('error', () => undefined);
    // Each was admitted once its metadata (headers) came back.
    await Promise.all(open.map((call) => new Promise((resolve) => call.once('metadata', resolve))));
    const refused = await new Promise<grpc.ServiceError>((resolve) => {
      const extra = experiments.WatchEvents({ experiment_id: experiment.id, live_only: true });
      extra.on('error', resolve);
    });
    assert.equal(refused.code, grpc.status.RESOURCE_EXHAUSTED);
    assert.match(refused.details, /already has 20 open streams; the limit is 20 \(TRELLIS_STREAMS_PER_CALLER\)/);
    for (const call of open) call.cancel();
    // Closed streams are released: a new one is admitted (within a deadline).
    const until = Date.now() + 10_000;
    for (;;) {
      const call = experiments.WatchEvents({ experiment_id: experiment.id, live_only: true });
      const outcome = await new Promise<string>((resolve) => {
        call.once('metadata', () => resolve('admitted'));
        call.on('error', (err: grpc.ServiceError) => resolve(err.details));
      });
      call.cancel();
      if (outcome === 'admitted') break;
      assert.ok(Date.now() < until, `streams were not released: ${outcome}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  });

  it('refuses unary calls past the caller rate with RESOURCE_EXHAUSTED, never another error', async () => {
    const { experiment } = await client.submit(SPEC.replace('"flow"', '"rate"'));
    const codes = await Promise.all(
      Array.from(
        { length: 1000 },
        () =>
          new Promise<number>((resolve) =>
            experiments.GetExperiment({ id: experiment.id }, { deadline: Date.now() + 30_000 }, (err) =>
              resolve(err ? err.code : grpc.status.OK),
            ),
          ),
      ),
    );
    const refused = codes.filter((c) => c === Number(grpc.status.RESOURCE_EXHAUSTED)).length;
    assert.ok(refused > 0, 'some calls were over the rate');
    assert.ok(codes.filter((c) => c === Number(grpc.status.OK)).length >= 400, 'the burst (twice the rate) was served');
    assert.equal(refused + codes.filter((c) => c === Number(grpc.status.OK)).length, codes.length, 'no other error');
  });
});
