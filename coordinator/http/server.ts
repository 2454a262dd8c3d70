/**
 * The coordinator's HTTP server (`--http HOST:PORT`): the dashboard's built assets (dist/web,
 * produced by `npm run build`, no CDN) and its read-only JSON API and live event streams.
 *
 * Bounded by default: GET and HEAD, plus two writes (sign-in/out and cancel, see `write`); the
 * only request body is a sign-in's, up to 4 KiB; URLs up to 2 KiB, headers up to 16 KiB, a 30 s request timeout, at most `maxClients` live streams with a per-stream buffer cap
 * (see live.ts). Every route asks `authorize` first (auth.ts); errors are mapped once, from
 * their gRPC code (shared/errors.ts) to an HTTP status, and answered as `{"error": message}`.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { Coordinator } from '../coordinator.js';
import { InvalidArgumentError, toGrpcError } from '../../shared/errors.js';
import { DashboardApi } from './api.js';
import { openAccess, ReadOnlyError, requestToken, SESSION_COOKIE, type Authorize } from './auth.js';
import { assertOwner, type Role } from '../auth/policy.js';
import { toDashExperiment } from '../../shared/dashboard.js';
import { DEFAULT_LIVE_LIMITS, LiveFeed, TooManyClientsError, type LiveLimits } from './live.js';

export interface HttpOptions {
  authorize?: Authorize;
  live?: Partial<LiveLimits>;
  /** Folder of the built dashboard (default: dist/web of this package). */
  assets?: string;
  /** Served behind TLS (a terminating proxy): the session cookie is marked Secure. */
  tls?: boolean;
}

export interface HttpHandle {
  address: string;
  port: number;
  /** The dashboard's URL (a wildcard host is shown as 127.0.0.1). */
  url: string;
  live: LiveFeed;
  close(): Promise<void>;
}

export const ASSETS_DIR = fileURLToPath(new URL('../../web/', import.meta.url));
const MAX_URL = 2048;
/** The only request body: a sign-in's `{"token": …}`. */
const MAX_BODY = 4096;

const STATIC: Record<string, string> = {
  '/': 'index.html',
  '/index.html': 'index.html',
  '/app.js': 'app.js',
  '/app.css': 'app.css',
};
const TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
};

const HTTP_OF_GRPC = new Map<number, number>([
  [grpc.status.INVALID_ARGUMENT, 400],
  [grpc.status.UNAUTHENTICATED, 401],
  [grpc.status.PERMISSION_DENIED, 403],
  [grpc.status.NOT_FOUND, 404],
  [grpc.status.FAILED_PRECONDITION, 409],
  [grpc.status.UNAVAILABLE, 503],
]);

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** Parses `HOST:PORT` (port 0 = any free port); throws a message naming the flag. */
export function parseListen(value: string, flag = '--http'): { host: string; port: number } {
  const match = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(value);
  const port = Number(match?.[2]);
  if (!match || port > 65535)
    throw new InvalidArgumentError([`${flag}: expected HOST:PORT with a port 0-65535, got ${value}`]);
  return { host: match[1]!.replace(/^\[|\]$/g, ''), port };
}

