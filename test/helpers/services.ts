/**
 * Where the test servers are: NATS_URL / MONGODB_URI / MONGODB_NATIVE_URI from the environment, else from the
 * `.services.env` that `node scripts/services.mjs up` writes. Missing both is a test failure
 * with instructions (never a skip): the remote backends must be tested.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface ServiceEnv {
  NATS_URL: string;
  MONGODB_URI: string;
  MONGODB_NATIVE_URI: string;
}

const HOW =
  'start the test services with `node scripts/services.mjs up` (npm test does it), or set NATS_URL, MONGODB_URI and MONGODB_NATIVE_URI';

function findRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'scripts', 'services.mjs'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error('test/helpers/services: cannot find the project root');
    dir = parent;
  }
}

function fromFile(): Partial<ServiceEnv> {
  const file = join(findRoot(), '.services.env');
  if (!existsSync(file)) return {};
  const out: Record<string, string> = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^\s*([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line);
    if (m) out[m[1]!] = m[2]!.trim();
  }
  return out;
}

function lookup(name: keyof ServiceEnv): string {
  const value = process.env[name] || fromFile()[name];
  if (!value) throw new Error(`${name} is not set and .services.env does not have it: ${HOW}`);
  return value;
}

/** The MongoDB connection string of the test server; throws (fails the test) when there is none. */
export function mongoUri(): string {
  return lookup('MONGODB_URI');
}

/**
 * The MongoDB connection string of the second MongoDB-wire test server (mongo-java-server), where
 * MongoStore takes the native compare-and-set path a real MongoDB gets; throws when there is none.
 */
export function mongoNativeUri(): string {
  return lookup('MONGODB_NATIVE_URI');
}

/** The NATS URL of the test server; throws (fails the test) when there is none. */
export function natsUrl(): string {
  return lookup('NATS_URL');
}

/** A fresh, unique name (database names, experiment ids). */
export function uniqueName(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
}

/** True when the process is gone (or a zombie nobody has reaped yet: it runs no more). */
export function processEnded(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
    return state === 'Z' || state === 'X';
  } catch {
    return true;
  }
}

/** A fresh temporary directory and its remover. */
export function tempDir(prefix = 'trellis-test-'): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Polls `check` until it returns a truthy value or the deadline passes. */
export async function waitUntil<T>(
  check: () => T | Promise<T>,
  timeoutMs = 10_000,
  what = 'condition',
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * A TCP proxy in front of a server, to cut a client off and let it back without touching the
 * shared server: `cut()` drops every connection and refuses new ones, `restore()` listens again
 * on the same port.
 */
export class TcpProxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  port = 0;

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  static forUrl(url: string): TcpProxy {
    const u = new URL(url);
    return new TcpProxy(u.hostname, Number(u.port));
  }

  async start(): Promise<void> {
    await this.listen(this.port);
  }

  private listen(port: number): Promise<void> {
    const server = createServer((client) => {
      const upstream = createConnection({ host: this.targetHost, port: this.targetPort });
      this.sockets.add(client);
      this.sockets.add(upstream);
      const drop = (): void => {
        client.destroy();
        upstream.destroy();
        this.sockets.delete(client);
        this.sockets.delete(upstream);
      };
      client.on('error', drop).on('close', drop);
      upstream.on('error', drop).on('close', drop);
      client.pipe(upstream);
      upstream.pipe(client);
    });
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        const addr = server.address();
        if (addr && typeof addr === 'object') this.port = addr.port;
        resolve();
      });
    });
  }

  /** Drops every connection and stops listening. */
  async cut(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Listens again on the same port. */
  async restore(): Promise<void> {
    await this.listen(this.port);
  }

  async stop(): Promise<void> {
    await this.cut();
  }
}

/**
 * A private nats-server (JetStream on, its own port and store directory) for tests that restart
 * the server: the shared one may be in use by other test files. Needs `nats-server` on PATH
 * (`node scripts/services.mjs up` installs it).
 */
export async function startPrivateNats(): Promise<{ url: string; restart(): Promise<void>; stop(): Promise<void> }> {
  const { spawn, spawnSync } = await import('node:child_process');
  const found = spawnSync('sh', ['-c', 'command -v nats-server'], { encoding: 'utf8' });
  if (found.status !== 0) throw new Error(`nats-server is not on PATH: ${HOW}`);
  const bin = found.stdout.trim();
  const port = await freePort();
  const store = tempDir('trellis-nats-private-');
  let child: import('node:child_process').ChildProcess | undefined;
  const launch = async (): Promise<void> => {
    child = spawn(bin, ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', store.dir], { stdio: 'ignore' });
    await waitUntil(() => natsAnswers(port), 15_000, 'private nats-server');
  };
  const halt = async (): Promise<void> => {
    const c = child;
    child = undefined;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => c.once('exit', () => resolve()));
    c.kill('SIGTERM');
    const timer = setTimeout(() => c.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  };
  await launch();
  return {
    url: `nats://127.0.0.1:${port}`,
    async restart() {
      await halt();
      await launch();
    },
    async stop() {
      await halt();
      store.remove();
    },
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = addr && typeof addr === 'object' ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function natsAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = createConnection({ host: '127.0.0.1', port });
    let buf = '';
    const done = (ok: boolean): void => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(1000, () => done(false));
    sock.on('error', () => done(false));
    sock.on('data', (d: Buffer) => {
      buf += d.toString('utf8');
      if (buf.includes('\r\n')) done(buf.startsWith('INFO ') && buf.includes('"jetstream":true'));
    });
  });
}
