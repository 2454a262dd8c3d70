/**
 * `trellis run`: a sweep or pipeline on the embedded default, a coordinator and N local workers in
 * this process, no servers needed. The workers die with this process (--exit-with-parent).
 *
 * An unfinished run of the same spec in the same directory (a killed `trellis run`: cli/resume.ts)
 * is found before any worker starts: without a flag that is a usage error (exit 2) with a hint,
 * `--resume` follows it to its end, `--new` cancels it and submits another. See docs/operations.md.
 */
import type { Command } from 'commander';
import { resolve } from 'node:path';
import { TrellisClient } from '../../client/index.js';
import { env } from '../../shared/env.js';
import { createLogger } from '../../shared/log.js';
import { serveMetrics } from '../../shared/metrics-http.js';
import type { ExperimentView } from '../../shared/convert.js';
import type { ExperimentDoc } from '../../shared/types.js';
import {
  followAndReport,
  limitsOption,
  metricsListenOption,
  positiveInt,
  positiveNumber,
  readSpec,
  UsageError,
} from '../common.js';
import type { Limits } from '../../shared/limits.js';
import { runRequestId, specHash, unfinishedRuns } from '../resume.js';

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
    .option('--resume', 'continue the unfinished run of this spec in --dir (if there is none, start one)')
    .option('--new', 'cancel an unfinished run of this spec in --dir and start another')
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
          resume?: boolean;
          new?: boolean;
        },
      ) => {
        const text = readSpec(specPath);
        // Check the spec before starting anything: a bad spec exits 2 with nothing started.
        const { validateSpecText } = await import('../../coordinator/experiments/validate.js');
        const spec = validateSpecText(text, opts.limits);
        if (opts.resume && opts.new) throw new UsageError('--resume and --new: give one of them, not both');
        if (spec.kind === 'Pipeline' && !opts.cache) spec.cache = false;
        const hash = specHash(spec);
        const ui = opts.ui === true ? '127.0.0.1:0' : opts.ui;
        if (ui) (await import('../../coordinator/http/server.js')).parseListen(ui, '--ui');
        const log = createLogger('trellis', env().TRELLIS_LOG_LEVEL ?? 'warn');
        const { startEmbedded } = await import('../embedded.js');
        const started = Date.now();
        const { CoordinatorMetrics } = await import('../../coordinator/metrics.js');
        const metrics = opts.metricsListen ? new CoordinatorMetrics() : undefined;
        // The store first, alone: a run of this spec left unfinished (the process was killed) is
        // resumed, replaced or reported before any worker starts.
        const { createStore } = await import('../../coordinator/store/registry.js');
        const store = createStore({ ...env(), dir: resolve(opts.dir, 'store') }, log);
        let unfinished: ExperimentDoc[];
        try {
          await store.start();
          unfinished = await unfinishedRuns(store, hash);
        } catch (err) {
          await store.close();
          throw err;
        }
        if (unfinished.length > 0 && !opts.resume && !opts.new) {
          await store.close();
          const e = unfinished[0]!;
          throw new UsageError(
            `an unfinished run of this spec exists in ${opts.dir} (experiment ${e.id}, ${e.status}, ` +
              `${e.trialsCreated} trials created): re-run with --resume to continue it, or --new to cancel it and start another`,
          );
        }
        const embedded = await startEmbedded({
          store,
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
          const experiment = await resumeOrSubmit(client, text, hash, unfinished, opts);
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

/** `--resume`: the newest unfinished run of this spec; `--new`: cancels those, then submits. */
async function resumeOrSubmit(
  client: TrellisClient,
  text: string,
  hash: string,
  unfinished: ExperimentDoc[],
  opts: { resume?: boolean; new?: boolean; cache: boolean; json?: boolean },
): Promise<ExperimentView> {
  const say = (line: string): void => {
    if (!opts.json) process.stderr.write(`${line}\n`);
  };
  if (opts.resume && unfinished[0]) {
    const experiment = await client.get(unfinished[0].id);
    say(`resuming experiment ${experiment.id} (${experiment.status})`);
    return experiment;
  }
  if (opts.resume) say('no unfinished run of this spec: starting one');
  for (const e of opts.new ? unfinished : []) {
    await client.cancel(e.id);
    say(`cancelled the unfinished experiment ${e.id} (it stays in the store)`);
  }
  const { experiment } = await client.submit(text, { noCache: !opts.cache, requestId: runRequestId(hash) });
  return experiment;
}
