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
  let waitingId: string;
  let ownerClient: TrellisClient | undefined;
  const tokens: Record<string, string> = {};

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'trellis-sec-http-'));
    const file = join(dir, 'tokens.json');
    for (const [name, role] of [
      ['ann', 'submitter'],
      ['bob', 'submitter'],
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
      // No worker ever connects: this one stays cancellable for the cancel tests.
      const waiting = await client.submit(
        JSON.stringify({
          apiVersion: 'trellis/v1',
          kind: 'Sweep',
          name: 'http-waiting',
          trial: { runtime: 'command', command: ['true'], objective: { metric: 'val_score', mode: 'max' } },
          search: { algorithm: 'random', seed: 1, space: { x: { uniform: [0, 1] } } },
          budget: { trials: 2, concurrency: 1 },
        }),
      );
      waitingId = waiting.experiment.id;
      ownerClient = new TrellisClient(`127.0.0.1:${started.port}`, { token: tokens.ann!, timeoutMs: 20_000 });
    } finally {
      client.close();
    }
  });

  after(async () => {
    ownerClient?.close();
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

  const write = (
    method: string,
    path: string,
    init: { cookie?: string; body?: unknown; headers?: Record<string, string> },
  ) =>
    fetch(`${base}${path}`, {
      method,
      headers: {
        'x-trellis': '1',
        ...(init.cookie ? { cookie: init.cookie } : {}),
        ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
        ...init.headers,
      },
      ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
      signal: AbortSignal.timeout(20_000),
    });

  /** Signs in through the API as a browser does and returns the session cookie. */
  const signIn = async (token: string): Promise<string> => {
    const res = await write('POST', '/api/session', { body: { token } });
    assert.equal(res.status, 200, await res.clone().text());
    const cookie = res.headers.get('set-cookie') ?? '';
    assert.match(cookie, /HttpOnly/);
    assert.match(cookie, /SameSite=Strict/);
    return cookie.split(';')[0]!;
  };

  const statusOf = async (id: string): Promise<string> => (await ownerClient!.get(id)).status;

  it('signs a browser in with a cookie that reads like the token, and refuses bad tokens', async () => {
    const refused = await write('POST', '/api/session', { body: { token: 'trellis_forged' } });
    assert.equal(refused.status, 401);
    assert.equal(refused.headers.get('set-cookie'), null, 'no cookie for a bad token');
    assert.equal((await write('POST', '/api/session', { body: { nope: 1 } })).status, 400);
    const cookie = await signIn(tokens.vic!);
    const list = await fetch(`${base}/api/experiments`, { headers: { cookie } });
    assert.equal(list.status, 200);
    const session = (await (await fetch(`${base}/api/session`, { headers: { cookie } })).json()) as {
      name: string;
      role: string;
      signedIn: boolean;
      canCancel: boolean;
    };
    assert.deepEqual(session, { name: 'vic', role: 'viewer', signedIn: true, canCancel: false });
    const out = await write('DELETE', '/api/session', { cookie });
    assert.match(out.headers.get('set-cookie') ?? '', /Max-Age=0/);
  });

  it('refuses writes without the x-trellis header or from another origin', async () => {
    const cookie = await signIn(tokens.ann!);
    const bare = await fetch(`${base}/api/experiments/${waitingId}/cancel`, { method: 'POST', headers: { cookie } });
    assert.equal(bare.status, 403);
    const foreign = await write('POST', `/api/experiments/${waitingId}/cancel`, {
      cookie,
      headers: { origin: 'http://evil.example' },
    });
    assert.equal(foreign.status, 403);
    assert.notEqual(await statusOf(waitingId), 'cancelled', 'nothing changed');
  });

  it('lets only the owner (or an admin) cancel from the dashboard', async () => {
    const viewer = await write('POST', `/api/experiments/${waitingId}/cancel`, { cookie: await signIn(tokens.vic!) });
    assert.equal(viewer.status, 403);
    const other = await write('POST', `/api/experiments/${waitingId}/cancel`, { cookie: await signIn(tokens.bob!) });
    assert.equal(other.status, 403);
    assert.match(((await other.json()) as { error: string }).error, /belongs to ann/);
    assert.notEqual(await statusOf(waitingId), 'cancelled', 'refusals changed nothing');
    const owner = await write('POST', `/api/experiments/${waitingId}/cancel`, { cookie: await signIn(tokens.ann!) });
    assert.equal(owner.status, 200, await owner.clone().text());
    assert.equal(await statusOf(waitingId), 'cancelled');
  });
});
