/**
 * The spec checks against the limit table (shared/limits.ts). Counts that would make the schema
 * itself slow (thousands of parameters, choices or stages) are checked on the raw document, before
 * zod reads it; bounds on numbers are checked on the parsed spec. Each issue names the field, the
 * value and the limit's key.
 */
import { checkMax, memoryBytes, overLimit, type Limits } from '../../shared/limits.js';
import type { SweepSpec, Resources } from '../../shared/spec/schema.js';

function record(value: unknown): Record<string, unknown> | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

function descriptionIssues(raw: Record<string, unknown> | undefined, limits: Limits, at = ''): string[] {
  const description = raw?.description;
  if (typeof description === 'string' && description.length > limits.maxDescriptionLength) {
    return [
      `${at}description: ${description.length} characters is more than the limit maxDescriptionLength = ${limits.maxDescriptionLength}`,
    ];
  }
  return [];
}

/** Counts of a raw sweep document that scale the work of validating it: parameters, choices. */
export function rawSweepIssues(raw: unknown, limits: Limits): string[] {
  const doc = record(raw);
  const issues = descriptionIssues(doc, limits);
  const space = record(record(doc?.search)?.space);
  if (!space) return issues;
  const names = Object.keys(space);
  if (names.length > limits.maxParams)
    issues.push(overLimit('search.space (parameters)', names.length, 'maxParams', limits));
  for (const name of names.slice(0, limits.maxParams)) {
    const choice = record(space[name])?.choice;
    if (Array.isArray(choice) && choice.length > limits.maxChoices) {
      issues.push(overLimit(`search.space.${name}.choice (values)`, choice.length, 'maxChoices', limits));
    }
  }
  return issues;
}

/** Stages of a raw pipeline document (before templates expand; again after). */
export function rawPipelineIssues(raw: unknown, limits: Limits): string[] {
  const doc = record(raw);
  const issues = descriptionIssues(doc, limits);
  const stages = doc?.stages;
  if (Array.isArray(stages) && stages.length > limits.maxStages) {
    issues.push(overLimit('stages (count)', stages.length, 'maxStages', limits));
  }
  return issues;
}

/** resources.cpus / gpus / memory / gpuMemory within [minCpus, maxCpus], maxGpus, maxMemoryBytes, maxGpuMemoryBytes. */
export function resourceIssues(resources: Resources | undefined, limits: Limits, at = 'resources'): string[] {
  if (!resources) return [];
  const issues: string[] = [];
  if (resources.cpus < limits.minCpus) {
    issues.push(`${at}.cpus: ${resources.cpus} is less than the limit minCpus = ${limits.minCpus}`);
  }
  issues.push(...checkMax(`${at}.cpus`, resources.cpus, 'maxCpus', limits));
  issues.push(...checkMax(`${at}.gpus`, resources.gpus, 'maxGpus', limits));
  if (resources.memory !== undefined) {
    const bytes = memoryBytes(resources.memory);
    if (!Number.isSafeInteger(bytes) || bytes > limits.maxMemoryBytes) {
      issues.push(
        `${at}.memory: ${JSON.stringify(resources.memory)} (${bytes} bytes) is more than the limit maxMemoryBytes = ${limits.maxMemoryBytes}`,
      );
    }
  }
  if (resources.gpuMemory !== undefined) {
    const bytes = memoryBytes(resources.gpuMemory);
    if (!Number.isSafeInteger(bytes) || bytes < 1 || bytes > limits.maxGpuMemoryBytes) {
      issues.push(
        `${at}.gpuMemory: ${JSON.stringify(resources.gpuMemory)} (${bytes} bytes) must be from 1 byte to the limit maxGpuMemoryBytes = ${limits.maxGpuMemoryBytes}`,
      );
    }
  }
  return issues;
}

/** Bounds on a parsed sweep's numbers. `gridSize` is the search's number of combinations, when it has one. */
export function sweepIssues(spec: SweepSpec, limits: Limits, gridSize?: number): string[] {
  const { budget, trial, search } = spec;
  const issues = [
    ...checkMax('budget.trials', budget.trials, 'maxTrials', limits),
    ...checkMax('budget.concurrency', budget.concurrency, 'maxConcurrency', limits),
    ...checkMax('budget.maxAttempts', budget.maxAttempts, 'maxAttempts', limits),
    ...checkMax('trial.epochs', trial.epochs, 'maxEpochs', limits),
    ...checkMax('trial.stopGraceSeconds', trial.stopGraceSeconds, 'maxStopGraceSeconds', limits),
    ...checkMax('search.replicates', search.replicates, 'maxReplicates', limits),
    ...resourceIssues(spec.resources, limits),
  ];
  // Settings that scale the work of one suggestion, whichever algorithm reads them.
  const candidates = (search as Record<string, unknown>).candidates;
  if (typeof candidates === 'number')
    issues.push(...checkMax('search.candidates', candidates, 'maxCandidates', limits));
  if (gridSize !== undefined && gridSize > limits.maxGridSize) {
    issues.push(overLimit(`search (${search.algorithm} combinations)`, gridSize, 'maxGridSize', limits));
  }
  return issues;
}
