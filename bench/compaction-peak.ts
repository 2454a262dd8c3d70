/**
 * `node dist/bench/compaction-peak.js [--trials N] [--json FILE]`: the memory one LocalStore
 * journal compaction takes (issue 15 §4). Fills a LocalStore (temp directory, no fsync) with N
 * finished trials, each with one published `trial.state` event (the million run's journal holds
 * about this per trial), collects garbage, then runs one compaction (the snapshot rewrite the
 * writer runs when the journal has grown) while a 1 ms timer samples the heap and RSS (the pass
 * yields every 1,000 lines, so the timer runs during it). Reports the peak above the baseline.
 */
import { rmSync, statSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import type { Journal } from '../coordinator/store/local-journal.js';
import { benchCommand, collectGarbage, filledLocalStore, machine, positiveInt } from './common.js';

const MB = 2 ** 20;

async function main(): Promise<void> {
  const o = benchCommand('compaction-peak')
    .option('--trials <n>', 'finished trials in the store', positiveInt('--trials'), 370_000)
    .option('--json <file>', 'also write the result here')
    .parse()
    .opts<{ trials: number; json?: string }>();
  // No compaction while filling: the one measured is the one run below.
  const { dir, store } = await filledLocalStore('trellis-bench-compaction-', o.trials);
  try {
    const journalBytes = statSync(join(dir, 'journal.jsonl')).size;
    // The writer's compaction, called directly (nothing else is writing: the store is idle).
    const journal = (store as unknown as { journal: Journal }).journal;
    collectGarbage();
    collectGarbage();
    const base = process.memoryUsage();
    let peakHeap = base.heapUsed;
    let peakRss = base.rss;
    let peakExternal = base.external;
    let samples = 0;
    const timer = setInterval(() => {
      const m = process.memoryUsage();
      samples++;
      peakHeap = Math.max(peakHeap, m.heapUsed);
      peakRss = Math.max(peakRss, m.rss);
      peakExternal = Math.max(peakExternal, m.external);
    }, 1);
    const t = performance.now();
    await journal.rewrite();
    const ms = performance.now() - t;
    clearInterval(timer);
    const end = process.memoryUsage();
    peakHeap = Math.max(peakHeap, end.heapUsed);
    peakRss = Math.max(peakRss, end.rss);
    const memory = store.memory();
    await store.close();
    const round = (v: number): number => Math.round(v * 10) / 10;
    const doc = {
      suite: 'compaction-peak',
      machine: machine(),
      load1: round(loadavg()[0]!),
      trials: o.trials,
      journal_mb: round(journalBytes / MB),
      compaction_ms: Math.round(ms),
      samples,
      base_heap_used_mb: round(base.heapUsed / MB),
      peak_heap_used_mb: round(peakHeap / MB),
      peak_heap_over_base_mb: round((peakHeap - base.heapUsed) / MB),
      base_rss_mb: round(base.rss / MB),
      peak_rss_mb: round(peakRss / MB),
      peak_rss_over_base_mb: round((peakRss - base.rss) / MB),
      peak_external_over_base_mb: round((peakExternal - base.external) / MB),
      store_records: memory,
    };
    process.stdout.write(`${JSON.stringify(doc)}\n`);
    if (o.json) writeFileSync(o.json, `${JSON.stringify(doc, null, 2)}\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
