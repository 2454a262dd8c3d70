/**
 * validateSpec: the one gate between user input and the store. Parses the text, checks the
 * schema (zod), then everything that needs a registry: search algorithm and its settings,
 * scheduler and its settings, and — from the catalogue (shared/catalogue/), never the worker's
 * code — task config, loss names and params (the one check of loss params before a trial runs). Throws InvalidArgumentError
 * with every problem found, each naming its path.
 */
import { objectivesOf, sweepSpecSchema, type SweepSpec } from '../../shared/spec/schema.js';
import { formatIssues, parseSpecText, SpecError } from '../../shared/spec/load.js';
import { InvalidArgumentError } from '../../shared/errors.js';
import { createSearch } from '../search/registry.js';
import { createScheduler } from '../schedulers/registry.js';
import { defaultObjectiveOf, validateTaskConfig } from '../../shared/catalogue/tasks/index.js';
import { resolveLossParams } from '../../shared/catalogue/loss-params.js';
import type { Params } from '../../shared/spec/space.js';
import { resolveTrialConfig } from '../../shared/spec/resolve.js';
import { parsePipeline, PipelineSpecError, type PipelineSpec } from '../pipelines/spec.js';
import { stageKindOf } from '../pipelines/stage-kinds/registry.js';
import { expandTemplate, TemplateError } from '../pipelines/templates/registry.js';
import { DEFAULT_LIMITS, type Limits } from '../../shared/limits.js';
import { parseSpec } from './parse-off-thread.js';
import { rawPipelineIssues, rawSweepIssues, resourceIssues, sweepIssues } from './limits.js';

export type ValidatedSpec = SweepSpec | PipelineSpec;

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The text's size and depth are checked before it is parsed; every other limit after. */
export function validateSpecText(text: string, limits: Limits = DEFAULT_LIMITS): ValidatedSpec {
  try {
    return validateSpec(parseSpecText(text, limits), { limits });
  } catch (err) {
    if (err instanceof SpecError) throw new InvalidArgumentError(err.issues);
    throw err;
  }
}

/** validateSpecText for the coordinator: a large text is parsed off the event loop (parse-off-thread.ts). */
export async function validateSpecTextAsync(text: string, limits: Limits = DEFAULT_LIMITS): Promise<ValidatedSpec> {
  let raw: unknown;
  try {
    raw = await parseSpec(text, limits);
  } catch (err) {
    if (err instanceof SpecError) throw new InvalidArgumentError(err.issues);
    throw err;
  }
  return validateSpec(raw, { limits });
}

export interface ValidateOptions {
  /** Skip the task's own config checks (already done on a copy; see Coordinator.submitChild). */
  skipTaskChecks?: boolean;
  /** The limit table (default: shared/limits.ts's defaults). */
  limits?: Limits;
}

export function validateSpec(raw: unknown, options: ValidateOptions = {}): ValidatedSpec {
  const kind = (raw as { kind?: unknown } | null)?.kind;
  if (kind === 'Pipeline') return validatePipeline(raw, options.limits);
  return validateSweep(raw, options);
}

/**
 * A pipeline: templates expanded, the DAG and references checked, then every stage's sweep
 * validated like a submitted sweep — fields still holding a `${stages...}` reference are
 * checked when the stage runs, once the reference is resolved.
 */
export function validatePipeline(raw: unknown, limits: Limits = DEFAULT_LIMITS): PipelineSpec {
  let spec: PipelineSpec;
  const before = rawPipelineIssues(raw, limits);
  if (before.length > 0) throw new InvalidArgumentError(before);
  try {
    const expanded = expandTemplate(raw);
    const after = rawPipelineIssues(expanded, limits);
    if (after.length > 0) throw new InvalidArgumentError(after);
    spec = parsePipeline(expanded);
  } catch (err) {
    if (err instanceof PipelineSpecError || err instanceof TemplateError) throw new InvalidArgumentError(err.issues);
    throw err;
  }
  const issues: string[] = [...resourceIssues(spec.resources, limits)];
  for (const stage of spec.stages) {
    issues.push(...resourceIssues(stage.resources, limits, `stages.${stage.name}.resources`));
    const kind = stageKindOf(stage);
    const params = withoutRefs(stage.params) as Record<string, unknown>;
    const sweep = stage.sweep ? (withoutRefs(stage.sweep) as Record<string, unknown>) : undefined;
    const child = kind.childSpec(stage, { params, ...(sweep ? { sweep } : {}) }, spec);
    try {
      validateSweep(child, { limits });
    } catch (err) {
      if (!(err instanceof InvalidArgumentError)) throw err;
      const field = stage.sweep ? 'sweep' : 'params';
      for (const issue of err.issues) issues.push(`stages.${stage.name}.${field}: ${issue.replace(/^trial\./, '')}`);
    }
  }
  if (issues.length > 0) throw new InvalidArgumentError(issues);
  return spec;
}

