#!/usr/bin/env node
// Bundles the dashboard (web/) into dist/web with esbuild: app.js/app.css served by the
// coordinator's --http server, report.js/report.css inlined into `trellis report --html`.
// Every library is bundled (no CDN): the pages work offline.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outdir = join(root, 'dist', 'web');
mkdirSync(outdir, { recursive: true });
const result = await build({
  entryPoints: { app: join(root, 'web/src/app.ts'), report: join(root, 'web/src/report.ts') },
  bundle: true,
  minify: true,
  format: 'iife',
  target: 'es2020',
  outdir,
  metafile: true,
  logLevel: 'warning',
  legalComments: 'none',
});
copyFileSync(join(root, 'web/index.html'), join(outdir, 'index.html'));
for (const [file, info] of Object.entries(result.metafile.outputs)) {
  process.stderr.write(`${file.replace(/^.*dist\//, 'dist/')}  ${(info.bytes / 1024).toFixed(0)} kB\n`);
}
