/**
 * The objective of the `pareto --task fairness` bench as a process of its own, so that Trellis's
 * searches (bench/pareto-fairness.ts) and Optuna's (bench/peers/pareto_fairness.py) score every
 * configuration with the very same training and only the search differs:
 *
 *   node dist/bench/fairness-trial.js [SPEC]      (default examples/fairness-pareto.yaml)
 *
 * Reads one JSON object a line on stdin, `{"params": {...}}` (flat, dotted keys as the spec's
 * search space names them), trains that configuration exactly as a Trellis worker would (the
 * spec's trial block with the params merged in and the other losses' params dropped, the tfjs
 * runtime's classify task, the default backend), and answers one line on stdout:
 * `{"metrics": {...}, "seconds": s}` (the last epoch's report merged with the final test
 * metrics) or `{"error": "..."}`. Every configuration trains with the same seed (`trial.seed`
 * of the spec, else 1), so the objective is a fixed function of the params. Ends at EOF.
 */
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { resolve } from 'node:path';
import { parseSpecText } from '../shared/spec/load.js';
import { sweepSpecSchema } from '../shared/spec/schema.js';
import type { Params } from '../shared/spec/space.js';
import { resolveTrialConfig } from '../shared/spec/resolve.js';
import { pruneLossParams } from '../coordinator/experiments/loss-params.js';
import { tfjsRuntime } from '../worker/runtimes/tfjs/runtime.js';
import type { AttemptContext } from '../worker/runtimes/base.js';
import { FAIRNESS_SPEC, ROOT } from './common.js';

const specPath = resolve(ROOT, process.argv[2] ?? FAIRNESS_SPEC);
const spec = sweepSpecSchema.parse(parseSpecText(readFileSync(specPath, 'utf8')));
const seed = (spec.trial as { seed?: number }).seed ?? 1;

async function evaluate(params: Params, number: number): Promise<Record<string, number>> {
  const config = pruneLossParams(resolveTrialConfig(spec.trial, params));
  let last: Record<string, number> = {};
  const ctx: AttemptContext = {
    experimentId: 'bench-fairness',
    trialId: `trial-${number}`,
    trialNumber: number,
    attemptId: `attempt-${number}`,
    attemptNumber: 1,
    config,
    params,
    seed,
    gpuIds: [],
    signal: new AbortController().signal,
    report: (_step, metrics) => (last = metrics),
    checkpoint: { load: async () => undefined, save: async () => undefined },
    log: () => undefined,
  };
  const result = await tfjsRuntime.run(ctx);
  return { ...last, ...result.metrics };
}

let number = 0;
for await (const line of createInterface({ input: process.stdin })) {
  if (line.trim() === '') continue;
  const start = performance.now();
  let answer: Record<string, unknown>;
  try {
    const { params } = JSON.parse(line) as { params: Params };
    answer = { metrics: await evaluate(params, number++), seconds: (performance.now() - start) / 1000 };
  } catch (err) {
    answer = { error: err instanceof Error ? err.message : String(err) };
  }
  process.stdout.write(JSON.stringify(answer) + '\n');
}
