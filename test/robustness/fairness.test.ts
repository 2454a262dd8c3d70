/**
 * Fairness under a flood (issue 11), through real processes (bench/flood.ts): 200 WatchEvents
 * streams on one connection that are never read, a burst of unary calls, and a worker stream
 * that never reads its replies while it sends heartbeats naming 50,000 unknown attempts and
 * reports of attempts it does not hold; meanwhile an honest client calls GetExperiment one call
 * after another and an honest worker process reports 2,000 steps.
 *
 * Asserted: the honest client's GetExperiment p99 stays under P99_BOUND_MS (a generous bound on
 * a shared 2-core machine: a correctness check that nothing starves it, not a benchmark; the
 * measured figures are in bench/README.md, "flow"), no honest call fails, the coordinator's RSS
 * grows by less than 300 MB, every honest report is stored, and the flood met its bounds
 * (streams past the caller's limit refused, unread watchers disconnected or reset).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { runFlood } from '../../bench/flood.js';

const P99_BOUND_MS = 2000;

describe('robustness: fairness under a flood (real coordinator and worker processes)', { timeout: 240_000 }, () => {
  it('keeps the honest client fast, memory bounded, and every honest report', async (t) => {
    const result = await runFlood({
      watchers: 200,
      reports: 2000,
      unknownIds: 50_000,
      heartbeats: 5,
      bogusReports: 5000,
      floodCalls: 1000,
      env: { TRELLIS_WATCH_DRAIN_MS: '2000' },
      deadlineMs: 200_000,
    });
    const summary = JSON.stringify(result);
    t.diagnostic(summary);
    assert.equal(result.experiment.status, 'succeeded', summary);
    assert.equal(result.honestReports.stored, result.honestReports.sent, `honest reports lost: ${summary}`);
    assert.equal(result.getExperiment.failed, 0, summary);
    assert.ok(result.getExperiment.calls >= 5, summary);
    assert.ok(
      result.getExperiment.p99Ms < P99_BOUND_MS,
      `GetExperiment p99 ${result.getExperiment.p99Ms} ms: ${summary}`,
    );
    assert.ok(result.rssMb.growth < 300, `RSS grew by ${result.rssMb.growth} MB: ${summary}`);
    // The flood met its stream bound: 100 streams per caller by default, the rest refused. How
    // many of the 100 admitted unread watchers are disconnected as slow consumers varies (0 to
    // 100 in runs so far: 100 watchers sharing one connection's window); the disconnect itself
    // is asserted in flow.test.ts, and their memory here through the RSS bound.
    assert.equal(result.flood.watchersRefused, 100, summary);
  });
});
