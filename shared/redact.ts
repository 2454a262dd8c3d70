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

/** Values shorter than this are not searched for in text (they would mangle ordinary output). */
export const MIN_SECRET_CHARS = 4;

/**
 * The values of every `env` map in a spec, to redact from text such as program output (a
 * program may print its environment). Values holding a `${...}` reference are left out: what
 * reaches the program is the substituted value (params, seed), not a secret.
 */
export function secretValues(value: unknown, found: Set<string> = new Set()): string[] {
  if (Array.isArray(value)) for (const inner of value) secretValues(inner, found);
  else if (value && typeof value === 'object') {
    for (const [key, inner] of Object.entries(value as Record<string, unknown>)) {
      if (key === 'env' && inner && typeof inner === 'object' && !Array.isArray(inner)) {
        for (const v of Object.values(inner as Record<string, unknown>)) {
          if (typeof v === 'string' && v.length >= MIN_SECRET_CHARS && !v.includes('${')) found.add(v);
        }
      } else secretValues(inner, found);
    }
  }
  return [...found].sort((a, b) => b.length - a.length);
}

/** The text with every occurrence of each secret replaced by REDACTED (longest secrets first). */
export function redactText(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) if (out.includes(secret)) out = out.split(secret).join(REDACTED);
  return out;
}
