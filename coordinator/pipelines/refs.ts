/**
 * References between pipeline stages: `${stages.NAME.outputs.KEY}`, `${stages.NAME.best.params.P}`,
 * `${stages.NAME.best.value}`, `${stages.NAME.metrics.M}`. A string that is exactly one
 * reference is replaced by the referenced value (any JSON type); a reference inside a longer
 * string is replaced by its text.
 */

export interface StageRef {
  stage: string;
  /** `outputs`, `best` or `metrics`. */
  section: 'outputs' | 'best' | 'metrics';
  /** The rest of the path after the section, e.g. ['params', 'lr'] for best.params.lr. */
  path: string[];
  /** The whole `${...}` text. */
  text: string;
}

const REF = /\$\{stages\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_.-]+)\}/g;
const SECTIONS = ['outputs', 'best', 'metrics'] as const;

/** Every reference in a value (deep), with the path where it appears (for error messages). */
export function findRefs(
  value: unknown,
  where: string[] = [],
): { ref: StageRef | { invalid: string }; at: string[] }[] {
  const found: { ref: StageRef | { invalid: string }; at: string[] }[] = [];
  if (typeof value === 'string') {
    for (const match of value.matchAll(REF)) {
      const [text, stage, rest] = match as unknown as [string, string, string];
      const [section, ...path] = rest.split('.');
      if (!(SECTIONS as readonly string[]).includes(section!)) {
        found.push({
          ref: {
            invalid: `${text}: expected stages.NAME.outputs.KEY, stages.NAME.best.params.P, stages.NAME.best.value or stages.NAME.metrics.M`,
          },
          at: where,
        });
      } else {
        found.push({ ref: { stage, section: section as StageRef['section'], path, text }, at: where });
      }
    }
    if (/\$\{stages\./.test(value) && found.length === 0) {
      found.push({ ref: { invalid: `${value}: malformed reference` }, at: where });
    }
  } else if (Array.isArray(value)) {
    value.forEach((v, i) => found.push(...findRefs(v, [...where, String(i)])));
  } else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) found.push(...findRefs(v, [...where, k]));
  }
  return found;
}

export interface StageResults {
  outputs: Record<string, unknown>;
  metrics: Record<string, number>;
  best?: { params: Record<string, unknown>; value: number; metric: string; trialId: string };
}

function lookup(results: StageResults, ref: StageRef): unknown {
  let node: unknown =
    ref.section === 'outputs' ? results.outputs : ref.section === 'metrics' ? results.metrics : results.best;
  for (const key of ref.path) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

/** Replaces every reference with the value it names; throws naming the reference when missing. */
export function substitute(value: unknown, results: (stage: string) => StageResults | undefined): unknown {
  if (typeof value === 'string') {
    const whole = /^\$\{stages\.[A-Za-z0-9_-]+\.[A-Za-z0-9_.-]+\}$/.test(value);
    const refs = findRefs(value);
    if (refs.length === 0) return value;
    const resolve = (ref: StageRef): unknown => {
      const stage = results(ref.stage);
      const found = stage ? lookup(stage, ref) : undefined;
      if (found === undefined) throw new Error(`${ref.text}: stage ${ref.stage} produced no such value`);
      return found;
    };
    if (whole) return resolve(refs[0]!.ref as StageRef);
    return value.replace(REF, (text) => {
      const ref = findRefs(text)[0]!.ref as StageRef;
      const found = resolve(ref);
      return typeof found === 'string' ? found : JSON.stringify(found);
    });
  }
  if (Array.isArray(value)) return value.map((v) => substitute(v, results));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substitute(v, results)]));
  }
  return value;
}
