/**
 * `npm run bench:dashboard`: the dashboard's sweep page on a synthetic sweep of 10,000 trials ×
 * 100 steps, in Debian's chromium (the browser tests' launcher), served by a real coordinator
 * (local store, HTTP server). Measures, in the browser:
 * - time to interactive: navigation start to the page's `trellis:interactive` mark (data fetched,
 *   every part drawn), plus the next frame; goal < 2 s;
 * - one live update: a step of one running trial emitted on the coordinator's event log reaches
 *   the page over SSE; which parts were redrawn (the goal: that trial's leaderboard row and the
 *   curves' data, not the whole page) and how long the page's flush took.
 * Writes bench/results/dashboard.json (with --save) and prints it.
 */
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Coordinator } from '../coordinator/coordinator.js';
import { LocalStore } from '../coordinator/store/local.js';
import { LocalBus } from '../coordinator/bus/local.js';
import { startHttpServer } from '../coordinator/http/server.js';
import { validateSpec } from '../coordinator/experiments/validate.js';
import { createLogger } from '../shared/log.js';
import type { MetricDoc, SweepDoc, TrialDoc } from '../shared/types.js';
import { launchBrowser } from './browser.js';
import { machine, progress, ROOT, runningSweepDoc } from './common.js';

/** `--trials N` and `--steps N` (defaults 10,000 and 100). */
function countArg(flag: string, fallback: number): number {
  const at = process.argv.indexOf(flag);
  if (at < 0) return fallback;
  const value = Number(process.argv[at + 1]);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${flag}: must be a whole number >= 1`);
  return value;
}
const TRIALS = countArg('--trials', 10_000);
const STEPS = countArg('--steps', 100);
/** `--cold N` page loads each on a fresh HTTP server (its curves read from the store), then `--warm N` on the last one. */
const COLD = countArg('--cold', 3);
const WARM = countArg('--warm', 2);

interface PageTimes {
  interactive_ms: number;
  complete_ms: number;
  parts: Record<string, number>;
  api: Record<string, { ms: number; kB: number }>;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'trellis-bench-ui-'));
  const log = createLogger('bench', 'warn');
  const coordinator = new Coordinator({ store: new LocalStore(join(dir, 'store')), bus: new LocalBus(), log });
  await coordinator.start();
  let http = await startHttpServer(coordinator, '127.0.0.1:0', log);
  const browser = await launchBrowser();
  try {
    const id = 'bench-ui';
    const started = performance.now();
    await populate(coordinator, id);
    progress(`stored ${TRIALS} trials × ${STEPS} steps in ${((performance.now() - started) / 1000).toFixed(1)} s`);

    const runs: PageTimes[] = [];
    const page = await browser.context.newPage();
    page.setDefaultTimeout(120_000);
    for (let i = 0; i < COLD + WARM; i++) {
      if (i > 0 && i < COLD) {
        // A fresh server: nothing cached, the curves are read from the store again.
        await http.close();
        http = await startHttpServer(coordinator, '127.0.0.1:0', log);
      }
      await page.goto('about:blank');
      await page.goto(`${http.url}#/exp/${id}`);
      await page.waitForSelector('body[data-complete="1"] [data-page="sweep"]');
      runs.push(
        await page.evaluate(async () => {
          await new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));
          const mark = performance.getEntriesByName('trellis:interactive')[0]!;
          const complete = performance.getEntriesByName('trellis:complete')[0]!;
          const api: Record<string, { ms: number; kB: number }> = {};
          for (const r of performance.getEntriesByType('resource') as unknown as PerformanceResourceTiming[]) {
            if (!r.name.includes('/api/') || r.name.includes('/events')) continue;
            api[new URL(r.name).pathname.split('/').slice(-1)[0]!] = {
              ms: Math.round(r.responseEnd - r.startTime),
              kB: Math.round(r.encodedBodySize / 1024),
            };
          }
          const parts = Object.fromEntries(
            Object.entries((globalThis as unknown as Trellis).__trellis.timings).map(([k, v]) => [k, Math.round(v)]),
          );
          return {
            interactive_ms: Math.round(mark.startTime),
            complete_ms: Math.round(complete.startTime),
            api,
            parts,
          };
        }),
      );
      progress(
        `run ${i + 1} (${i < COLD ? 'cold' : 'warm'}): interactive at ${runs[i]!.interactive_ms} ms, complete at ${runs[i]!.complete_ms} ms`,
      );
    }

    // One live update: trial TRIALS-1 is running with STEPS/2 steps; it reports one more.
    const before = await page.evaluate(() => ({ ...(globalThis as unknown as Trellis).__trellis.renders }));
    const n = TRIALS - 1;
    const step = STEPS / 2 + 1;
    const values = { loss: 0.5, val_loss: 0.5 };
    await coordinator.store.appendMetrics([
      { experimentId: id, trialId: `${id}-${n}`, attempt: 1, step, time: Date.now(), values },
    ]);
    coordinator.events.emit({
      type: 'trial.metric',
      experimentId: id,
      trialId: `${id}-${n}`,
      trialNumber: n,
      payload: { step, attempt: 1, values },
    });
    await page.waitForFunction(
      (b) => ((globalThis as unknown as Trellis).__trellis.renders['curves.update'] ?? 0) > (b['curves.update'] ?? 0),
      before,
    );
    const after = await page.evaluate(() => ({
      renders: { ...(globalThis as unknown as Trellis).__trellis.renders },
      flush_ms: (globalThis as unknown as Trellis).__trellis.timings.flush ?? -1,
    }));
    const redrawn: Record<string, number> = {};
    for (const [k, v] of Object.entries(after.renders)) if (v > (before[k] ?? 0)) redrawn[k] = v - (before[k] ?? 0);
    const cold = runs.slice(0, COLD).map((r) => r.interactive_ms);
    const warm = runs.slice(COLD).map((r) => r.interactive_ms);
    const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;
    const result = {
      suite: 'dashboard',
      date: new Date().toISOString(),
      machine: machine(),
      browser: 'Debian chromium (headless, playwright-core)',
      workload: { trials: TRIALS, steps: STEPS, metrics: 2, points: TRIALS * STEPS * 2 },
      load_average: loadavg().map((x) => Math.round(x * 10) / 10),
      time_to_interactive_ms: {
        what: 'cold: a fresh server, curves read from the store; warm: the same server again',
        cold,
        warm,
        cold_median: median(cold),
        warm_median: median(warm),
      },
      time_to_complete_ms: {
        what: 'every chart drawn, the whole-sweep analyses included (drawn after the first paint)',
        runs: runs.map((r) => r.complete_ms),
      },
      goal_ms: 2000,
      goal_met: { cold: median(cold) < 2000, warm: median(warm) < 2000 },
      api_by_run: runs.map((r) => r.api),
      page_parts_ms_by_run: runs.map((r) => r.parts),
      live_update: {
        what: `one trial.metric event for trial ${n} (step ${step}) through the event log and SSE`,
        redrawn,
        page_flush_ms: Math.round(after.flush_ms * 10) / 10,
        whole_page_redrawn: ['curves.rebuild', 'parcoords', 'history', 'slices', 'importance'].some(
          (k) => k in redrawn,
        ),
      },
    };
    const text = JSON.stringify(result, null, 2);
    process.stdout.write(`${text}\n`);
    if (process.argv.includes('--save')) {
      mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
      writeFileSync(join(ROOT, 'bench', 'results', 'dashboard.json'), `${text}\n`);
    }
  } finally {
    await browser.close();
    await http.close();
    await coordinator.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

// Page functions run in the browser; this file is compiled without the DOM library.
declare const requestAnimationFrame: (callback: () => void) => number;
type PerformanceResourceTiming = { name: string; startTime: number; responseEnd: number; encodedBodySize: number };

interface Trellis {
  __trellis: { renders: Record<string, number>; timings: Record<string, number> };
}

/** A finished sweep of TRIALS trials (the last one still running, half way), 2 metrics per step. */
async function populate(coordinator: Coordinator, id: string): Promise<void> {
  const spec = validateSpec({
    apiVersion: 'trellis/v1',
    kind: 'Sweep',
    name: 'bench-10k',
    trial: {
      runtime: 'command',
      command: ['true'],
      objective: { metric: 'val_loss', mode: 'min' },
    },
    search: {
      algorithm: 'random',
      seed: 1,
      space: {
        lr: { loguniform: [1e-4, 1e-1] },
        width: { choice: [32, 64, 128] },
        loss: { choice: ['ce', 'focal', 'gce'] },
      },
    },
    budget: { trials: TRIALS, concurrency: 8 },
  });
  const now = Date.now();
  await coordinator.store.createExperiment(
    runningSweepDoc(id, {
      name: 'bench-10k',
      spec: spec as SweepDoc['spec'],
      requestId: id,
      createdAt: now,
      updatedAt: now,
      trialsCreated: TRIALS,
    }),
  );
  let seed = 12345;
  const random = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  for (let n = 0; n < TRIALS; n++) {
    const running = n === TRIALS - 1;
    const lr = 10 ** (-4 + 3 * random());
    const width = [32, 64, 128][Math.floor(random() * 3)]!;
    const loss = ['ce', 'focal', 'gce'][Math.floor(random() * 3)]!;
    const rate = 0.02 + 0.05 * random();
    const floor = 0.1 + Math.abs(Math.log10(lr) + 2.5) * 0.1 + (loss === 'focal' ? 0.02 : 0);
    const steps = running ? STEPS / 2 : STEPS;
    const metrics: MetricDoc[] = [];
    let last: Record<string, number> = {};
    for (let s = 1; s <= steps; s++) {
      const value = floor + Math.exp(-rate * s) + 0.01 * random();
      last = { loss: value * 0.9, val_loss: value };
      metrics.push({ experimentId: id, trialId: `${id}-${n}`, attempt: 1, step: s, time: now, values: last });
    }
    const trial: TrialDoc = {
      id: `${id}-${n}`,
      experimentId: id,
      number: n,
      status: running ? 'running' : 'succeeded',
      params: { lr, width, loss },
      seed: n,
      attempts: [
        {
          n: 1,
          id: `${id}-${n}-a1`,
          workerId: 'bench',
          status: running ? 'running' : 'succeeded',
          startedAt: now,
          leaseExpiresAt: now + 3_600_000,
          ...(running ? {} : { endedAt: now }),
        },
      ],
      metrics: last,
      lastStep: steps,
      createdAt: now,
      updatedAt: now,
    };
    await coordinator.store.insertTrial(trial);
    await coordinator.store.appendMetrics(metrics);
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
