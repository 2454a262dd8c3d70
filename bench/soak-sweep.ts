/**
 * A sweep of the dashboard soak's shape (bench/dashboard-soak.ts, the hour-long version on a real
 * cluster), driven through the real live path (store, event log, server-sent events, the page's
 * flush) in seconds: 100-step trials, two running at once and overlapping, each pending -> running
 * -> succeeded (every 7th pruned half-way), with final values drawn at random so that most end
 * outside the leaderboard's top 100. Used by the dashboard memory test and by
 * bench/dashboard-heap-diff.ts (which finds what a long-lived page holds that a fresh one does not).
 */
import type { Page } from 'playwright-core';
import type { Coordinator } from '../coordinator/coordinator.js';
import { validateSpec } from '../coordinator/experiments/validate.js';
import type { SweepDoc } from '../shared/types.js';
import type { Params } from '../shared/spec/space.js';
import { runningSweepDoc } from './common.js';

export const STEPS = 100;
/** Steps each running trial reports between two waits for the page (two draws per trial). */
const CHUNK = 50;

declare const document: { querySelector(selector: string): { getAttribute(name: string): string | null } | null };

/** Waits until `selector`'s numeric `attribute` reaches `want` (30 s at most). */
export async function waitFor(page: Page, selector: string, attribute: string, want: number): Promise<void> {
  await page.waitForFunction(
    ([s, a, w]) => Number(document.querySelector(s as string)?.getAttribute(a as string)) >= (w as number),
    [selector, attribute, want] as const,
    { timeout: 30_000 },
  );
}

/** Reads an attribute of the first element matching `selector` in the page. */
export function readAttribute(page: Page, selector: string, attribute: string): Promise<string | null | undefined> {
  return page.evaluate(([s, a]) => document.querySelector(s!)?.getAttribute(a!), [selector, attribute] as const);
}

/** Park-Miller: the same "random" sweep on every run. */
function lcg(seed: number): () => number {
  let state = seed;
  return () => (state = (state * 16807) % 2147483647) / 2147483647;
}

interface Running {
  id: string;
  number: number;
  params: Params;
  /** Where the loss levels off (set by lr, as in the soak's program): most end outside the top 100. */
  floor: number;
  step: number;
  /** STEPS, or half of it for a trial the driver prunes. */
  lastStep: number;
  /** The values last reported: the trial's final metrics. */
  last: Record<string, number>;
}

/**
 * One soak-shaped sweep `id` with a budget of `budget` trials, stored as running. `run(page, n)`
 * finishes n more trials while `page` follows the sweep, waiting for the page to draw every event
 * after each round (its `data-seq`), so the page has applied all of them when it returns.
 */
export class SoakSweep {
  private readonly random = lcg(7);
  private next = 0;
  private running: Running[] = [];
  finished = 0;

  private constructor(
    private readonly coordinator: Coordinator,
    readonly id: string,
  ) {}

  static async create(coordinator: Coordinator, id: string, budget: number): Promise<SoakSweep> {
    const spec = validateSpec({
      apiVersion: 'trellis/v1',
      kind: 'Sweep',
      name: id,
      trial: { runtime: 'command', command: ['true'], objective: { metric: 'loss', mode: 'min' } },
      search: {
        algorithm: 'random',
        seed: 1,
        space: { lr: { loguniform: [1e-4, 1e-1] }, width: { choice: [32, 64, 128] } },
      },
      budget: { trials: budget, concurrency: 2 },
    });
    const now = Date.now();
    await coordinator.store.createExperiment(
      runningSweepDoc(id, { name: id, spec: spec as SweepDoc['spec'], requestId: id, createdAt: now, updatedAt: now }),
    );
    return new SoakSweep(coordinator, id);
  }

  /** Trials started so far (finished, and up to two running). */
  get started(): number {
    return this.next;
  }

