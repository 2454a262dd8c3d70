/**
 * The ASTEROID arm set, run in-process by chaining the stage tasks the way a pipeline would
 * (each stage gets its own AttemptContext; weights and bias outputs pass through `options`):
 *
 *   teacher  = mlff-train on the accurate frames from scratch; it is also the accurate-only
 *              baseline (the baseline and the teacher have the same options, so the same run)
 *   bias     = mlff-bias with the teacher over the cheap frames
 *   asteroid = mlff-train on cheap frames, weights exp(−e/γ), teacher energies → fine-tune
 *   uniform  = mlff-train on cheap frames, all weights 1, teacher energies → fine-tune
 *   score    = (optional) score-matching pretraining on the unlabeled cheap frames → fine-tune
 *
 * Used by the tests and for timing; the coordinator's pipelines run the same tasks as stages.
 */
import type { AttemptContext, Checkpoint, RunResult } from '../../runtimes/base.js';
import { trialSchema } from '../../../shared/spec/schema.js';
import type { MlffWeights, TF } from './model.js';
import { mlffBiasTask, mlffTrainTask, type MlffTask } from './stages.js';

export interface ArmsOptions {
  seed: number;
  /** Default `seed`. */
  dataSeed?: number;
  accurateFrames?: number;
  cheapFrames?: number;
  teacherEpochs?: number;
  pretrainEpochs?: number;
  finetuneEpochs?: number;
  testFrames?: number;
  gamma?: number;
  /** Also run the score-matching pretraining arm. */
  scoreMatching?: boolean;
  /** Extra options passed to every mlff-train stage (model size, lr...). */
  trainOptions?: Record<string, unknown>;
  log?: (line: string) => void;
}

export interface StageRecord {
  stage: string;
  seconds: number;
  metrics: Record<string, number>;
  reports: { step: number; metrics: Record<string, number> }[];
}

export interface ArmsResult {
  /** test_force_mae / test_energy_mae per arm. */
  arms: Record<string, { test_force_mae: number; test_energy_mae: number }>;
  bias: Record<string, number>;
  stages: StageRecord[];
  seconds: number;
}

/** A minimal in-process AttemptContext (no coordinator): reports are collected, checkpoints kept in memory. */
export function localContext(
  name: string,
  options: Record<string, unknown>,
  seed: number,
  log?: (line: string) => void,
): { ctx: AttemptContext; reports: { step: number; metrics: Record<string, number> }[] } {
  const reports: { step: number; metrics: Record<string, number> }[] = [];
  let saved: Checkpoint | undefined;
  const ctx: AttemptContext = {
    experimentId: 'local',
    trialId: name,
    trialNumber: 0,
    attemptId: `${name}-1`,
    attemptNumber: 1,
    config: trialSchema.parse({ task: name, options }),
    params: {},
    seed,
    gpuIds: [],
    signal: new AbortController().signal,
    report(step, metrics) {
      const last = reports[reports.length - 1];
      if (last && step <= last.step) return;
      reports.push({ step, metrics: { ...metrics } });
    },
    checkpoint: {
      load: async () => saved,
      save: async (c) => {
        saved = c;
      },
    },
    log: (line) => log?.(`[${name}] ${line}`),
  };
  return { ctx, reports };
}

export async function runAsteroidArms(backend: { name: string; tf: TF }, opts: ArmsOptions): Promise<ArmsResult> {
  const started = Date.now();
  const dataSeed = opts.dataSeed ?? opts.seed;
  const common = {
    seed: opts.seed,
    dataSeed,
    ...(opts.testFrames ? { testFrames: opts.testFrames } : {}),
    ...(opts.trainOptions ?? {}),
  };
  const accurate = {
    ...common,
    data: 'accurate',
    ...(opts.accurateFrames ? { frames: opts.accurateFrames } : {}),
    ...(opts.teacherEpochs ? { epochs: opts.teacherEpochs } : {}),
  };
  const finetune = (init: MlffWeights): Record<string, unknown> => ({
    ...accurate,
    ...(opts.finetuneEpochs ? { epochs: opts.finetuneEpochs } : {}),
    init,
  });
  const cheap = {
    ...common,
    data: 'cheap',
    ...(opts.cheapFrames ? { frames: opts.cheapFrames } : {}),
    ...(opts.pretrainEpochs ? { epochs: opts.pretrainEpochs } : {}),
  };
  const stages: StageRecord[] = [];
  const run = async (stage: string, task: MlffTask, options: Record<string, unknown>): Promise<RunResult> => {
    const t0 = Date.now();
    const { ctx, reports } = localContext(stage, options, opts.seed, opts.log);
    const result = await task.run(ctx, backend);
    const seconds = (Date.now() - t0) / 1000;
    stages.push({ stage, seconds, metrics: result.metrics, reports });
    opts.log?.(`${stage}: ${seconds.toFixed(1)} s ${JSON.stringify(result.metrics)}`);
    return result;
  };
  const checkpointOf = (r: RunResult): MlffWeights => (r.info.outputs as { checkpoint: MlffWeights }).checkpoint;

  const teacher = await run('teacher', mlffTrainTask, accurate);
  const teacherWeights = checkpointOf(teacher);
  const bias = await run('bias', mlffBiasTask, {
    seed: opts.seed,
    dataSeed,
    teacherWeights,
    ...(opts.cheapFrames ? { frames: opts.cheapFrames } : {}),
    ...(opts.gamma ? { gamma: opts.gamma } : {}),
  });
  const biasOut = bias.info.outputs as { weights: number[]; framesHash: string };

  const arms: ArmsResult['arms'] = {
    baseline: { test_force_mae: teacher.metrics.test_force_mae!, test_energy_mae: teacher.metrics.test_energy_mae! },
  };
  const pretrainArms: [string, Record<string, unknown>][] = [
    [
      'asteroid',
      { ...cheap, weights: biasOut.weights, framesHash: biasOut.framesHash, energyLabels: 'teacher', teacherWeights },
    ],
    ['uniform', { ...cheap, energyLabels: 'teacher', teacherWeights }],
  ];
  if (opts.scoreMatching) pretrainArms.push(['score', { ...cheap, pretrainLoss: 'score-matching' }]);
  for (const [arm, options] of pretrainArms) {
    const pre = await run(`${arm}-pretrain`, mlffTrainTask, options);
    const fine = await run(`${arm}-finetune`, mlffTrainTask, finetune(checkpointOf(pre)));
    arms[arm] = { test_force_mae: fine.metrics.test_force_mae!, test_energy_mae: fine.metrics.test_energy_mae! };
  }
  return { arms, bias: bias.metrics, stages, seconds: (Date.now() - started) / 1000 };
}
