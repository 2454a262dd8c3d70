/**
 * The worker session (coordinator/dispatch/worker-session.ts): messages about an attempt reach
 * the runner of the experiment the lease table names, and only from the worker holding the
 * lease; everything else is answered with a stop. The routers here record what they are given
 * (the runners' side is covered by the integration tests); the lease table, dispatcher, store
 * and event log are the real ones.
 */
import { AttemptLogs } from '../../coordinator/attempt-logs.js';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Dispatcher } from '../../coordinator/dispatch/dispatcher.js';
import { LeaseTable } from '../../coordinator/dispatch/leases.js';
import {
  ResumeGate,
  STOP_IDS_PER_REPLY,
  WorkerSessionHandler,
  type AttemptRouter,
  type WorkerSessionContext,
} from '../../coordinator/dispatch/worker-session.js';
import { EventLog } from '../../coordinator/event-log.js';
import { LocalStore } from '../../coordinator/store/local.js';
import { LocalBus } from '../../coordinator/bus/local.js';
import { createLogger } from '../../shared/log.js';
import type { CoordinatorMessage } from '../../shared/generated/trellis/v1/CoordinatorMessage.js';
import type { WorkerMessage__Output } from '../../shared/generated/trellis/v1/WorkerMessage.js';

class RecordingRouter implements AttemptRouter {
  readonly calls: string[] = [];
  onProgress(attemptId: string, step: number): void {
    this.calls.push(`progress ${attemptId} ${step}`);
  }
  onCheckpoint(attemptId: string, artifactId: string): void {
    this.calls.push(`checkpoint ${attemptId} ${artifactId}`);
  }
  onResult(attemptId: string, metrics: Record<string, number>, info: Record<string, unknown>): void {
    this.calls.push(`result ${attemptId} ${JSON.stringify(metrics)} ${JSON.stringify(info)}`);
  }
  onFailure(attemptId: string, error: string): void {
    this.calls.push(`failure ${attemptId} ${error}`);
  }
  onStopped(attemptId: string, reason: string): void {
    this.calls.push(`stopped ${attemptId} ${reason}`);
  }
  resourcesOfAttempt(): { cpus: number; memoryBytes: number; gpuIds: string[] } {
    return { cpus: 1, memoryBytes: 0, gpuIds: [] };
  }
}

function hello(workerId: string, running: string[] = []): WorkerMessage__Output {
  return {
    body: 'hello',
    hello: {
      worker_id: workerId,
      slots: { cpus: 4, gpus: [], memory_bytes: '0' },
      labels: {},
      runtimes: ['command'],
      version: 'test',
      running_attempt_ids: running,
    },
  } as WorkerMessage__Output;
}

const progress = (attemptId: string, step: number): WorkerMessage__Output =>
  ({
    body: 'progress',
    progress: { attempt_id: attemptId, step, step64: String(step), step_refused: '', metrics: { acc: 0.5 } },
  }) as WorkerMessage__Output;
const result = (attemptId: string): WorkerMessage__Output =>
  ({
    body: 'result',
    result: { attempt_id: attemptId, metrics: { acc: 1 }, info_json: '{"x":1}' },
  }) as WorkerMessage__Output;

