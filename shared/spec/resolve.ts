/** Merging a trial's params into the spec's trial block. */
import { clonePlain } from '../clone.js';
import type { TrialConfig } from './schema.js';
import type { Params } from './space.js';

/**
 * The trial block with params set at their (dotted) paths. `loss: gce` becomes
 * `loss: {name: gce}` so that `loss.q` can be set beside it; params that name fields of a loss
 * other than the chosen one are left out by the runtime's loss resolution, not here.
 */
export function resolveTrialConfig(trial: TrialConfig, params: Params): TrialConfig {
  const config = clonePlain(trial) as unknown as Record<string, unknown>;
  const keys = Object.keys(params).sort((a, b) => a.split('.').length - b.split('.').length || a.localeCompare(b));
  for (const key of keys) {
    const parts = key.split('.');
    let node = config;
    for (let i = 0; i < parts.length - 1; i++) {
      const part = parts[i]!;
      const next = node[part];
      if (typeof next === 'string') node[part] = { name: next };
      else if (next === undefined || next === null || typeof next !== 'object' || Array.isArray(next)) node[part] = {};
      node = node[part] as Record<string, unknown>;
    }
    const leaf = parts[parts.length - 1]!;
    const value = params[key];
    const existing = node[leaf];
    // Setting `loss: gce` over `loss: {name: ce, q: ...}` replaces the loss, keeping nothing stale.
    if (
      leaf === 'loss' &&
      parts.length === 1 &&
      typeof value === 'string' &&
      existing &&
      typeof existing === 'object'
    ) {
      node[leaf] = { name: value };
    } else {
      node[leaf] = value;
    }
  }
  return config as unknown as TrialConfig;
}
