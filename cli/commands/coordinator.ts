/**
 * `trellis coordinator`: the coordinator's gRPC server, on MongoDB and NATS when MONGODB_URI and
 * NATS_URL are set, else on a local store and an in-process bus. Loopback by default; another
 * address needs --tokens (or an explicit --insecure): coordinator/auth/exposure.ts. --tls-cert and
 * --tls-key serve TLS, --tls-client-ca adds worker certificates (coordinator/auth/tls.ts).
 */
import type { Command } from 'commander';
import { resolve } from 'node:path';
import { env } from '../../shared/env.js';
import { createLogger } from '../../shared/log.js';
import { installShutdown, limitsOption, metricsListenOption, positiveNumber, UsageError } from '../common.js';
import type { Limits } from '../../shared/limits.js';
import { serveMetrics } from '../../shared/metrics-http.js';
import { exposureProblem, INSECURE_WARNING } from '../../coordinator/auth/exposure.js';

const HOUR_MS = 3_600_000;

export function addCoordinatorCommand(program: Command): void {
  program
    .command('coordinator')
    .description('run the coordinator (MongoDB and NATS when MONGODB_URI and NATS_URL are set, else embedded)')
    .option(
      '--listen <host:port>',
      'address to listen on (non-loopback needs --tokens or --insecure)',
      '127.0.0.1:50051',
    )
    .option('--dir <path>', 'local store directory when MONGODB_URI is not set', env().TRELLIS_HOME)
    .option('--tokens <file>', 'require tokens from this file, re-read when it changes (env TRELLIS_TOKENS_FILE)')
    .option(
      '--insecure',
      'allow a non-loopback --listen or --http without tokens (warned about at start and hourly); it does not turn TLS off or on',
    )
    .option('--tls-cert <file>', 'serve gRPC over TLS with this certificate (PEM; needs --tls-key)')
    .option('--tls-key <file>', 'private key (PEM) of --tls-cert')
    .option(
      '--tls-client-ca <file>',
      "mTLS: ask clients for a certificate signed by this CA; workers must present one, and its subject CN is the worker's identity",
    )
    .option('--http <host:port>', 'also serve the web dashboard and its read-only JSON API here')
    .option(
      '--stuck-after <seconds>',
      'stop and retry an attempt that sent no progress report for this long while its worker heartbeats (default: never)',
      positiveNumber('--stuck-after'),
    )
    .addOption(metricsListenOption())
    .addOption(limitsOption())
    .action(
      async (opts: {
        listen: string;
        dir: string;
        tokens?: string;
        insecure?: boolean;
        http?: string;
        metricsListen?: string;
        limits?: Limits;
        stuckAfter?: number;
        tlsCert?: string;
        tlsKey?: string;
        tlsClientCa?: string;
      }) => {
        if (!!opts.tlsCert !== !!opts.tlsKey) throw new UsageError('--tls-cert, --tls-key: give both or neither');
        if (opts.tlsClientCa && !opts.tlsCert) {
          throw new UsageError('--tls-client-ca: needs --tls-cert and --tls-key (client certificates travel over TLS)');
        }
        const tls =
          opts.tlsCert && opts.tlsKey
            ? {
                cert: resolve(opts.tlsCert),
                key: resolve(opts.tlsKey),
                ...(opts.tlsClientCa ? { clientCa: resolve(opts.tlsClientCa) } : {}),
              }
            : undefined;
        const tokensFile = opts.tokens ?? env().TRELLIS_TOKENS_FILE;
        const problem = exposureProblem(opts.listen, !!tokensFile, !!opts.insecure);
        if (problem) throw new UsageError(problem);
        const httpProblem = opts.http ? exposureProblem(opts.http, !!tokensFile, !!opts.insecure) : undefined;
        if (httpProblem) throw new UsageError(httpProblem.replace('--listen', '--http'));
        const log = createLogger('coordinator');
        const { TokenFile } = await import('../../coordinator/auth/tokens.js');
        const auth = tokensFile
          ? new TokenFile(resolve(tokensFile), (err) =>
              log.error({ err: err.message }, 'tokens file changed but cannot be read; keeping the previous tokens'),
            )
          : undefined;
        const { Coordinator } = await import('../../coordinator/coordinator.js');
        const { startServer } = await import('../../coordinator/server.js');
        const { createStore } = await import('../../coordinator/store/registry.js');
        const { createBus } = await import('../../coordinator/bus/registry.js');
        const { CoordinatorMetrics } = await import('../../coordinator/metrics.js');
        const metrics = opts.metricsListen ? new CoordinatorMetrics() : undefined;
        const store = createStore({ ...env(), dir: resolve(opts.dir, 'store') });
        const coordinator = new Coordinator({
          store: metrics ? metrics.timeStore(store) : store,
          bus: createBus(env()),
          log,
          ...(metrics ? { observer: metrics } : {}),
          ...(opts.limits ? { limits: opts.limits } : {}),
          ...(opts.stuckAfter ? { stuckAfterMs: opts.stuckAfter * 1000 } : {}),
        });
        metrics?.attach(coordinator);
        const { startHttpServer, parseListen } = await import('../../coordinator/http/server.js');
        if (opts.http) parseListen(opts.http);
        const metricsServer = metrics ? await serveMetrics(metrics.registry, opts.metricsListen!, log) : undefined;
        const server = await startServer(coordinator, opts.listen, log, {
          ...(auth ? { auth } : {}),
          ...(tls ? { tls } : {}),
        });
        const { httpAuthorizer } = await import('../../coordinator/auth/guard.js');
        const http = opts.http
          ? await startHttpServer(coordinator, opts.http, log, auth ? { authorize: httpAuthorizer(auth) } : {})
          : undefined;
        if (http) {
          log.info({ url: http.url }, 'dashboard listening');
          process.stderr.write(`DASHBOARD ${http.url}\n`);
        }
        let warning: NodeJS.Timeout | undefined;
        const exposed = !auth && opts.insecure && exposureProblem(opts.listen, false, false);
        const httpExposed = !auth && opts.insecure && opts.http && exposureProblem(opts.http, false, false);
        if (exposed || httpExposed) {
          log.warn(INSECURE_WARNING);
          warning = setInterval(() => log.warn(INSECURE_WARNING), HOUR_MS);
          warning.unref();
        }
        installShutdown(async () => {
          if (warning) clearInterval(warning);
          await http?.close();
          await server.close();
          await coordinator.close();
          await metricsServer?.close();
        });
        log.info(
          {
            address: server.address,
            port: server.port,
            tokens: auth ? `${auth.path} (${auth.size})` : 'none',
            tls: tls ? (tls.clientCa ? 'on, workers by client certificate' : 'on') : 'off',
          },
          'coordinator listening',
        );
        try {
          await coordinator.start();
        } catch (err) {
          // A store or bus that refuses us (credentials, TLS) does not get better by waiting:
          // stop serving, so the process exits with the error instead of hanging half-started.
          if (warning) clearInterval(warning);
          await http?.close();
          await server.close(0);
          await coordinator.close().catch(() => undefined);
          await metricsServer?.close();
          throw err;
        }
        await metrics?.seed(coordinator.store);
        log.info({ store: coordinator.store.kind, bus: coordinator.bus.kind }, 'coordinator serving');
        process.stderr.write(`LISTENING ${server.port}\n`);
      },
    );
}
