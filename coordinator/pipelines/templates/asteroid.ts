/**
 * ASTEROID (Bukharin et al., ICML 2023) on the built-in toy (`system: morse-toy`) or on ethanol
 * labelled with PySCF (`system: ethanol`: HF/STO-3G cheap, MP2/cc-pVDZ accurate; the shipped
 * data set, or `labels: compute` to label it across the workers first): a teacher trained
 * on the few accurate frames estimates each cheap frame's bias; the model is pretrained on the
 * many cheap frames with the bias-aware weighted loss (weights exp(−e/γ), teacher energies as
 * pseudo-labels) and fine-tuned on the accurate frames. Arms: `finetune` (ASTEROID),
 * `baseline` (accurate only, from scratch — the same run as the teacher, so the stage cache
 * serves it), `uniform-finetune` (all weights 1). With `pretrainLoss: score-matching` the
 * pretraining uses the unlabeled cheap frames (sliced score matching) instead; with
 * `scoreMatchingArm: true` the score-matching arm runs beside the bias-aware one, as stages
 * `sm-pretrain` → `sm-finetune` of the same run (same seed, data and test set as every arm).
 */
import { z } from 'zod';
import { mlffModelShape } from '../../../shared/catalogue/tasks/mlff.js';
import { parseParams, TemplateError, type PipelineTemplate } from './base.js';
import { chemLabelsParamsShape, chemLabelStages } from './chem-labels.js';

const paramsSchema = z.strictObject({
  /** `morse-toy` (built-in, regenerated per stage) or `ethanol` (PySCF data set). */
  system: z.enum(['morse-toy', 'ethanol']).default('morse-toy'),
  /** Molecules: `shipped` reads datasets/<system>.json.gz (or `dataset`); `compute` labels first. */
  labels: z.enum(['shipped', 'compute']).default('shipped'),
  dataset: z.string().min(1).optional(),
  /** `labels: compute`: the chem-labels params (molecule, frames, shards, python, cache...). */
  labelling: z.strictObject(chemLabelsParamsShape).default(z.strictObject(chemLabelsParamsShape).parse({})),
  accurateFrames: z.number().int().positive().default(50),
  /** Default 500 (toy), 1000 (molecules). */
  cheapFrames: z.number().int().positive().optional(),
  /** Default 200 (toy), 40 (molecules). */
  testFrames: z.number().int().positive().optional(),
  valFrames: z.number().int().positive().optional(),
  /** γ of the weights exp(−e/γ); 'median' = the median bias estimate. Default 1 (toy), 'median' (molecules). */
  gamma: z.union([z.number().positive(), z.literal('median')]).optional(),
  /** Divide the weights by this; 'mean' = their mean. Default 1 (toy), 'mean' (molecules). */
  normalizer: z.union([z.number().positive(), z.literal('mean')]).optional(),
  rho: z.number().min(0).max(1).default(0.999),
  /** Batch size of the accurate-data stages; default 25 (toy), 5 (molecules). */
  batchSize: z.number().int().positive().optional(),
  /** Batch size of the pretraining; default 50. */
  pretrainBatchSize: z.number().int().positive().optional(),
  /** MLFF size: { basis, hidden, cutoff, muMin, muMax }. */
  model: z.strictObject(mlffModelShape).optional(),
  /** Epochs of the accurate-data stages (teacher, baseline, fine-tuning). */
  epochs: z.number().int().positive().optional(),
  /** Epochs of the cheap-data pretraining. */
  pretrainEpochs: z.number().int().positive().optional(),
  lr: z.number().positive().optional(),
  seed: z.number().int().min(0).default(0),
  atoms: z.number().int().min(2).max(32).optional(),
  temperature: z.number().positive().optional(),
  pretrainLoss: z.enum(['bias-aware', 'score-matching']).default('bias-aware'),
  /** Also the score-matching arm (`sm-pretrain` → `sm-finetune`) beside the bias-aware one. */
  scoreMatchingArm: z.boolean().default(false),
});

