/**
 * Suite `pareto --task fairness`: the two-objective fairness sweep of examples/fairness-pareto.yaml
 * (validation accuracy, max; validation group gap, min; on the built-in grouped data set
 * `spurious`, over the fairness losses, λ, lr and dropout), searched by Trellis's nsga2, motpe
 * and random and by Optuna's NSGAIISampler and multi-objective TPESampler, in the same run.
 *
 * Only the search differs: every configuration, whoever proposed it, is trained by the same
 * process, bench/fairness-trial.ts (the worker's tfjs classify task on the spec's trial block,
 * the same training seed for every configuration, so the objective is a fixed function of the
 * params). Trellis's algorithms run in-process as in the ZDT task (suggest trial n from the
 * history of 0..n−1, no dispatch); Optuna asks and tells one trial at a time
 * (bench/peers/pareto_fairness.py), its search space built from the same space, which this
 * file hands it as JSON. Same trial budget and seeds for every method; NSGA-II's population is
 * the spec's (8) on both sides, Optuna's TPE and Trellis's motpe keep their defaults.
 *
 * Hypervolumes are computed here by shared/pareto.ts, against the spec's fixed reference point
 * (accuracy 0.5, gap 1): on the validation objectives the search saw, and the same points'
 * test-split objectives (a held-out check that the front is not an artefact of a 450-row
 * validation split). Figures: mean ± 95% CI (Student t) over seeds, per seed, seconds per run;
 * each method against Optuna's NSGA-II paired by seed index; and the hypervolume of the union
 * of every method's points (the best front this run found), for scale.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Params } from '../shared/spec/space.js';
import { parseSpecText } from '../shared/spec/load.js';
import { objectivesOf, sweepSpecSchema } from '../shared/spec/schema.js';
import { hypervolume, toMinimise } from '../shared/pareto.js';
import { createSearch } from '../coordinator/search/registry.js';
import type { TrialObservation } from '../coordinator/search/base.js';
import { summarise } from '../coordinator/search/replicates.js';
import { FAIRNESS_SPEC, progress, round, ROOT, runPeer, type PeerResult } from './common.js';

export interface FairnessOptions {
  seeds: number;
  trials: number;
  peers: boolean;
  /** Runs (method, seed) at once; each run is sequential. */
  jobs: number;
}

interface Run {
  seed: number;
  /** Per trial: the validation objectives (the search's), in metric units. */
  points: number[][];
  /** The same trials' test-split objectives. */
  test: number[][];
  failed: number;
  seconds: number;
}

const spec = sweepSpecSchema.parse(parseSpecText(readFileSync(join(ROOT, FAIRNESS_SPEC), 'utf8')));
const objectives = objectivesOf(spec.trial);
const modes = objectives.map((o) => o.mode);
const TEST_METRICS = objectives.map((o) => o.metric.replace(/^val_/, 'test_'));
const REFERENCE = spec.trial.objectiveReference!;
const EVALUATOR = ['dist/bench/fairness-trial.js'];

/** One evaluator process (bench/fairness-trial.ts), asked one configuration at a time. */
class Evaluator {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly answers: ((line: string) => void)[] = [];
  private stderr = '';

  constructor() {
    this.child = spawn(process.execPath, EVALUATOR, { cwd: ROOT, stdio: 'pipe' });
    this.child.stderr.setEncoding('utf8').on('data', (c: string) => (this.stderr = (this.stderr + c).slice(-2000)));
    createInterface({ input: this.child.stdout }).on('line', (line) => this.answers.shift()?.(line));
    this.child.on('exit', (code) => {
      for (const answer of this.answers.splice(0))
        answer(JSON.stringify({ error: `evaluator exited ${code}: ${this.stderr}` }));
    });
  }

  ask(params: Params): Promise<{ metrics?: Record<string, number>; error?: string }> {
    return new Promise((resolve) => {
      this.answers.push((line) => resolve(JSON.parse(line) as { metrics?: Record<string, number>; error?: string }));
      this.child.stdin.write(JSON.stringify({ params }) + '\n');
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.child.once('close', () => resolve());
      this.child.stdin.end();
    });
  }
}

/** NSGA-II's population: the spec's, on both sides (Optuna's default 50 would leave 32 trials random). */
const POPULATION = (spec.search as { population?: number }).population ?? 50;

function settingsOf(algorithm: string): Record<string, unknown> {
  return algorithm === 'nsga2' ? { population: POPULATION } : {};
}

async function trellisRun(algorithm: string, seed: number, trials: number): Promise<Run> {
  const search = createSearch(algorithm, {
    space: spec.search.space,
    seed,
    settings: settingsOf(algorithm),
    objectives: objectives.length,
  });
  const evaluator = new Evaluator();
  const history: TrialObservation[] = [];
  const run: Run = { seed, points: [], test: [], failed: 0, seconds: 0 };
  const start = performance.now();
  try {
    for (let n = 0; n < trials; n++) {
      const params = search.suggest(n, history)!;
      const { metrics, error } = await evaluator.ask(params);
      const values = metrics ? objectives.map((o) => metrics[o.metric]) : [];
      if (error || !values.every((v) => Number.isFinite(v))) {
        run.failed++;
        history.push({ number: n, params, state: 'failed' });
        continue;
      }
      run.points.push(values as number[]);
      run.test.push(TEST_METRICS.map((m) => metrics![m]!));
      // Observations are larger-is-better.
      const better = toMinimise(values as number[], modes).map((v) => -v);
      history.push({ number: n, params, state: 'complete', value: better[0]!, values: better });
    }
  } finally {
    await evaluator.close();
  }
  run.seconds = (performance.now() - start) / 1000;
  return run;
}

