/**
 * The coordinator's HTTP server (coordinator/http/) on a real cluster: the JSON API reads what
 * gRPC reads, the event stream resumes from Last-Event-ID with nothing missed or repeated, and
 * the limits hold (methods, bodies, URL length, stream count, a slow reader dropped).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import net from 'node:net';
import { TrellisClient } from '../../client/index.js';
import { startHttpServer, type HttpHandle } from '../../coordinator/http/server.js';
import { createLogger } from '../../shared/log.js';
import { startCluster, sweepSpec, waitForWorkers, type Cluster } from '../helpers/cluster.js';
import type { DashCurves, DashExperiment, DashTrial, DashTrialDetail } from '../../shared/dashboard.js';
import { decodeCurves } from '../../shared/curves-codec.js';
import type { TrellisEvent } from '../../shared/events.js';
import type { SweepDoc } from '../../shared/types.js';

interface Reply {
  status: number;
  body: string;
}

function call(
  base: string,
  path: string,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      new URL(path, base),
      { method: options.method ?? 'GET', headers: options.headers, timeout: 30_000 },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${path}: no answer in 30 s`)));
    req.on('error', reject);
    req.end(options.body);
  });
}

async function json<T>(base: string, path: string): Promise<T> {
  const reply = await call(base, path);
  assert.equal(reply.status, 200, `${path}: ${reply.body}`);
  return JSON.parse(reply.body) as T;
}

/** The events of an SSE body (frames with `id:`), in order. */
function framesOf(body: string): { id: number; event: TrellisEvent }[] {
  return body
    .split('\n\n')
    .filter((frame) => frame.includes('\nid: ') || frame.startsWith('id: '))
    .map((frame) => {
      const id = Number(/^id: (\d+)$/m.exec(frame)![1]);
      const data = /^data: (.*)$/m.exec(frame)![1]!;
      return { id, event: JSON.parse(data) as TrellisEvent };
    });
}