/**
 * The value with every field that holds a `${stages...}` reference left out — except under
 * `options`, where tasks' own validators recognise (and skip) unresolved references.
 */
function withoutRefs(value: unknown, key?: string): unknown {
  if (key === 'options') return value;
  if (typeof value === 'string') return value.includes('${stages.') ? undefined : value;
  if (Array.isArray(value)) return value.some((v) => withoutRefs(v) === undefined) ? undefined : value;
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      const kept = withoutRefs(v, k);
      if (kept !== undefined) out[k] = kept;
    }
    return out;
  }
  return value;
}

export function validateSweep(raw: unknown, options: ValidateOptions = {}): SweepSpec {
  const limits = options.limits ?? DEFAULT_LIMITS;
  const tooMany = rawSweepIssues(raw, limits);
  if (tooMany.length > 0) throw new InvalidArgumentError(tooMany);
  const parsed = sweepSpecSchema.safeParse(raw);
  if (!parsed.success) throw new InvalidArgumentError(formatIssues(parsed.error));
  const spec = parsed.data;
  const issues: string[] = [];
  // A task that reports another headline metric (embed: val_recall_at_1) supplies the objective.
  const rawTrial = (raw as { trial?: { objective?: unknown } }).trial;
  const taskObjective = spec.trial.runtime === 'tfjs' ? defaultObjectiveOf(spec.trial.task) : undefined;
  if (rawTrial?.objective === undefined && taskObjective) spec.trial.objective = { ...taskObjective };

  const objectives = objectivesOf(spec.trial);
  issues.push(...objectiveIssues(spec, objectives.length));
  const { algorithm, seed, space, replicates: _replicates, ...searchSettings } = spec.search;
  let gridSize: number | undefined;
  try {
    const search = createSearch(algorithm, { space, seed, settings: searchSettings, objectives: objectives.length });
    if ('size' in search && typeof search.size === 'number') gridSize = search.size;
  } catch (err) {
    issues.push(messageOf(err));
  }
  issues.push(...sweepIssues(spec, limits, gridSize));
  const { type, ...schedulerSettings } = spec.scheduler;
  try {
    createScheduler(type, { settings: schedulerSettings, seed, maxSteps: spec.trial.epochs, space });
  } catch (err) {
    issues.push(messageOf(err));
  }

  if (spec.trial.runtime === 'command') {
    if (!spec.trial.command) issues.push('trial.command: required when trial.runtime is command');
  } else if (!options.skipTaskChecks) {
    for (const problem of validateTaskConfig(spec.trial)) issues.push(problem);
  }
  issues.push(...validateLossSpace(spec));
  if (issues.length > 0) throw new InvalidArgumentError(issues);
  return spec;
}

/**
 * Multi-objective rules: the reference point has one value per objective, and no scheduler
 * that ranks trials by one number (ASHA, Hyperband, median, PBT) runs a multi-objective sweep —
 * refused rather than silently pruning on one objective (README "Multi-objective search").
 */
function objectiveIssues(spec: SweepSpec, count: number): string[] {
  const issues: string[] = [];
  const reference = spec.trial.objectiveReference;
  if (reference && reference.length !== count) {
    issues.push(
      count === 1
        ? 'trial.objectiveReference: only for a list of objectives (trial.objective has one)'
        : `trial.objectiveReference: needs ${count} values, one per objective, got ${reference.length}`,
    );
  }
  if (count > 1 && spec.scheduler.type !== 'fifo') {
    issues.push(
      `scheduler.type: ${spec.scheduler.type} ranks trials by one number and trial.objective lists ${count} objectives; ` +
        'a multi-objective sweep runs every trial to the end (allowed: fifo)',
    );
  }
  return issues;
}

/** Every loss a sweep can pick must exist, and every swept `loss.X` must be a param of one. */
function validateLossSpace(spec: SweepSpec): string[] {
  if (spec.trial.runtime === 'command') return [];
  const issues: string[] = [];
  const lossDomain = spec.search.space.loss;
  const choices: Params[] = lossDomain?.kind === 'choice' ? lossDomain.values.map((value) => ({ loss: value })) : [{}];
  const swept = Object.keys(spec.search.space).filter((key) => key.startsWith('loss.'));
  const paramsSeen = new Set<string>();
  for (const params of choices) {
    const config = resolveTrialConfig(spec.trial, params);
    try {
      const { descriptor } = resolveLossParams(config.loss as string | { name: string });
      for (const p of descriptor.params) paramsSeen.add(p.name);
    } catch (err) {
      issues.push(`${lossDomain ? 'search.space.loss' : 'trial.loss'}: ${messageOf(err)}`);
    }
  }
  for (const key of swept) {
    const param = key.slice('loss.'.length);
    if (issues.length === 0 && !paramsSeen.has(param)) {
      issues.push(`search.space.${key}: none of the losses this sweep can choose has a param "${param}"`);
    }
  }
  return issues;
}
