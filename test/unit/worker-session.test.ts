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
import { hashAttemptToken, newAttemptToken } from '../../coordinator/dispatch/attempt-token.js';
import type { Identity } from '../../coordinator/auth/policy.js';

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

/** The attempt token each granted attempt got (what its assignment would have carried). */
const TOKENS = new Map<string, string>();

/** The attempt's token (made on first use, as the coordinator makes one per attempt). */
function tokenOf(attemptId: string, token?: string): string {
  if (token !== undefined) return token;
  if (!TOKENS.has(attemptId)) TOKENS.set(attemptId, newAttemptToken().token);
  return TOKENS.get(attemptId)!;
}

/** Grants a lease bound to `identity` with a fresh attempt token (kept in TOKENS). */
function grant(leases: LeaseTable, attemptId: string, workerId: string, identity = 'anonymous'): string {
  const token = tokenOf(attemptId);
  const hash = hashAttemptToken(token);
  const experimentId = attemptId.split('-')[0]!;
  leases.grant(
    { attemptId, trialId: attemptId.replace(/-a\d+$/, ''), experimentId, workerId, identity, tokenHash: hash },
    Date.now(),
  );
  return token;
}

function hello(workerId: string, running: string[] = [], cpus = 4): WorkerMessage__Output {
  return {
    body: 'hello',
    hello: {
      worker_id: workerId,
      slots: { cpus, gpus: [], memory_bytes: '0' },
      prefetch: false,
      labels: {},
      runtimes: ['command'],
      version: 'test',
      running_attempt_ids: running,
      attempt_tokens: Object.fromEntries(running.map((id) => [id, tokenOf(id)])),
    },
  } as WorkerMessage__Output;
}

const progress = (attemptId: string, step: number, token?: string): WorkerMessage__Output =>
  ({
    body: 'progress',
    progress: {
      attempt_id: attemptId,
      attempt_token: tokenOf(attemptId, token),
      step,
      step64: String(step),
      step_refused: '',
      metrics: { acc: 0.5 },
    },
  }) as WorkerMessage__Output;
