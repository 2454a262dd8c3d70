/**
 * `trellis coordinator`: the coordinator's gRPC server, on MongoDB and NATS when MONGODB_URI and
 * NATS_URL are set, else on a local store and an in-process bus.
 */
import type { Command } from 'commander';
import { resolve } from 'node:path';
import { env } from '../../shared/env.js';
import { createLogger } from '../../shared/log.js';
import { installShutdown } from '../common.js';

export function addCoordinatorCommand(program: Command): void {
  program
    .command('coordinator')
    .description('run the coordinator (MongoDB and NATS when MONGODB_URI and NATS_URL are set, else embedded)')
    .option('--listen <host:port>', 'address to listen on', '0.0.0.0:50051')
    .option('--dir <path>', 'local store directory when MONGODB_URI is not set', env().TRELLIS_HOME)
    .option('--http <host:port>', 'also serve the web dashboard and its read-only JSON API here')
    .action(async (opts: { listen: string; dir: string; http?: string }) => {
      const log = createLogger('coordinator');
      const { Coordinator } = await import('../../coordinator/coordinator.js');
      const { startServer } = await import('../../coordinator/server.js');
      const { createStore } = await import('../../coordinator/store/registry.js');
      const { createBus } = await import('../../coordinator/bus/registry.js');
      const coordinator = new Coordinator({
        store: createStore({ ...env(), dir: resolve(opts.dir, 'store') }),
        bus: createBus(env()),
        log,
      });
      const { startHttpServer, parseListen } = await import('../../coordinator/http/server.js');
      if (opts.http) parseListen(opts.http);
      const server = await startServer(coordinator, opts.listen, log);
      const http = opts.http ? await startHttpServer(coordinator, opts.http, log) : undefined;
      if (http) {
        log.info({ url: http.url }, 'dashboard listening');
        process.stderr.write(`DASHBOARD ${http.url}\n`);
      }
      installShutdown(async () => {
        await http?.close();
        await server.close();
        await coordinator.close();
      });
      log.info({ address: server.address, port: server.port }, 'coordinator listening');
      await coordinator.start();
      log.info({ store: coordinator.store.kind, bus: coordinator.bus.kind }, 'coordinator serving');
      process.stderr.write(`LISTENING ${server.port}\n`);
    });
}
