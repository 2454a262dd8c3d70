/**
 * The dashboard's JSON API of a coordinator started with `--tokens` and `--http` (real process):
 * the same tokens as gRPC, 401/403 otherwise, and no trial.env value in what it returns.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { TrellisClient } from '../../client/index.js';
import { stopChild } from '../../cli/embedded.js';
import { cli, startCoordinatorProcess } from '../helpers/secure.js';

const SECRET = `http-secret-${Date.now()}`;

describe('security: the dashboard API behind tokens', () => {
  let dir: string;
  let coordinator: ChildProcess;
  let base: string;
  let experimentId: string;
  const tokens: Record<string, string> = {};

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'trellis-sec-http-'));
    const file = join(dir, 'tokens.json');
    for (const [name, role] of [
      ['ann', 'submitter'],
      ['vic', 'viewer'],
      ['wkr', 'worker'],
    ] as const) {
      const made = await cli(['token', 'create', '--tokens', file, '--name', name, '--role', role]);
      assert.equal(made.code, 0, made.stderr);
      tokens[name] = made.stdout.trim();
    }
    const started = await startCoordinatorProcess([
      '--listen',
      '127.0.0.1:0',
      '--http',
      '127.0.0.1:0',
      '--tokens',
      file,
      '--dir',
      join(dir, 'state'),
    ]);
    coordinator = started.child;
    const url = /DASHBOARD (\S+)/.exec(started.log())?.[1];
    assert.ok(url, `no dashboard URL in ${started.log().slice(-500)}`);
    base = url.replace(/\/$/, '');
    const client = new TrellisClient(`127.0.0.1:${started.port}`, { token: tokens.ann!, timeoutMs: 20_000 });
    try {
      const { experiment } = await client.submit(
        JSON.stringify({
          apiVersion: 'trellis/v1',
          kind: 'Sweep',
          name: 'http-secret',
          trial: {
            runtime: 'command',
            command: [process.execPath, '-e', '0'],
            env: { TOKEN: SECRET },
            objective: { metric: 'val_score', mode: 'max' },
          },
          search: { algorithm: 'random', seed: 1, space: { x: { uniform: [0, 1] } } },
          budget: { trials: 1, concurrency: 1, maxAttempts: 1 },
        }),
      );
      experimentId = experiment.id;
    } finally {
      client.close();
    }
  });

  after(async () => {
    if (coordinator) await stopChild(coordinator, 5000);
    rmSync(dir, { recursive: true, force: true });
  });

  const get = (path: string, token?: string) =>
    fetch(`${base}${path}`, {
      headers: token ? { authorization: `Bearer ${token}` } : {},
      signal: AbortSignal.timeout(20_000),
    });

  it('answers 401 without or with an unknown token, 403 to a worker token', async () => {
    assert.equal((await get('/api/experiments')).status, 401);
    assert.equal((await get('/api/experiments', 'trellis_forged')).status, 401);
    assert.equal((await get(`/api/experiments/${experimentId}`)).status, 401);
    assert.equal((await get('/api/experiments', tokens.wkr)).status, 403);
  });

  it('serves readers, with trial.env values redacted', async () => {
    const list = await get('/api/experiments', tokens.vic);
    assert.equal(list.status, 200);
    const listText = await list.text();
    assert.ok(listText.includes(experimentId));
    assert.ok(!listText.includes(SECRET), 'the list leaks the secret');
    const one = await get(`/api/experiments/${experimentId}`, tokens.vic);
    assert.equal(one.status, 200);
    const body = (await one.json()) as { experiment: { spec: { trial: { env: unknown } }; owner?: string } };
    assert.deepEqual(body.experiment.spec.trial.env, { TOKEN: '[redacted]' });
    assert.equal(body.experiment.owner, 'ann');
  });
});
