/**
 * validateSpec: the one gate between user input and the store. Parses the text, checks the
 * schema (zod), then everything that needs a registry: search algorithm and its settings,
 * scheduler and its settings, task config, loss names and params. Throws InvalidArgumentError
 * with every problem found, each naming its path.
 */
import { sweepSpecSchema, type SweepSpec } from '../../shared/spec/schema.js';
import { formatIssues, parseSpecText, SpecError } from '../../shared/spec/load.js';
import { InvalidArgumentError } from '../../shared/errors.js';
import { createSearch } from '../search/registry.js';
import { createScheduler } from '../schedulers/registry.js';
import { validateTaskConfig } from '../../worker/tasks/registry.js';
import { resolveLoss } from '../../worker/losses/index.js';
import type { Params } from '../../shared/spec/space.js';
import { resolveTrialConfig } from '../../shared/spec/resolve.js';

export type ValidatedSpec = SweepSpec;

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export function validateSpecText(text: string): ValidatedSpec {
  try {
    return validateSpec(parseSpecText(text));
  } catch (err) {
    if (err instanceof SpecError) throw new InvalidArgumentError(err.issues);
    throw err;
  }
}

export function validateSpec(raw: unknown): ValidatedSpec {
  const kind = (raw as { kind?: unknown } | null)?.kind;
  if (kind === 'Pipeline') {
    throw new InvalidArgumentError(['kind: Pipeline specs are not supported by this coordinator yet']);
  }
  const parsed = sweepSpecSchema.safeParse(raw);
  if (!parsed.success) throw new InvalidArgumentError(formatIssues(parsed.error));
  const spec = parsed.data;
  const issues: string[] = [];

  const { algorithm, seed, space, replicates: _replicates, ...searchSettings } = spec.search;
  try {
    createSearch(algorithm, { space, seed, settings: searchSettings });
  } catch (err) {
    issues.push(messageOf(err));
  }
  const { type, ...schedulerSettings } = spec.scheduler;
  try {
    createScheduler(type, { settings: schedulerSettings, seed, maxSteps: spec.trial.epochs, space });
  } catch (err) {
    issues.push(messageOf(err));
  }

  if (spec.trial.runtime === 'command') {
    if (!spec.trial.command) issues.push('trial.command: required when trial.runtime is command');
  } else {
    for (const problem of validateTaskConfig(spec.trial)) issues.push(problem);
  }
  issues.push(...validateLossSpace(spec));
  if (issues.length > 0) throw new InvalidArgumentError(issues);
  return spec;
}

/** Every loss a sweep can pick must exist, and every swept `loss.X` must be a param of one. */
function validateLossSpace(spec: SweepSpec): string[] {
  if (spec.trial.runtime === 'command') return [];
  const issues: string[] = [];
  const lossDomain = spec.search.space.loss;
  const choices: Params[] =
    lossDomain?.kind === 'choice'
      ? lossDomain.values.map((value) => ({ loss: value }))
      : [{}];
  const swept = Object.keys(spec.search.space).filter((key) => key.startsWith('loss.'));
  const paramsSeen = new Set<string>();
  for (const params of choices) {
    const config = resolveTrialConfig(spec.trial, params);
    try {
      const { definition } = resolveLoss(config.loss as string | { name: string });
      for (const p of definition.params) paramsSeen.add(p.name);
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
