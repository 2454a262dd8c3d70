/**
 * `npm run bench:soak -- --minutes 60`: a sweep page left open on a running sweep, in Debian's
 * chromium, against a real embedded cluster (coordinator + HTTP server + 2 worker processes
 * running `command` trials that report a metric every 100 ms). Every minute it forces a garbage
 * collection in the page and samples its JS heap and DOM node count (Chrome DevTools Protocol),
 * and checks the page is still right: its done-count equals the store's. At the end it opens the
 * same sweep in a fresh page and compares: a page that leaks grows with time, one that does not
 * holds about what a fresh load of the same data holds.
 * Writes bench/results/dashboard-soak.json (with --save) and prints it.
 */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { startEmbedded } from '../cli/embedded.js';
import { LocalStore } from '../coordinator/store/local.js';
import { LocalBus } from '../coordinator/bus/local.js';
import { createLogger } from '../shared/log.js';
import { freshBundle, launchBrowser, memoryOf, snapshotOf } from './browser.js';
import { machine, numberArg, progress, ROOT } from './common.js';

const MINUTES = numberArg('--minutes', 60);
const SAMPLE_MS = numberArg('--sample-seconds', 60) * 1000;
const STEPS = 100;
/** `--step-ms`: shorter steps finish more trials in a short soak (100 in the hour-long run). */
const STEP_MS = numberArg('--step-ms', 100);

/** A trial: STEPS reports of a decaying loss, one every STEP_MS. */
const PROGRAM = `
const lr = Number(process.argv[1] ?? 0.01);
let step = 0;
const timer = setInterval(() => {
  step++;
  const loss = 0.1 + Math.abs(Math.log10(lr) + 2.5) * 0.1 + Math.exp(-0.05 * step) + 0.01 * Math.random();
  console.log(JSON.stringify({ step, loss, val_loss: loss * 1.1 }));
  if (step >= ${STEPS}) clearInterval(timer);
}, ${STEP_MS});
`;

interface Sample {
  minute: number;
  heap_mb: number;
  /** Every DOM node the page holds (Chrome's count, detached ones included) and those in the document. */
  dom_nodes: number;
  attached_elements: number;
  /** From a heap snapshot (bench/browser.ts): all data, V8's objects among it, compiled code. */
  data_mb: number;
  js_mb: number;
  code_mb: number;
  trials_done: number;
  page_agrees: boolean;
}

