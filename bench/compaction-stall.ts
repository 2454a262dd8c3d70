/**
 * `node dist/bench/compaction-stall.js [--trials N] [--json FILE]`: how long store writes wait
 * while LocalStore compacts its journal (issue 15 §3 and §4). Fills a LocalStore (temp
 * directory, no fsync) with N finished trials and their events, lowers the compaction threshold
 * so that the next write starts a compaction, then writes one new trial every millisecond until
 * the journal file has been replaced (its inode changes), and once more after. Reports the
 * compaction's length and each write's latency (p50, p99, max), so builds compare by running
 * this with each: the same file works against any build that has LocalStore.
 */
import { rmSync, statSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { benchCommand, filledLocalStore, machine, percentile, positiveInt, round } from './common.js';

async function main(): Promise<void> {
  const o = benchCommand('compaction-stall')
    .option('--trials <n>', 'finished trials in the store', positiveInt('--trials'), 200_000)
    .option('--json <file>', 'also write the result here')
    .parse()
    .opts<{ trials: number; json?: string }>();
  const { dir, store } = await filledLocalStore('trellis-bench-stall-', o.trials);
  try {
    const journalPath = join(dir, 'journal.jsonl');
    const journalBytes = statSync(journalPath).size;
    const inode = statSync(journalPath).ino;
    // The next flush finds the journal past the threshold and compacts (bench only: the
    // threshold is an option fixed at construction).
    (store as unknown as { journal: { options: { compactAfterBytes: number } } }).journal.options.compactAfterBytes = 1;
    const latencies: number[] = [];
    let n = o.trials;
    const t0 = performance.now();
    let replacedAt = 0;
    while (replacedAt === 0) {
      const started = performance.now();
      const write = store.insertTrial({
        id: `e-t${n}`,
        experimentId: 'e',
        number: n,
        status: 'pending',
        params: { lr: 0.01 },
        seed: n,
        attempts: [],
        metrics: {},
        createdAt: n,
        updatedAt: n,
      });
      n++;
      await write;
      latencies.push(performance.now() - started);
      if (statSync(journalPath).ino !== inode) replacedAt = performance.now();
      else await new Promise((resolve) => setTimeout(resolve, 1));
    }
    latencies.sort((a, b) => a - b);
    await store.close();
    const doc = {
      suite: 'compaction-stall',
      machine: machine(),
      load1: round(loadavg()[0]!, 1),
      trials: o.trials,
      journal_mb: round(journalBytes / 2 ** 20, 1),
      compaction_ms: Math.round(replacedAt - t0),
      writes_during: latencies.length,
      write_ms: {
        p50: round(percentile(latencies, 0.5), 2),
        p99: round(percentile(latencies, 0.99), 2),
        max: round(latencies.at(-1) ?? NaN, 1),
      },
    };
    process.stdout.write(`${JSON.stringify(doc)}\n`);
    if (o.json) writeFileSync(o.json, `${JSON.stringify(doc, null, 2)}\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
