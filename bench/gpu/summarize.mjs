#!/usr/bin/env node
// Summarises an OUT folder of bench/gpu/run.sh: per variant, wall time, trials/s, how many trials
// ran at once (from the trials' own wall-clock reports), their GPU memory shares and peaks, and the
// GPU's utilisation and memory in the variant's window (nvidia-smi samples). Prints JSON.
// Usage: node bench/gpu/summarize.mjs OUT [--save bench/results/gpu-packing-real.json]
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const [dir, flag, target] = process.argv.slice(2);
if (!dir) {
  console.error('usage: summarize.mjs OUT [--save FILE]');
  process.exit(2);
}
const runs = JSON.parse(readFileSync(join(dir, 'runs.json'), 'utf8'));
const samples = readFileSync(join(dir, 'smi.csv'), 'utf8')
  .split('\n')
  .map((line) => line.split(',').map((s) => s.trim()))
  .filter((f) => f.length >= 3 && /^\d{4}\/\d\d\/\d\d /.test(f[0]))
  .map(([ts, util, used]) => ({
    t: Date.parse(ts.replace(/\//g, '-').replace(' ', 'T') + 'Z') / 1000,
    util: Number(util),
    used: Number(used),
  }));

const mean = (xs) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);
const max = (xs) => (xs.length ? Math.max(...xs) : null);

function maxConcurrency(intervals) {
  const edges = intervals
    .flatMap(([a, b]) => [
      [a, 1],
      [b, -1],
    ])
    .sort((x, y) => x[0] - y[0] || x[1] - y[1]);
  let now = 0;
  let most = 0;
  for (const [, d] of edges) most = Math.max(most, (now += d));
  return most;
}

const variants = runs.map((run) => {
  const trials = run.trials?.trials ?? [];
  const ok = trials.filter((t) => t.status === 'succeeded');
  const m = ok.map((t) => t.metrics ?? {});
  const wall = run.end - run.start;
  const window = samples.filter((s) => s.t >= run.start && s.t <= run.end);
  return {
    variant: run.variant,
    experiment: run.id,
    exitCode: run.rc,
    trials: trials.length,
    succeeded: ok.length,
    attempts: trials.reduce((n, t) => n + (t.attempts ?? 0), 0),
    wallSeconds: Number(wall.toFixed(2)),
    trialsPerSecond: Number((ok.length / wall).toFixed(4)),
    maxTrialsAtOnce: maxConcurrency(m.map((x) => [x.started_unix, x.now_unix]).filter(([a, b]) => a > 0 && b >= a)),
    meanTrialSeconds: Number((mean(m.map((x) => x.seconds)) ?? 0).toFixed(2)),
    allSawCuda: m.length > 0 && m.every((x) => x.cuda_available === 1 && x.device_count === 1),
    sharesMiB: [...new Set(m.map((x) => Math.round(x.share_mib ?? 0)))].sort((a, b) => a - b),
    peakReservedMiB: { max: max(m.map((x) => x.peak_reserved_mib)), mean: mean(m.map((x) => x.peak_reserved_mib)) },
    gpu: {
      samples: window.length,
      meanUtilizationPercent: mean(window.map((s) => s.util)),
      maxMemoryUsedMiB: max(window.map((s) => s.used)),
    },
  };
});
const whole = variants.find((v) => v.variant === 'whole');
for (const v of variants)
  if (whole && v !== whole) v.speedupOverWhole = Number((whole.wallSeconds / v.wallSeconds).toFixed(2));
const info = readFileSync(join(dir, 'info.txt'), 'utf8');
const doc = { date: new Date().toISOString(), info, variants };
const text = JSON.stringify(doc, null, 2);
if (flag === '--save' && target) writeFileSync(target, text + '\n');
console.log(text);
