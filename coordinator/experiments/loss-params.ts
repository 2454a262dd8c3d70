import type { TrialConfig } from '../../shared/spec/schema.js';
import { findLoss } from '../../shared/catalogue/losses.js';

/**
 * A sweep may search `loss: {choice: [ce, gce]}` with `loss.q` beside it: `q` belongs to gce
 * only. Drops the params the chosen loss does not define, so each trial gets a valid loss. It
 * checks nothing: the names and params were checked at submit (`validateSweep`, from the
 * catalogue), and the worker resolves them with the same catalogue function.
 */
export function pruneLossParams(config: TrialConfig): TrialConfig {
  const loss = config.loss;
  if (typeof loss === 'string') return config;
  const descriptor = findLoss(loss.name);
  if (!descriptor) return config; // unknown loss: cannot pass submit; the worker would report it
  const names = new Set(descriptor.params.map((p) => p.name));
  const kept: Record<string, unknown> = { name: loss.name };
  for (const [key, value] of Object.entries(loss)) if (names.has(key)) kept[key] = value;
  return { ...config, loss: kept as TrialConfig['loss'] };
}
