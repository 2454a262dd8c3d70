/**
 * `trellis run`: a sweep or pipeline on the embedded default, a coordinator and N local workers in
 * this process, no servers needed.
 */
import type { Command } from 'commander';
import { resolve } from 'node:path';
import { TrellisClient } from '../../client/index.js';
import { env } from '../../shared/env.js';
import { createLogger } from '../../shared/log.js';
import { serveMetrics } from '../../shared/metrics-http.js';
import {
  followAndReport,
  limitsOption,
  metricsListenOption,
  positiveInt,
  positiveNumber,
  readSpec,
} from '../common.js';
import type { Limits } from '../../shared/limits.js';

export function addRunCommand(program: Command): void {
  program
    .command('run')
    .description('run a sweep on the embedded default: a coordinator and N local workers, no servers needed')
    .argument('<spec>', 'spec file (YAML or JSON)')
    .option('--workers <n>', 'local worker processes', positiveInt('--workers'), 2)
    .option('--json', 'print one JSON document on stdout')
    .option('--dir <path>', 'state directory (store, logs)', env().TRELLIS_HOME)
    .option('--cpus <n>', 'CPUs each local worker advertises', positiveNumber('--cpus'))
    .option('--no-cache', 'pipelines: do not reuse cached stage outputs')
    .option(
      '--ui [host:port]',
      'serve the web dashboard (default 127.0.0.1 on a free port), print its URL, stay up until Ctrl-C',
    )
    .addOption(metricsListenOption())
    .addOption(limitsOption())
    .action(
      async (
        specPath: string,
        opts: {
          workers: number;
          json?: boolean;
          dir: string;
          cpus?: number;
          cache: boolean;
          ui?: string | true;
          metricsListen?: string;
          limits?: Limits;
        },
      ) => {
        const text = readSpec(specPath);
        // Check the spec before starting anything: a bad spec exits 2 with nothing started.
        const { validateSpecText } = await import('../../coordinator/experiments/validate.js');
        validateSpecText(text, opts.limits);
        const ui = opts.ui === true ? '127.0.0.1:0' : opts.ui;
        if (ui) (await import('../../coordinator/http/server.js')).parseListen(ui, '--ui');
        const log = createLogger('trellis', env().TRELLIS_LOG_LEVEL ?? 'warn');
        const { startEmbedded } = await import('../embedded.js');
        const started = Date.now();
        const { CoordinatorMetrics } = await import('../../coordinator/metrics.js');
        const metrics = opts.metricsListen ? new CoordinatorMetrics() : undefined;
        const embedded = await startEmbedded({
          dir: resolve(opts.dir),
          workers: opts.workers,
          log,
          ephemeralTokens: true,
          ...(opts.cpus ? { cpusPerWorker: opts.cpus } : {}),
          ...(ui ? { http: ui } : {}),
          ...(metrics ? { metrics } : {}),
          ...(opts.limits ? { limits: opts.limits } : {}),
        });
        if (embedded.http) process.stderr.write(`dashboard: ${embedded.http.url}\n`);
        const metricsServer = metrics ? await serveMetrics(metrics.registry, opts.metricsListen!, log) : undefined;
        const client = new TrellisClient(embedded.address, embedded.token ? { token: embedded.token } : {});
        let code = 1;
        try {
          const { experiment } = await client.submit(text, { noCache: !opts.cache });
          if (!opts.json)
            process.stderr.write(
              `experiment ${experiment.id}: ${opts.workers} local workers, logs in ${opts.dir}/logs\n`,
            );
          code = await followAndReport(client, experiment, !!opts.json);
          if (!opts.json) process.stderr.write(`done in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
          if (embedded.http) {
            process.stderr.write(`dashboard stays up at ${embedded.http.url}; Ctrl-C to stop\n`);
            await new Promise((resolve) => {
              process.once('SIGINT', resolve);
              process.once('SIGTERM', resolve);
            });
          }
        } finally {
          client.close();
          await metricsServer?.close();
          await embedded.close();
        }
        process.exitCode = code;
      },
    );
}