const result = (attemptId: string, token?: string): WorkerMessage__Output =>
  ({
    body: 'result',
    result: {
      attempt_id: attemptId,
      attempt_token: tokenOf(attemptId, token),
      metrics: { acc: 1 },
      info_json: '{"x":1}',
      peak_gpu_memory_bytes: '0',
    },
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
    const connect = (
      identity?: Identity,
    ): { handler: WorkerSessionHandler; sent: CoordinatorMessage[]; failed: Error[]; ended: () => boolean } => {
      const sent: CoordinatorMessage[] = [];
      const failed: Error[] = [];
      let ended = false;
      const session = {
        send: (m: CoordinatorMessage) => sent.push(m) > 0,
        end: () => (ended = true),
        fail: (e: Error) => failed.push(e),
      };
      const handler = new WorkerSessionHandler(session, ctx, log, identity);
      return { handler, sent, failed, ended: () => ended };
    };
    return { routers, leases, ctx, connect };
  }

  it("delivers an attempt's messages to the runner its lease names, and to no other", () => {
    const gate = new ResumeGate();
    gate.open();
    const { routers, leases, connect } = setup(gate);
    const { handler, sent } = connect();
    handler.onMessage(hello('w1'));
    grant(leases, 'a-t0-a1', 'w1');
    grant(leases, 'b-t3-a2', 'w1');
    handler.onMessage(progress('a-t0-a1', 1));
    handler.onMessage(progress('b-t3-a2', 7));
    handler.onMessage(result('a-t0-a1'));
    handler.onMessage({
      body: 'checkpoint',
      checkpoint: { attempt_id: 'b-t3-a2', attempt_token: TOKENS.get('b-t3-a2'), artifact_id: 'art-1', step: 7 },
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
    grant(leases, 'a-t0-a1', 'w1');
    grant(leases, 'b-t3-a2', 'w1');
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
    grant(leases, 'a-t0-a1', 'w1');
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
    grant(leases, 'a-t0-a1', 'w1');
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
    const { handler, sent } = connect();
    handler.onMessage(hello('w1'));
    grant(leases, 'a-t0-a1', 'w1');
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

  it('a forged or replayed attempt token ends the stream with PERMISSION_DENIED and reaches no runner', () => {
    const gate = new ResumeGate();
    gate.open();
    const { routers, leases, connect } = setup(gate);
    const honest = connect({ name: 'node-a', role: 'worker' });
    honest.handler.onMessage(hello('w1'));
    grant(leases, 'a-t0-a1', 'w1', 'node-a');
    grant(leases, 'a-t1-a1', 'w1', 'node-a');
    // The holder itself, with the token of its other attempt (a replay across attempts).
    honest.handler.onMessage(result('a-t0-a1', TOKENS.get('a-t1-a1')));
    assert.equal(honest.failed.length, 1);
    assert.equal((honest.failed[0] as { code?: number }).code, 7, 'PERMISSION_DENIED');
    assert.match(
      honest.failed[0]!.message,
      /result for attempt a-t0-a1 refused: it is not bound to worker identity node-a/,
    );
    honest.handler.onMessage(result('a-t1-a1'));
    assert.deepEqual(routers.a.calls, [], 'nothing from a session caught forging is handled');
    // Another identity with the right token: still refused (the attempt is bound to node-a).
    const thief = connect({ name: 'node-b', role: 'worker' });
    thief.handler.onMessage(hello('w9'));
    thief.handler.onMessage(progress('a-t1-a1', 3));
    assert.equal(thief.failed.length, 1);
    assert.deepEqual(routers.a.calls, []);
  });

  it('a worker id belongs to one identity: another is refused, the same one replaces the old session', () => {
    const gate = new ResumeGate();
    gate.open();
    const { leases, ctx, connect } = setup(gate);
    const first = connect({ name: 'node-a', role: 'worker' });
    first.handler.onMessage(hello('w1'));
    grant(leases, 'a-t0-a1', 'w1', 'node-a');
    const impostor = connect({ name: 'node-b', role: 'worker' });
    impostor.handler.onMessage(hello('w1', ['a-t0-a1']));
    assert.equal(impostor.failed.length, 1);
    assert.match(impostor.failed[0]!.message, /worker id w1 is in use by another worker identity/);
    assert.equal(impostor.sent.length, 0, 'no welcome');
    assert.equal(ctx.dispatcher.ownerOf('w1')?.identity, 'node-a');
    assert.equal(leases.get('a-t0-a1')?.workerId, 'w1');
    // The same identity (a reconnect whose old stream is still half-open) takes over.
    const again = connect({ name: 'node-a', role: 'worker' });
    again.handler.onMessage(hello('w1', ['a-t0-a1']));
    assert.ok(again.sent[0]?.welcome);
    assert.equal(first.ended(), true, 'the old session was ended');
    assert.equal(again.sent.filter((m) => m.stop).length, 0, 'its attempt was re-adopted');
  });

  it('re-adopts only attempts of its own identity shown with their tokens', () => {
    const gate = new ResumeGate();
    gate.open();
    const { leases, connect } = setup(gate);
    grant(leases, 'a-t0-a1', 'w1', 'node-a');
    grant(leases, 'a-t1-a1', 'w1', 'node-a');
    const other = connect({ name: 'node-b', role: 'worker' });
    other.handler.onMessage(hello('w2', ['a-t0-a1']));
    assert.deepEqual(
      other.sent.filter((m) => m.stop).map((m) => m.stop!.attempt_id),
      ['a-t0-a1'],
    );
    assert.equal(leases.get('a-t0-a1')?.workerId, 'w1', 'not taken over');
    const same = connect({ name: 'node-a', role: 'worker' });
    const forged = hello('w3', ['a-t1-a1']);
    forged.hello!.attempt_tokens = { 'a-t1-a1': 'forged' };
    same.handler.onMessage(forged);
    assert.equal(leases.get('a-t1-a1')?.workerId, 'w1', 'a wrong token adopts nothing');
  });

  it("clamps advertised capacity to the identity's max slots across its workers, and refuses when none is left", () => {
    const gate = new ResumeGate();
    gate.open();
    const { ctx, connect } = setup(gate);
    const identity: Identity = { name: 'fleet', role: 'worker', maxSlots: 6 };
    connect(identity).handler.onMessage(hello('big', [], 1e6));
    assert.equal(ctx.dispatcher.snapshot().find((w) => w.capacity.id === 'big')?.capacity.cpus, 6);
    const second = connect(identity);
    second.handler.onMessage(hello('more', [], 2));
    assert.equal(second.failed.length, 1);
    assert.match(second.failed[0]!.message, /fleet may advertise at most 6 CPU slots in all/);
  });
});
