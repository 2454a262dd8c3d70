/**
 * Leases, driven message by message through an in-process coordinator and fake worker
 * sessions: an attempt whose lease expires is lost and requeued, and its late result is
 * rejected; submissions are idempotent by request id.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Coordinator } from '../../coordinator/coordinator.js';
import { LocalStore } from '../../coordinator/store/local.js';
import { LocalBus } from '../../coordinator/bus/local.js';
import { createLogger } from '../../shared/log.js';
import type { CoordinatorMessage } from '../../shared/generated/trellis/v1/CoordinatorMessage.js';
import type { Assignment } from '../../shared/generated/trellis/v1/Assignment.js';
import type { TrellisEvent } from '../../shared/events.js';
import { sweepSpec } from '../helpers/cluster.js';
import { within } from '../helpers/deadline.js';

function fakeWorker(coordinator: Coordinator, id: string) {
  const assignments: Assignment[] = [];
  const waiters: ((a: Assignment) => void)[] = [];
  const tokens = new Map<string, string>();
  const connection = coordinator.connectWorker({
    send: (message: CoordinatorMessage) => {
      if (!message.assign) return true;
      tokens.set(message.assign.attempt_id ?? '', message.assign.attempt_token ?? '');
      const waiter = waiters.shift();
      if (waiter) waiter(message.assign);
      else assignments.push(message.assign);
      return true;
    },
    end: () => undefined,
  });
  connection.onMessage({
    body: 'hello',
    hello: {
      worker_id: id,
      slots: { cpus: 1, gpus: [], memory_bytes: '0' },
      prefetch: false,
      labels: {},
      runtimes: ['command'],
      version: 'test',
      running_attempt_ids: [],
      attempt_tokens: {},
    },
  });
  return {
    connection,
    nextAssignment: (): Promise<Assignment> => {
      const queued = assignments.shift();
      if (queued) return Promise.resolve(queued);
      return within(new Promise((resolve) => waiters.push(resolve)), 15_000, `an assignment for worker ${id}`);
    },
    result: (attemptId: string, metrics: Record<string, number>) =>
      connection.onMessage({
        body: 'result',
        result: {
          attempt_id: attemptId,
          attempt_token: tokens.get(attemptId) ?? '',
          metrics,
          info_json: '{}',
          peak_gpu_memory_bytes: '0',
        },
      }),
  };
}

function waitForEvent(
  coordinator: Coordinator,
  predicate: (e: TrellisEvent) => boolean,
  what: string,
): Promise<TrellisEvent> {
  let off = (): void => undefined;
  const found = new Promise<TrellisEvent>((resolve) => {
    off = coordinator.events.onStored((e) => {
      if (predicate(e)) {
        off();
        resolve(e);
      }
    });
  });
  return within(found, 15_000, what).finally(() => off());
}

describe('leases', () => {
  it('an expired lease ends the attempt as lost, requeues the trial, and rejects its late result', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'trellis-lease-'));
    const coordinator = new Coordinator({
      store: new LocalStore(dir),
      bus: new LocalBus(),
      log: createLogger('test', 'error'),
      leaseMs: 300,
    });
    try {
      await coordinator.start();
      const a = fakeWorker(coordinator, 'a');
      const { experiment } = await coordinator.submit(sweepSpec({ trials: 1, concurrency: 1 }));
      const first = await a.nextAssignment();
      assert.equal(first.attempt, 1);
      // No heartbeats: the lease runs out and the trial goes back to pending.
      await waitForEvent(
        coordinator,
        (e) =>
          e.type === 'trial.state' &&
          e.experimentId === experiment.id &&
          e.payload.status === 'pending' &&
          e.payload.attempt === 1,
        'trial 0 back to pending after its lease ran out',
      );
      // The worker is still connected and free again, so attempt 2 goes to it.
      const second = await a.nextAssignment();
      assert.equal(second.attempt, 2);
      // From here on the worker heartbeats like a real one, so attempt 2 keeps its lease.
      const heartbeats = setInterval(
        () =>
          a.connection.onMessage({
            body: 'heartbeat',
            heartbeat: { running_attempt_ids: [second.attempt_id!], gpu_memory: [] },
          }),
        20,
      );
      a.result(first.attempt_id!, { val_score: 1 });
      await coordinator.events.flush(experiment.id);
      let [trial] = await coordinator.trials(experiment.id);
      assert.equal(trial!.status, 'running', 'the late result of the lost attempt is rejected');
      assert.deepEqual(
        trial!.attempts.map((x) => x.status),
        ['lost', 'running'],
      );
      assert.equal(trial!.metrics.val_score, undefined);

      const done = waitForEvent(
        coordinator,
        (e) => e.type === 'experiment.state' && e.experimentId === experiment.id && e.payload.status === 'succeeded',
        'the experiment to succeed',
      );
      a.result(second.attempt_id!, { val_score: 0.5 });
      await done;
      clearInterval(heartbeats);
      [trial] = await coordinator.trials(experiment.id);
      assert.equal(trial!.status, 'succeeded');
      assert.deepEqual(
        trial!.attempts.map((x) => x.status),
        ['lost', 'succeeded'],
      );
      assert.equal(trial!.metrics.val_score, 0.5);
    } finally {
      await coordinator.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a retried submit with the same request id returns the same experiment', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'trellis-lease-'));
    const coordinator = new Coordinator({
      store: new LocalStore(dir),
      bus: new LocalBus(),
      log: createLogger('test', 'error'),
    });
    try {
      await coordinator.start();
      const first = await coordinator.submit(sweepSpec({ trials: 1 }), 'request-42');
      const again = await coordinator.submit(sweepSpec({ trials: 1 }), 'request-42');
      assert.equal(first.created, true);
      assert.equal(again.created, false);
      assert.equal(again.experiment.id, first.experiment.id);
      assert.equal((await coordinator.list()).length, 1);
      await coordinator.cancel(first.experiment.id);
    } finally {
      await coordinator.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
