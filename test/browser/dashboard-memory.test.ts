/**
 * A sweep page left open stays the size of a fresh load of the same sweep. The trials have the
 * shape of bench/dashboard-soak.ts (the hour-long version on a real cluster), driven through the
 * real live path (store, event log, server-sent events, the page's flush) in seconds: 100-step
 * trials, two running at once and overlapping, each pending -> running -> succeeded (every 7th
 * pruned half-way), with final values drawn at random so that most end outside the leaderboard's
 * top 100. Learning curves, history, parallel coordinates and slices are live throughout. Then the
 * page's DOM nodes (Chrome's count: detached nodes included) and JS heap after a full garbage
 * collection are compared with a fresh page opened on the same sweep.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { Coordinator } from '../../coordinator/coordinator.js';
import { LocalStore } from '../../coordinator/store/local.js';
import { LocalBus } from '../../coordinator/bus/local.js';
import { startHttpServer, type HttpHandle } from '../../coordinator/http/server.js';
import { validateSpec } from '../../coordinator/experiments/validate.js';
import { createLogger } from '../../shared/log.js';
import type { SweepDoc } from '../../shared/types.js';
import type { Params } from '../../shared/spec/space.js';
import { launchBrowser, memoryOf, snapshotOf, type Browser } from '../../bench/browser.js';

const TRIALS = 300;
const STEPS = 100;
/** Steps each running trial reports between two waits for the page (two draws per trial). */
const CHUNK = 50;
const ID = 'mem';
/** How much more a long-lived page may hold than a fresh one (its event stream, buffers). */
const SLACK = 1.15;

declare const document: { querySelector(selector: string): { getAttribute(name: string): string | null } | null };

describe('a long-lived sweep page in chromium', () => {
  let dir: string;
  let coordinator: Coordinator;
  let http: HttpHandle;
  let browser: Browser;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'trellis-ui-memory-'));
    const log = createLogger('test', 'warn');
    coordinator = new Coordinator({ store: new LocalStore(join(dir, 'store')), bus: new LocalBus(), log });
    await coordinator.start();
    http = await startHttpServer(coordinator, '127.0.0.1:0', log);
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await http?.close();
    await coordinator?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it(`holds about what a fresh load holds after ${TRIALS} soak-shaped trials ran while it was open`, async (t) => {
    await createSweep(coordinator);
    const page = await browser.context.newPage();
    page.setDefaultTimeout(60_000);
    const url = `${http.url}#/exp/${ID}`;
    await page.goto(url);
    await page.waitForSelector('body[data-complete="1"] [data-page="sweep"]');
    const started = Date.now();
    const random = lcg(7);
    let next = 0;
    // Two running trials half a trial apart: each round one of them finishes and the next starts.
    const running = [await startTrial(coordinator, next++, random), await startTrial(coordinator, next++, random)];
    await report(coordinator, running[1]!, CHUNK);
    let finished = 0;
    while (finished < TRIALS) {
      for (let i = 0; i < running.length; i++) {
        const trial = running[i]!;
        await report(coordinator, trial, CHUNK);
        if (trial.step < trial.lastStep) continue;
        await finishTrial(coordinator, trial);
        finished++;
        if (finished < TRIALS) running[i] = await startTrial(coordinator, next++, random);
        else running.splice(i, 1);
      }
      await drawn(page);
    }
    const finishing = Date.now() - started;
    // The whole-sweep charts redraw at most once a second: wait for the last one.
    await waitFor(page, '[data-chart="parcoords"]', 'data-lines', TRIALS);
    const longLived = { ...(await memoryOf(page)), ...(await snapshotOf(page)) };

    const fresh = await browser.context.newPage();
    await fresh.goto(url);
    await fresh.waitForSelector('body[data-complete="1"] [data-page="sweep"]');
    await waitFor(fresh, '[data-chart="parcoords"]', 'data-lines', TRIALS);
    const freshMemory = { ...(await memoryOf(fresh)), ...(await snapshotOf(fresh)) };
    const read = (p: Page, selector: string, attribute: string) =>
      p.evaluate(([s, a]) => document.querySelector(s!)?.getAttribute(a!), [selector, attribute] as const);
    for (const [selector, attribute] of [
      ['[data-chart="leaderboard"]', 'data-rows'],
      ['[data-chart="curves"]', 'data-series'],
      ['.summary .progress', 'data-done'],
    ] as const) {
      assert.equal(await read(page, selector, attribute), await read(fresh, selector, attribute), `${selector}`);
    }
    assert.equal(await read(page, '.summary .progress', 'data-done'), String(TRIALS));
    const report_ = `${TRIALS} trials (${next} started) in ${finishing} ms; long-lived ${JSON.stringify(longLived)}, fresh ${JSON.stringify(freshMemory)}`;
    t.diagnostic(report_);
    assert.ok(longLived.dom_nodes <= SLACK * freshMemory.dom_nodes, `DOM nodes: ${report_}`);
    // The same from the heap snapshot: DOM nodes still reachable, detached ones among them.
    assert.ok(
      longLived.snapshot_dom_nodes <= SLACK * freshMemory.snapshot_dom_nodes,
      `reachable DOM nodes: ${report_}`,
    );
    // The heap's data: compiled code (more in a page that ran its live path) is not a leak.
    assert.ok(longLived.data_mb <= SLACK * freshMemory.data_mb, `heap data: ${report_}`);
    await fresh.close();
    await page.close();
  });

  /** Waits until the page has drawn every event stored so far (its `data-seq`). */
  async function drawn(page: Page): Promise<void> {
    await coordinator.events.flush(ID);
    await waitFor(page, '[data-page="sweep"]', 'data-seq', await coordinator.store.lastEventSeq(ID));
  }
});

