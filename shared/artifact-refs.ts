/**
 * `{ "$artifact": id }`: a value too large to travel inline (a stage output over the worker's
 * inline limit), stored as an artifact and referred to by id. One walker for all who meet them:
 * the pipeline engine collects the ids (cache keys), the coordinator masks them before it checks
 * a child spec, the worker replaces them with the stored values before a task sees its config.
 */

export interface ArtifactRef {
  $artifact: string;
}

/** An object with exactly one key, `$artifact`, holding a string id. */
export function isArtifactRef(value: unknown): value is ArtifactRef {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    typeof (value as { $artifact?: unknown }).$artifact === 'string' &&
    Object.keys(value).length === 1
  );
}

/** Ids of every reference inside `value`, in document order. */
export function collectArtifactRefs(value: unknown, out: string[] = []): string[] {
  if (isArtifactRef(value)) out.push(value.$artifact);
  else if (Array.isArray(value)) for (const v of value) collectArtifactRefs(v, out);
  else if (value && typeof value === 'object') for (const v of Object.values(value)) collectArtifactRefs(v, out);
  return out;
}

/** A copy of `value` with every reference replaced by `replace(id)`. */
export function mapArtifactRefs(value: unknown, replace: (id: string) => unknown): unknown {
  if (isArtifactRef(value)) return replace(value.$artifact);
  if (Array.isArray(value)) return value.map((v) => mapArtifactRefs(v, replace));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, mapArtifactRefs(v, replace)]));
  }
  return value;
}

/** As `mapArtifactRefs`, with an async `replace` (the worker fetches each artifact). */
export async function mapArtifactRefsAsync(
  value: unknown,
  replace: (id: string) => Promise<unknown>,
): Promise<unknown> {
  if (isArtifactRef(value)) return replace(value.$artifact);
  if (Array.isArray(value)) return Promise.all(value.map((v) => mapArtifactRefsAsync(v, replace)));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = await mapArtifactRefsAsync(v, replace);
    return out;
  }
  return value;
}
