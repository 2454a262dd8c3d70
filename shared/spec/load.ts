/** Parsing spec text (YAML or JSON) and turning zod issues into `path: rule` messages. */
import { isScalar, LineCounter, parseDocument, visit, YAMLParseError } from 'yaml';
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
    const doc = parseJsonOrYaml(text);
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

/**
 * JSON text (what a structured spec and most programs send) goes through JSON.parse, YAML through
 * the yaml parser; both refuse duplicate keys in one linear pass. (yaml's own `uniqueKeys` check
 * compares every key of a mapping with every other: quadratic in the keys of one mapping.)
 */
function parseJsonOrYaml(text: string): unknown {
  if (/^\s*\{/.test(text)) {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      value = undefined; // not JSON after all: read it as YAML (flow style), errors from there
    }
    if (value !== undefined) {
      const duplicate = jsonDuplicateKey(text);
      if (duplicate) throw new SpecError([`spec: duplicate key "${duplicate.key}" at line ${duplicate.line}`]);
      return value;
    }
  }
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: false, lineCounter });
  if (doc.errors.length > 0) throw doc.errors[0]!;
  visit(doc, {
    Map(_, map) {
      const seen = new Set<string>();
      for (const pair of map.items) {
        if (!isScalar(pair.key)) continue;
        const key = String(pair.key.value);
        if (seen.has(key)) {
          const line = pair.key.range ? lineCounter.linePos(pair.key.range[0]).line : 0;
          throw new SpecError([`spec: duplicate key "${key}" at line ${line}`]);
        }
        seen.add(key);
      }
    },
  });
  return doc.toJS();
}

/** The first key that appears twice in one object of valid JSON text, with its line. */
function jsonDuplicateKey(text: string): { key: string; line: number } | undefined {
  const objects: (Set<string> | undefined)[] = [];
  let line = 1;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '\n') line++;
    else if (c === '{') objects.push(new Set());
    else if (c === '[') objects.push(undefined);
    else if (c === '}' || c === ']') objects.pop();
    else if (c === '"') {
      let end = i + 1;
      while (text[end] !== '"') end += text[end] === '\\' ? 2 : 1;
      const keys = objects[objects.length - 1];
      let next = end + 1;
      while (/\s/.test(text[next] ?? '')) next++;
      if (keys && text[next] === ':') {
        const key = JSON.parse(text.slice(i, end + 1)) as string;
        if (keys.has(key)) return { key, line };
        keys.add(key);
      }
      i = end;
    }
  }
  return undefined;
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
