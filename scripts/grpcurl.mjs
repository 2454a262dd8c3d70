/**
 * grpcurl, the reflection client the reflection tests drive: built with `go install` from the Go
 * module proxy into GOPATH/bin the first time (like FerretDB in services.mjs), then reused.
 * GRPCURL_BIN overrides. `node scripts/grpcurl.mjs` builds it and prints the path.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

export const GRPCURL_VERSION = 'v1.9.3';
const GRPCURL_MODULE = 'github.com/fullstorydev/grpcurl/cmd/grpcurl';

function works(bin) {
  if (!existsSync(bin)) return false;
  // `go install` builds report "dev build"; the module version is in the binary's build info.
  const r = spawnSync(bin, ['-version'], { encoding: 'utf8', timeout: 20_000 });
  return r.status === 0 && `${r.stdout}${r.stderr}`.includes('grpcurl');
}

/** The path of a working grpcurl of GRPCURL_VERSION, building it if needed; throws with what to do. */
export function ensureGrpcurl() {
  if (process.env.GRPCURL_BIN) {
    if (!works(process.env.GRPCURL_BIN))
      throw new Error(`GRPCURL_BIN=${process.env.GRPCURL_BIN} does not run as grpcurl`);
    return process.env.GRPCURL_BIN;
  }
  const goAvailable = spawnSync('go', ['version'], { encoding: 'utf8' }).status === 0;
  const gopath = goAvailable
    ? execFileSync('go', ['env', 'GOPATH'], { encoding: 'utf8' }).trim().split(':')[0]
    : join(process.env.HOME ?? '/root', 'go');
  const bin = join(gopath, 'bin', 'grpcurl');
  if (works(bin)) return bin;
  if (!goAvailable) throw new Error('grpcurl is not built and Go is not installed: install Go, or set GRPCURL_BIN');
  process.stderr.write(`building grpcurl ${GRPCURL_VERSION} into ${bin} (a minute or two the first time)\n`);
  execFileSync('go', ['install', `${GRPCURL_MODULE}@${GRPCURL_VERSION}`], {
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, CGO_ENABLED: '0' },
    timeout: 15 * 60_000,
  });
  if (!works(bin)) throw new Error(`go install finished but ${bin} does not run`);
  return bin;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) process.stdout.write(`${ensureGrpcurl()}\n`);
