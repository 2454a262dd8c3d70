/**
 * The history the runner hands the search algorithm (one observation per configuration, kept
 * up to date incrementally) equals one computed from scratch from the stored trials.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Coordinator } from '../../coordinator/coordinator.js';
import { LocalStore } from '../../coordinator/store/local.js';
import { LocalBus } from '../../coordinator/bus/local.js';
import { TpeSearch } from '../../coordinator/search/tpe.js';
import { configOfTrial, seedOfTrial, trialsOfConfig } from '../../coordinator/search/replicates.js';
import type { TrialObservation } from '../../coordinator/search/base.js';
import type { TrialDoc } from '../../shared/types.js';
import { createLogger } from '../../shared/log.js';
import { within } from '../helpers/deadline.js';

const REPLICATES = 2;

/** What the search should know of configurations 0..config-1 once all their trials ended. */
function expectedHistory(trials: TrialDoc[], config: number): TrialObservation[] {
  const out: TrialObservation[] = [];
  for (let c = 0; c < config; c++) {
    const group = trials.filter((t) => Math.floor(t.number / REPLICATES) === c);
    const done = group.filter((t) => t.status === 'succeeded');
    const params = group.find((t) => t.number === c * REPLICATES)!.params;
    if (done.length > 0)
      out.push({
        number: c,
        params,
        state: 'complete',
        value: done.reduce((s, t) => s + t.metrics.score!, 0) / done.length,
      });
    else out.push({ number: c, params, state: 'failed' });
  }
  return out;
}

describe('the search history seen by the algorithm', () => {
  it('matches a from-scratch history at every suggestion (replicates, failures)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'trellis-history-'));
    const calls: { number: number; history: TrialObservation[] }[] = [];
    const sentSeeds = new Map<number, string>();
    // eslint-disable-next-line @typescript-eslint/unbound-method -- called below with .call(this)
    const original = TpeSearch.prototype.suggest;
    TpeSearch.prototype.suggest = function (this: TpeSearch, number, history) {
      calls.push({ number, history: structuredClone([...history]) });
      return original.call(this, number, history);
    };
    const coordinator = new Coordinator({
      store: new LocalStore(dir),
      bus: new LocalBus(),
      log: createLogger('test', 'error'),
    });
    try {
      await coordinator.start();
      const connection = coordinator.connectWorker({
        send: (message) => {
          const assign = message.assign;
          if (!assign) return true;
          const attemptId = assign.attempt_id!;
          const x = (JSON.parse(assign.params_json!) as { x: number }).x;
          sentSeeds.set(Number(assign.trial_number), String(assign.seed));
          // Trials 6 and 7 (both seeds of configuration 3) and trial 10 fail; the rest succeed.
          setImmediate(() =>
            [6, 7, 10].includes(Number(assign.trial_number))
              ? connection.onMessage({
                  body: 'failure',
                  failure: {
                    attempt_id: attemptId,
                    attempt_token: assign.attempt_token!,
                    error: 'diverged',
                    retryable: false,
                    kind: '',
                    evidence: '',
                    peak_gpu_memory_bytes: '0',
                  },
                })
              : connection.onMessage({
                  body: 'result',
                  result: {
                    attempt_id: attemptId,
                    attempt_token: assign.attempt_token!,
                    metrics: { score: Math.sin(5 * x) + Number(assign.trial_number) / 100 },
                    info_json: '{}',
                    peak_gpu_memory_bytes: '0',
                  },
                }),
          );
          return true;
        },
        end: () => undefined,
      });
      connection.onMessage({
        body: 'hello',
        hello: {
          worker_id: 'w',
          slots: { cpus: 1, gpus: [], memory_bytes: '0' },
          prefetch: false,
          labels: {},
          runtimes: ['command'],
          version: 'test',
          running_attempt_ids: [],
          attempt_tokens: {},
        },
      });
      const { experiment } = await coordinator.submit(
        JSON.stringify({
          apiVersion: 'trellis/v1',
          kind: 'Sweep',
          name: 'history',
          trial: { runtime: 'command', command: ['/bin/true'], objective: { metric: 'score', mode: 'max' } },
          search: { algorithm: 'tpe', seed: 5, startup: 3, replicates: REPLICATES, space: { x: { uniform: [0, 1] } } },
          budget: { trials: 20, concurrency: 1, maxAttempts: 1 },
        }),
      );
      await within(coordinator.idle(), 30_000, 'the coordinator to be idle (all 20 trials finished)');
      const trials = await coordinator.trials(experiment.id);
      assert.equal(trials.length, 20);
      assert.deepEqual(
        calls.map((c) => c.number),
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
        'one suggestion per configuration',
      );
      for (const call of calls)
        assert.deepEqual(
          call.history,
          expectedHistory(trials, call.number),
          `history for configuration ${call.number}`,
        );
      const last = calls.at(-1)!.history;
      assert.equal(last[3]!.state, 'failed', 'a configuration whose seeds all failed');
      assert.equal(last[5]!.state, 'complete', 'one failed seed leaves the other');
      assert.equal(last[5]!.value, trials.find((t) => t.number === 11)!.metrics.score);
      // Replicates as coordinator/search/replicates.ts defines them: the seeds of one
      // configuration share its params and get distinct seeds, and the worker is sent that seed.
      for (const t of trials) {
        const first = trials.find(
          (u) => u.number === trialsOfConfig(configOfTrial(t.number, REPLICATES), REPLICATES)[0],
        )!;
        assert.deepEqual(t.params, first.params, `trial ${t.number} has its configuration's params`);
        assert.equal(t.config, configOfTrial(t.number, REPLICATES));
        assert.equal(t.seed, seedOfTrial(t.number, { searchSeed: 5, replicates: REPLICATES, params: t.params }));
        assert.equal(sentSeeds.get(t.number), String(t.seed), `the seed sent for trial ${t.number}`);
      }
      assert.equal(new Set(trials.map((t) => t.seed)).size, trials.length, 'every replicate has its own seed');
    } finally {
      TpeSearch.prototype.suggest = original;
      await coordinator.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