async function main(): Promise<void> {
  const bundle = freshBundle(ROOT);
  const dir = mkdtempSync(join(tmpdir(), 'trellis-soak-'));
  const log = createLogger('bench', 'warn');
  const cluster = await startEmbedded({
    dir,
    workers: 2,
    log,
    cpusPerWorker: 1,
    http: '127.0.0.1:0',
    store: new LocalStore(join(dir, 'store')),
    bus: new LocalBus(),
  });
  const browser = await launchBrowser();
  try {
    const trialSeconds = (STEPS * STEP_MS) / 1000;
    const budget = Math.ceil(((MINUTES * 60) / trialSeconds) * 2 * 1.5);
    const { experiment } = await cluster.coordinator.submit(
      JSON.stringify({
        apiVersion: 'trellis/v1',
        kind: 'Sweep',
        name: 'soak',
        trial: {
          runtime: 'command',
          command: [process.execPath, '-e', PROGRAM, '${params.lr}'],
          objective: { metric: 'loss', mode: 'min' },
        },
        search: {
          algorithm: 'random',
          seed: 1,
          space: { lr: { loguniform: [1e-4, 1e-1] }, width: { choice: [32, 64, 128] } },
        },
        budget: { trials: budget, concurrency: 2 },
      }),
    );
    const id = experiment.id;
    const url = `${cluster.http!.url}#/exp/${id}`;
    const page = await browser.context.newPage();
    page.setDefaultTimeout(120_000);
    await page.goto(url);
    await page.waitForSelector('body[data-complete="1"] [data-page="sweep"]');
    progress(`soak: ${MINUTES} min on ${url} (budget ${budget} trials)`);

    const samples: Sample[] = [];
    const started = Date.now();
    const doneInStore = async (): Promise<number> =>
      (await cluster.coordinator.store.listTrials(id)).filter((t) => t.status !== 'running' && t.status !== 'pending')
        .length;
    for (let minute = 0; Date.now() - started < MINUTES * 60_000; minute++) {
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, started + (minute + 1) * SAMPLE_MS - Date.now())));
      const done = await doneInStore();
      // The page agrees once it has applied the events up to this count (it may lag by a frame).
      const agrees = await page
        .waitForFunction(
          (want) => Number(document.querySelector('.summary .progress')?.getAttribute('data-done')) >= want,
          done,
          { timeout: 10_000 },
        )
        .then(
          () => true,
          () => false,
        );
      const heap = await memoryOf(page);
      const { data_mb, js_mb, code_mb } = await snapshotOf(page);
      samples.push({
        minute: (Date.now() - started) / 60_000,
        ...heap,
        data_mb,
        js_mb,
        code_mb,
        trials_done: done,
        page_agrees: agrees,
      });
      progress(`soak: ${JSON.stringify(samples[samples.length - 1])}`);
    }

    await cluster.coordinator.cancel(id).catch(() => undefined);
    const finalDone = await doneInStore();
    await page.waitForFunction(
      (want) => Number(document.querySelector('.summary .progress')?.getAttribute('data-done')) === want,
      finalDone,
      { timeout: 30_000 },
    );
    const longLived = { ...(await memoryOf(page)), ...(await snapshotOf(page)) };
    const fresh = await browser.context.newPage();
    await fresh.goto(url);
    await fresh.waitForSelector('body[data-complete="1"] [data-page="sweep"]');
    const freshHeap = { ...(await memoryOf(fresh)), ...(await snapshotOf(fresh)) };
    const rowsOf = (p: Page) =>
      p.evaluate(() => Number(document.querySelector('[data-chart="leaderboard"]')?.getAttribute('data-rows')));
    const result = {
      suite: 'dashboard-soak',
      date: new Date().toISOString(),
      machine: machine(),
      minutes: MINUTES,
      bundle,
      workload: `a sweep of ${STEPS}-step command trials, a metric every ${STEP_MS} ms, 2 at a time`,
      trials_done: finalDone,
      samples,
      every_sample_agreed: samples.every((s) => s.page_agrees),
      long_lived_page: longLived,
      fresh_page_same_data: freshHeap,
      heap_ratio_long_lived_to_fresh: Math.round((longLived.heap_mb / freshHeap.heap_mb) * 100) / 100,
      heap_data_ratio_long_lived_to_fresh: Math.round((longLived.data_mb / freshHeap.data_mb) * 100) / 100,
      js_ratio_long_lived_to_fresh: Math.round((longLived.js_mb / freshHeap.js_mb) * 1000) / 1000,
      js_extra_bytes_per_trial: Math.round(((longLived.js_mb - freshHeap.js_mb) * 2 ** 20) / Math.max(1, finalDone)),
      dom_nodes_ratio_long_lived_to_fresh: Math.round((longLived.dom_nodes / freshHeap.dom_nodes) * 100) / 100,
      // From the heap snapshots: DOM nodes still reachable (detached ones kept alive included).
      snapshot_dom_nodes_ratio_long_lived_to_fresh:
        Math.round((longLived.snapshot_dom_nodes / freshHeap.snapshot_dom_nodes) * 100) / 100,
      leaderboard_rows: { long_lived: await rowsOf(page), fresh: await rowsOf(fresh) },
    };
    const text = JSON.stringify(result, null, 2);
    process.stdout.write(`${text}\n`);
    if (process.argv.includes('--save')) {
      mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
      writeFileSync(join(ROOT, 'bench', 'results', 'dashboard-soak.json'), `${text}\n`);
    }
  } finally {
    await browser.close();
    await cluster.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

// Page functions run in the browser; this file is compiled without the DOM library.
declare const document: {
  querySelector(selector: string): { getAttribute(name: string): string | null } | null;
  querySelectorAll(selector: string): { length: number };
};

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