export async function startHttpServer(
  coordinator: Coordinator,
  listen: string,
  log: Logger,
  options: HttpOptions = {},
): Promise<HttpHandle> {
  const { host, port } = parseListen(listen);
  const api = new DashboardApi(coordinator);
  const live = new LiveFeed(coordinator, { ...DEFAULT_LIVE_LIMITS, ...options.live });
  const authorize = options.authorize ?? openAccess;
  const assets = options.assets ?? ASSETS_DIR;
  const tls = options.tls ?? false;

  const route = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if ((req.url ?? '').length > MAX_URL) throw new HttpError(414, `URL longer than ${MAX_URL} characters`);
    const url = new URL(req.url ?? '/', 'http://localhost');
    const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    if (req.method === 'POST' || req.method === 'DELETE') return write(req, res, parts);
    if (req.method !== 'GET' && req.method !== 'HEAD')
      throw new HttpError(405, `method ${req.method} not allowed: GET, or POST to /api/session and …/cancel`);
    if (Number(req.headers['content-length'] ?? 0) > 0 || req.headers['transfer-encoding'])
      throw new HttpError(413, 'request bodies are not accepted');
    const file = STATIC[url.pathname];
    if (file) return sendFile(res, join(assets, file), req.method === 'HEAD');
    if (parts[0] === 'api' && parts[1] === 'session' && parts.length === 2) return sendJson(res, session(req));
    authorize(req, 'read');
    if (parts[0] !== 'api') throw new HttpError(404, `no such page: ${url.pathname}`);
    const [, what, id, sub] = parts;
    if (what === 'events' && parts.length === 2) return live.serveGlobal(req, res);
    if (what === 'workers' && parts.length === 2) return sendJson(res, await api.workers());
    if (what === 'trials' && id && parts.length === 3) return sendJson(res, await api.trial(id));
    if (what === 'trials' && id && sub === 'log' && parts.length === 4)
      return sendJson(res, await api.log(id, url.searchParams));
    if (what === 'experiments') {
      if (parts.length === 2) return sendJson(res, await api.experiments(url.searchParams));
      if (id && parts.length === 3) return sendJson(res, await api.experiment(id));
      if (id && sub === 'curves' && parts.length === 4) {
        const format = url.searchParams.get('format') ?? 'json';
        if (format === 'f32') {
          const { bytes, seq } = await api.curvesBinary(id, url.searchParams);
          return sendBytes(res, bytes, { 'x-trellis-seq': String(seq) });
        }
        if (format !== 'json') throw new HttpError(400, `format: must be json or f32, got ${format.slice(0, 20)}`);
        return sendJson(res, await api.curves(id, url.searchParams));
      }
      if (id && sub === 'events' && parts.length === 4) {
        const after = req.headers['last-event-id'] ?? url.searchParams.get('after') ?? '0';
        const seq = Number(after);
        if (!Number.isInteger(seq) || seq < 0)
          throw new HttpError(400, `after / Last-Event-ID: must be an integer >= 0, got ${String(after)}`);
        return live.serveExperiment(req, res, id, seq);
      }
    }
    throw new HttpError(404, `no such endpoint: ${url.pathname}`);
  };

  /** Who the caller is (never an error: an unknown or missing token reads as signed out). */
  const session = (req: IncomingMessage): { name: string; role: string; signedIn: boolean; canCancel: boolean } => {
    try {
      const who = authorize(req, 'read');
      let canCancel = true;
      try {
        authorize(req, 'cancel');
      } catch {
        canCancel = false;
      }
      return { ...who, signedIn: requestToken(req.headers) !== undefined, canCancel };
    } catch {
      return { name: '', role: '', signedIn: false, canCancel: false };
    }
  };

  /**
   * The writes: sign in (`POST /api/session` with `{"token": …}`: checked, then kept in an HttpOnly,
   * SameSite=Strict cookie), sign out (`DELETE /api/session`), cancel (`POST
   * /api/experiments/ID/cancel`, owner or admin, as over gRPC). Each needs the `x-trellis: 1`
   * header, which a page on another site cannot send without a CORS preflight this server never
   * answers, and an Origin, when sent, that is this server.
   */
  const write = async (req: IncomingMessage, res: ServerResponse, parts: string[]): Promise<void> => {
    if (req.headers['x-trellis'] !== '1') throw new HttpError(403, 'writes need the header x-trellis: 1');
    const origin = req.headers.origin;
    if (origin !== undefined && origin !== `http://${req.headers.host}` && origin !== `https://${req.headers.host}`)
      throw new HttpError(403, `origin ${origin.slice(0, 100)} may not write to this dashboard`);
    if (parts[0] === 'api' && parts[1] === 'session' && parts.length === 2) {
      if (!options.authorize)
        throw new HttpError(409, 'this coordinator has no tokens configured: there is nothing to sign in to');
      if (req.method === 'DELETE') {
        res.setHeader('set-cookie', `${SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0`);
        return sendJson(res, { signedIn: false });
      }
      const body = await readBody(req, MAX_BODY);
      let token: unknown;
      try {
        token = (JSON.parse(body) as { token?: unknown }).token;
      } catch {
        throw new InvalidArgumentError(['body: must be JSON {"token": "..."}']);
      }
      if (typeof token !== 'string' || !/^\S{1,512}$/.test(token))
        throw new InvalidArgumentError(['token: must be a string of 1-512 non-space characters']);
      const who = authorize({ headers: { authorization: `Bearer ${token}` } }, 'read');
      res.setHeader(
        'set-cookie',
        `${SESSION_COOKIE}=${encodeURIComponent(token)}; HttpOnly; SameSite=Strict; Path=/${tls ? '; Secure' : ''}`,
      );
      log.info({ caller: who.name, role: who.role }, 'dashboard sign-in');
      return sendJson(res, { ...who, signedIn: true });
    }
    const [, what, id, sub] = parts;
    if (req.method === 'POST' && what === 'experiments' && id && sub === 'cancel' && parts.length === 4) {
      const who = authorize(req, 'cancel');
      // Audited like the gRPC CancelExperiment (coordinator/auth/audit.ts); method names the route.
      const base = {
        identity: who.name,
        role: who.role,
        method: 'HTTP POST /api/experiments/:id/cancel',
        experimentId: id,
      };
      try {
        const experiment = await coordinator.get(id);
        assertOwner({ name: who.name, role: who.role as Role }, experiment);
        const cancelled = await coordinator.cancel(id);
        coordinator.audit.record({ ...base, kind: 'cancel', outcome: 'ok' });
        return sendJson(res, { experiment: toDashExperiment(cancelled) });
      } catch (err) {
        const denied = (err as Error).name === 'PermissionDeniedError';
        coordinator.audit.record({
          ...base,
          kind: denied ? 'denied' : 'cancel',
          outcome: denied ? 'PERMISSION_DENIED' : (err as Error).name,
          reason: (err as Error).message,
        });
        throw err;
      }
    }
    throw new HttpError(404, `no such endpoint: ${req.method ?? ''} ${parts.join('/')}`);
  };

  const server = createServer({ maxHeaderSize: 16 * 1024, requestTimeout: 30_000 }, (req, res) => {
    res.setHeader('x-content-type-options', 'nosniff');
    res.setHeader(
      'content-security-policy',
      "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; connect-src 'self'",
    );
    route(req, res).catch((err: unknown) => {
      const status =
        err instanceof HttpError
          ? err.status
          : err instanceof TooManyClientsError
            ? 503
            : err instanceof ReadOnlyError
              ? 403
              : (HTTP_OF_GRPC.get(toGrpcError(err).code ?? grpc.status.INTERNAL) ?? 500);
      if (status === 500) log.error({ err }, 'dashboard request failed');
      const message = err instanceof Error ? err.message : String(err);
      if (res.headersSent) res.destroy();
      else sendJson(res, { error: message }, status);
    });
  });
  server.headersTimeout = 10_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const bound = server.address();
  const boundPort = typeof bound === 'object' && bound ? bound.port : port;
  const shownHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  let closing: Promise<void> | undefined;
  return {
    address: `${host.includes(':') ? `[${host}]` : host}:${boundPort}`,
    port: boundPort,
    url: `http://${shownHost}:${boundPort}/`,
    live,
    close: () =>
      (closing ??= new Promise<void>((resolve) => {
        live.closeAll();
        server.close(() => resolve());
        server.closeAllConnections();
      })),
  };
}

function sendJson(res: ServerResponse, body: unknown, status = 200): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(text);
}

async function readBody(req: IncomingMessage, limit: number): Promise<string> {
  if (Number(req.headers['content-length'] ?? 0) > limit) throw new HttpError(413, `body larger than ${limit} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new HttpError(413, `body larger than ${limit} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function sendBytes(res: ServerResponse, body: Uint8Array, headers: Record<string, string> = {}): void {
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'cache-control': 'no-store', ...headers });
  res.end(body);
}

async function sendFile(res: ServerResponse, path: string, headOnly: boolean): Promise<void> {
  let data: Buffer;
  try {
    data = await readFile(path);
  } catch {
    throw new HttpError(
      404,
      `dashboard asset ${path} is missing: build it with npm run build (the coordinator still serves the JSON API)`,
    );
  }
  const ext = path.slice(path.lastIndexOf('.') + 1);
  res.writeHead(200, { 'content-type': TYPES[ext] ?? 'application/octet-stream', 'cache-control': 'no-cache' });
  res.end(headOnly ? undefined : data);
}