  async run(page: Page, count: number): Promise<void> {
    const target = this.finished + count;
    if (this.running.length === 0) {
      // Two running trials half a trial apart: each round one of them finishes and the next starts.
      this.running = [await this.start(), await this.start()];
      await this.report(this.running[1]!, CHUNK);
    }
    while (this.finished < target) {
      for (let i = 0; i < this.running.length && this.finished < target; i++) {
        const trial = this.running[i]!;
        await this.report(trial, CHUNK);
        if (trial.step < trial.lastStep) continue;
        await this.finish(trial);
        this.finished++;
        this.running[i] = await this.start();
      }
      await this.drawn(page);
    }
  }

  /** Waits until the page has drawn every event stored so far (its `data-seq`). */
  async drawn(page: Page): Promise<void> {
    await this.coordinator.events.flush(this.id);
    await waitFor(page, '[data-page="sweep"]', 'data-seq', await this.coordinator.store.lastEventSeq(this.id));
  }

  /** Stored and announced as the coordinator's trial writer does: pending, then running. */
  private async start(): Promise<Running> {
    const { coordinator, id: experimentId } = this;
    const n = this.next++;
    const id = `${experimentId}-${n}`;
    const params = { lr: 10 ** (-4 + 3 * this.random()), width: [32, 64, 128][n % 3]! };
    const now = Date.now();
    await coordinator.store.insertTrial({
      id,
      experimentId,
      number: n,
      status: 'pending',
      params,
      seed: n,
      attempts: [],
      metrics: {},
      createdAt: now,
      updatedAt: now,
    });
    await coordinator.store.updateExperiment(experimentId, {}, { trialsCreated: n + 1 });
    const base = { experimentId, trialId: id, trialNumber: n };
    coordinator.events.emit({
      type: 'trial.state',
      ...base,
      payload: { status: 'pending', params, attempt: 0, workerId: '' },
    });
    await coordinator.store.updateTrial(id, { status: 'pending' }, { status: 'running', updatedAt: now });
    coordinator.events.emit({
      type: 'trial.state',
      ...base,
      payload: { status: 'running', params, attempt: 1, workerId: 'w' },
    });
    const floor = 0.1 + Math.abs(Math.log10(params.lr) + 2.5) * 0.1;
    return { id, number: n, params, floor, step: 0, lastStep: n % 7 === 6 ? STEPS / 2 : STEPS, last: {} };
  }

  /**
   * The soak program's loss: noisy, so a trial near the 100th value moves in and out of the
   * leaderboard's top 100 from one step to the next, as trials do on a real sweep.
   */
  private lossAt(trial: Running, step: number): Record<string, number> {
    const loss = trial.floor + Math.exp(-0.05 * step) + 0.01 * this.random();
    return { loss, val_loss: loss * 1.1 };
  }

  /** The next `count` steps of a running trial: stored, then one event per step. */
  private async report(trial: Running, count: number): Promise<void> {
    const steps: number[] = [];
    while (steps.length < count && trial.step < trial.lastStep) steps.push(++trial.step);
    const time = Date.now();
    const rows = steps.map((step) => ({
      experimentId: this.id,
      trialId: trial.id,
      attempt: 1,
      step,
      time,
      values: this.lossAt(trial, step),
    }));
    await this.coordinator.store.appendMetrics(rows);
    trial.last = rows[rows.length - 1]?.values ?? trial.last;
    const base = { experimentId: this.id, trialId: trial.id, trialNumber: trial.number };
    for (const { step, values } of rows) {
      this.coordinator.events.emit({ type: 'trial.metric', ...base, payload: { step, attempt: 1, values } });
    }
  }

  private async finish(trial: Running): Promise<void> {
    const status = trial.lastStep < STEPS ? 'pruned' : 'succeeded';
    const metrics = trial.last;
    await this.coordinator.store.updateTrial(
      trial.id,
      { status: 'running' },
      { status, metrics, lastStep: trial.lastStep, updatedAt: Date.now() },
    );
    this.coordinator.events.emit({
      type: 'trial.state',
      experimentId: this.id,
      trialId: trial.id,
      trialNumber: trial.number,
      payload: { status, params: trial.params, metrics, attempt: 1, workerId: 'w' },
    });
  }
}
