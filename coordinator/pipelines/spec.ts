/**
 * The Pipeline spec (`kind: Pipeline`): a DAG of stages, each a task or a whole sweep, whose
 * params may reference earlier stages' results. Validated before anything runs: unknown stage,
 * cycle, reference to a stage not in `needs`, reference to an output the stage kind does not
 * produce — each an error naming the stage and the field.
 */
import { z } from 'zod';
import { resourcesSchema } from '../../shared/spec/schema.js';
import { formatIssues } from '../../shared/spec/load.js';
import { findRefs, type StageRef } from './refs.js';
import { stageKindOf } from './stage-kinds/registry.js';

const stageName = z.string().regex(/^[A-Za-z0-9_-]{1,60}$/, 'must be 1-60 letters, digits, "_" or "-"');

export const stageSchema = z.strictObject({
  name: stageName,
  needs: z.array(stageName).default([]),
  /** A task stage: runs one trial (`runtime`, `task` or `command`, trial fields in `params`). */
  runtime: z.enum(['tfjs', 'command']).optional(),
  task: z.string().min(1).optional(),
  command: z.array(z.string()).min(1).optional(),
  /** Trial fields (dotted names set nested ones, e.g. `options.rho`); values may hold `${stages...}` references. */
  params: z.record(z.string(), z.unknown()).default({}),
  /** A sweep stage: a full sweep (trial, search, scheduler, budget, resources); its best trial is the result. */
  sweep: z.looseObject({ trial: z.record(z.string(), z.unknown()) }).optional(),
  resources: resourcesSchema.optional(),
  /**
   * Retry policy: attempts of the stage's trial (a failed or lost attempt is retried, resuming
   * from its checkpoint) before the stage — and so the pipeline — fails.
   */
  retry: z.strictObject({ attempts: z.number().int().min(1).max(10).default(3) }).default({ attempts: 3 }),
});

export const pipelineSpecSchema = z.strictObject({
  apiVersion: z.literal('trellis/v1', { error: 'must be trellis/v1' }),
  kind: z.literal('Pipeline'),
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/, 'must be 1-100 letters, digits, ".", "_" or "-"'),
  description: z.string().optional(),
  /** A built-in pipeline (asteroid, useful) expanded into stages with `params`. */
  template: z.string().min(1).optional(),
  params: z.record(z.string(), z.unknown()).optional(),
  stages: z.array(stageSchema).min(1).optional(),
  resources: resourcesSchema.default({ cpus: 1, gpus: 0, gpuPacking: 'measure' }),
  /** Reuse the outputs of a finished stage whose resolved inputs match (default true). */
  cache: z.boolean().default(true),
});

export type PipelineStage = z.output<typeof stageSchema>;
export type PipelineSpec = z.output<typeof pipelineSpecSchema> & { stages: PipelineStage[] };

export class PipelineSpecError extends Error {
  constructor(readonly issues: string[]) {
    super(issues.join('\n'));
  }
}

/** Parses the structure and checks the DAG and every reference. Templates must be expanded first. */
export function parsePipeline(raw: unknown): PipelineSpec {
  const parsed = pipelineSpecSchema.safeParse(raw);
  if (!parsed.success) throw new PipelineSpecError(formatIssues(parsed.error));
  const spec = parsed.data;
  if (!spec.stages) throw new PipelineSpecError(['stages: required (or a template)']);
  const issues: string[] = [];
  const byName = new Map<string, { stage: PipelineStage; index: number }>();
  spec.stages.forEach((stage, index) => {
    if (byName.has(stage.name)) issues.push(`stages[${index}].name: duplicate stage name "${stage.name}"`);
    byName.set(stage.name, { stage, index });
  });

  for (const [index, stage] of spec.stages.entries()) {
    const at = `stages.${stage.name}`;
    const isSweep = stage.sweep !== undefined;
    if (isSweep && (stage.runtime || stage.task || stage.command)) {
      issues.push(`${at}: a stage is either a task (runtime, task, command) or a sweep, not both`);
    }
    if (!isSweep && !stage.task && !stage.command) issues.push(`${at}: needs a task, a command or a sweep`);
    for (const need of stage.needs) {
      if (!byName.has(need)) issues.push(`${at}.needs: unknown stage "${need}"`);
      if (need === stage.name) issues.push(`${at}.needs: a stage cannot need itself`);
    }
    const where = isSweep ? stage.sweep : stage.params;
    const field = isSweep ? 'sweep' : 'params';
    for (const { ref, at: path } of findRefs(where)) {
      const fieldPath = [`${at}.${field}`, ...path].join('.');
      if ('invalid' in ref) {
        issues.push(`${fieldPath}: ${ref.invalid}`);
        continue;
      }
      issues.push(...checkRef(ref, stage, fieldPath, byName));
    }
    void index;
  }
  const cycle = findCycle(spec.stages);
  if (cycle) issues.push(`stages: the needs form a cycle: ${cycle.join(' -> ')}`);
  if (issues.length > 0) throw new PipelineSpecError(issues);
  return spec as PipelineSpec;
}

function checkRef(
  ref: StageRef,
  stage: PipelineStage,
  fieldPath: string,
  byName: Map<string, { stage: PipelineStage }>,
): string[] {
  const target = byName.get(ref.stage)?.stage;
  if (!target) return [`${fieldPath}: ${ref.text} names unknown stage "${ref.stage}"`];
  if (!stage.needs.includes(ref.stage)) {
    return [`${fieldPath}: ${ref.text} refers to stage "${ref.stage}", which is not in stages.${stage.name}.needs`];
  }
  const kind = stageKindOf(target);
  if (ref.section === 'best') {
    if (!kind.hasBest)
      return [
        `${fieldPath}: ${ref.text}: stage "${ref.stage}" is a ${kind.name} stage and has no best trial (only sweep stages do)`,
      ];
    const [part] = ref.path;
    if (part !== 'params' && part !== 'value' && part !== 'metric' && part !== 'trialId') {
      return [`${fieldPath}: ${ref.text}: best has params.NAME, value, metric and trialId`];
    }
    return [];
  }
  if (ref.section === 'outputs') {
    const outputs = kind.outputs(target);
    const key = ref.path[0];
    if (!key) return [`${fieldPath}: ${ref.text}: name the output (outputs.KEY)`];
    if (outputs !== '*' && !outputs.includes(key)) {
      return [
        `${fieldPath}: ${ref.text}: stage "${ref.stage}" (${kind.describe(target)}) does not produce output "${key}"; it produces: ${outputs.join(', ') || 'none'}`,
      ];
    }
  }
  if (ref.section === 'metrics' && ref.path.length === 0)
    return [`${fieldPath}: ${ref.text}: name the metric (metrics.NAME)`];
  return [];
}

/** A cycle in the needs graph as a list of stage names, or undefined. */
export function findCycle(stages: readonly PipelineStage[]): string[] | undefined {
  const needs = new Map(stages.map((s) => [s.name, s.needs]));
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const visit = (name: string): string[] | undefined => {
    if (state.get(name) === 'done') return undefined;
    if (state.get(name) === 'visiting') return [...stack.slice(stack.indexOf(name)), name];
    state.set(name, 'visiting');
    stack.push(name);
    for (const next of needs.get(name) ?? []) {
      if (!needs.has(next)) continue;
      const cycle = visit(next);
      if (cycle) return cycle;
    }
    stack.pop();
    state.set(name, 'done');
    return undefined;
  };
  for (const stage of stages) {
    const cycle = visit(stage.name);
    if (cycle) return cycle;
  }
  return undefined;
}
