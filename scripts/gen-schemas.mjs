// Writes schemas/*.json from the zod schemas (build first: npm run schemas does both).
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { jsonSchemas } = await import(join(root, 'dist/shared/json-schemas.js'));
const { pipelineSpecSchema } = await import(join(root, 'dist/coordinator/pipelines/spec.js'));
mkdirSync(join(root, 'schemas'), { recursive: true });
for (const [name, schema] of Object.entries(jsonSchemas(pipelineSpecSchema))) {
  writeFileSync(join(root, 'schemas', name), `${JSON.stringify(schema, null, 2)}\n`);
  process.stdout.write(`schemas/${name}\n`);
}
