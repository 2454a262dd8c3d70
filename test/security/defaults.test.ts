/**
 * Safe defaults and the worker's last line of defence, with real processes: a coordinator on a
 * non-loopback address without tokens refuses to start; a `trellis worker` without
 * `--allow-command` neither offers nor runs programs, whatever a coordinator sends it (here a
 * hostile coordinator: a real gRPC server played by the test).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { CLI_PATH, stopChild } from '../../cli/embedded.js';
import { loadProto, type WorkerServiceHandlers } from '../../shared/proto.js';
import type { WorkerMessage__Output } from '../../shared/generated/trellis/v1/WorkerMessage.js';
import type { CoordinatorMessage } from '../../shared/generated/trellis/v1/CoordinatorMessage.js';
import { isLoopback } from '../../coordinator/auth/exposure.js';
import { cleanEnv, cli, startCoordinatorProcess } from '../helpers/secure.js';

describe('security: safe defaults', () => {
  let dir: string;
  before(() => (dir = mkdtempSync(join(tmpdir(), 'trellis-sec-def-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('treats only loopback addresses as loopback', () => {
    for (const address of ['127.0.0.1:50051', '127.1.2.3:1', 'localhost:50051', '[::1]:50051']) {
      assert.equal(isLoopback(address), true, address);
    }
    for (const address of ['0.0.0.0:50051', '[::]:50051', '10.0.0.5:50051', 'example.org:50051', '127.0.0.1.evil:1']) {
      assert.equal(isLoopback(address), false, address);
    }
  });

  it('refuses a non-loopback --listen without --tokens: exit 2, says what to add, binds nothing', async () => {
    const result = await cli(['coordinator', '--listen', '0.0.0.0:0', '--dir', join(dir, 'a')]);
    assert.equal(result.code, 2);
    assert.match(
      result.stderr,
      /--listen 0\.0\.0\.0:0: refusing to serve a non-loopback address without authentication/,
    );
    assert.match(result.stderr, /add --tokens FILE/);
    assert.match(result.stderr, /or --insecure/);
    assert.ok(!existsSync(join(dir, 'a')), 'nothing was created before refusing');
  });

  it('starts with --insecure, warning loudly', async () => {
    const started = await startCoordinatorProcess(['--listen', '0.0.0.0:0', '--insecure', '--dir', join(dir, 'b')]);
    try {
      assert.match(started.log(), /WITHOUT authentication \(--insecure\)/);
    } finally {
      await stopChild(started.child, 5000);
    }
  });

  it('documents the loopback default in --help', async () => {
    const help = await cli(['coordinator', '--help']);
    assert.match(help.stdout, /default:\s+"127\.0\.0\.1:50051"/);
    assert.match(help.stdout, /--tokens <file>/);
  });
});

/** A hostile coordinator: welcomes a worker, records its hello, sends it one command assignment. */
async function hostileCoordinator(program: string[]): Promise<{
  address: string;
  hello: Promise<WorkerMessage__Output['hello']>;
  outcome: Promise<WorkerMessage__Output>;
  close(): void;
}> {
  const { proto } = loadProto();
  const server = new grpc.Server();
  let gotHello!: (hello: WorkerMessage__Output['hello']) => void;
  let gotOutcome!: (message: WorkerMessage__Output) => void;
  const hello = new Promise<WorkerMessage__Output['hello']>((resolve) => (gotHello = resolve));
  const outcome = new Promise<WorkerMessage__Output>((resolve) => (gotOutcome = resolve));
  const handlers: Pick<WorkerServiceHandlers, 'Connect'> = {
    Connect: (call) => {
      call.on('data', (message: WorkerMessage__Output) => {
        if (message.hello) {
          gotHello(message.hello);
          const send = (m: CoordinatorMessage): boolean => call.write(m);
          send({ welcome: { lease_ms: '30000', heartbeat_ms: '10000' } });
          send({
            assign: {
              attempt_id: 'evil-t0-a1',
              experiment_id: 'evil',
              trial_id: 'evil-t0',
              trial_number: 0,
              attempt: 1,
              runtime: 'command',
              config_json: JSON.stringify({
                runtime: 'command',
                command: program,
                objective: { metric: 'val_score', mode: 'max' },
              }),
              params_json: '{}',
              seed: '1',
              cpus: 1,
            },
          });
        }
        if (message.failure || message.result) gotOutcome(message);
      });
      call.on('error', () => undefined);
    },
  };
  server.addService(proto.trellis.v1.WorkerService.service, handlers as WorkerServiceHandlers);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  return { address: `127.0.0.1:${port}`, hello, outcome, close: () => server.forceShutdown() };
}

function deadline<T>(promise: Promise<T>, what: string, ms = 60_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} within ${ms} ms`)), ms))),
  ]);
}

describe('security: --allow-command', () => {
  let dir: string;
  const children: ChildProcess[] = [];
  before(() => (dir = mkdtempSync(join(tmpdir(), 'trellis-sec-cmd-'))));
  after(async () => {
    await Promise.all(children.map((c) => stopChild(c, 5000)));
    rmSync(dir, { recursive: true, force: true });
  });

  /** Runs a worker with `flags` against a hostile coordinator that asks it to create `marker`. */
  async function attack(flags: string[], marker: string) {
    const program = [process.execPath, '-e', `require('fs').writeFileSync(${JSON.stringify(marker)}, 'ran')`];
    const evil = await hostileCoordinator(program);
    const worker = spawn(
      process.execPath,
      [CLI_PATH, 'worker', '--coordinator', evil.address, '--cpus', '1', '--id', 'victim', ...flags],
      { env: cleanEnv(), stdio: 'ignore' },
    );
    children.push(worker);
    try {
      const hello = await deadline(evil.hello, 'no hello');
      const outcome = await deadline(evil.outcome, 'no outcome');
      return { hello, outcome };
    } finally {
      await stopChild(worker, 5000);
      evil.close();
    }
  }

  it('without it, a worker does not offer the command runtime and refuses command assignments', async () => {
    const marker = join(dir, 'no-flag');
    const { hello, outcome } = await attack([], marker);
    assert.ok(!hello!.runtimes.includes('command'), `offered ${hello!.runtimes.join(',')}`);
    assert.ok(hello!.runtimes.includes('tfjs'));
    assert.equal(outcome.failure?.retryable, false);
    assert.match(
      outcome.failure?.error ?? '',
      /does not run programs: its operator did not start it with --allow-command/,
    );
    assert.ok(!existsSync(marker), 'the program ran');
  });

  it('with a pattern, only programs whose path matches it run', async () => {
    const marker = join(dir, 'pattern');
    const { hello, outcome } = await attack(['--allow-command', '/opt/models/.*'], marker);
    assert.ok(hello!.runtimes.includes('command'));
    assert.match(outcome.failure?.error ?? '', /does not match this worker's --allow-command pattern/);
    assert.ok(!existsSync(marker), 'the program ran');
  });

  it('with it, the program runs (the attack above could have succeeded)', async () => {
    const marker = join(dir, 'allowed');
    await attack(['--allow-command'], marker);
    assert.ok(existsSync(marker), 'an allowed program did not run');
  });
});
