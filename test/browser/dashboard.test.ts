/**
 * The dashboard in a real browser (Debian chromium via playwright-core) against a real cluster:
 * an in-process coordinator with its HTTP server and two worker processes. One cluster and one
 * browser serve every test, in order: a sweep watched live, brushing, a pipeline's DAG, the
 * static report from file://.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Page } from 'playwright-core';
import { TrellisClient } from '../../client/index.js';
import { startHttpServer, type HttpHandle } from '../../coordinator/http/server.js';
import { writeHtmlReport } from '../../cli/report-html.js';
import { createLogger } from '../../shared/log.js';
import { startCluster, sweepSpec, waitForWorkers, type Cluster } from '../helpers/cluster.js';
import { launchBrowser, SCREENSHOTS, type Browser } from '../../bench/browser.js';

/** Page functions run in the browser; this file is compiled without the DOM library. */
interface El {
  textContent: string | null;
  width: number;
  height: number;
  getAttribute(name: string): string | null;
  getContext(kind: '2d'): { getImageData(x: number, y: number, w: number, h: number): { data: ArrayLike<number> } };
}
declare const document: {
  querySelector(selector: string): El | null;
  querySelectorAll(selector: string): ArrayLike<El> & Iterable<El>;
};
type HTMLCanvasElement = El;

/** DOM nodes a page holds after a full garbage collection (detached ones included), from Chrome. */
async function domNodes(page: Page): Promise<number> {
  const cdp = await page.context().newCDPSession(page);
  try {
    await cdp.send('HeapProfiler.collectGarbage');
    await cdp.send('Performance.enable');
    const { metrics } = await cdp.send('Performance.getMetrics');
    return metrics.find((m) => m.name === 'Nodes')!.value;
  } finally {
    await cdp.detach();
  }
}

const STAGE = fileURLToPath(new URL('../../../test/fixtures/integration/stage.mjs', import.meta.url));
const WAIT = { timeout: 60_000 };

