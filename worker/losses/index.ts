/**
 * `trellis/losses`: the loss plug-in family.
 *
 * - `resolveLoss(spec)` turns a spec (`'gce'` or `{ name: 'gce', q: 0.5 }`) into a definition and
 *   complete, validated params; `createLoss(spec)` binds them into a `LossInstance` whose
 *   `compute(tensors)` a training loop calls inside its gradient tape.
 * - `computeLoss(name, params, inputs)` evaluates a loss once on plain arrays (for tools, docs and
 *   tests): a fresh instance per call, so stateful losses give their first-call value.
 * - `describeLosses()` is the plain-JSON catalogue behind `trellis losses --json`.
 */
import * as tf from '@tensorflow/tfjs';
import { formatValue, resolveLossParams, type LossSpec } from '../../shared/catalogue/loss-params.js';
import {
  LossConfigError,
  type LossDefinition,
  type LossInputName,
  type LossInstance,
  type LossParamValue,
  type LossTensors,
} from './base.js';
import { getLossDefinition } from './registry.js';

export {
  LossConfigError,
  type LossDefinition,
  type LossDescriptor,
  type LossImplementation,
  type LossFamily,
  type LossInputName,
  type LossInstance,
  type LossParamSpec,
  type LossParamValue,
  type LossTensors,
} from './base.js';
export { getLossDefinition, listLosses, lossNames, LOSSES } from './registry.js';
export { ANYLOSS_METRICS, type AnyLossMetric } from './anyloss.js';
export { gflWeight } from './gfl.js';
export { describeLosses, type LossDescription } from '../../shared/catalogue/losses.js';

export type { LossSpec } from '../../shared/catalogue/loss-params.js';

export interface ResolvedLoss {
  definition: LossDefinition;
  params: Record<string, LossParamValue>;
}

/**
 * The definition and complete params of a loss spec: the catalogue's `resolveLossParams` (the one
 * check of loss params, also run at submit) plus the implementation bound to that name.
 */
export function resolveLoss(spec: LossSpec): ResolvedLoss {
  const { descriptor, params } = resolveLossParams(spec);
  return { definition: getLossDefinition(descriptor.name), params };
}

/** A ready-to-use loss instance for a spec (resolve, then create). */
export function createLoss(spec: LossSpec): LossInstance {
  const { definition, params } = resolveLoss(spec);
  return definition.create(params);
}

// ---------------------------------------------------------------------------------------------
// Plain-array inputs.

/** The plain-array form of the inputs; which ones a loss needs is in its definition. */
export interface LossArrayInputs {
  logits?: number[][];
  labels?: number[];
  features?: number[][];
  likelihoods?: number[];
  /** Group ids; strings are mapped to ints in order of first appearance. */
  groups?: Array<number | string>;
  sampleIds?: number[];
  probs?: number[];
  embeddings?: number[][];
  queries?: number[][];
  prototypes?: number[][];
  positives?: number[];
  negatives?: number[];
  margins?: number[];
}

interface VectorRule {
  length?: number;
  integer?: boolean;
  min?: number;
  max?: number;
  /** Allow an empty array (pair losses: no positive in the batch). */
  allowEmpty?: boolean;
}

function inputError(loss: string, input: string, rule: string, value: unknown): LossConfigError {
  const shown = formatValue(value);
  return new LossConfigError(
    `loss ${loss}: input '${input}' ${rule}, got ${shown.length > 80 ? `${shown.slice(0, 77)}...` : shown}`,
  );
}

function checkVector(loss: string, input: string, value: unknown, rule: VectorRule = {}): number[] {
  const count = rule.length ?? (rule.allowEmpty ? 'any number of' : 'one or more');
  const range =
    rule.min !== undefined && rule.max !== undefined
      ? ` in [${rule.min}, ${rule.max}]`
      : rule.min !== undefined
        ? ` ≥ ${rule.min}`
        : '';
  const rule_ = `must be an array of ${count} ${rule.integer ? 'integers' : 'finite numbers'}${range}`;
  if (!Array.isArray(value)) throw inputError(loss, input, rule_, value);
  if (rule.length !== undefined ? value.length !== rule.length : value.length === 0 && !rule.allowEmpty) {
    throw inputError(loss, input, rule_, value);
  }
  for (const v of value) {
    if (typeof v !== 'number' || !Number.isFinite(v)) throw inputError(loss, input, rule_, value);
    if (rule.integer && !Number.isInteger(v)) throw inputError(loss, input, rule_, value);
    if ((rule.min !== undefined && v < rule.min) || (rule.max !== undefined && v > rule.max))
      throw inputError(loss, input, rule_, value);
  }
  return value as number[];
}

function checkMatrix(
  loss: string,
  input: string,
  value: unknown,
  rows?: number,
  cols?: number,
  minCols = 1,
): number[][] {
  const shape = `${rows ?? 'N'}×${cols ?? 'D'}`;
  const bounds = [rows === undefined ? 'N ≥ 1' : '', cols === undefined ? `D ≥ ${minCols}` : '']
    .filter(Boolean)
    .join(', ');
  const rule = `must be a ${shape} array of finite numbers (equal-length rows${bounds ? `, ${bounds}` : ''})`;
  if (!Array.isArray(value) || value.length === 0 || (rows !== undefined && value.length !== rows))
    throw inputError(loss, input, rule, value);
  const width = cols ?? (Array.isArray(value[0]) ? (value[0] as unknown[]).length : -1);
  if (width < minCols) throw inputError(loss, input, rule, value);
  for (const row of value) {
    if (!Array.isArray(row) || row.length !== width) throw inputError(loss, input, rule, value);
    for (const v of row) if (typeof v !== 'number' || !Number.isFinite(v)) throw inputError(loss, input, rule, value);
  }
  return value as number[][];
}

