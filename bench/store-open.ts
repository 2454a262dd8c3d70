/**
 * `node dist/bench/store-open.js [--records N] [--reps R] [--save]`: what checking every journal
 * line costs when a LocalStore starts (coordinator/store/local-scan.ts, local-schema.ts).
 *
 * Writes a journal of N records the way a sweep fills it (1 experiment, 1 trial per 100 metric
 * records, one trial.metric event per metric: 2 lines per step), then times R runs each of
 * - parse_only_ms: splitting the file and JSON.parse of every line, what start-up did before
 *   records were checked (the floor);
 * - scan_ms: scanJournal, the same plus UTF-8 and schema checks of every record;
 * - start_ms: LocalStore.start() as a whole (read, scan, replay, snapshot rewrite).
 * Prints one JSON document (medians), saved to bench/results/store-open.json with --save.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalStore } from '../coordinator/store/local.js';
import { reviveNumbers } from '../coordinator/store/local-journal.js';
import { scanJournal } from '../coordinator/store/local-scan.js';
import { ROOT, benchCommand, machine, positiveInt, progress, runningSweepDoc } from './common.js';

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function main(): Promise<void> {
  const o = benchCommand('store-open')
    .option('--records <n>', 'journal records', positiveInt('--records'), 200_000)
    .option('--reps <n>', 'timed runs of each measure', positiveInt('--reps'), 5)
    .option('--save', 'write bench/results/store-open.json')
    .parse()
    .opts<{ records: number; reps: number; save?: boolean }>();
  const dir = mkdtempSync(join(tmpdir(), 'trellis-bench-open-'));
  try {
    progress(`writing a journal of ${o.records} records`);
    const store = new LocalStore(dir);
    await store.start();
    await store.createExperiment(runningSweepDoc('e'));
    let seq = 0;
    for (let step = 0; 2 * step < o.records; step++) {
      const trialId = `e-t${Math.floor(step / 50)}`;
      if (step % 50 === 0) {
        await store.insertTrial({
          id: trialId,
          experimentId: 'e',
          number: step / 50,
          status: 'running',
          params: { lr: 0.01 },
          seed: 1,
          attempts: [],
          metrics: {},
          createdAt: 1,
          updatedAt: 1,
        });
      }
      await store.appendMetrics([
        { experimentId: 'e', trialId, attempt: 1, step, time: step, values: { loss: 1 / (step + 1) } },
      ]);
      await store.appendEvents([
        {
          seq: ++seq,
          type: 'trial.metric',
          time: step,
          experimentId: 'e',
          trialNumber: 0,
          payload: { step, attempt: 1, values: { loss: 1 } },
        },
      ]);
    }
    await store.close();
    const path = join(dir, 'journal.jsonl');
    const data = readFileSync(path);
    const lines = data.toString('utf8').split('\n').length - 1;
    const parseOnly: number[] = [];
    const scan: number[] = [];
    const start: number[] = [];
    for (let r = 0; r < o.reps; r++) {
      let t = performance.now();
      for (const line of readFileSync(path, 'utf8').split('\n')) if (line) JSON.parse(line, reviveNumbers);
      parseOnly.push(performance.now() - t);
      t = performance.now();
      const result = scanJournal(readFileSync(path), path);
      scan.push(performance.now() - t);
      if (result.problems.length > 0) throw new Error(`bench journal has problems: ${result.problems[0]!.reason}`);
      t = performance.now();
      const s = new LocalStore(dir);
      await s.start();
      start.push(performance.now() - t);
      await s.close();
    }
    const doc = {
      suite: 'store-open',
      machine: machine(),
      journal: { lines, bytes: data.length },
      reps: o.reps,
      parse_only_ms: Math.round(median(parseOnly)),
      scan_ms: Math.round(median(scan)),
      start_ms: Math.round(median(start)),
      scan_over_parse: Math.round((median(scan) / median(parseOnly)) * 100) / 100,
      scan_us_per_line: Math.round((median(scan) / lines) * 1000 * 100) / 100,
    };
    process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
    if (o.save) {
      mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
      writeFileSync(join(ROOT, 'bench', 'results', 'store-open.json'), `${JSON.stringify(doc, null, 2)}\n`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
