/**
 * Pipeline templates: `template: NAME` with `params:` expands into stages, so a known pipeline
 * is five lines of spec. `trellis expand SPEC` prints the expansion.
 */
import { asteroidTemplate } from './asteroid.js';
import { chemLabelsTemplate } from './chem-labels.js';
import { usefulTemplate } from './useful.js';
import type { PipelineTemplate } from './base.js';

export { TemplateError } from './base.js';
import { TemplateError } from './base.js';

const TEMPLATES: Record<string, PipelineTemplate> = {
  [asteroidTemplate.name]: asteroidTemplate,
  [chemLabelsTemplate.name]: chemLabelsTemplate,
  [usefulTemplate.name]: usefulTemplate,
};

export function templateNames(): string[] {
  return Object.keys(TEMPLATES).sort();
}

export function getTemplate(name: string): PipelineTemplate | undefined {
  return TEMPLATES[name];
}

/** The spec with `template` + `params` replaced by the template's stages (others unchanged). */
export function expandTemplate(raw: unknown): unknown {
  if (!raw || typeof raw !== 'object' || !('template' in raw)) return raw;
  const { template, params, ...rest } = raw as { template: unknown; params?: unknown } & Record<string, unknown>;
  if (typeof template !== 'string') throw new TemplateError(['template: must be a template name']);
  const found = TEMPLATES[template];
  if (!found)
    throw new TemplateError([`template: unknown template "${template}"; allowed: ${templateNames().join(', ')}`]);
  if ('stages' in rest) throw new TemplateError(['stages: give either a template or stages, not both']);
  if (params !== undefined && (typeof params !== 'object' || params === null || Array.isArray(params))) {
    throw new TemplateError(['params: must be a mapping of template params']);
  }
  return { ...rest, stages: found.expand((params ?? {}) as Record<string, unknown>) };
}
