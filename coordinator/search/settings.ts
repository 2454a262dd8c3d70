/**
 * Plug-in settings (the extra keys of the spec's `search` or `scheduler` block) as zod schemas.
 *
 * Each factory declares its settings as a zod shape built from the helpers below (which carry
 * the default and the rule) and parses them with `parseSettings`. Problems name the field's path
 * and the rule, e.g. `search.startup: must be an integer >= 1, got 0`. Unknown keys are errors
 * too, listing the allowed ones, so a misspelt setting never silently falls back to its default.
 */
import { z } from 'zod';
import { InvalidArgumentError } from '../../shared/errors.js';

interface NumberRule {
  min?: number;
  max?: number;
  /** When true, `min` is exclusive (`must be > 0`). */
  minExclusive?: boolean;
}

function show(value: unknown): string {
  if (value === undefined) return 'undefined';
  try {
    // eslint-disable-next-line @typescript-eslint/no-base-to-string -- last resort for what JSON cannot show
    return JSON.stringify(value) ?? String(value);
  } catch {
    // eslint-disable-next-line @typescript-eslint/no-base-to-string -- last resort (BigInt, cycles)
    return String(value);
  }
}

function ruleText(rule: NumberRule, integer: boolean): string {
  const parts: string[] = [];
  if (rule.min !== undefined) parts.push(`${rule.minExclusive ? '>' : '>='} ${rule.min}`);
  if (rule.max !== undefined) parts.push(`<= ${rule.max}`);
  const bounds = parts.join(' and ');
  if (integer) return `must be an integer${bounds ? ` ${bounds}` : ''}`;
  return bounds ? `must be ${bounds}` : 'must be a finite number';
}

type Issue = { input?: unknown };
const says = (rule: string) => (iss: Issue) => `${rule}, got ${show(iss.input)}`;

function bounded(schema: z.ZodNumber, rule: NumberRule, error: (iss: Issue) => string): z.ZodNumber {
  let out = schema;
  if (rule.min !== undefined) out = rule.minExclusive ? out.gt(rule.min, { error }) : out.gte(rule.min, { error });
  if (rule.max !== undefined) out = out.lte(rule.max, { error });
  return out;
}

/** The building blocks of settings schemas: each names its rule in its messages. */
export const setting = {
  integer(fallback: number, rule: NumberRule = {}) {
    const error = says(ruleText(rule, true));
    return bounded(z.number({ error }).int({ error }), rule, error).default(fallback);
  },
  number(fallback: number, rule: NumberRule = {}) {
    return bounded(z.number({ error: says('must be a finite number') }), rule, says(ruleText(rule, false))).default(
      fallback,
    );
  },
  /** A number with no default: absent means the plug-in computes one (documented there). */
  optionalNumber(rule: NumberRule = {}) {
    return bounded(z.number({ error: says('must be a finite number') }), rule, says(ruleText(rule, false))).optional();
  },
  boolean(fallback: boolean) {
    return z.boolean({ error: says('must be true or false') }).default(fallback);
  },
  /** A `[low, high]` pair of positive numbers with low <= high. */
  positivePair(fallback: [number, number]) {
    const error = says('must be a pair [low, high] of numbers > 0 with low <= high');
    return z
      .tuple([z.number().gt(0), z.number().gt(0)], { error })
      .refine(([low, high]) => low <= high, { error })
      .default(fallback);
  },
};

/** A check that involves several settings, run once each setting is valid on its own. */
export interface SettingsCheck {
  ok: boolean;
  name: string;
  rule: string;
  value: unknown;
}

/**
 * Parses a block's settings against `shape`, ignoring the block's `structural` keys (algorithm,
 * seed, ...). Throws an InvalidArgumentError listing every problem, unknown keys last.
 */
export function parseSettings<S extends z.ZodRawShape>(
  prefix: 'search' | 'scheduler',
  shape: S,
  settings: Record<string, unknown>,
  structural: readonly string[] = [],
  checks?: (data: z.output<z.ZodObject<S>>) => SettingsCheck[],
): z.output<z.ZodObject<S>> {
  const given = Object.fromEntries(Object.entries(settings).filter(([key]) => !structural.includes(key)));
  const parsed = z.strictObject(shape).safeParse(given);
  const issues: string[] = [];
  if (parsed.success) {
    for (const check of checks?.(parsed.data) ?? []) {
      if (!check.ok) issues.push(`${prefix}.${check.name}: ${check.rule}, got ${show(check.value)}`);
    }
    if (issues.length === 0) return parsed.data;
  } else {
    const unknown: string[] = [];
    const allowed = Object.keys(shape).sort();
    for (const issue of parsed.error.issues) {
      if (issue.code === 'unrecognized_keys') {
        for (const key of issue.keys) {
          unknown.push(
            `${prefix}.${key}: unknown setting; allowed: ${allowed.length > 0 ? allowed.join(', ') : '(none)'}`,
          );
        }
      } else {
        const name = issue.path.length > 0 ? String(issue.path[0]) : '(settings)';
        issues.push(`${prefix}.${name}: ${issue.message}`);
      }
    }
    issues.push(...unknown);
  }
  throw new InvalidArgumentError(issues);
}
