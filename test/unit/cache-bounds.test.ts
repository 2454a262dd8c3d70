/**
 * The coordinator's per-trial caches stay bounded however many trials a sweep runs (issue 15
 * §4): entries are counted after N trials, never timed. A real Coordinator on a LocalStore (temp
 * directory) and LocalBus, driven by an in-process worker session that answers each assignment
 * on the next turn, as the million-trial bench does (bench/million.ts).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Coordinator } from '../../coordinator/coordinator.js';
import { LocalStore } from '../../coordinator/store/local.js';
import { LocalBus } from '../../coordinator/bus/local.js';
import { CoordinatorMetrics, RECENTLY_ENDED } from '../../coordinator/metrics.js';
import { BestTracker, computeBest } from '../../coordinator/sweeps/best.js';
import { RETAIN_TERMINAL } from '../../coordinator/sweeps/trial-writer.js';
import { createLogger } from '../../shared/log.js';
import type { SweepSpec } from '../../shared/spec/schema.js';
import type { TrialDoc } from '../../shared/types.js';
import type { TrellisEvent } from '../../shared/events.js';
import { within } from '../helpers/deadline.js';
import type { WorkerMessage__Output } from '../../shared/generated/trellis/v1/WorkerMessage.js';

const CONCURRENCY = 16;

function spec(name: string, trials: number, algorithm: string): string {
  return JSON.stringify({
    apiVersion: 'trellis/v1',
    kind: 'Sweep',
    name,
    trial: { runtime: 'command', command: ['/bin/true'], objective: { metric: 'score', mode: 'max' } },
    resources: { cpus: 1 },
    search: { algorithm, seed: 1, space: { x: { uniform: [0, 1] } } },
    budget: { trials, concurrency: CONCURRENCY, maxAttempts: 1 },
  });
}

/** A worker session in this process: each attempt reports `steps` metrics, then its result. */
function connectWorker(coordinator: Coordinator, steps: number): void {
  const connection = coordinator.connectWorker({
    send(message) {
      const a = message.assign;
      if (!a) return true;
      const attempt = { attempt_id: a.attempt_id ?? '', attempt_token: a.attempt_token ?? '' };
      setImmediate(() => {
        for (let step = 1; step <= steps; step++) {
          connection.onMessage({
            body: 'progress',
            progress: { ...attempt, step, metrics: { score: step / 10 } },
          } as unknown as WorkerMessage__Output);
        }
        connection.onMessage({
          body: 'result',
          result: { ...attempt, metrics: { score: Math.random() }, info_json: '' },
        } as unknown as WorkerMessage__Output);
      });
      return true;
    },
    end() {},
  });
  connection.onMessage({
    body: 'hello',
    hello: {
      worker_id: 'w0',
      slots: { cpus: CONCURRENCY, gpus: [], memory_bytes: '0' },
      labels: {},
      runtimes: ['command'],
      version: 'test',
      running_attempt_ids: [],
      attempt_tokens: {},
    },
  } as unknown as WorkerMessage__Output);
}

