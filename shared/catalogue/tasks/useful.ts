/** `useful-cluster`: the USEFUL clustering stage (worker/tasks/useful.ts). */
import { z } from 'zod';
import type { TrialConfig } from '../../spec/schema.js';
import type { TaskDescriptor } from './base.js';
import { parseJsonString } from './options.js';

export const trainOutputsSchema = z.object({
  logits: z.array(z.array(z.number())).min(1),
  losses: z.array(z.number()),
  labels: z.array(z.number().int()),
});

/** `{ trainOutputs: { logits, losses, labels }, seed? }` (classify's `exportTrainOutputs`). */
export const clusterOptionsSchema = z.object({
  trainOutputs: z.preprocess(parseJsonString, trainOutputsSchema),
  seed: z.number().int().min(0).optional(),
});

function clusterOptionProblems(config: TrialConfig): string[] {
  const options = Object.fromEntries(
    Object.entries(config.options ?? {}).filter(([, v]) => !(typeof v === 'string' && v.includes('${'))),
  );
  const pending = Object.keys(config.options ?? {}).filter((k) => !(k in options));
  const parsed = clusterOptionsSchema.safeParse(options);
  if (parsed.success) return [];
  return parsed.error.issues
    .filter((i) => !(typeof i.path[0] === 'string' && pending.includes(i.path[0])))
    .map((i) => `trial.options${i.path.length ? `.${i.path.join('.')}` : ''}: ${i.message}`);
}

export const usefulClusterDescriptor: TaskDescriptor = {
  name: 'useful-cluster',
  description: 'USEFUL: per-class k-means (k = 2) on early logits; one extra copy of each high-loss-cluster example',
  outputs: ['indices', 'upsampled', 'perClass'],
  validate: clusterOptionProblems,
};
