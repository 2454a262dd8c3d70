/**
 * A coordinator killed between storing changes and storing their events: the restarted
 * coordinator emits what the event log is missing, with contiguous seq. The crash-window state
 * is written by hand, as the runner writes it (see the test), since a kill cannot be timed into it.
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
import { sweepSpec } from '../helpers/cluster.js';
import { within } from '../helpers/deadline.js';

describe('events after a restart', () => {
  it('re-emits stored changes whose events were never stored', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'trellis-reconcile-'));
    const log = createLogger('test', 'warn');
    try {
      // Coordinator A: a sweep whose trials wait for a worker (there is none).
      const a = new Coordinator({ store: new LocalStore(dir), bus: new LocalBus(), log });
      await a.start();
      const { experiment } = await a.submit(sweepSpec({ trials: 2, concurrency: 2 }));
      const pendingTrials = new Promise<void>((resolve) => {
        const seen = new Set<number>();
        a.events.onStored((e) => {
          if (e.type === 'trial.state' && e.experimentId === experiment.id) seen.add(e.trialNumber!);
          if (seen.size === 2) resolve();
        });
      });
      await within(pendingTrials, 15_000, 'a trial.state event for both trials');
      await a.close();

      // The crash window, written as the runner writes it (a kill cannot be timed into the window
      // between a store write and its event, so the state is made by hand): trial 0 claimed by
      // worker w (attempt 1), a metric report of that attempt, then the attempt failed — three
      // changes stored, none of their events.
      const store = new LocalStore(dir);
      await store.start();
      const [t0] = await store.listTrials(experiment.id);
      const eventsBefore = await store.listEvents(experiment.id, 1);
      const started = Date.now();
      const claim = {
        n: 1,
        id: 'att-1',
        workerId: 'w',
        status: 'running' as const,
        startedAt: started,
        leaseExpiresAt: started + 30_000,
      };
      const claimed = await store.updateTrial(
        t0!.id,
        { status: 'pending', attemptCount: 0 },
        { status: 'running', attempts: [claim], updatedAt: started },
      );
      assert.ok(claimed, 'the claim applies');
      await store.appendMetrics([
        { experimentId: experiment.id, trialId: t0!.id, attempt: 1, step: 1, time: Date.now(), values: { score: 0.5 } },
      ]);
      const failedAt = Date.now();
      await store.updateTrial(
        t0!.id,
        { status: 'running', attemptCount: 1 },
        {
          status: 'failed',
          error: 'failed before the crash',
          attempts: [{ ...claim, status: 'failed', endedAt: failedAt, error: 'failed before the crash' }],
          updatedAt: failedAt,
        },
      );
      await store.close();

      // Coordinator B resumes and fills in the log.
      const b = new Coordinator({ store: new LocalStore(dir), bus: new LocalBus(), log });
      const reconciled = new Promise<void>((resolve) => {
        b.events.onStored((e) => {
          if (e.type === 'trial.state' && e.trialNumber === 0 && e.payload.status === 'failed') resolve();
        });
      });
      await b.start();
      await within(reconciled, 15_000, 'the re-emitted trial.state failed event of trial 0');
      await b.events.flush(experiment.id);
      const events = await b.store.listEvents(experiment.id, 1);
      events.forEach((e, i) => assert.equal(e.seq, i + 1));
      const added = events.slice(eventsBefore.length);
      assert.ok(
        added.some((e) => e.type === 'trial.state' && e.trialNumber === 0 && e.payload.status === 'failed'),
        JSON.stringify(added),
      );
      assert.ok(added.some((e) => e.type === 'trial.metric' && e.trialNumber === 0 && e.payload.step === 1));
      assert.equal(
        added.filter((e) => e.type === 'trial.state' && e.trialNumber === 1).length,
        0,
        'nothing re-emitted for an unchanged trial',
      );
      await b.cancel(experiment.id);
      await b.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