describe('per-trial caches are bounded', () => {
  let dir: string;
  let coordinator: Coordinator;
  let metrics: CoordinatorMetrics;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'trellis-bounds-'));
    coordinator = new Coordinator({
      store: new LocalStore(join(dir, 'store')),
      bus: new LocalBus(),
      log: createLogger('test', 'warn'),
    });
    metrics = new CoordinatorMetrics({ processMetrics: false });
    metrics.attach(coordinator);
    await coordinator.start();
  });
  after(async () => {
    await coordinator.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Runs a sweep; returns the largest value of each cache size seen after each ended trial. */
  async function sweep(name: string, trials: number, algorithm: string): Promise<Record<string, number>> {
    const largest: Record<string, number> = {};
    let id = '';
    let ended = 0;
    let finished!: () => void;
    const final = new Promise<void>((resolve) => (finished = resolve));
    const off = coordinator.events.onStored((event: TrellisEvent) => {
      if (event.type === 'experiment.state' && event.experimentId === id && event.payload.status === 'succeeded')
        finished();
      if (event.type !== 'trial.state' || event.payload.status !== 'succeeded') return;
      ended++;
      for (const [key, value] of Object.entries(coordinator.cacheSizes(id) ?? {}))
        largest[key] = Math.max(largest[key] ?? 0, value);
      largest.heldAttempts = Math.max(largest.heldAttempts ?? 0, coordinator.dispatcher.heldAttempts);
    });
    try {
      const { experiment } = await coordinator.submit(spec(name, trials, algorithm));
      id = experiment.id;
      await coordinator.idle();
      assert.equal((await coordinator.get(id)).status, 'succeeded');
      // Events are stored after the state they announce: the experiment's own comes last.
      await within(final, 30_000, "the experiment's final event");
    } finally {
      off();
    }
    assert.equal(ended, trials, 'every trial succeeded');
    return largest;
  }

  it('random search, 3 × RETAIN_TERMINAL trials: trials held, best groups, history and slot index stay bounded', async () => {
    const trials = 3 * RETAIN_TERMINAL;
    const largest = await sweep('bounded', trials, 'random');
    assert.ok(largest.trials! >= RETAIN_TERMINAL, `the writer keeps the recent ended trials (${largest.trials})`);
    assert.ok(
      largest.trials! <= RETAIN_TERMINAL + 2 * CONCURRENCY,
      `trials held: ${largest.trials}, limit ${RETAIN_TERMINAL} ended + running ones`,
    );
    assert.ok(largest.bestGroups! <= 2 + CONCURRENCY, `best tracking holds ${largest.bestGroups} configurations`);
    assert.equal(largest.historyMembers, 0, 'random search keeps no history');
    assert.ok(largest.running! <= CONCURRENCY);
    assert.ok(largest.heldAttempts! <= CONCURRENCY, `slot index: ${largest.heldAttempts} attempts`);
    assert.equal(coordinator.dispatcher.heldAttempts, 0, 'nothing is held once the sweep ended');
    assert.equal(metrics.sizes.live, 0, 'the trial gauge holds no ended trial');
    assert.ok(metrics.sizes.recentlyEnded <= RECENTLY_ENDED);
  });

  it('TPE: learning curves are dropped once nothing can read them; the history holds one summary per trial', async () => {
    const trials = 120;
    const largest = await sweepWithSteps('tpe-bounded', trials);
    assert.ok(largest.historyCurves! <= CONCURRENCY, `curves held: ${largest.historyCurves}`);
    assert.equal(largest.historyMembers, trials, 'one summary per trial (TPE reads all of them)');
  });

  async function sweepWithSteps(name: string, trials: number): Promise<Record<string, number>> {
    const stepping = new Coordinator({
      store: new LocalStore(join(dir, 'store-tpe')),
      bus: new LocalBus(),
      log: createLogger('test', 'warn'),
    });
    await stepping.start();
    try {
      connectWorker(stepping, 3);
      const largest: Record<string, number> = {};
      let id = '';
      const off = stepping.events.onStored((event) => {
        if (event.type !== 'trial.state' || event.payload.status !== 'succeeded') return;
        for (const [key, value] of Object.entries(stepping.cacheSizes(id) ?? {}))
          largest[key] = Math.max(largest[key] ?? 0, value);
      });
      const { experiment } = await stepping.submit(spec(name, trials, 'tpe'));
      id = experiment.id;
      await stepping.idle();
      off();
      assert.equal((await stepping.get(id)).status, 'succeeded');
      return largest;
    } finally {
      await stepping.close();
    }
  }

  before(() => connectWorker(coordinator, 0));
});

describe('best tracking drops dominated configurations', () => {
  function trial(number: number, score: number): TrialDoc {
    return {
      id: `t${number}`,
      experimentId: 'e',
      number,
      status: 'succeeded',
      params: { x: number },
      seed: number,
      attempts: [],
      metrics: { score },
      createdAt: 0,
      updatedAt: 0,
    };
  }

  for (const replicates of [1, 3]) {
    it(`holds O(1) configurations after 6,000 trials (replicates ${replicates}) and still names the best`, () => {
      const tracker = new BestTracker({ metric: 'score', mode: 'min' }, replicates);
      const all: TrialDoc[] = [];
      let state = 12345;
      for (let n = 0; n < 6000; n++) {
        state = (state * 1103515245 + 12345) % 2 ** 31;
        const t = trial(n, state / 2 ** 31);
        all.push(t);
        tracker.observe(t);
        tracker.best();
      }
      assert.ok(tracker.sizes.groups <= 2, `configurations held: ${tracker.sizes.groups}`);
      assert.equal(tracker.sizes.partlyEnded, 0);
      const reference = { trial: { objective: { metric: 'score', mode: 'min' } }, search: { replicates } };
      assert.deepEqual(tracker.best(), computeBest(all, reference as unknown as SweepSpec));
    });
  }
});

describe('the Prometheus trial gauge', () => {
  it('counts ended trials without holding them', async () => {
    const metrics = new CoordinatorMetrics({ processMetrics: false });
    let listener: ((event: TrellisEvent) => void) | undefined;
    const coordinator = {
      events: { onStored: (l: (event: TrellisEvent) => void) => ((listener = l), () => undefined) },
      dispatcher: { onPlaced: () => () => undefined, demand: () => ({ cpu: 0, gpu: 0 }) },
    } as unknown as Coordinator;
    metrics.attach(coordinator);
    const total = RECENTLY_ENDED + 2000;
    const event = (n: number, status: string): TrellisEvent =>
      ({
        type: 'trial.state',
        experimentId: 'e',
        trialId: `t${n}`,
        seq: 0,
        time: 0,
        payload: { status },
      }) as unknown as TrellisEvent;
    for (let n = 0; n < total; n++) {
      listener!(event(n, 'running'));
      listener!(event(n, 'succeeded'));
    }
    listener!(event(total - 1, 'running')); // late: ignored
    assert.equal(metrics.sizes.live, 0);
    assert.equal(metrics.sizes.recentlyEnded, RECENTLY_ENDED);
    const text = await metrics.registry.getSingleMetricAsString('trellis_trials');
    assert.match(text, new RegExp(`trellis_trials\\{status="succeeded"\\} ${total}\\b`));
    assert.match(text, /trellis_trials\{status="running"\} 0\b/);
  });
});
