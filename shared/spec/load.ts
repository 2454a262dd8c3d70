/** Parsing spec text (YAML or JSON) and turning zod issues into `path: rule` messages. */
import { parse as parseYaml, YAMLParseError } from 'yaml';
import type { z } from 'zod';
import { DEFAULT_LIMITS, utf8Bytes, type Limits } from '../limits.js';
import { scanDepth } from './depth.js';

export class SpecError extends Error {
  override readonly name = 'SpecError';
  constructor(readonly issues: string[]) {
    super(issues.join('\n'));
  }
}

/**
 * Parses YAML (a superset of JSON). Syntax errors name the line and column. The text's size and
 * nesting depth are checked first, without the parser (which can run out of memory on deep
 * nesting): over either limit, nothing is parsed.
 */
export function parseSpecText(text: string, limits: Limits = DEFAULT_LIMITS): unknown {
  const bytes = utf8Bytes(text);
  if (bytes > limits.maxSpecBytes) {
    throw new SpecError([`spec: ${bytes} bytes is more than the limit maxSpecBytes = ${limits.maxSpecBytes}`]);
  }
  const { depth, line } = scanDepth(text, limits.maxSpecDepth);
  if (depth > limits.maxSpecDepth) {
    throw new SpecError([
      `spec: nested more than ${limits.maxSpecDepth} levels deep (at line ${line}); the limit is maxSpecDepth = ${limits.maxSpecDepth}`,
    ]);
  }
  try {
    const doc: unknown = parseYaml(text, { prettyErrors: true, uniqueKeys: true });
    if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) {
      throw new SpecError(['spec: must be a YAML or JSON mapping (apiVersion, kind, name, ...)']);
    }
    return doc;
  } catch (err) {
    if (err instanceof SpecError) throw err;
    if (err instanceof YAMLParseError) {
      const where = err.linePos?.[0] ? ` at line ${err.linePos[0].line}, column ${err.linePos[0].col}` : '';
      throw new SpecError([`spec: not valid YAML or JSON${where}: ${err.message.split('\n')[0]}`]);
    }
    throw err;
  }
}

export function formatPath(path: readonly PropertyKey[]): string {
  return path
    .map((part, i) => (typeof part === 'number' ? `[${part}]` : `${i === 0 ? '' : '.'}${String(part)}`))
    .join('');
}

/** `a.b[0].c: message` for each zod issue, unions flattened to their most specific branch. */
export function formatIssues(error: z.ZodError): string[] {
  const lines: string[] = [];
  for (const issue of error.issues) {
    const path = formatPath(issue.path);
    let message = issue.message;
    if (issue.code === 'unrecognized_keys') {
      message = `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.join(', ')}`;
    } else if (issue.code === 'invalid_value' && 'values' in issue && /^Invalid/.test(message)) {
      message = `must be one of ${(issue.values as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
    }
    lines.push(path ? `${path}: ${message}` : message);
  }
  return lines;
}
