import { z } from 'zod';
import { formatIssues } from '../../../shared/spec/load.js';

export class TemplateError extends Error {
  constructor(readonly issues: string[]) {
    super(issues.join('\n'));
  }
}

/** A built-in pipeline: its params (with defaults) and how they expand into stages. */
export interface PipelineTemplate {
  name: string;
  description: string;
  expand(params: Record<string, unknown>): Record<string, unknown>[];
}

/** Parses template params with a zod schema; errors name `params.FIELD`. */
export function parseParams<S extends z.ZodType>(schema: S, params: Record<string, unknown>): z.output<S> {
  const parsed = schema.safeParse(params);
  if (!parsed.success) throw new TemplateError(formatIssues(parsed.error).map((i) => `params.${i}`));
  return parsed.data;
}
