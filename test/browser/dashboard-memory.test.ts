/**
 * A sweep page left open stays the size of a fresh load of the same sweep. Trials finish live,
 * one by one, through the real path (store, event log, server-sent events, the page's flush);
 * each is the best so far, so each enters the leaderboard's top 100 and pushes a row out, and the
 * whole-sweep charts redraw as they would over an hour. Then the page's JS heap and DOM nodes
 * after a full garbage collection are compared with a fresh page opened on the same sweep.
 * (bench/dashboard-soak.ts is the hour-long version on a real cluster.)
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
import { launchBrowser, memoryOf, snapshotOf, type Browser } from '../../bench/browser.js';

const TRIALS = 300;
const STEPS = 5;
/** Trials finished between two waits for the page (fewer than the leaderboard's 100 rows). */
const BATCH = 10;
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

  it(`holds about what a fresh load holds after ${TRIALS} trials finished while it was open`, async (t) => {
    await createSweep(coordinator);
    const page = await browser.context.newPage();
    page.setDefaultTimeout(60_000);
    const url = `${http.url}#/exp/${ID}`;
    await page.goto(url);
    await page.waitForSelector('body[data-complete="1"] [data-page="sweep"]');
    const started = Date.now();
    for (let n = 0; n < TRIALS; n += BATCH) {
      const batch = Array.from({ length: Math.min(BATCH, TRIALS - n) }, (_, i) => n + i);
      await Promise.all(batch.map((k) => finishTrial(coordinator, k)));
      // A few trials per page flush, as when trials finish seconds apart: each batch is drawn.
      await waitFor(page, '.summary .progress', 'data-done', n + batch.length);
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
    const rows = (p: Page) =>
      p.evaluate(() => Number(document.querySelector('[data-chart="leaderboard"]')?.getAttribute('data-rows')));
    assert.equal(await rows(page), await rows(fresh), 'both pages show the same leaderboard rows');
    const report = `${TRIALS} trials in ${finishing} ms; long-lived ${JSON.stringify(longLived)}, fresh ${JSON.stringify(freshMemory)}`;
    t.diagnostic(report);
    assert.ok(longLived.dom_nodes <= SLACK * freshMemory.dom_nodes, `DOM nodes: ${report}`);
    // The heap's data: compiled code (more in a page that ran its live path) is not a leak.
    assert.ok(longLived.data_mb <= SLACK * freshMemory.data_mb, `heap data: ${report}`);
    await fresh.close();
    await page.close();
  });
});

/** Waits until `selector`'s numeric `attribute` reaches `want` (the page applied the events). */
async function waitFor(page: Page, selector: string, attribute: string, want: number): Promise<void> {
  await page.waitForFunction(
    ([s, a, w]) => Number(document.querySelector(s as string)?.getAttribute(a as string)) >= (w as number),
    [selector, attribute, want] as const,
    { timeout: 30_000 },
  );
}

async function createSweep(coordinator: Coordinator): Promise<void> {
  const spec = validateSpec({
    apiVersion: 'trellis/v1',
    kind: 'Sweep',
    name: 'memory',
    trial: { runtime: 'command', command: ['true'], objective: { metric: 'val_loss', mode: 'min' } },
    search: {
      algorithm: 'random',
      seed: 1,
      space: { lr: { loguniform: [1e-4, 1e-1] }, width: { choice: [32, 64, 128] } },
    },
    budget: { trials: TRIALS, concurrency: 1 },
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
    trialsCreated: TRIALS,
  });
}

/**
 * Trial `n` runs STEPS steps and succeeds with val_loss 1000 - n (each the best so far), stored
 * and then announced, as the coordinator's trial writer does.
 */
async function finishTrial(coordinator: Coordinator, n: number): Promise<void> {
  const now = Date.now();
  const id = `${ID}-${n}`;
  const params = { lr: 10 ** (-4 + (3 * ((n * 37) % 100)) / 100), width: [32, 64, 128][n % 3]! };
  const base = { experimentId: ID, trialId: id, trialNumber: n };
  await coordinator.store.insertTrial({
    id,
    experimentId: ID,
    number: n,
    status: 'running',
    params,
    seed: n,
    attempts: [],
    metrics: {},
    createdAt: now,
    updatedAt: now,
  });
  coordinator.events.emit({
    type: 'trial.state',
    ...base,
    payload: { status: 'running', params, attempt: 1, workerId: 'w' },
  });
  const value = 1000 - n;
  const steps = Array.from({ length: STEPS }, (_, i) => i + 1);
  const valuesAt = (step: number) => ({ loss: value + STEPS - step, val_loss: value + STEPS - step });
  await coordinator.store.appendMetrics(
    steps.map((step) => ({ experimentId: ID, trialId: id, attempt: 1, step, time: now, values: valuesAt(step) })),
  );
  for (const step of steps) {
    coordinator.events.emit({ type: 'trial.metric', ...base, payload: { step, attempt: 1, values: valuesAt(step) } });
  }
  const metrics = { loss: value, val_loss: value };
  await coordinator.store.updateTrial(id, {}, { status: 'succeeded', metrics, lastStep: STEPS, updatedAt: now });
  coordinator.events.emit({
    type: 'trial.state',
    ...base,
    payload: { status: 'succeeded', params, metrics, attempt: 1, workerId: 'w' },
  });
}
