/**
 * The in-process fake worker of the benchmarks (bench/harness.ts) holds what a real worker holds:
 * an attempt's token from its assignment until it reported the attempt's end. Kept for every
 * attempt, its token map grew ~140 B per trial and was most of the million-trial run's heap growth
 * (issue 15 §4, bench/README.md "million"). Counted after a sweep, never timed.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connectFakeWorker, runSweep, startLocalCoordinator, sweepSpec } from '../../bench/harness.js';

describe('bench harness: the fake worker', () => {
  it('holds at most one token per slot while a sweep runs and none once it ended', async () => {
    const local = await startLocalCoordinator({});
    try {
      // The instant worker's answer, with the tokens counted at each assignment (its own token
      // is already held then, so `most` is at least 1 on any schedule).
      let most = 0;
      const worker = connectFakeWorker(local.coordinator, {
        id: 'fake-tokens',
        cpus: 4,
        onAssign: (assignment, w) => {
          most = Math.max(most, w.heldTokens());
          setImmediate(() =>
            w.post({
              body: 'result',
              result: { attempt_id: assignment.attempt_id ?? '', metrics: { score: 1 }, info_json: '' },
            }),
          );
        },
      });
      await runSweep(local.coordinator, sweepSpec({ name: 'tokens', trials: 300, concurrency: 4 }));
      assert.ok(most >= 1, `tokens were held while attempts ran (most ${most})`);
      assert.ok(most <= 4, `at most one token per slot: ${most}`);
      assert.equal(worker.heldTokens(), 0, 'every attempt ended, so no token is held');
    } finally {
      await local.close();
    }
  });
});
