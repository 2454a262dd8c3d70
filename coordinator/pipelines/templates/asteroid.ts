/**
 * ASTEROID (Bukharin et al., ICML 2023) on the built-in toy molecular system: a teacher trained
 * on the few accurate frames estimates each cheap frame's bias; the model is pretrained on the
 * many cheap frames with the bias-aware weighted loss (weights exp(−e/γ), teacher energies as
 * pseudo-labels) and fine-tuned on the accurate frames. Arms: `finetune` (ASTEROID),
 * `baseline` (accurate only, from scratch — the same run as the teacher, so the stage cache
 * serves it), `uniform-finetune` (all weights 1). With `pretrainLoss: score-matching` the
 * pretraining uses the unlabeled cheap frames (sliced score matching) instead.
 */
import { z } from 'zod';
import { parseParams, type PipelineTemplate } from './base.js';

const paramsSchema = z.strictObject({
  accurateFrames: z.number().int().positive().default(50),
  cheapFrames: z.number().int().positive().default(500),
  testFrames: z.number().int().positive().default(200),
  gamma: z.number().positive().default(1),
  rho: z.number().min(0).max(1).default(0.999),
  /** Epochs of the accurate-data stages (teacher, baseline, fine-tuning). */
  epochs: z.number().int().positive().optional(),
  /** Epochs of the cheap-data pretraining. */
  pretrainEpochs: z.number().int().positive().optional(),
  lr: z.number().positive().optional(),
  seed: z.number().int().min(0).default(0),
  atoms: z.number().int().min(2).max(32).optional(),
  temperature: z.number().positive().optional(),
  pretrainLoss: z.enum(['bias-aware', 'score-matching']).default('bias-aware'),
});

export const asteroidTemplate: PipelineTemplate = {
  name: 'asteroid',
  description:
    'ASTEROID: teacher on accurate data → per-frame bias weights → bias-aware pretraining on cheap data → fine-tune; vs accurate-only and uniform pretraining',
  expand(raw) {
    const p = parseParams(paramsSchema, raw);
    const system = {
      seed: p.seed,
      dataSeed: p.seed,
      testFrames: p.testFrames,
      rho: p.rho,
      ...(p.atoms ? { atoms: p.atoms } : {}),
      ...(p.temperature ? { temperature: p.temperature } : {}),
      ...(p.lr ? { lr: p.lr } : {}),
    };
    const accurate = {
      ...system,
      data: 'accurate',
      frames: p.accurateFrames,
      ...(p.epochs ? { epochs: p.epochs } : {}),
    };
    const cheap = {
      ...system,
      data: 'cheap',
      frames: p.cheapFrames,
      ...(p.pretrainEpochs ? { epochs: p.pretrainEpochs } : {}),
    };
    const train = (name: string, needs: string[], options: Record<string, unknown>): Record<string, unknown> => ({
      name,
      needs,
      runtime: 'tfjs',
      task: 'mlff-train',
      params: { options },
    });
    const teacher = '${stages.teacher.outputs.checkpoint}';
    const stages: Record<string, unknown>[] = [train('teacher', [], accurate)];
    if (p.pretrainLoss === 'score-matching') {
      stages.push(train('pretrain', [], { ...cheap, pretrainLoss: 'score-matching' }));
    } else {
      stages.push({
        name: 'bias',
        needs: ['teacher'],
        runtime: 'tfjs',
        task: 'mlff-bias',
        params: {
          options: {
            seed: p.seed,
            dataSeed: p.seed,
            frames: p.cheapFrames,
            gamma: p.gamma,
            teacherWeights: teacher,
            ...(p.atoms ? { atoms: p.atoms } : {}),
            ...(p.temperature ? { temperature: p.temperature } : {}),
          },
        },
      });
      stages.push(
        train('pretrain', ['teacher', 'bias'], {
          ...cheap,
          weights: '${stages.bias.outputs.weights}',
          framesHash: '${stages.bias.outputs.framesHash}',
          energyLabels: 'teacher',
          teacherWeights: teacher,
        }),
      );
    }
    stages.push(train('finetune', ['pretrain'], { ...accurate, init: '${stages.pretrain.outputs.checkpoint}' }));
    // Same options as the teacher: the stage cache serves it once the teacher has run.
    stages.push(train('baseline', ['teacher'], accurate));
    stages.push(train('uniform-pretrain', ['teacher'], { ...cheap, energyLabels: 'teacher', teacherWeights: teacher }));
    stages.push(
      train('uniform-finetune', ['uniform-pretrain'], {
        ...accurate,
        init: '${stages.uniform-pretrain.outputs.checkpoint}',
      }),
    );
    return stages;
  },
};