function groupIds(loss: string, value: unknown, n: number): number[] {
  const rule = `must be an array of ${n} group ids (integers or strings)`;
  if (!Array.isArray(value) || value.length !== n) throw inputError(loss, 'groups', rule, value);
  const ids = new Map<string, number>();
  return value.map((g) => {
    if (typeof g === 'number' && Number.isInteger(g)) return g;
    if (typeof g !== 'string') throw inputError(loss, 'groups', rule, value);
    let id = ids.get(g);
    if (id === undefined) {
      id = ids.size;
      ids.set(g, id);
    }
    return id;
  });
}

/**
 * Checks plain-array inputs against what `definition` needs and turns them into tensors
 * (int32 for labels, groups and sampleIds). Call inside `tf.tidy`, or dispose the result.
 * Inputs the loss does not use are ignored.
 */
export function tensorsFromArrays(definition: LossDefinition, inputs: LossArrayInputs): LossTensors {
  const loss = definition.name;
  const wanted = new Set<LossInputName>([...definition.inputs, ...(definition.optionalInputs ?? [])]);
  const required = new Set<LossInputName>(definition.inputs);
  const raw = inputs as Record<string, unknown>;
  for (const name of required) {
    if (raw[name] === undefined) throw new LossConfigError(`loss ${loss}: missing input '${name}'`);
  }
  const has = (name: LossInputName): boolean => wanted.has(name) && raw[name] !== undefined;
  const out: LossTensors = {};

  // The batch size comes from the primary input of the loss.
  let n: number | undefined;
  let numClasses: number | undefined;
  if (has('logits')) {
    const logits = checkMatrix(loss, 'logits', raw.logits, undefined, undefined, 2);
    n = logits.length;
    numClasses = logits[0]!.length;
    out.logits = tf.tensor2d(logits);
  }
  if (has('embeddings')) {
    const emb = checkMatrix(loss, 'embeddings', raw.embeddings);
    n = emb.length;
    out.embeddings = tf.tensor2d(emb);
  }
  if (has('probs')) {
    const probs = checkVector(loss, 'probs', raw.probs, { min: 0, max: 1 });
    n = probs.length;
    out.probs = tf.tensor1d(probs);
  }
  if (has('queries') || has('prototypes')) {
    const queries = checkMatrix(loss, 'queries', raw.queries);
    const protos = checkMatrix(loss, 'prototypes', raw.prototypes, undefined, queries[0]!.length);
    n = queries.length;
    numClasses = protos.length;
    out.queries = tf.tensor2d(queries);
    out.prototypes = tf.tensor2d(protos);
  }
  if (has('labels')) {
    const binary = has('probs');
    const labels = checkVector(loss, 'labels', raw.labels, {
      ...(n !== undefined ? { length: n } : {}),
      integer: true,
      min: 0,
      ...(binary ? { max: 1 } : numClasses !== undefined ? { max: numClasses - 1 } : {}),
    });
    out.labels = binary ? tf.tensor1d(labels) : tf.tensor1d(labels, 'int32');
  }
  if (has('features')) {
    const features = checkMatrix(loss, 'features', raw.features, n);
    out.features = tf.tensor2d(features);
  }
  if (has('likelihoods')) {
    out.likelihoods = tf.tensor1d(
      checkVector(loss, 'likelihoods', raw.likelihoods, { ...(n !== undefined ? { length: n } : {}), min: 0, max: 1 }),
    );
  }
  if (has('groups')) out.groups = tf.tensor1d(groupIds(loss, raw.groups, n ?? 0), 'int32');
  if (has('sampleIds')) {
    out.sampleIds = tf.tensor1d(
      checkVector(loss, 'sampleIds', raw.sampleIds, { ...(n !== undefined ? { length: n } : {}), integer: true }),
      'int32',
    );
  }
  if (has('positives'))
    out.positives = tf.tensor1d(checkVector(loss, 'positives', raw.positives, { allowEmpty: true }));
  if (has('negatives'))
    out.negatives = tf.tensor1d(checkVector(loss, 'negatives', raw.negatives, { allowEmpty: true }));
  if (has('margins')) out.margins = tf.tensor1d(checkVector(loss, 'margins', raw.margins));
  return out;
}

/** Sets the `cpu` backend when no backend has been chosen yet; never switches an existing one. */
async function ensureBackend(): Promise<void> {
  if (!tf.getBackend()) await tf.setBackend('cpu');
  await tf.ready();
}

/**
 * Evaluates a loss once on plain arrays and returns its value. Params are resolved like a spec
 * (defaults filled, validated). A fresh instance is created per call, so a stateful loss gives
 * its first-call value; all tensors are disposed.
 */
export async function computeLoss(
  name: string,
  params: Record<string, unknown>,
  inputs: LossArrayInputs,
): Promise<number> {
  const { definition, params: resolved } = resolveLoss({ ...params, name });
  const instance = definition.create(resolved);
  await ensureBackend();
  const value = tf.tidy(() => instance.compute(tensorsFromArrays(definition, inputs)));
  try {
    const data = await value.data();
    return data[0]!;
  } finally {
    value.dispose();
  }
}
