/**
 * A coordinator as an operator deploys it with authentication: the real `trellis token create`
 * writes the tokens file, a real `trellis coordinator --tokens FILE` process serves on loopback
 * (local store in a temp directory), and real `trellis worker` processes connect with a worker
 * token. Tests then call it over gRPC as hostile and honest clients.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { CLI_PATH, stopChild } from '../../cli/embedded.js';
import { loadProto, type WorkerServiceClient } from '../../shared/proto.js';
import { tokenInterceptors } from '../../shared/token-metadata.js';

/** This test process's environment without services or credentials: the embedded defaults. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = { ...process.env, ...extra };
  for (const name of [
    'MONGODB_URI',
    'NATS_URL',
    'TRELLIS_TOKEN',
    'TRELLIS_TOKENS_FILE',
    'TRELLIS_TLS_CA',
    'NATS_CREDS',
    'NATS_TLS_CA',
    'MONGODB_TLS_CA_FILE',
  ]) {
    if (!(name in extra)) delete env[name];
  }
  return env;
}

/** Runs the `trellis` CLI to completion (deadline 60 s). */
export function cli(
  args: string[],
  env: NodeJS.ProcessEnv = cleanEnv(),
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI_PATH, ...args], { env });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`trellis ${args.join(' ')} did not finish within 60 s: ${stderr.slice(-1000)}`));
    }, 60_000);
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 1, stdout, stderr });
    });
  });
}

/** Starts `trellis coordinator ARGS`; resolves with the port once it serves (deadline 60 s). */
export function startCoordinatorProcess(
  args: string[],
  env: NodeJS.ProcessEnv = cleanEnv(),
): Promise<{ child: ChildProcess; port: number; log: () => string }> {
  const child = spawn(process.execPath, [CLI_PATH, 'coordinator', ...args], {
    env: { ...env, TRELLIS_LOG_LEVEL: 'info' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`coordinator did not serve within 60 s: ${log.slice(-2000)}`));
    }, 60_000);
    child.stderr!.on('data', (d: Buffer) => {
      log += d.toString();
      const match = /LISTENING (\d+)/.exec(log);
      if (match) {
        clearTimeout(timer);
        resolve({ child, port: Number(match[1]), log: () => log });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`coordinator exited ${code}: ${log.slice(-2000)}`));
    });
  });
}

export interface SecureCluster {
  dir: string;
  tokensFile: string;
  address: string;
  /** name → token, as `trellis token create` printed it. */
  tokens: Record<string, string>;
  coordinator: ChildProcess;
  workers: ChildProcess[];
  coordinatorLog(): string;
  /** A raw WorkerService client sending `token` (or none). */
  workerClient(token?: string): WorkerServiceClient;
  createToken(name: string, role: string, extra?: string[]): Promise<string>;
  close(): Promise<void>;
}

/**
 * `roles`: name → role, or [role, ...extra `token create` args] (e.g. `['worker', '--max-slots', '2']`).
 * `options.coordinatorArgs` are added to `trellis coordinator`, `options.env` to its environment;
 * a worker's `env` to its own.
 */
export async function startSecureCluster(
  roles: Record<string, string | string[]>,
  workers: { token: string; args: string[]; env?: Record<string, string> }[],
  options: { coordinatorArgs?: string[]; env?: Record<string, string> } = {},
): Promise<SecureCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'trellis-sec-'));
  const tokensFile = join(dir, 'tokens.json');
  const tokens: Record<string, string> = {};
  const createToken = async (name: string, role: string, extra: string[] = []): Promise<string> => {
    const made = await cli(['token', 'create', '--tokens', tokensFile, '--name', name, '--role', role, ...extra]);
    if (made.code !== 0) throw new Error(`token create ${name} failed: ${made.stderr}`);
    tokens[name] = made.stdout.trim();
    return tokens[name];
  };
  for (const [name, role] of Object.entries(roles)) {
    const [first, ...extra] = typeof role === 'string' ? [role] : role;
    await createToken(name, first!, extra);
  }
  const started = await startCoordinatorProcess(
    [
      '--listen',
      '127.0.0.1:0',
      '--tokens',
      tokensFile,
      '--dir',
      join(dir, 'state'),
      ...(options.coordinatorArgs ?? []),
    ],
    cleanEnv(options.env ?? {}),
  );
  const address = `127.0.0.1:${started.port}`;
  const workerProcesses = workers.map((w, n) =>
    spawn(
      process.execPath,
      [CLI_PATH, 'worker', '--coordinator', address, '--cpus', '1', '--id', `sec-w${n}`, ...w.args],
      {
        // The token through the environment, as an operator would (not visible in `ps`).
        env: cleanEnv({ ...w.env, TRELLIS_TOKEN: tokens[w.token] ?? w.token }),
        stdio: 'ignore',
      },
    ),
  );
  const { proto } = loadProto();
  const clients: WorkerServiceClient[] = [];
  return {
    dir,
    tokensFile,
    address,
    tokens,
    coordinator: started.child,
    workers: workerProcesses,
    coordinatorLog: started.log,
    createToken,
    workerClient(token?: string) {
      const client = new proto.trellis.v1.WorkerService(address, grpc.credentials.createInsecure(), {
        interceptors: tokenInterceptors(token),
      }) as unknown as WorkerServiceClient;
      clients.push(client);
      return client;
    },
    async close() {
      for (const client of clients) (client as unknown as grpc.Client).close();
      await Promise.all(workerProcesses.map((w) => stopChild(w, 5000)));
      await stopChild(started.child, 5000);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
