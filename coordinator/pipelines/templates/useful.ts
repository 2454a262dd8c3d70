/**
 * USEFUL (Nguyen et al., NeurIPS 2024): train briefly, cluster each class's examples by the
 * early network's outputs (k-means, k = 2), upsample the cluster that was not learned early
 * (higher mean loss) ×2, and retrain from scratch on the new distribution. Compared with the
 * same training on the original data (`baseline`).
 */
import { z } from 'zod';
import { datasetSchema, modelSchema, lossSpecSchema } from '../../../shared/spec/schema.js';
import { parseParams, type PipelineTemplate } from './base.js';

const paramsSchema = z.strictObject({
  dataset: datasetSchema.default('optdigits'),
  model: modelSchema.default({ type: 'mlp', hidden: [128], dropout: 0 }),
  loss: lossSpecSchema.default('ce'),
  /** The full schedule (baseline and retrain). */
  epochs: z.number().int().positive().default(20),
  /** The early phase (about 5–10% of the schedule in the paper; where the training error stops falling fast). */
  earlyEpochs: z.number().int().positive().default(2),
  lr: z.number().positive().default(1e-3),
  batchSize: z.number().int().positive().default(64),
  optimizer: z.enum(['adam', 'sgd', 'rmsprop']).default('adam'),
  seed: z.number().int().min(0).default(0),
  labelNoise: z
    .strictObject({ rate: z.number().min(0).max(1), kind: z.enum(['symmetric', 'asymmetric']).default('symmetric') })
    .optional(),
});

export const usefulTemplate: PipelineTemplate = {
  name: 'useful',
  description:
    'USEFUL: early training → per-class k-means on outputs → upsample the not-learned-early cluster ×2 → retrain; vs baseline',
  expand(raw) {
    const p = parseParams(paramsSchema, raw);
    const training = {
      dataset: p.dataset,
      model: p.model,
      loss: p.loss,
      lr: p.lr,
      batchSize: p.batchSize,
      optimizer: p.optimizer,
      seed: p.seed,
      ...(p.labelNoise ? { labelNoise: p.labelNoise } : {}),
    };
    return [
      { name: 'baseline', runtime: 'tfjs', task: 'classify', params: { ...training, epochs: p.epochs } },
      {
        name: 'early',
        runtime: 'tfjs',
        task: 'classify',
        params: { ...training, epochs: p.earlyEpochs, options: { exportTrainOutputs: true } },
      },
      {
        name: 'cluster',
        needs: ['early'],
        runtime: 'tfjs',
        task: 'useful-cluster',
        params: { options: { trainOutputs: '${stages.early.outputs.trainOutputs}', seed: p.seed } },
      },
      {
        name: 'retrain',
        needs: ['cluster'],
        runtime: 'tfjs',
        task: 'classify',
        params: { ...training, epochs: p.epochs, options: { trainIndices: '${stages.cluster.outputs.indices}' } },
      },
    ];
  },
};
