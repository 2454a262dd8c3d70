/**
 * `node dist/bench/dashboard-heap-diff.js [--first 200] [--more 300] [--top 25]`: what a long-lived
 * sweep page holds that a fresh load of the same sweep does not. A sweep of the soak's shape
 * (bench/soak-sweep.ts) runs through the real live path while a page follows it; heap snapshots
 * (after a forced GC) of that page at `first` and `first + more` finished trials, and of a fresh
 * page opened at `first + more`, are summed by node type and name (constructor, array kind, string
 * or number) and compared: per-trial growth of the long-lived page against the fresh page's total.
 * Prints one JSON document (the rows where the two differ most).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { Coordinator } from '../coordinator/coordinator.js';
import { LocalStore } from '../coordinator/store/local.js';
import { LocalBus } from '../coordinator/bus/local.js';
import { startHttpServer } from '../coordinator/http/server.js';
import { createLogger } from '../shared/log.js';
import { freshBundle, heapSnapshot, launchBrowser, type HeapSnapshot } from './browser.js';
import { SoakSweep, waitFor } from './soak-sweep.js';
import { machine, numberArg, ROOT } from './common.js';

/** V8's own objects (not Blink's native ones, not compiled code): what the page's script holds. */
const JS = /^(?!native:|code$)/;

/** Bytes and node count per `type:name`; strings and numbers by type only (their names are values). */
type Totals = Map<string, { bytes: number; count: number }>;

export function aggregate(snapshot: HeapSnapshot): Totals {
  const { node_fields: fields, node_types: types } = snapshot.snapshot.meta;
  const [type, name, size] = ['type', 'name', 'self_size'].map((f) => fields.indexOf(f)) as [number, number, number];
  const kinds = types[0];
  const byValue = new Set(['string', 'concatenated string', 'sliced string', 'number', 'code', 'bigint']);
  const totals: Totals = new Map();
  for (let i = 0; i < snapshot.nodes.length; i += fields.length) {
    const kind = kinds[snapshot.nodes[i + type]!]!;
    const key = byValue.has(kind) ? kind : `${kind}:${snapshot.strings[snapshot.nodes[i + name]!]!.slice(0, 60)}`;
    const entry = totals.get(key) ?? { bytes: 0, count: 0 };
    entry.bytes += snapshot.nodes[i + size]!;
    entry.count++;
    totals.set(key, entry);
  }
  return totals;
}

async function settled(page: Page, sweep: SoakSweep, lines: number): Promise<Totals> {
  await sweep.drawn(page);
  // The whole-sweep charts redraw at most once a second: wait for the last one.
  await waitFor(page, '[data-chart="parcoords"]', 'data-lines', lines);
  return aggregate(await heapSnapshot(page));
}

async function main(): Promise<void> {
  const first = numberArg('--first', 200, true);
  const more = numberArg('--more', 300, true);
  const top = numberArg('--top', 25, true);
  const bundle = freshBundle(ROOT);
  const dir = mkdtempSync(join(tmpdir(), 'trellis-heap-diff-'));
  const log = createLogger('bench', 'warn');
  const coordinator = new Coordinator({ store: new LocalStore(join(dir, 'store')), bus: new LocalBus(), log });
  await coordinator.start();
  const http = await startHttpServer(coordinator, '127.0.0.1:0', log);
  const browser = await launchBrowser();
  try {
    const sweep = await SoakSweep.create(coordinator, 'heap', first + more + 10);
    const url = `${http.url}#/exp/heap`;
    const page = await browser.context.newPage();
    page.setDefaultTimeout(60_000);
    await page.goto(url);
    await page.waitForSelector('body[data-complete="1"] [data-page="sweep"]');
    const freshly = async (lines: number): Promise<Totals> => {
      const fresh = await browser.context.newPage();
      await fresh.goto(url);
      await fresh.waitForSelector('body[data-complete="1"] [data-page="sweep"]');
      const totals = await settled(fresh, sweep, lines);
      await fresh.close();
      return totals;
    };
    await sweep.run(page, first);
    const atFirst = await settled(page, sweep, first);
    const freshAtFirst = await freshly(first);
    await sweep.run(page, more);
    const atEnd = await settled(page, sweep, first + more);
    const freshTotals = await freshly(first + more);
    const sum = (t: Totals, code: boolean): number =>
      [...t].reduce((s, [k, v]) => s + ((k === 'code') === code ? v.bytes : 0), 0);
    const js = (t: Totals): number => [...t].reduce((s, [k, v]) => s + (JS.test(k) ? v.bytes : 0), 0);
    const keys = new Set([...atFirst.keys(), ...atEnd.keys(), ...freshTotals.keys()]);
    const rows = [...keys].map((key) => {
      const a = atFirst.get(key) ?? { bytes: 0, count: 0 };
      const b = atEnd.get(key) ?? { bytes: 0, count: 0 };
      const f = freshTotals.get(key) ?? { bytes: 0, count: 0 };
      return {
        key,
        long_lived_bytes: b.bytes,
        fresh_bytes: f.bytes,
        extra_bytes: b.bytes - f.bytes,
        long_lived_count: b.count,
        fresh_count: f.count,
        growth_bytes_per_trial: Math.round((b.bytes - a.bytes) / more),
      };
    });
    rows.sort((x, y) => Math.abs(y.extra_bytes) - Math.abs(x.extra_bytes));
    const data = { long_lived: sum(atEnd, false), fresh: sum(freshTotals, false), at_first: sum(atFirst, false) };
    console.log(
      JSON.stringify(
        {
          bench: 'dashboard-heap-diff',
          machine: machine(),
          bundle,
          trials: { first, end: first + more },
          data_bytes: data,
          data_ratio: Math.round((data.long_lived / data.fresh) * 1000) / 1000,
          extra_bytes_per_trial: Math.round((data.long_lived - data.fresh) / (first + more)),
          long_lived_growth_bytes_per_trial: Math.round((data.long_lived - data.at_first) / more),
          fresh_growth_bytes_per_trial: Math.round((data.fresh - sum(freshAtFirst, false)) / more),
          js_bytes: {
            long_lived: js(atEnd),
            fresh: js(freshTotals),
            at_first: js(atFirst),
            fresh_at_first: js(freshAtFirst),
          },
          js_growth_bytes_per_trial: {
            long_lived: Math.round((js(atEnd) - js(atFirst)) / more),
            fresh: Math.round((js(freshTotals) - js(freshAtFirst)) / more),
          },
          code_bytes: { long_lived: sum(atEnd, true), fresh: sum(freshTotals, true) },
          rows: rows.slice(0, top),
        },
        null,
        2,
      ),
    );
  } finally {
    await browser.close();
    await http.close();
    await coordinator.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
