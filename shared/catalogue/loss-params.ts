/**
 * The one check of a loss spec (`'gce'` or `{ name: 'gce', q: 0.5 }`): the name against the
 * catalogue, then the params against a zod schema built from the loss's param specs (unknown
 * names, types, ranges; defaults filled). The coordinator calls it at submit, the worker calls it
 * through `resolveLoss` before it builds a loss; dispatch only drops params the chosen loss lacks.
 */
import { z } from 'zod';
import { findLoss, lossNames, type LossDescriptor, type LossParamSpec, type LossParamValue } from './losses.js';

/** A bad loss name, param, input or state. Messages name the loss and the offending field. */
export class LossConfigError extends Error {
  override readonly name = 'LossConfigError';
}

export type LossSpec = string | { name: string; [param: string]: unknown };

export interface ResolvedLossParams {
  descriptor: LossDescriptor;
  params: Record<string, LossParamValue>;
}

/** `(0, 1]`, `[0, ∞)`, `one of f1, accuracy` — the allowed values of a param, for messages. */
export function describeAllowed(spec: LossParamSpec): string {
  if (spec.values) return `one of ${spec.values.join(', ')}`;
  const lo = spec.min === undefined ? '(-∞' : `${spec.exclusiveMin ? '(' : '['}${spec.min}`;
  const hi = spec.max === undefined ? '∞)' : `${spec.max}${spec.exclusiveMax ? ')' : ']'}`;
  return `${lo}, ${hi}`;
}

export function formatValue(v: unknown): string {
  if (typeof v === 'number') return String(v);
  if (typeof v === 'string') return JSON.stringify(v);
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

/** The zod schema of one param: type, range (the message names the allowed range), default. */
function paramSchema(spec: LossParamSpec): z.ZodType<LossParamValue> {
  const allowed = describeAllowed(spec);
  const got = (input: unknown): string => `, got ${formatValue(input)}`;
  if (spec.values) {
    const values = spec.values as [string, ...string[]];
    return z
      .enum(values, { error: (iss) => `${spec.name} must be ${allowed}${got(iss.input)}` })
      .default(spec.default as string);
  }
  const inRange = `${spec.name} must be in ${allowed}`;
  let schema = z.number({ error: (iss) => `${spec.name} must be a number in ${allowed}${got(iss.input)}` });
  const rangeError = { error: (iss: { input?: unknown }) => `${inRange}${got(iss.input)}` };
  if (spec.min !== undefined)
    schema = spec.exclusiveMin ? schema.gt(spec.min, rangeError) : schema.gte(spec.min, rangeError);
  if (spec.max !== undefined)
    schema = spec.exclusiveMax ? schema.lt(spec.max, rangeError) : schema.lte(spec.max, rangeError);
  return schema.default(spec.default as number);
}

const schemas = new Map<string, z.ZodType<Record<string, LossParamValue>>>();

/** The params object of a loss as a zod schema (strict: unknown params are errors). */
export function lossParamsSchema(descriptor: LossDescriptor): z.ZodType<Record<string, LossParamValue>> {
  let schema = schemas.get(descriptor.name);
  if (!schema) {
    schema = z.strictObject(Object.fromEntries(descriptor.params.map((p) => [p.name, paramSchema(p)])));
    schemas.set(descriptor.name, schema);
  }
  return schema;
}

/** The descriptor of a loss; an unknown name throws a `LossConfigError` listing the valid names. */
export function lossDescriptor(name: string): LossDescriptor {
  const descriptor = findLoss(name);
  if (!descriptor) throw new LossConfigError(`unknown loss '${name}'; valid losses: ${lossNames().join(', ')}`);
  return descriptor;
}

/** The descriptor and complete params of a loss spec: defaults filled, names and ranges checked. */
export function resolveLossParams(spec: LossSpec): ResolvedLossParams {
  let name: unknown;
  let given: Record<string, unknown> = {};
  if (typeof spec === 'string') name = spec;
  else if (typeof spec === 'object' && spec !== null && !Array.isArray(spec)) {
    const { name: n, ...rest } = spec;
    name = n;
    given = rest;
  }
  if (typeof name !== 'string' || name === '') {
    throw new LossConfigError(`a loss spec is a loss name or { name, ...params }, got ${formatValue(spec)}`);
  }
  const descriptor = lossDescriptor(name);
  const parsed = lossParamsSchema(descriptor).safeParse(given);
  if (parsed.success) return { descriptor, params: parsed.data };
  const issues = parsed.error.issues;
  // Unknown names first: a typo is the likelier problem than the value next to it.
  const unknown = issues.find((i) => i.code === 'unrecognized_keys');
  if (unknown && unknown.code === 'unrecognized_keys') {
    const allowed = descriptor.params.length
      ? `allowed parameters: ${descriptor.params.map((p) => p.name).join(', ')}`
      : `${name} takes no parameters`;
    throw new LossConfigError(`loss ${name}: unknown parameter '${unknown.keys[0]}'; ${allowed}`);
  }
  throw new LossConfigError(`loss ${name}: ${issues[0]!.message}`);
}
