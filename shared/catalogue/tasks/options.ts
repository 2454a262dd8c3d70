/**
 * Task options (`trial.options`) as zod schemas, and their problems as
 * `trial.options.NAME: rule, got VALUE` lines. A value still holding a `${stages...}` reference
 * (filled in from an earlier stage's outputs when the stage runs) cannot be checked at submit and
 * counts as present; the worker parses the resolved options with the same schema.
 */
import { z } from 'zod';

const got = (input: unknown): string => `, got ${JSON.stringify(input)}`;

/** An integer in [min, max] (default `fallback`): `must be an integer in [1, 4096], got 0`. */
export function intIn(min: number, max: number): z.ZodNumber {
  const error = (iss: { input?: unknown }): string => `must be an integer in [${min}, ${max}]${got(iss.input)}`;
  return z.number({ error }).int({ error }).min(min, { error }).max(max, { error });
}

/** A finite number passing `check`, described by `rule` (`a number in [0, 0.5)`). */
export function numberWhere(check: (v: number) => boolean, rule: string): z.ZodType<number> {
  const error = (iss: { input?: unknown }): string => `must be ${rule}${got(iss.input)}`;
  return z.number({ error }).refine(check, { error });
}

/** One of a few strings: `must be "init" or "zero", got "policy"`. */
export function oneOf<const T extends readonly [string, ...string[]]>(values: T): z.ZodEnum<{ [K in T[number]]: K }> {
  const shown = values.map((v) => JSON.stringify(v));
  const rule = shown.length === 2 ? `${shown[0]} or ${shown[1]}` : `one of ${shown.join(', ')}`;
  return z.enum(values, { error: (iss) => `must be ${rule}${got(iss.input)}` });
}

/** A JSON string is parsed first (stage outputs substituted into options arrive as text). */
export function parseJsonString(v: unknown): unknown {
  if (typeof v !== 'string') return v;
  try {
    return JSON.parse(v) as unknown;
  } catch {
    return v;
  }
}

export interface OptionsResult<T> {
  /** The options with defaults filled; undefined when there are problems. */
  data?: T;
  problems: string[];
  /** Option names whose value was a `${...}` reference (left out of the check). */
  pending: Set<string>;
}

/**
 * Checks `options` against a task's schema. With `pendingRefs`, values holding `${...}` are left
 * out (submit time). Unknown keys come first (a typo is the likelier problem), each as
 * `unknown option for task T; options: a, b`; `known` gives the order the names are listed in.
 */
export function checkOptions<S extends z.ZodType>(
  schema: S,
  raw: Record<string, unknown> | undefined,
  task: string,
  known: readonly string[],
  pendingRefs = true,
): OptionsResult<z.output<S>> {
  const pending = new Set<string>();
  const options: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(raw ?? {})) {
    if (pendingRefs && typeof v === 'string' && v.includes('${')) pending.add(k);
    else options[k] = v;
  }
  const parsed = schema.safeParse(options);
  if (parsed.success) return { data: parsed.data, problems: [], pending };
  const unknown: string[] = [];
  const other: string[] = [];
  for (const issue of parsed.error.issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys)
        unknown.push(`trial.options.${key}: unknown option for task ${task}; options: ${known.join(', ')}`);
    } else if (!(typeof issue.path[0] === 'string' && pending.has(issue.path[0]))) {
      other.push(`trial.options${issue.path.length ? `.${issue.path.join('.')}` : ''}: ${issue.message}`);
    }
  }
  return { problems: [...unknown, ...other], pending };
}
