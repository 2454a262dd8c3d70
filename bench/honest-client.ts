/**
 * The honest client of bench/flood.ts, in a process of its own so that the flood's client-side
 * work (encoding 50,000-id heartbeats, 200 streams) does not delay it: calls GetExperiment one
 * call after another until the experiment ends, and prints the latencies (ms) of the calls made
 * while it was running, as one JSON line.
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
const client = new TrellisClient(address, { token, timeoutMs: 10_000 });
const latencies: number[] = [];
let failed = 0;
let status = 'pending';
try {
  while (!['succeeded', 'failed', 'cancelled'].includes(status)) {
    if (Date.now() > deadline) throw new Error(`the experiment did not end in time (status ${status})`);
    const t0 = performance.now();
    try {
      const was = status;
      status = (await client.get(id)).status;
      // Measured while the experiment runs (the flood is on by then), not during the worker's start-up.
      if (was === 'running') latencies.push(performance.now() - t0);
    } catch {
      failed++;
    }
  }
  process.stdout.write(`${JSON.stringify({ status, failed, latencies })}\n`);
} finally {
  client.close();
}
