/**
 * The honest client of bench/flood.ts, in a process of its own so that the flood's client-side
 * work (encoding 50,000-id heartbeats, 200 streams) does not delay it: calls GetExperiment one
 * call after another, at most CALLS_PER_SECOND (an honest client stays under its caller's rate
 * limit, TRELLIS_CALLS_PER_SECOND, 200 by default: back to back on an idle machine it would make
 * ~500 calls a second and be refused as a flood itself), until the experiment ends, and prints
 * the latencies (ms) of the calls made while it was running, as one JSON line.
 *
 *   node dist/bench/honest-client.js ADDRESS TOKEN EXPERIMENT_ID DEADLINE_MS
 */
import { TrellisClient } from '../client/index.js';

const [address, token, id, deadlineText] = process.argv.slice(2);
if (!address || !token || !id || !deadlineText) {
  process.stderr.write('usage: honest-client ADDRESS TOKEN EXPERIMENT_ID DEADLINE_MS\n');
  process.exit(2);
}
const deadline = Date.now() + Number(deadlineText);
const CALLS_PER_SECOND = 50;
const client = new TrellisClient(address, { token, timeoutMs: 10_000 });
const latencies: number[] = [];
let failed = 0;
let status = 'pending';
try {
  while (!['succeeded', 'failed', 'cancelled'].includes(status)) {
    if (Date.now() > deadline) throw new Error(`the experiment did not end in time (status ${status})`);
    const t0 = performance.now();
    const next = t0 + 1000 / CALLS_PER_SECOND;
    try {
      const was = status;
      status = (await client.get(id)).status;
      // Measured while the experiment runs (the flood is on by then), not during the worker's start-up.
      if (was === 'running') latencies.push(performance.now() - t0);
    } catch {
      failed++;
    }
    const wait = next - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  }
  process.stdout.write(`${JSON.stringify({ status, failed, latencies })}\n`);
} finally {
  client.close();
}
