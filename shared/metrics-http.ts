/**
 * The /metrics endpoint of a process (coordinator or worker): a plain HTTP server that serves a
 * prom-client registry in the Prometheus text format. Off unless `--metrics-listen HOST:PORT`
 * is given. Serves GET /metrics only (404 elsewhere, 405 for other methods).
 */
import { createServer, type Server } from 'node:http';
import type { Registry } from 'prom-client';
import type { Logger } from 'pino';
import { InvalidArgumentError } from './errors.js';

export interface MetricsServer {
  readonly address: string;
  readonly port: number;
  close(): Promise<void>;
}

/** Parses `HOST:PORT` (IPv6 as `[::1]:9464`); port 0 picks a free one. */
export function parseListen(value: string, field = '--metrics-listen'): { host: string; port: number } {
  const match = /^(\[[0-9a-fA-F:.]+\]|[^:\s]+):(\d{1,5})$/.exec(value.trim());
  const port = match ? Number(match[2]) : NaN;
  if (!match || !Number.isInteger(port) || port > 65_535) {
    throw new InvalidArgumentError([`${field}: "${value}" is not HOST:PORT (e.g. 0.0.0.0:9464, port 0-65535)`]);
  }
  return { host: match[1]!.replace(/^\[|\]$/g, ''), port };
}

export function serveMetrics(registry: Registry, listen: string, log: Logger): Promise<MetricsServer> {
  const { host, port } = parseListen(listen);
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: metrics are at /metrics\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n');
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(req.method === 'HEAD' ? '' : text),
      (err: unknown) => {
        log.warn({ err }, 'metrics collection failed');
        res.writeHead(500, { 'content-type': 'text/plain' }).end('metrics collection failed\n');
      },
    );
  });
  // A scraper keeps its connection alive; close() must not wait for it.
  server.keepAliveTimeout = 5_000;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const bound = server.address();
      const boundPort = typeof bound === 'object' && bound ? bound.port : port;
      log.info({ host, port: boundPort }, 'metrics listening');
      let closing: Promise<void> | undefined;
      resolve({
        address: `${host.includes(':') ? `[${host}]` : host}:${boundPort}`,
        port: boundPort,
        close: () =>
          (closing ??= new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          })),
      });
    });
  });
}
