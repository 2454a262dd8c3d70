/**
 * `node dist/bench/flow.js [--watchers 200] [--reports 5000] [--unknown-ids 50000] [--heartbeats 20]
 * [--bogus-reports 20000] [--flood-calls 2000]`: the flood of bench/flood.ts against a real
 * coordinator process with its default flow limits; prints one JSON document (GetExperiment
 * latency of an honest client during the flood, the coordinator's RSS, the honest worker's
 * reports stored, what the bounds refused). See bench/README.md, "flow".
 */
import { runFlood } from './flood.js';

function flag(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  if (at < 0) return fallback;
  const value = Number(process.argv[at + 1]);
  if (!Number.isSafeInteger(value) || value < 0) {
    process.stderr.write(`--${name}: ${process.argv[at + 1]} is not a whole number >= 0\n`);
    process.exit(2);
  }
  return value;
}

const options = {
  watchers: flag('watchers', 200),
  reports: flag('reports', 5000),
  unknownIds: flag('unknown-ids', 50_000),
  heartbeats: flag('heartbeats', 20),
  bogusReports: flag('bogus-reports', 20_000),
  floodCalls: flag('flood-calls', 2000),
  env: {},
  deadlineMs: 300_000,
};
try {
  const result = await runFlood(options);
  process.stdout.write(`${JSON.stringify({ suite: 'flow', options, result, node: process.version }, null, 2)}\n`);
} catch (err) {
  process.stderr.write(`flow bench failed: ${(err as Error).stack}\n`);
  process.exitCode = 1;
}
