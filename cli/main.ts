#!/usr/bin/env node
/**
 * The `trellis` command. Built on the typed client library (client/index.ts) except for the
 * embedded `run`, which starts its own coordinator and workers first.
 *
 * Exit codes: 0 success, 1 runtime failure (an experiment that failed, a server that is
 * unreachable), 2 usage or spec error (bad flags, invalid spec, unknown id, illegal request).
 * With --json exactly one JSON document goes to stdout; logs go to stderr.
 */
import { Command, CommanderError, Option } from 'commander';
import { readFileSync, realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { resolve } from 'node:path';
import { availableParallelism, totalmem } from 'node:os';
import { execFileSync } from 'node:child_process';
import { TrellisClient } from '../client/index.js';
import { FailedPreconditionError, InvalidArgumentError, NotFoundError } from '../shared/errors.js';
import { createLogger } from '../shared/log.js';
import { trellisVersion } from '../shared/version.js';
import { describeTrials, leaderboard, pipelineSummary, ProgressView, runDocument, trialsDocument } from './render.js';
import type { ExperimentView } from '../shared/convert.js';
import type { TrellisEvent } from '../shared/events.js';

class UsageError extends Error {
  override readonly name = 'UsageError';
}

const DEFAULT_COORDINATOR = process.env.TRELLIS_COORDINATOR ?? '127.0.0.1:50051';

function readSpec(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read spec ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

function print(json: boolean, document: unknown, text: () => string): void {
  process.stdout.write(json ? `${JSON.stringify(document, null, 2)}\n` : `${text()}\n`);
}

/** Runs `use` with a client of the coordinator at `address`, closed afterwards whatever happens. */
async function withClient(address: string, use: (client: TrellisClient) => Promise<void>): Promise<void> {
  const client = new TrellisClient(address);
  try {
    await use(client);
  } finally {
    client.close();
  }
}

function exitCodeOf(experiment: ExperimentView): number {
  return experiment.status === 'succeeded' ? 0 : 1;
}

function positiveInt(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) throw new UsageError(`${name}: must be an integer >= 1, got ${value}`);
    return n;
  };
}

function positiveNumber(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!(n > 0)) throw new UsageError(`${name}: must be a number > 0, got ${value}`);
    return n;
  };
}

async function followAndReport(
  client: TrellisClient,
  experiment: ExperimentView,
  json: boolean,
  quiet = false,
): Promise<number> {
  const spec = experiment.spec as {
    budget?: { trials?: number };
    trial?: { epochs?: number; objective?: { metric?: string } };
  };
  const view = new ProgressView(
    spec.budget?.trials ?? 0,
    spec.trial?.epochs ?? 1,
    spec.trial?.objective?.metric ?? 'val_accuracy',
    !quiet,
  );
  let final: ExperimentView;
  try {
    final = await client.wait(experiment.id, (event: TrellisEvent) => view.onEvent(event));
  } finally {
    view.stop();
  }
  const trials = await client.trials(experiment.id);
  print(json, runDocument(final, trials), () =>
    final.kind === 'Pipeline' ? pipelineSummary(final) : leaderboard(final, trials),
  );
  return exitCodeOf(final);
}

function detectGpus(spec: string | undefined): { id: string; name: string; memoryBytes: number }[] {
  if (spec !== undefined) {
    return spec
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)
      .map((id) => ({ id, name: 'gpu', memoryBytes: 0 }));
  }
  try {
    const out = execFileSync('nvidia-smi', ['--query-gpu=index,name,memory.total', '--format=csv,noheader,nounits'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 5000,
    });
    return out
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((line) => {
        const [id, name, mib] = line.split(',').map((s) => s.trim());
        return { id: id!, name: name ?? 'gpu', memoryBytes: Number(mib ?? 0) * 2 ** 20 };
      });
  } catch {
    return [];
  }
}

function parseLabels(value: string | undefined): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const pair of (value ?? '').split(',').filter(Boolean)) {
    const [k, v] = pair.split('=');
    if (!k || v === undefined) throw new UsageError(`--labels: expected key=value[,key=value], got ${pair}`);
    labels[k.trim()] = v.trim();
  }
  return labels;
}

