// The import-boundary rule, shown failing: ESLint's Node API lints snippets as if they lived at
// given paths, with the boundary entries of eslint.config.js (scripts/lint-boundaries.mjs) and
// the TypeScript parser, without the type-aware rules, so it stays fast.
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ESLint, type Linter } from 'eslint';
import tseslint from 'typescript-eslint';

// dist/test/unit/ → the repository root.
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

let eslint: ESLint;

before(async () => {
  const mod = (await import(pathToFileURL(join(ROOT, 'scripts', 'lint-boundaries.mjs')).href)) as {
    boundariesConfig: Linter.Config[];
  };
  eslint = new ESLint({
    cwd: ROOT,
    overrideConfigFile: true,
    overrideConfig: [
      { files: ['**/*.ts'], languageOptions: { parser: tseslint.parser as Linter.Parser } },
      ...mod.boundariesConfig,
    ],
  });
});

/** The boundary messages ESLint reports for `code` placed at `filePath`. */
async function boundaryErrors(code: string, filePath: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath });
  assert.ok(result, 'ESLint returned no result');
  const fatal = result.messages.filter((m) => m.fatal);
  assert.deepEqual(fatal, [], `parse error in the snippet for ${filePath}`);
  return result.messages.filter((m) => m.ruleId === 'trellis/boundaries').map((m) => m.message);
}

describe('import boundaries (ESLint rule trellis/boundaries)', () => {
  it('fails coordinator/ importing worker/, naming both folders and what is allowed', async () => {
    const errors = await boundaryErrors(
      "import { WorkerAgent } from '../worker/agent.js';\nexport const A = WorkerAgent;\n",
      'coordinator/x.ts',
    );
    assert.equal(errors.length, 1);
    assert.match(
      errors[0]!,
      /^coordinator\/ may not import worker\/ \("\.\.\/worker\/agent\.js"\); .*only: shared\/\.$/,
    );
  });

  it('passes coordinator/ importing shared/ and itself', async () => {
    const code =
      "import { toGrpcError } from '../shared/errors.js';\n" +
      "import { Coordinator } from './coordinator.js';\n" +
      'export const A = [toGrpcError, Coordinator];\n';
    assert.deepEqual(await boundaryErrors(code, 'coordinator/x.ts'), []);
  });

  it('sees type-only imports, re-exports, dynamic import() and nested folders', async () => {
    const code =
      "import type { AgentOptions } from '../../worker/agent.js';\n" +
      "export * from '../../worker/losses/index.js';\n" +
      "export async function f(): Promise<unknown> { return import('../../worker/agent.js'); }\n" +
      'export type O = AgentOptions;\n';
    const errors = await boundaryErrors(code, 'coordinator/search/x.ts');
    assert.equal(errors.length, 3, errors.join('\n'));
    for (const e of errors) assert.match(e, /^coordinator\/ may not import worker\//);
  });

  it('fails worker/ → coordinator/, shared/ → anything of ours, client/ → coordinator/', async () => {
    const cases: [string, string, RegExp][] = [
      ["import '../coordinator/coordinator.js';", 'worker/x.ts', /^worker\/ may not import coordinator\//],
      [
        "import '../../coordinator/server.js';",
        'shared/spec/x.ts',
        /^shared\/ may not import coordinator\/.*only: nothing/,
      ],
      ["import '../worker/agent.js';", 'shared/x.ts', /^shared\/ may not import worker\//],
      ["import '../client/index.js';", 'shared/x.ts', /^shared\/ may not import client\//],
      ["import '../coordinator/server.js';", 'client/x.ts', /^client\/ may not import coordinator\//],
      ["import '../worker/agent.js';", 'client/x.ts', /^client\/ may not import worker\//],
      ["import '../cli/main.js';", 'coordinator/x.ts', /^coordinator\/ may not import cli\//],
    ];
    for (const [code, filePath, expected] of cases) {
      const errors = await boundaryErrors(code, filePath);
      assert.equal(errors.length, 1, `${filePath}: ${code} → ${errors.join('; ')}`);
      assert.match(errors[0]!, expected);
    }
  });

  it('passes what the layering allows: cli, bench and test import all; client imports shared', async () => {
    const all =
      "import '../shared/errors.js';\nimport '../coordinator/server.js';\n" +
      "import '../worker/agent.js';\nimport '../client/index.js';\n";
    assert.deepEqual(await boundaryErrors(all, 'cli/x.ts'), []);
    assert.deepEqual(await boundaryErrors(all + "import '../cli/main.js';\n", 'bench/x.ts'), []);
    assert.deepEqual(await boundaryErrors(all.replaceAll('../', '../../'), 'test/unit/x.test.ts'), []);
    assert.deepEqual(await boundaryErrors("import '../shared/errors.js';\nimport 'zod';\n", 'client/x.ts'), []);
  });

  it('reports importing the package by its own name, which the rule cannot place', async () => {
    const errors = await boundaryErrors("import 'trellis/losses';", 'coordinator/x.ts');
    assert.equal(errors.length, 1);
    assert.match(errors[0]!, /by relative path/);
  });

  it('holds validate.ts and loss-params.ts to the rule like the rest of coordinator/ (no exception)', async () => {
    const code = "import { resolveLoss } from '../../worker/losses/index.js';\nexport const r = resolveLoss;\n";
    for (const file of ['coordinator/experiments/validate.ts', 'coordinator/experiments/loss-params.ts']) {
      const errors = await boundaryErrors(code, file);
      assert.equal(errors.length, 1, `${file}: ${errors.join('; ')}`);
      assert.match(errors[0]!, /^coordinator\/ may not import worker\//);
    }
    const catalogue =
      "import { resolveLossParams } from '../../shared/catalogue/loss-params.js';\nexport const r = resolveLossParams;\n";
    assert.deepEqual(await boundaryErrors(catalogue, 'coordinator/experiments/validate.ts'), []);
  });
});