export const asteroidTemplate: PipelineTemplate = {
  name: 'asteroid',
  description:
    'ASTEROID (toy or ethanol with PySCF labels): teacher on accurate data → per-frame bias weights → bias-aware pretraining on cheap data → fine-tune; vs accurate-only and uniform pretraining',
  expand(raw) {
    const p = parseParams(paramsSchema, raw);
    const toy = p.system === 'morse-toy';
    if (toy && (p.labels === 'compute' || p.dataset)) {
      throw new TemplateError([
        'params.labels: labels and dataset apply to molecules (system: ethanol), not morse-toy',
      ]);
    }
    if (!toy && (p.atoms || p.temperature)) {
      throw new TemplateError([
        'params.atoms: atoms and temperature apply to morse-toy; a molecule takes them from its data set',
      ]);
    }
    if (p.scoreMatchingArm && p.pretrainLoss === 'score-matching') {
      throw new TemplateError([
        'params.scoreMatchingArm: the score-matching arm is already the main arm with pretrainLoss: score-matching',
      ]);
    }
    if (p.labels === 'compute' && p.labelling.molecule !== p.system) {
      throw new TemplateError([`params.labelling.molecule: must be the system (${p.system})`]);
    }
    const labelStages = p.labels === 'compute' ? chemLabelStages(p.labelling) : [];
    // Every training and bias stage waits for the labels when they are computed here.
    const after = (needs: string[]): string[] => (labelStages.length > 0 ? [...needs, 'assemble'] : needs);
    const cheapFrames = p.cheapFrames ?? (toy ? 500 : 1000);
    const gamma = p.gamma ?? (toy ? 1 : 'median');
    const normalizer = p.normalizer ?? (toy ? 1 : 'mean');
    const data = {
      ...(toy ? {} : { system: p.system }),
      ...(labelStages.length > 0
        ? { dataset: '${stages.assemble.outputs.dataset}' }
        : p.dataset
          ? { dataset: p.dataset }
          : {}),
      ...(p.testFrames ? { testFrames: p.testFrames } : toy ? { testFrames: 200 } : {}),
      ...(p.valFrames ? { valFrames: p.valFrames } : {}),
      ...(p.atoms ? { atoms: p.atoms } : {}),
      ...(p.temperature ? { temperature: p.temperature } : {}),
    };
    const system = {
      seed: p.seed,
      dataSeed: p.seed,
      ...data,
      rho: p.rho,
      ...(p.lr || !toy ? { lr: p.lr ?? 0.01 } : {}),
      ...(p.model ? { model: p.model } : {}),
    };
    // Molecules: fewer epochs than the toy's stage defaults (300 / 40) but small accurate
    // batches and lr 0.01 (forces of tens of kcal/(mol·Å) need more Adam steps than epochs),
    // sized so that one seed (teacher, two pretrain → fine-tune arms) takes minutes on 2 cores.
    const epochs = p.epochs ?? (toy ? undefined : 60);
    const pretrainEpochs = p.pretrainEpochs ?? (toy ? undefined : 5);
    const batchSize = p.batchSize ?? (toy ? undefined : 5);
    const accurate = {
      ...system,
      data: 'accurate',
      frames: p.accurateFrames,
      ...(epochs ? { epochs } : {}),
      ...(batchSize ? { batchSize } : {}),
    };
    const cheap = {
      ...system,
      data: 'cheap',
      frames: cheapFrames,
      ...(pretrainEpochs ? { epochs: pretrainEpochs } : {}),
      ...(p.pretrainBatchSize ? { batchSize: p.pretrainBatchSize } : {}),
    };
    const train = (name: string, needs: string[], options: Record<string, unknown>): Record<string, unknown> => ({
      name,
      needs: after(needs),
      runtime: 'tfjs',
      task: 'mlff-train',
      params: { options },
    });
    const teacher = '${stages.teacher.outputs.checkpoint}';
    const stages: Record<string, unknown>[] = [...labelStages, train('teacher', [], accurate)];
    if (p.pretrainLoss === 'score-matching') {
      stages.push(train('pretrain', [], { ...cheap, pretrainLoss: 'score-matching' }));
    } else {
      stages.push({
        name: 'bias',
        needs: after(['teacher']),
        runtime: 'tfjs',
        task: 'mlff-bias',
        params: {
          options: {
            seed: p.seed,
            dataSeed: p.seed,
            ...data,
            frames: cheapFrames,
            gamma,
            ...(normalizer !== 1 ? { normalizer } : {}),
            teacherWeights: teacher,
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
    if (p.scoreMatchingArm) {
      stages.push(train('sm-pretrain', [], { ...cheap, pretrainLoss: 'score-matching' }));
      stages.push(
        train('sm-finetune', ['sm-pretrain'], { ...accurate, init: '${stages.sm-pretrain.outputs.checkpoint}' }),
      );
    }
    return stages;
  },
};
