/**
 * Re-running a spec in the same directory (`trellis run --resume | --new`).
 *
 * `trellis run` submits with the request id `run-<spec hash>-<random>`: the hash (32 hex digits
 * of the SHA-256 of the validated spec as canonical JSON, keys sorted) names the spec, so an
 * unfinished experiment of the same spec is found in the store by its request id alone, however
 * the spec is stored; the random part keeps each run its own experiment. Formatting, comments
 * and key order of the spec file do not change the hash; any value does.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Store } from '../coordinator/store/base.js';
import type { ExperimentDoc } from '../shared/types.js';

export function specHash(spec: unknown): string {
  return createHash('sha256').update(canonical(spec)).digest('hex').slice(0, 32);
}

export function runRequestId(hash: string): string {
  return `run-${hash}-${randomBytes(4).toString('hex')}`;
}

/** Unfinished top-level experiments submitted by `trellis run` with this spec, newest first. */
export async function unfinishedRuns(store: Store, hash: string): Promise<ExperimentDoc[]> {
  const prefix = `run-${hash}-`;
  const open = await store.listExperiments({ status: ['pending', 'running'] });
  return open.filter((e) => e.parentId === undefined && e.requestId.startsWith(prefix));
}

/** JSON with object keys sorted at every level (undefined members left out, as JSON does). */
function canonical(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
}
