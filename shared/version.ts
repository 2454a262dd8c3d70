import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { projectRoot } from './paths.js';

let cachedVersion: string | undefined;
let cachedCode: string | undefined;

/** The package version. */
export function trellisVersion(): string {
  cachedVersion ??= (JSON.parse(readFileSync(join(projectRoot(), 'package.json'), 'utf8')) as { version: string })
    .version;
  return cachedVersion;
}

function jsFiles(dir: string, out: string[]): string[] {
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (name === 'test' || name === 'bench' || name === 'node_modules') continue;
    if (statSync(path).isDirectory()) jsFiles(path, out);
    else if (name.endsWith('.js')) out.push(path);
  }
  return out;
}

/**
 * The code version recorded with every trial and hashed into pipeline cache keys: the package
 * version plus a hash of the running build (the compiled coordinator, worker and shared code),
 * so a changed build never reuses a cached stage result. Computed once per process.
 */
export function codeVersion(): string {
  if (cachedCode) return cachedCode;
  const buildRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
  const hash = createHash('sha256');
  for (const folder of ['coordinator', 'worker', 'shared', 'client']) {
    let files: string[] = [];
    try {
      files = jsFiles(join(buildRoot, folder), []);
    } catch {
      continue;
    }
    for (const file of files) hash.update(file.slice(buildRoot.length)).update(readFileSync(file));
  }
  cachedCode = `${trellisVersion()}+${hash.digest('hex').slice(0, 12)}`;
  return cachedCode;
}