/** Waits until `selector`'s numeric `attribute` reaches `want`. */
async function waitFor(page: Page, selector: string, attribute: string, want: number): Promise<void> {
  await page.waitForFunction(
    ([s, a, w]) => Number(document.querySelector(s as string)?.getAttribute(a as string)) >= (w as number),
    [selector, attribute, want] as const,
    { timeout: 30_000 },
  );
}

/** Park-Miller: the same "random" sweep on every run. */
function lcg(seed: number): () => number {
  let state = seed;
  return () => (state = (state * 16807) % 2147483647) / 2147483647;
}

async function createSweep(coordinator: Coordinator): Promise<void> {
  const spec = validateSpec({
    apiVersion: 'trellis/v1',
    kind: 'Sweep',
    name: 'memory',
    trial: { runtime: 'command', command: ['true'], objective: { metric: 'loss', mode: 'min' } },
    search: {
      algorithm: 'random',
      seed: 1,
      space: { lr: { loguniform: [1e-4, 1e-1] }, width: { choice: [32, 64, 128] } },
    },
    budget: { trials: TRIALS + 2, concurrency: 2 },
  });
  const now = Date.now();
  await coordinator.store.createExperiment({
    id: ID,
    name: 'memory',
    kind: 'Sweep',
    status: 'running',
    spec: spec as SweepDoc['spec'],
    requestId: ID,
    createdAt: now,
    updatedAt: now,
    trialsCreated: 0,
  });
}

interface Running {
  id: string;
  number: number;
  params: Params;
  /** Where the loss levels off (set by lr, as in the soak's program): most end outside the top 100. */
  floor: number;
  random: () => number;
  step: number;
  /** STEPS, or half of it for a trial the test prunes. */
  lastStep: number;
  /** The values last reported: the trial's final metrics. */
  last: Record<string, number>;
}

/** Stored and announced as the coordinator's trial writer does: pending, then running. */
async function startTrial(coordinator: Coordinator, n: number, random: () => number): Promise<Running> {
  const id = `${ID}-${n}`;
  const params = { lr: 10 ** (-4 + 3 * random()), width: [32, 64, 128][n % 3]! };
  const now = Date.now();
  await coordinator.store.insertTrial({
    id,
    experimentId: ID,
    number: n,
    status: 'pending',
    params,
    seed: n,
    attempts: [],
    metrics: {},
    createdAt: now,
    updatedAt: now,
  });
  const base = { experimentId: ID, trialId: id, trialNumber: n };
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
  return { id, number: n, params, floor, random, step: 0, lastStep: n % 7 === 6 ? STEPS / 2 : STEPS, last: {} };
}

/**
 * The soak program's loss: noisy, so a trial near the 100th value moves in and out of the
 * leaderboard's top 100 from one step to the next, as trials do on a real sweep.
 */
const lossAt = (trial: Running, step: number): Record<string, number> => {
  const loss = trial.floor + Math.exp(-0.05 * step) + 0.01 * trial.random();
  return { loss, val_loss: loss * 1.1 };
};

/** The next `count` steps of a running trial: stored, then one event per step. */
async function report(coordinator: Coordinator, trial: Running, count: number): Promise<void> {
  const steps: number[] = [];
  while (steps.length < count && trial.step < trial.lastStep) steps.push(++trial.step);
  const time = Date.now();
  const rows = steps.map((step) => ({
    experimentId: ID,
    trialId: trial.id,
    attempt: 1,
    step,
    time,
    values: lossAt(trial, step),
  }));
  await coordinator.store.appendMetrics(rows);
  trial.last = rows[rows.length - 1]?.values ?? trial.last;
  const base = { experimentId: ID, trialId: trial.id, trialNumber: trial.number };
  for (const { step, values } of rows) {
    coordinator.events.emit({ type: 'trial.metric', ...base, payload: { step, attempt: 1, values } });
  }
}

async function finishTrial(coordinator: Coordinator, trial: Running): Promise<void> {
  const status = trial.lastStep < STEPS ? 'pruned' : 'succeeded';
  const metrics = trial.last;
  await coordinator.store.updateTrial(
    trial.id,
    { status: 'running' },
    { status, metrics, lastStep: trial.lastStep, updatedAt: Date.now() },
  );
  coordinator.events.emit({
    type: 'trial.state',
    experimentId: ID,
    trialId: trial.id,
    trialNumber: trial.number,
    payload: { status, params: trial.params, metrics, attempt: 1, workerId: 'w' },
  });
}