async function peerRun(sampler: string, seed: number, trials: number): Promise<Run | PeerResult> {
  const peer = await runPeer(
    'pareto_fairness.py',
    [
      '--sampler',
      sampler,
      '--seed',
      String(seed),
      '--trials',
      String(trials),
      '--population',
      String(POPULATION),
      '--space',
      JSON.stringify(spec.search.space),
      '--objectives',
      JSON.stringify(objectives),
      '--test-metrics',
      JSON.stringify(TEST_METRICS),
      '--evaluator',
      JSON.stringify([process.execPath, ...EVALUATOR]),
    ],
    60 * 60_000,
  );
  if (peer.missing || peer.error) return peer;
  return { ...(peer.run as Run), versions: peer.versions } as Run & { versions: unknown };
}

const volume = (points: number[][]): number =>
  hypervolume(
    points.map((p) => toMinimise(p, modes)),
    toMinimise(REFERENCE, modes),
  );

function figures(runs: Run[]): Record<string, unknown> {
  const val = runs.map((r) => volume(r.points));
  const test = runs.map((r) => volume(r.test));
  const s = summarise(val);
  const t = summarise(test);
  return {
    hypervolume: { mean: round(s.mean, 4), ci95: round(s.ci95, 4), n: s.n },
    per_seed: val.map((v) => round(v, 4)),
    test_hypervolume: { mean: round(t.mean, 4), ci95: round(t.ci95, 4) },
    test_per_seed: test.map((v) => round(v, 4)),
    failed_trials: runs.reduce((sum, r) => sum + r.failed, 0),
    seconds_per_run: round(runs.reduce((sum, r) => sum + r.seconds, 0) / runs.length, 1),
  };
}

/** Runs `tasks` with at most `jobs` at once, results in task order. */
async function pool<T>(tasks: (() => Promise<T>)[], jobs: number): Promise<T[]> {
  const results = new Array<T>(tasks.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < tasks.length) {
      const i = next++;
      results[i] = await tasks[i]!();
    }
  };
  await Promise.all(Array.from({ length: Math.min(jobs, tasks.length) }, worker));
  return results;
}

export async function runParetoFairness(o: FairnessOptions): Promise<Record<string, unknown>> {
  const seeds = Array.from({ length: o.seeds }, (_, i) => i);
  const methods: { label: string; run: (seed: number) => Promise<Run | PeerResult> }[] = [
    ...['nsga2', 'motpe', 'random'].map((a) => ({
      label: `trellis ${a}`,
      run: (s: number) => trellisRun(a, s, o.trials),
    })),
    ...(o.peers
      ? [
          { label: 'optuna NSGAIISampler', run: (s: number) => peerRun('nsga2', s, o.trials) },
          { label: 'optuna TPESampler (multi-objective)', run: (s: number) => peerRun('tpe', s, o.trials) },
        ]
      : []),
  ];
  // Seed-major order: a run stopped early still has every method on its first seeds.
  const tasks = seeds.flatMap((seed) =>
    methods.map((m) => async () => {
      const r = await m.run(seed);
      const line =
        'points' in r
          ? `hv ${round(volume(r.points as number[][]), 4)} test hv ${round(volume(r.test as number[][]), 4)}`
          : JSON.stringify(r);
      progress(`fairness ${m.label} seed ${seed}: ${line}`);
      return { label: m.label, result: r };
    }),
  );
  const done = await pool(tasks, o.jobs);
  const results: Record<string, unknown> = {};
  const byMethod = new Map<string, Run[]>();
  let versions: unknown;
  for (const { label, result } of done) {
    if (!('points' in result)) {
      results[label] = result; // the peer's {missing} or {error}, said as it is
      continue;
    }
    versions ??= (result as { versions?: unknown }).versions;
    byMethod.set(label, [...(byMethod.get(label) ?? []), result as Run]);
  }
  for (const [label, runs] of byMethod) results[label] = figures(runs);
  const baseline = byMethod.get('optuna NSGAIISampler');
  const paired: Record<string, unknown> = {};
  if (baseline && baseline.length === seeds.length) {
    const base = baseline.map((r) => volume(r.points));
    for (const [label, runs] of byMethod) {
      if (label === 'optuna NSGAIISampler' || runs.length !== seeds.length) continue;
      const diff = runs.map((r, i) => volume(r.points) - base[i]!);
      const s = summarise(diff);
      paired[label] = {
        mean_difference: round(s.mean, 4),
        ci95: round(s.ci95, 4),
        seeds_ahead: diff.filter((d) => d > 0).length,
        seeds_behind: diff.filter((d) => d < 0).length,
      };
    }
  }
  const everything = [...byMethod.values()].flat();
  return {
    settings: {
      task: 'fairness',
      spec: FAIRNESS_SPEC,
      objectives,
      space: spec.search.space,
      trials: o.trials,
      seeds,
      reference: REFERENCE,
      jobs: o.jobs,
      trellis: `in-process, sequential: nsga2 (population ${POPULATION}, other settings default), motpe (defaults), random`,
      optuna: `ask/tell, sequential: NSGAIISampler(population_size=${POPULATION}, seed), TPESampler(seed) with two objectives`,
      evaluator:
        'bench/fairness-trial.ts: the worker tfjs classify task, the same training seed for every configuration',
    },
    ...(versions ? { peers: versions } : {}),
    results,
    versus_optuna_nsga2: paired,
    union_of_all_points: {
      hypervolume: round(volume(everything.flatMap((r) => r.points)), 4),
      test_hypervolume: round(volume(everything.flatMap((r) => r.test)), 4),
    },
  };
}
