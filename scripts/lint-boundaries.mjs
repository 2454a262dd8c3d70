// Import boundaries between the top-level folders, as an ESLint rule (`trellis/boundaries`).
//
// Each relative import is resolved against the importing file and classified by its top-level
// folder; the rule reports any import of one of our folders that the importer's layer may not use.
// It sees static imports, `import type`, `export … from`, `import()` and `require()` with a string
// literal, and TypeScript `import('…')` types. A dynamic import of a computed string is not seen.
// Importing the package by its own name ("trellis/…") is reported in layered folders, since the
// rule could not tell which folder it reaches.
//
// Used by eslint.config.js and by test/unit/lint-boundaries.test.ts (which shows it failing).
import path from 'node:path';

/** The project root: this file lives in scripts/. */
export const ROOT = path.resolve(import.meta.dirname, '..');

/** Our top-level source folders. An import that resolves outside them is not checked here. */
export const FOLDERS = ['shared', 'coordinator', 'worker', 'client', 'cli', 'bench', 'test'];

/** Layer → the folders (other than itself) it may import. A layer may always import itself. */
export const LAYERS = {
  shared: [],
  coordinator: ['shared'],
  worker: ['shared'],
  client: ['shared'],
  cli: ['shared', 'coordinator', 'worker', 'client'],
  bench: ['shared', 'coordinator', 'worker', 'client', 'cli'],
  test: ['shared', 'coordinator', 'worker', 'client', 'cli', 'bench'],
};

const PACKAGE_NAME = 'trellis';

function topFolder(absolute) {
  const rel = path.relative(ROOT, absolute);
  if (rel.startsWith('..') || path.isAbsolute(rel)) return undefined;
  const first = rel.split(path.sep)[0];
  return FOLDERS.includes(first) ? first : undefined;
}

const boundaries = {
  meta: {
    type: 'problem',
    docs: {
      description: 'Keep imports between shared/, coordinator/, worker/, client/, cli/, bench/ and test/ layered',
    },
    schema: [
      {
        type: 'object',
        additionalProperties: { type: 'array', items: { type: 'string' } },
      },
    ],
    messages: {
      forbidden: '{{from}}/ may not import {{to}}/ ("{{source}}"); {{from}}/ may import only: {{allowed}}.',
      selfReference:
        'import "{{source}}" by relative path: the boundary rule cannot tell which folder the package name reaches.',
    },
  },
  create(context) {
    const layers = context.options[0] ?? LAYERS;
    const filename = path.resolve(context.cwd ?? ROOT, context.filename);
    const from = topFolder(filename);
    if (from === undefined || layers[from] === undefined) return {};
    const allowed = layers[from];

    function check(node, source) {
      if (typeof source !== 'string') return;
      if (source === PACKAGE_NAME || source.startsWith(`${PACKAGE_NAME}/`)) {
        context.report({ node, messageId: 'selfReference', data: { source } });
        return;
      }
      if (!source.startsWith('.') && !source.startsWith('/')) return; // a package, not ours
      const to = topFolder(path.resolve(path.dirname(filename), source));
      if (to === undefined || to === from || allowed.includes(to)) return;
      context.report({
        node,
        messageId: 'forbidden',
        data: { from, to, source, allowed: allowed.length > 0 ? allowed.map((f) => `${f}/`).join(', ') : 'nothing' },
      });
    }
    const fromSource = (node) => {
      if (node.source) check(node.source, node.source.value);
    };
    return {
      ImportDeclaration: fromSource,
      ExportAllDeclaration: fromSource,
      ExportNamedDeclaration: fromSource,
      ImportExpression(node) {
        if (node.source.type === 'Literal') check(node.source, node.source.value);
      },
      CallExpression(node) {
        const [arg] = node.arguments;
        if (node.callee.type === 'Identifier' && node.callee.name === 'require' && arg?.type === 'Literal') {
          check(arg, arg.value);
        }
      },
      TSImportType(node) {
        // typescript-eslint 8: `argument` is a TSLiteralType wrapping the string literal.
        const literal = node.argument?.literal ?? node.argument;
        if (literal?.type === 'Literal') check(literal, literal.value);
      },
      TSExternalModuleReference(node) {
        if (node.expression.type === 'Literal') check(node.expression, node.expression.value);
      },
    };
  },
};

export const plugin = { meta: { name: 'trellis' }, rules: { boundaries } };

/** The flat-config entries that put the rule in force (no parser: callers add theirs). */
export const boundariesConfig = [
  {
    files: ['**/*.{ts,mts,cts,js,mjs}'],
    plugins: { trellis: plugin },
    rules: { 'trellis/boundaries': ['error', LAYERS] },
  },
];