describe('the dashboard in chromium', () => {
  let cluster: Cluster;
  let http: HttpHandle;
  let client: TrellisClient;
  let browser: Browser;
  let page: Page;
  let sweepId = '';

  before(async () => {
    // Workers start once the sweep's page is open (first test), so the page sees it unfold.
    cluster = await startCluster({ workers: 0 });
    http = await startHttpServer(cluster.coordinator, '127.0.0.1:0', createLogger('test', 'warn'));
    client = new TrellisClient(cluster.address);
    browser = await launchBrowser();
    page = await browser.context.newPage();
    page.setDefaultTimeout(60_000);
  });

  after(async () => {
    await browser?.close();
    client?.close();
    await http?.close();
    await cluster?.stop();
  });

  it('follows a sweep live: leaderboard, curves and parallel coordinates fill in as trials finish', async () => {
    const { experiment } = await client.submit(
      sweepSpec({ name: 'live-sweep', trials: 8, concurrency: 2, steps: 4, delay: 120 }),
    );
    sweepId = experiment.id;
    await page.goto(`${http.url}#/exp/${experiment.id}`);
    await page.waitForSelector('body[data-complete="1"] [data-page="sweep"]');
    const first = await page.evaluate(() => ({
      done: Number(document.querySelector('.progress')?.getAttribute('data-done')),
    }));
    assert.equal(first.done, 0, 'no worker yet: nothing done when the page opened');
    cluster.spawnWorker();
    cluster.spawnWorker();
    await waitForWorkers(cluster, 2);
    // Live: the page reaches the final state from events, without a reload.
    await page.waitForFunction(
      () => document.querySelector('.progress')?.getAttribute('data-done') === '8',
      undefined,
      WAIT,
    );
    await page.waitForFunction(
      () => document.querySelector('[data-chart="parcoords"]')?.getAttribute('data-lines') === '8',
      undefined,
      WAIT,
    );
    const final = await client.wait(experiment.id);
    const trials = await client.trials(experiment.id);
    const state = await page.evaluate(() => ({
      rows: [...document.querySelectorAll('[data-chart="leaderboard"] tbody tr.row td:nth-child(2)')].map((td) =>
        Number(td.textContent),
      ),
      series: Number(document.querySelector('[data-chart="curves"]')?.getAttribute('data-series')),
      renders: (globalThis as unknown as { __trellis: { renders: Record<string, number> } }).__trellis.renders,
    }));
    assert.equal(state.rows.length, 8);
    assert.equal(state.rows[0], final.best?.number, 'the top row is the best trial');
    const ranked = [...trials].sort((a, b) => b.metrics.val_score! - a.metrics.val_score!).map((t) => t.number);
    assert.deepEqual(state.rows, ranked, 'ranked by val_score, best first');
    assert.equal(state.series, 8, 'a curve per trial');
    assert.ok(
      (state.renders['curves.update'] ?? 0) + (state.renders['curves.rebuild'] ?? 0) > 1,
      'curves redrawn live',
    );
    assert.ok((state.renders.parcoords ?? 0) > 1, 'parallel coordinates redrawn live');
    await page.screenshot({ path: join(SCREENSHOTS, 'sweep.png'), fullPage: true });

    // What a page that followed the whole sweep holds is what a fresh load of it holds: charts
    // redrawn live leave nothing behind (an observer per redraw once kept every old plot alive:
    // 463 nodes against a fresh load's 354; fixed, 363).
    const fresh = await browser.context.newPage();
    await fresh.goto(`${http.url}#/exp/${experiment.id}`);
    await fresh.waitForSelector('body[data-complete="1"] [data-page="sweep"]');
    const live = await domNodes(page);
    const loaded = await domNodes(fresh);
    await fresh.close();
    assert.ok(live <= loaded * 1.15, `the live page holds ${live} DOM nodes, a fresh load ${loaded}`);
  });

  it('brushing the objective axis filters the leaderboard to the trials inside the range', async () => {
    const trials = await client.trials(sweepId);
    const chart = page.locator('[data-chart="parcoords"] .echart');
    await chart.scrollIntoViewIfNeeded();
    const box = (await chart.boundingBox())!;
    // The objective is the last of four axes (x, steps, delay, val_score); the layout leaves
    // 80 px on the right and 40 px on top. Drag down along it over its upper half.
    const x = box.x + box.width - 80;
    await page.mouse.move(x, box.y + 45);
    await page.mouse.down();
    await page.mouse.move(x, box.y + 45 + (box.height - 70) / 2, { steps: 8 });
    await page.mouse.up();
    await page.waitForFunction(
      () => Number(document.querySelector('[data-chart="leaderboard"]')?.getAttribute('data-rows')) < 8,
      undefined,
      WAIT,
    );
    const { intervals, rows } = await page.evaluate(() => {
      const parcoords = (
        globalThis as unknown as { __trellis: { charts: { parcoords: { intervals(): number[][][] } } } }
      ).__trellis.charts.parcoords;
      return {
        intervals: parcoords.intervals(),
        rows: [...document.querySelectorAll('[data-chart="leaderboard"] tbody tr.row td:nth-child(2)')].map((td) =>
          Number(td.textContent),
        ),
      };
    });
    const [low, high] = intervals[3]![0]!;
    const inside = trials
      .filter((t) => t.metrics.val_score! >= Math.min(low!, high!) && t.metrics.val_score! <= Math.max(low!, high!))
      .map((t) => t.number)
      .sort((a, b) => a - b);
    assert.ok(rows.length > 0 && rows.length < 8, `the brush keeps some rows (${rows.length})`);
    assert.deepEqual(
      [...rows].sort((a, b) => a - b),
      inside,
    );
  });

  it('shows a pipeline DAG whose stage states change live', async () => {
    const markers = mkdtempSync(join(tmpdir(), 'trellis-ui-stages-'));
    const stage = (name: string, needs: string[], value: number) => ({
      name,
      needs,
      command: [process.execPath, STAGE],
      params: { options: { name, markers, value, holdMs: 1500 } },
    });
    const { experiment } = await client.submit(
      JSON.stringify({
        apiVersion: 'trellis/v1',
        kind: 'Pipeline',
        name: 'ui-pipeline',
        stages: [stage('prepare', [], 1), stage('train', ['prepare'], 2), stage('finetune', ['train'], 3)],
      }),
    );
    await page.goto(`${http.url}#/exp/${experiment.id}`);
    await page.waitForSelector('body[data-ready="1"] [data-page="pipeline"]');
    const states = (): Promise<string> =>
      page.evaluate(() => document.querySelector('[data-page="pipeline"] .echart')?.getAttribute('data-states') ?? '');
    const seen = new Set<string>([await states()]);
    const waitFor = async (wanted: string): Promise<void> => {
      await page.waitForFunction(
        (w) => document.querySelector('[data-page="pipeline"] .echart')?.getAttribute('data-states')?.includes(w),
        wanted,
        WAIT,
      );
      seen.add(await states());
    };
    await waitFor('train=running');
    await waitFor('finetune=succeeded');
    const final = await client.wait(experiment.id);
    assert.equal(final.status, 'succeeded');
    assert.ok(
      [...seen].some((s) => s.includes('prepare=succeeded,train=running')),
      `saw train running after prepare: ${[...seen].join(' | ')}`,
    );
    assert.equal(await states(), 'prepare=succeeded,train=succeeded,finetune=succeeded');
    const links = await page.locator('[data-stage] a').count();
    assert.equal(links, 3, 'each stage links to its sweep');
    await page.screenshot({ path: join(SCREENSHOTS, 'pipeline.png'), fullPage: true });
  });

  it('lists experiments and workers', async () => {
    await page.goto(`${http.url}#/`);
    await page.waitForSelector('body[data-ready="1"] [data-page="experiments"]');
    await page.waitForFunction(() => document.querySelectorAll('[data-page="experiments"] tbody tr').length >= 2);
    await page.selectOption('[data-role="status"]', 'succeeded');
    await page.fill('[data-role="name"]', 'live-sweep');
    await page.waitForFunction(() => document.querySelectorAll('[data-page="experiments"] tbody tr').length === 1);
    assert.equal(await page.locator(`[data-page="experiments"] tr[data-id="${sweepId}"]`).count(), 1);
    await page.screenshot({ path: join(SCREENSHOTS, 'experiments.png') });
    await page.goto(`${http.url}#/workers`);
    await page.waitForSelector('body[data-ready="1"] [data-page="workers"]');
    assert.equal(await page.locator('[data-worker]').count(), 2);
  });

  it('writes an HTML report that opens from file:// with no server and draws its charts', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'trellis-report-')), 'report.html');
    await writeHtmlReport(client, sweepId, file);
    const offline = await browser.context.newPage();
    const requests: string[] = [];
    offline.on('request', (r) => requests.push(r.url()));
    await offline.goto(pathToFileURL(file).href);
    await offline.waitForSelector('body[data-complete="1"] [data-page="sweep"]', WAIT);
    const drawn = await offline.evaluate(() => {
      const inked = (canvas: HTMLCanvasElement | null): number => {
        if (!canvas) return 0;
        const ctx = canvas.getContext('2d')!;
        const { data } = ctx.getImageData(0, 0, canvas.width, canvas.height);
        let n = 0;
        for (let i = 3; i < data.length; i += 4) if (data[i]! > 0) n++;
        return n;
      };
      return {
        curves: inked(document.querySelector('[data-chart="curves"] canvas')),
        parcoords: inked(document.querySelector('[data-chart="parcoords"] canvas')),
        rows: Number(document.querySelector('[data-chart="leaderboard"]')?.getAttribute('data-rows')),
      };
    });
    assert.ok(drawn.curves > 500, `curves drawn (${drawn.curves} inked pixels)`);
    assert.ok(drawn.parcoords > 500, `parallel coordinates drawn (${drawn.parcoords} inked pixels)`);
    assert.equal(drawn.rows, 8);
    assert.deepEqual(
      requests.filter((u) => !u.startsWith('file:') && !u.startsWith('data:') && !u.startsWith('blob:')),
      [],
      'no network request',
    );
    await offline.screenshot({ path: join(SCREENSHOTS, 'report.png'), fullPage: true });
    await offline.close();
  });
});
