import type { TrialConfig } from '../../shared/spec/schema.js';
import { resolveLoss } from '../../worker/losses/index.js';

/**
 * A sweep may search `loss: {choice: [ce, gce]}` with `loss.q` beside it: `q` belongs to gce
 * only. Drops the params the chosen loss does not define, so each trial gets a valid loss.
 */
export function pruneLossParams(config: TrialConfig): TrialConfig {
  const loss = config.loss;
  if (typeof loss === 'string') return config;
  let names: Set<string>;
  try {
    names = new Set(resolveLoss({ name: loss.name }).definition.params.map((p) => p.name));
  } catch {
    return config; // unknown loss: the worker reports it
  }
  const kept: Record<string, unknown> = { name: loss.name };
  for (const [key, value] of Object.entries(loss)) if (names.has(key)) kept[key] = value;
  return { ...config, loss: kept as TrialConfig['loss'] };
}
