/**
 * Secrets never leave the coordinator through a read API or event: every `env` mapping in a spec
 * (a sweep's `trial.env`, a pipeline stage's) keeps its names but has every value replaced.
 * Workers get the real values in their assignments (WorkerService), never through these; a
 * `{fromWorkerEnv: NAME}` value is only a name (the worker resolves it) and stays visible.
 */
export const REDACTED = '[redacted]';

export function redactEnv(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redactEnv);
  if (!value || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value as Record<string, unknown>)) {
    out[key] =
      key === 'env' && inner && typeof inner === 'object' && !Array.isArray(inner)
        ? redactMap(inner)
        : redactEnv(inner);
  }
  return out;
}

function redactMap(env: object): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, v] of Object.entries(env as Record<string, unknown>)) {
    // `{fromWorkerEnv: NAME}` names a worker's variable; the value never was here: shown as is.
    const reference = !!v && typeof v === 'object' && 'fromWorkerEnv' in v && Object.keys(v).length === 1;
    out[name] = v === undefined || reference ? v : REDACTED;
  }
  return out;
}