/** Runs `stop` once on SIGTERM/SIGINT; a second signal exits at once. */
function installShutdown(stop: () => Promise<void>): void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals): void => {
    if (stopping) process.exit(130);
    stopping = true;
    stop().then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`shutdown failed after ${signal}: ${String(err)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
}

export function buildProgram(): Command {
  const program = new Command('trellis')
    .description('Distributed training orchestrator: sweeps and pipelines over gRPC, NATS JetStream and MongoDB')
    .version(trellisVersion(), '-V, --version', 'print the version and exit')
    .showHelpAfterError()
    .exitOverride();
  const coordinatorOption = (): Option =>
    new Option('--coordinator <host:port>', 'coordinator address (env TRELLIS_COORDINATOR)').default(
      DEFAULT_COORDINATOR,
    );

  program
    .command('run')
    .description('run a sweep on the embedded default: a coordinator and N local workers, no servers needed')
    .argument('<spec>', 'spec file (YAML or JSON)')
    .option('--workers <n>', 'local worker processes', positiveInt('--workers'), 2)
    .option('--json', 'print one JSON document on stdout')
    .option('--dir <path>', 'state directory (store, logs)', process.env.TRELLIS_HOME ?? '.trellis')
    .option('--cpus <n>', 'CPUs each local worker advertises', positiveNumber('--cpus'))
    .option('--no-cache', 'pipelines: do not reuse cached stage outputs')
    .action(
      async (
        specPath: string,
        opts: { workers: number; json?: boolean; dir: string; cpus?: number; cache: boolean },
      ) => {
        const text = readSpec(specPath);
        // Check the spec before starting anything: a bad spec exits 2 with nothing started.
        const { validateSpecText } = await import('../coordinator/experiments/validate.js');
        validateSpecText(text);
        const log = createLogger('trellis', process.env.TRELLIS_LOG_LEVEL ?? 'warn');
        const { startEmbedded } = await import('./embedded.js');
        const started = Date.now();
        const embedded = await startEmbedded({
          dir: resolve(opts.dir),
          workers: opts.workers,
          log,
          ...(opts.cpus ? { cpusPerWorker: opts.cpus } : {}),
        });
        const client = new TrellisClient(embedded.address);
        let code = 1;
        try {
          const { experiment } = await client.submit(text, { noCache: !opts.cache });
          if (!opts.json)
            process.stderr.write(
              `experiment ${experiment.id}: ${opts.workers} local workers, logs in ${opts.dir}/logs\n`,
            );
          code = await followAndReport(client, experiment, !!opts.json);
          if (!opts.json) process.stderr.write(`done in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
        } finally {
          client.close();
          await embedded.close();
        }
        process.exitCode = code;
      },
    );

  program
    .command('coordinator')
    .description('run the coordinator (MongoDB and NATS when MONGODB_URI and NATS_URL are set, else embedded)')
    .option('--listen <host:port>', 'address to listen on', '0.0.0.0:50051')
    .option('--dir <path>', 'local store directory when MONGODB_URI is not set', process.env.TRELLIS_HOME ?? '.trellis')
    .action(async (opts: { listen: string; dir: string }) => {
      const log = createLogger('coordinator');
      const { Coordinator } = await import('../coordinator/coordinator.js');
      const { startServer } = await import('../coordinator/server.js');
      const { createStore } = await import('../coordinator/store/registry.js');
      const { createBus } = await import('../coordinator/bus/registry.js');
      const coordinator = new Coordinator({
        store: createStore({ ...process.env, dir: resolve(opts.dir, 'store') }),
        bus: createBus({ ...process.env }),
        log,
      });
      const server = await startServer(coordinator, opts.listen, log);
      installShutdown(async () => {
        await server.close();
        await coordinator.close();
      });
      log.info({ address: server.address, port: server.port }, 'coordinator listening');
      await coordinator.start();
      log.info({ store: coordinator.store.kind, bus: coordinator.bus.kind }, 'coordinator serving');
      process.stderr.write(`LISTENING ${server.port}\n`);
    });

  program
    .command('worker')
    .description('run a worker that takes trials from a coordinator')
    .addOption(coordinatorOption())
    .option('--id <id>', 'worker id (default host-pid-random)')
    .option('--cpus <n>', 'CPU slots to advertise', positiveNumber('--cpus'), availableParallelism())
    .option('--gpus <ids>', 'GPU ids to advertise, comma-separated (default: nvidia-smi, or none)')
    .option('--memory <bytes>', 'memory to advertise in bytes', (v) => Number(v), totalmem())
    .option('--labels <k=v,...>', 'labels trials can require')
    .option('--runtimes <names>', 'runtimes to offer, comma-separated (default all)')
    .option(
      '--grace <seconds>',
      'on SIGTERM, wait this long for running attempts before handing them back',
      positiveNumber('--grace'),
      30,
    )
    .action(
      async (opts: {
        coordinator: string;
        id?: string;
        cpus: number;
        gpus?: string;
        memory: number;
        labels?: string;
        runtimes?: string;
        grace: number;
      }) => {
        const log = createLogger('worker');
        const { WorkerAgent } = await import('../worker/agent.js');
        const agent = new WorkerAgent({
          coordinator: opts.coordinator,
          ...(opts.id ? { id: opts.id } : {}),
          cpus: opts.cpus,
          gpus: detectGpus(opts.gpus),
          memoryBytes: opts.memory,
          labels: parseLabels(opts.labels),
          ...(opts.runtimes ? { runtimes: opts.runtimes.split(',') } : {}),
          log,
          shutdownGraceMs: opts.grace * 1000,
        });
        installShutdown(() => agent.shutdown());
        agent.start();
        log.info({ coordinator: opts.coordinator, id: agent.id }, 'worker started');
      },
    );

  program
    .command('submit')
    .description('submit a spec to a coordinator')
    .argument('<spec>', 'spec file (YAML or JSON)')
    .addOption(coordinatorOption())
    .option('--wait', 'follow the experiment until it ends')
    .option('--json', 'print one JSON document on stdout')
    .option('--request-id <id>', 'idempotency key: a retried submit returns the same experiment')
    .option('--no-cache', 'pipelines: do not reuse cached stage outputs')
    .action(
      async (
        specPath: string,
        opts: { coordinator: string; wait?: boolean; json?: boolean; requestId?: string; cache: boolean },
      ) => {
        await withClient(opts.coordinator, async (client) => {
          const { experiment } = await client.submit(readSpec(specPath), {
            ...(opts.requestId ? { requestId: opts.requestId } : {}),
            noCache: !opts.cache,
          });
          if (opts.wait) {
            process.exitCode = await followAndReport(client, experiment, !!opts.json);
          } else {
            print(
              !!opts.json,
              { experiment: runDocument(experiment, []).experiment },
              () => `submitted ${experiment.id} (${experiment.status})`,
            );
          }
        });
      },
    );

  program
    .command('status')
    .description('show an experiment')
    .argument('<id>', 'experiment id')
    .addOption(coordinatorOption())
    .option('--wait', 'wait until it ends')
    .option('--json', 'print one JSON document on stdout')
    .action(async (id: string, opts: { coordinator: string; wait?: boolean; json?: boolean }) => {
      await withClient(opts.coordinator, async (client) => {
        const experiment = opts.wait ? await client.wait(id) : await client.get(id);
        const trials = await client.trials(id);
        print(!!opts.json, runDocument(experiment, trials), () =>
          experiment.kind === 'Pipeline' ? pipelineSummary(experiment) : leaderboard(experiment, trials),
        );
        if (opts.wait) process.exitCode = exitCodeOf(experiment);
      });
    });

  program
    .command('list')
    .description('list experiments')
    .addOption(coordinatorOption())
    .option('--status <statuses>', 'comma-separated statuses to show')
    .option('--json', 'print one JSON document on stdout')
    .action(async (opts: { coordinator: string; status?: string; json?: boolean }) => {
      await withClient(opts.coordinator, async (client) => {
        const experiments = await client.list((opts.status?.split(',') ?? []) as ExperimentView['status'][]);
        print(
          !!opts.json,
          {
            experiments: experiments.map((e) => ({
              id: e.id,
              name: e.name,
              kind: e.kind,
              status: e.status,
              trials: e.trialsCreated,
            })),
          },
          () =>
            experiments.map((e) => `${e.id}  ${e.kind}  ${e.status}  ${e.trialsCreated} trials`).join('\n') ||
            'no experiments',
        );
      });
    });

  program
    .command('trials')
    .description("list an experiment's trials")
    .argument('<id>', 'experiment id')
    .addOption(coordinatorOption())
    .option('--json', 'print one JSON document on stdout')
    .action(async (id: string, opts: { coordinator: string; json?: boolean }) => {
      await withClient(opts.coordinator, async (client) => {
        const trials = await client.trials(id);
        print(!!opts.json, { trials: trialsDocument(trials) }, () => describeTrials(trials));
      });
    });

  program
    .command('watch')
    .description("follow an experiment's event stream until it ends")
    .argument('<id>', 'experiment id')
    .addOption(coordinatorOption())
    .option('--from-start', 'replay the whole history first')
    .option('--json', 'one event per line (JSON) on stdout')
    .action(async (id: string, opts: { coordinator: string; fromStart?: boolean; json?: boolean }) => {
      const { watchEvents } = await import('./watch.js');
      process.exitCode = await watchEvents(id, {
        coordinator: opts.coordinator,
        fromStart: !!opts.fromStart,
        json: !!opts.json,
      });
    });

  program
    .command('cancel')
    .description('cancel an experiment: running trials stop, pending ones never start')
    .argument('<id>', 'experiment id')
    .addOption(coordinatorOption())
    .option('--json', 'print one JSON document on stdout')
    .action(async (id: string, opts: { coordinator: string; json?: boolean }) => {
      await withClient(opts.coordinator, async (client) => {
        const experiment = await client.cancel(id);
        print(
          !!opts.json,
          { experiment: runDocument(experiment, []).experiment },
          () => `${experiment.id}: ${experiment.status}`,
        );
      });
    });

  program
    .command('export')
    .description("export an experiment's trials (params and final metrics), or per-step metrics with --steps")
    .argument('<id>', 'experiment id')
    .addOption(coordinatorOption())
    .addOption(new Option('--format <format>', 'output format').choices(['csv', 'json']).default('csv'))
    .option('--steps', 'per-step metrics instead of one row per trial')
    .action(async (id: string, opts: { coordinator: string; format: 'csv' | 'json'; steps?: boolean }) => {
      const { exportExperiment } = await import('./export.js');
      await withClient(opts.coordinator, async (client) => {
        process.stdout.write(await exportExperiment(client, id, opts.format, !!opts.steps));
      });
    });

  program
    .command('expand')
    .description('print a spec with its pipeline template expanded into stages (checked like a submit)')
    .argument('<spec>', 'spec file (YAML or JSON)')
    .option('--json', 'print JSON instead of YAML')
    .action(async (specPath: string, opts: { json?: boolean }) => {
      const { validateSpecText } = await import('../coordinator/experiments/validate.js');
      const { parseSpecText } = await import('../shared/spec/load.js');
      const { expandTemplate } = await import('../coordinator/pipelines/templates/registry.js');
      const text = readSpec(specPath);
      validateSpecText(text);
      const expanded = expandTemplate(parseSpecText(text));
      if (opts.json) process.stdout.write(`${JSON.stringify(expanded, null, 2)}\n`);
      else
        process.stdout.write(
          (await import('yaml')).stringify(expanded, { lineWidth: 0, aliasDuplicateObjects: false }),
        );
    });

  program
    .command('report')
    .description("compare a pipeline's arms: every stage with test metrics")
    .argument('<id>', 'experiment id')
    .addOption(coordinatorOption())
    .option('--markdown', 'a Markdown table')
    .action(async (id: string, opts: { coordinator: string; markdown?: boolean }) => {
      const { armsReport } = await import('./render.js');
      await withClient(opts.coordinator, async (client) => {
        process.stdout.write(`${armsReport(await client.get(id), !!opts.markdown)}\n`);
      });
    });

  program
    .command('losses')
    .description('list every loss with its inputs, params and defaults')
    .option('--json', 'print one JSON document on stdout')
    .action(async (opts: { json?: boolean }) => {
      const { describeLosses } = await import('../shared/catalogue/losses.js');
      const losses = describeLosses();
      print(!!opts.json, { losses }, () =>
        losses
          .map(
            (l) =>
              `${l.name.padEnd(13)} ${l.family.padEnd(14)} inputs: ${l.inputs.join(', ')}${l.stateful ? ' (stateful)' : ''}\n` +
              `${''.padEnd(14)}${l.description}\n` +
              (l.params.length > 0
                ? l.params
                    .map(
                      (p) =>
                        `${''.padEnd(14)}- ${p.name} = ${String(p.default)}${p.values ? ` (${p.values.join(' | ')})` : p.min !== undefined || p.max !== undefined ? ` in [${p.min ?? '-inf'}, ${p.max ?? 'inf'}]` : ''}: ${p.description}`,
                    )
                    .join('\n') + '\n'
                : ''),
          )
          .join('\n'),
      );
    });

  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      return err.exitCode === 0 ? 0 : 2;
    }
    if (
      err instanceof UsageError ||
      err instanceof InvalidArgumentError ||
      err instanceof NotFoundError ||
      err instanceof FailedPreconditionError
    ) {
      process.stderr.write(`trellis: ${err.message}\n`);
      return 2;
    }
    process.stderr.write(`trellis: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}

/** True when this file is the program being run (also through the `trellis` bin symlink). */
function isMain(): boolean {
  const script = process.argv[1];
  if (!script) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isMain()) {
  main(process.argv).then(
    (code) => {
      process.exitCode = code;
      // Long-running commands (coordinator, worker) keep the process alive with their servers.
    },
    (err: unknown) => {
      process.stderr.write(`trellis: ${String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