describe('worker session: routing by the lease table', () => {
  let dir: string;
  let store: LocalStore;
  let events: EventLog;
  const log = createLogger('test', 'error');

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'trellis-session-'));
    store = new LocalStore(dir);
    await store.start();
    events = new EventLog(store, new LocalBus(), log);
  });
  after(async () => {
    await events.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function setup(gate = new ResumeGate()) {
    const routers = { a: new RecordingRouter(), b: new RecordingRouter() };
    const leases = new LeaseTable(60_000);
    const ctx: WorkerSessionContext = {
      dispatcher: new Dispatcher(),
      leases,
      route: (experimentId) => routers[experimentId as 'a' | 'b'],
      gate,
      store,
      events,
      logs: new AttemptLogs(store, leases, log),
      heartbeatMs: 1000,
      log,
    };
    const connect = (): { handler: WorkerSessionHandler; sent: CoordinatorMessage[] } => {
      const sent: CoordinatorMessage[] = [];
      const handler = new WorkerSessionHandler({ send: (m) => sent.push(m), end: () => undefined }, ctx);
      return { handler, sent };
    };
    return { routers, leases, ctx, connect };
  }

  it("delivers an attempt's messages to the runner its lease names, and to no other", () => {
    const gate = new ResumeGate();
    gate.open();
    const { routers, leases, connect } = setup(gate);
    const { handler, sent } = connect();
    handler.onMessage(hello('w1'));
    leases.grant({ attemptId: 'a-t0-a1', trialId: 'a-t0', experimentId: 'a', workerId: 'w1' }, Date.now());
    leases.grant({ attemptId: 'b-t3-a2', trialId: 'b-t3', experimentId: 'b', workerId: 'w1' }, Date.now());
    handler.onMessage(progress('a-t0-a1', 1));
    handler.onMessage(progress('b-t3-a2', 7));
    handler.onMessage(result('a-t0-a1'));
    handler.onMessage({
      body: 'checkpoint',
      checkpoint: { attempt_id: 'b-t3-a2', artifact_id: 'art-1', step: 7 },
    } as WorkerMessage__Output);
    assert.deepEqual(routers.a.calls, ['progress a-t0-a1 1', 'result a-t0-a1 {"acc":1} {"x":1}']);
    assert.deepEqual(routers.b.calls, ['progress b-t3-a2 7', 'checkpoint b-t3-a2 art-1']);
    assert.equal(sent.filter((m) => m.stop).length, 0);
  });

  it('waits for the resume gate, then handles the held messages in arrival order', () => {
    const gate = new ResumeGate();
    const { routers, leases, connect } = setup(gate);
    const { handler, sent } = connect();
    handler.onMessage(hello('w1'));
    handler.onMessage(progress('a-t0-a1', 1));
    handler.onMessage(progress('b-t3-a2', 7));
    handler.onMessage(result('a-t0-a1'));
    assert.equal(sent.length, 0, 'nothing is answered before the coordinator has resumed');
    leases.grant({ attemptId: 'a-t0-a1', trialId: 'a-t0', experimentId: 'a', workerId: 'w1' }, Date.now());
    leases.grant({ attemptId: 'b-t3-a2', trialId: 'b-t3', experimentId: 'b', workerId: 'w1' }, Date.now());
    gate.open();
    assert.ok(sent[0]?.welcome, 'the hello is answered first');
    assert.deepEqual(routers.a.calls, ['progress a-t0-a1 1', 'result a-t0-a1 {"acc":1} {"x":1}']);
    assert.deepEqual(routers.b.calls, ['progress b-t3-a2 7']);
    // Once open, messages are handled at once.
    handler.onMessage(progress('b-t3-a2', 8));
    assert.deepEqual(routers.b.calls, ['progress b-t3-a2 7', 'progress b-t3-a2 8']);
  });

  it('refuses messages from a worker that does not hold the lease, and tells it to stop', () => {
    const gate = new ResumeGate();
    gate.open();
    const { routers, leases, connect } = setup(gate);
    const holder = connect();
    const other = connect();
    holder.handler.onMessage(hello('w1'));
    other.handler.onMessage(hello('w2'));
    leases.grant({ attemptId: 'a-t0-a1', trialId: 'a-t0', experimentId: 'a', workerId: 'w1' }, Date.now());
    other.handler.onMessage(progress('a-t0-a1', 1));
    other.handler.onMessage(result('a-t0-a1'));
    other.handler.onMessage(progress('nobody-t0-a1', 1));
    assert.deepEqual(routers.a.calls, []);
    assert.deepEqual(
      other.sent.filter((m) => m.stop).map((m) => [m.stop!.attempt_id, m.stop!.reason]),
      [
        ['a-t0-a1', 'not leased to this worker'],
        ['nobody-t0-a1', 'not leased to this worker'],
      ],
      'progress is answered with a stop; a result is only dropped',
    );
    holder.handler.onMessage(progress('a-t0-a1', 2));
    assert.deepEqual(routers.a.calls, ['progress a-t0-a1 2']);
  });

  it('a reconnecting worker keeps the attempts still leased and is told to stop the others', () => {
    const gate = new ResumeGate();
    gate.open();
    const { leases, ctx, connect } = setup(gate);
    leases.grant({ attemptId: 'a-t0-a1', trialId: 'a-t0', experimentId: 'a', workerId: 'w1' }, Date.now());
    const { handler, sent } = connect();
    handler.onMessage(hello('w1', ['a-t0-a1', 'gone-t0-a1']));
    assert.deepEqual(
      sent.filter((m) => m.stop).map((m) => m.stop!.attempt_id),
      ['gone-t0-a1'],
    );
    assert.equal(leases.get('a-t0-a1')?.workerId, 'w1');
    // The kept attempt holds its cpu on the worker again: a 4-cpu attempt waits, a 3-cpu one is placed.
    const abort = new AbortController();
    const request = { gpus: 0, memoryBytes: 0, runtime: 'command', labels: {} };
    ctx.dispatcher.waitForSlot('big', { ...request, cpus: 4 }, abort.signal).catch(() => undefined);
    assert.equal(ctx.dispatcher.waitingCount, 1);
    abort.abort(new Error('done'));
    void ctx.dispatcher.waitForSlot('fits', { ...request, cpus: 3 });
    assert.equal(ctx.dispatcher.waitingCount, 0);
    handler.onMessage({
      body: 'heartbeat',
      heartbeat: { running_attempt_ids: ['a-t0-a1', 'zombie-t0-a1'] },
    } as WorkerMessage__Output);
    assert.deepEqual(
      sent.filter((m) => m.stop).map((m) => m.stop!.attempt_id),
      ['gone-t0-a1', 'zombie-t0-a1'],
      'a heartbeat naming an attempt without a lease gets a stop',
    );
  });
  it('answers a heartbeat naming 50,000 unknown attempts with one bounded Stop, not 50,000 messages', () => {
    const gate = new ResumeGate();
    gate.open();
    const { leases, connect } = setup(gate);
    leases.grant({ attemptId: 'a-t0-a1', trialId: 'a-t0', experimentId: 'a', workerId: 'w1' }, Date.now());
    const { handler, sent } = connect();
    handler.onMessage(hello('w1', ['a-t0-a1']));
    const unknown = Array.from({ length: 50_000 }, (_, n) => `ghost-t${n}-a1`);
    const before = sent.length;
    handler.onMessage({
      body: 'heartbeat',
      heartbeat: { running_attempt_ids: ['a-t0-a1', ...unknown] },
    } as WorkerMessage__Output);
    const replies = sent.slice(before);
    assert.equal(replies.length, 1, 'one reply for the heartbeat');
    const stop = replies[0]!.stop!;
    const named = [stop.attempt_id, ...(stop.attempt_ids ?? [])];
    assert.equal(named.length, STOP_IDS_PER_REPLY);
    assert.deepEqual(
      named,
      unknown.slice(0, STOP_IDS_PER_REPLY),
      'the first unknown ids, in order; never the leased one',
    );
    assert.equal(leases.get('a-t0-a1')?.workerId, 'w1', 'the leased attempt was renewed, not stopped');
  });
});