describe('the coordinator HTTP API', () => {
  let cluster: Cluster;
  let http: HttpHandle;
  let client: TrellisClient;
  let base = '';
  let sweepId = '';

  before(async () => {
    cluster = await startCluster({ workers: 1 });
    http = await startHttpServer(cluster.coordinator, '127.0.0.1:0', createLogger('test', 'warn'), {
      live: { maxClients: 2, maxBufferedBytes: 64 * 1024, drainTimeoutMs: 500 },
    });
    base = http.url;
    client = new TrellisClient(cluster.address);
    await waitForWorkers(cluster, 1);
    const { experiment } = await client.submit(
      sweepSpec({ name: 'api-sweep', trials: 3, concurrency: 1, steps: 3, delay: 10 }),
    );
    sweepId = experiment.id;
    await client.wait(sweepId);
  });

  after(async () => {
    client?.close();
    await http?.close();
    await cluster?.stop();
  });

  it('reads experiments, trials and curves as the store holds them', async () => {
    const list = await json<{ experiments: DashExperiment[] }>(base, '/api/experiments?status=succeeded&name=api-');
    const listed = list.experiments.find((e) => e.id === sweepId);
    assert.ok(listed, 'the sweep is listed');
    assert.deepEqual(listed.progress, {
      total: 3,
      done: 3,
      running: 0,
      pending: 0,
      succeeded: 3,
      pruned: 0,
      failed: 0,
    });
    assert.equal('requestId' in listed, false, 'the request id is not shown');
    const none = await json<{ experiments: DashExperiment[] }>(base, '/api/experiments?status=running&name=api-');
    assert.deepEqual(none.experiments, []);

    const page = await json<{ experiment: DashExperiment; trials: DashTrial[]; seq: number }>(
      base,
      `/api/experiments/${sweepId}`,
    );
    assert.equal(page.seq, await cluster.coordinator.store.lastEventSeq(sweepId));
    const viaGrpc = await client.trials(sweepId);
    assert.deepEqual(
      page.trials.map((t) => [t.number, t.status, t.metrics.val_score]),
      viaGrpc.map((t) => [t.number, t.status, t.metrics.val_score]),
    );

    const attemptsOf = new Map(viaGrpc.map((t) => [t.number, t.attemptHistory.length]));
    for (const t of page.trials) {
      assert.equal(t.attemptCount, attemptsOf.get(t.number), `trial ${t.number}: attemptCount`);
      assert.equal('attempts' in t, false, 'the list leaves the attempt history to the trial page');
    }

    const curves = await json<DashCurves>(base, `/api/experiments/${sweepId}/curves?metrics=score`);
    const binary = await fetch(new URL(`/api/experiments/${sweepId}/curves?metrics=score&format=f32`, base));
    assert.equal(binary.headers.get('content-type'), 'application/octet-stream', await binary.clone().text());
    assert.equal(Number(binary.headers.get('x-trellis-seq')), page.seq, 'says the event seq the curves reflect');
    const decoded = decodeCurves(await binary.arrayBuffer());
    assert.deepEqual(decoded.steps, curves.steps, 'the binary form carries the same steps');
    for (const [n, ys] of Object.entries(curves.values.score!)) {
      assert.deepEqual(
        decoded.values.score![Number(n)],
        ys.map((y) => (y === null ? null : Math.fround(y))),
        `trial ${n}: the binary form carries the same values, as float32`,
      );
    }
    assert.deepEqual(Object.keys(curves.values), ['score']);
    // A small sweep's first curves carry every metric (a large one's the objective's only).
    const first = await json<DashCurves>(base, `/api/experiments/${sweepId}/curves?first=1`);
    assert.deepEqual(Object.keys(first.values), first.metrics);
    assert.deepEqual(first.values.score, curves.values.score);
    const rows = await client.exportMetrics(sweepId);
    assert.deepEqual(
      curves.metrics,
      [...new Set(rows.flatMap((r) => Object.keys(r.values)))].sort(),
      'every metric is named',
    );
    for (const t of viaGrpc) {
      const mine = rows.filter((r) => r.trialNumber === t.number);
      assert.deepEqual(
        curves.steps[t.number],
        mine.map((r) => r.step),
      );
      assert.deepEqual(
        curves.values.score![t.number],
        mine.map((r) => r.values.score ?? null),
      );
    }

    const trial = await json<{ trial: DashTrialDetail }>(base, `/api/trials/${viaGrpc[0]!.id}`);
    assert.equal(trial.trial.attempts.length, 1);
    const workers = await json<{ workers: { id: string; live?: unknown }[] }>(base, '/api/workers');
    assert.equal(workers.workers.length, 1);
  });

  it('streams events after Last-Event-ID, each once, then ends', async () => {
    const stored = await cluster.coordinator.store.listEvents(sweepId, 1);
    assert.ok(stored.length > 6);
    const reply = await call(base, `/api/experiments/${sweepId}/events`, { headers: { 'last-event-id': '5' } });
    assert.equal(reply.status, 200);
    const frames = framesOf(reply.body);
    assert.deepEqual(
      frames.map((f) => f.id),
      stored.filter((e) => e.seq > 5).map((e) => e.seq),
    );
    assert.ok(reply.body.endsWith('event: end\ndata: {}\n\n'));
    const fromQuery = framesOf((await call(base, `/api/experiments/${sweepId}/events?after=${stored.length}`)).body);
    assert.deepEqual(fromQuery, [], 'nothing after the last event of a finished experiment');
  });

  it('refuses what it does not serve, with a message naming what is wrong', async () => {
    const cases: [string, Parameters<typeof call>[2], number, RegExp][] = [
      ['/api/experiments?status=bogus', {}, 400, /status: unknown status bogus; allowed: pending/],
      [`/api/experiments/${sweepId}/events?after=-1`, {}, 400, /after \/ Last-Event-ID: must be an integer >= 0/],
      ['/api/experiments/no-such-id', {}, 404, /experiment no-such-id not found/],
      ['/api/experiments/bad%20id', {}, 400, /id: must be 1-200 letters/],
      [`/api/experiments/${sweepId}/curves?first=2`, {}, 400, /first: must be 1, got 2/],
      ['/api/nothing', {}, 404, /no such endpoint/],
      [`/api/experiments?name=${'x'.repeat(3000)}`, {}, 414, /URL longer than 2048/],
      [
        '/api/experiments',
        { method: 'GET', body: '{}', headers: { 'content-type': 'application/json', 'content-length': '2' } },
        413,
        /bodies are not accepted/,
      ],
      // Writes need the x-trellis header; without tokens the dashboard is read-only.
      [`/api/experiments/${sweepId}/cancel`, { method: 'POST' }, 403, /writes need the header x-trellis: 1/],
      [`/api/experiments/${sweepId}/cancel`, { method: 'POST', headers: { 'x-trellis': '1' } }, 403, /read-only/],
      ['/api/session', { method: 'POST', headers: { 'x-trellis': '1' } }, 409, /no tokens configured/],
      [`/api/experiments/${sweepId}`, { method: 'DELETE', headers: { 'x-trellis': '1' } }, 404, /no such endpoint/],
      [`/api/experiments/${sweepId}`, { method: 'PUT' }, 405, /method PUT not allowed/],
    ];
    for (const [path, options, status, message] of cases) {
      const reply = await call(base, path, options);
      assert.equal(reply.status, status, `${path}: ${reply.body}`);
      assert.match((JSON.parse(reply.body) as { error: string }).error, message);
    }
    assert.equal((await cluster.coordinator.get(sweepId)).status, 'succeeded');
  });

  it('holds at most maxClients streams', async () => {
    const open: net.Socket[] = [];
    try {
      for (let i = 0; i < 2; i++) open.push(await openStream(http.port, '/api/events'));
      await waitUntil(http.live, () => http.live.size === 2);
      const refused = await call(base, '/api/events');
      assert.equal(refused.status, 503);
      assert.match(refused.body, /too many live streams: the limit is 2/);
    } finally {
      for (const socket of open) socket.destroy();
    }
    await waitUntil(http.live, () => http.live.size === 0);
  });

  it('drops a client that does not read, which then resumes from its last id', async () => {
    // A finished experiment with a long history: replaying it overflows a reader that stops.
    const id = 'http-slow-reader';
    const now = Date.now();
    await cluster.coordinator.store.createExperiment({
      id,
      name: 'slow',
      kind: 'Sweep',
      status: 'succeeded',
      // Only the event history matters here; the spec is never read.
      spec: {} as SweepDoc['spec'],
      requestId: id,
      createdAt: now,
      updatedAt: now,
      trialsCreated: 0,
    });
    const pad = 'x'.repeat(2048);
    // Each event padded to ~2 KiB so that 4,000 of them overflow the per-client buffer.
    const events: TrellisEvent[] = Array.from({ length: 4000 }, (_, i) => ({
      seq: i + 1,
      type: 'trial.metric' as const,
      time: now,
      experimentId: id,
      trialNumber: 0,
      payload: { step: i, attempt: 1, values: { loss: i }, pad },
    }));
    events.push({ seq: 4001, type: 'experiment.state', time: now, experimentId: id, payload: { status: 'succeeded' } });
    await cluster.coordinator.store.appendEvents(events);
    const droppedBefore = http.live.dropped;
    const socket = await openStream(http.port, `/api/experiments/${id}/events`, true);
    await waitUntil(http.live, () => http.live.dropped === droppedBefore + 1);
    // Read what did arrive, then resume after its last complete frame.
    socket.resume();
    const received = await new Promise<string>((resolve) => {
      let text = '';
      socket.setEncoding('utf8');
      socket.on('data', (chunk: string) => (text += chunk));
      socket.on('close', () => resolve(text));
    });
    const got = framesOf(received.slice(received.indexOf('\r\n\r\n') + 4, received.lastIndexOf('\n\n') + 2));
    assert.ok(got.length > 0 && got.length < 4001, `part of the history arrived (${got.length})`);
    const last = got[got.length - 1]!.id;
    const resumed = await call(base, `/api/experiments/${id}/events`, { headers: { 'last-event-id': String(last) } });
    assert.equal(resumed.status, 200, resumed.body.slice(0, 200));
    const rest = framesOf(resumed.body);
    assert.deepEqual(
      [...got, ...rest].map((f) => f.id),
      events.map((e) => e.seq),
      'every event exactly once over the two connections',
    );
  });
});

/** Opens an SSE request on a raw socket (HTTP/1.0: no chunked framing); `paused` stops reading. */
function openStream(port: number, path: string, paused = false): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.write(`GET ${path} HTTP/1.0\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n`);
      if (paused) socket.pause();
      resolve(socket);
    });
    socket.setNoDelay(true);
    socket.on('error', reject);
  });
}

/** Resolves when `condition` holds, checked whenever the live feed changes; rejects after the deadline. */
function waitUntil(live: HttpHandle['live'], condition: () => boolean, timeoutMs = 30_000): Promise<void> {
  if (condition()) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      stop();
      reject(new Error(`live feed condition not met within ${timeoutMs} ms`));
    }, timeoutMs);
    const stop = live.onChange(() => {
      if (!condition()) return;
      clearTimeout(timer);
      stop();
      resolve();
    });
  });
}
