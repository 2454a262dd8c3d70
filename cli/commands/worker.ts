/**
 * `trellis worker`: a worker that takes trials from a coordinator, advertising its CPUs, GPUs,
 * memory, labels and runtimes.
 */
import { Option, type Command } from 'commander';
import { availableParallelism, totalmem } from 'node:os';
import { execFileSync } from 'node:child_process';
import { createLogger } from '../../shared/log.js';
import { env } from '../../shared/env.js';
import { serveMetrics, type MetricsServer } from '../../shared/metrics-http.js';
import {
  coordinatorOption,
  getCallerTlsCa,
  getCallerToken,
  installShutdown,
  metricsListenOption,
  positiveInt,
  positiveNumber,
  sizeFlag,
  UsageError,
} from '../common.js';

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

/** `--allow-command` alone allows any program; with a value, programs whose whole path matches it. */
function commandPattern(value: string | true): RegExp {
  if (value === true) return /^/;
  try {
    return new RegExp(`^(?:${value})$`);
  } catch (err) {
    throw new UsageError(`--allow-command: not a regular expression: ${(err as Error).message}`);
  }
}

export function addWorkerCommand(program: Command): void {
  program
    .command('worker')
    .description('run a worker that takes trials from a coordinator')
    .addOption(coordinatorOption())
    .addOption(
      new Option('--id <id>', 'worker id (env TRELLIS_WORKER_ID; default host-pid-random)').default(
        env().TRELLIS_WORKER_ID,
      ),
    )
    .option('--cpus <n>', 'CPU slots to advertise', positiveNumber('--cpus'), availableParallelism())
    .option('--gpus <ids>', 'GPU ids to advertise, comma-separated (default: nvidia-smi, or none)')
    .option(
      '--memory <bytes>',
      'memory to advertise in bytes (env TRELLIS_WORKER_MEMORY)',
      positiveNumber('--memory'),
      env().TRELLIS_WORKER_MEMORY ?? totalmem(),
    )
    .option('--labels <k=v,...>', 'labels trials can require')
    .option('--runtimes <names>', 'runtimes to offer, comma-separated (default all but command)')
    .option(
      '--allow-command [pattern]',
      'offer the command runtime (runs programs a submitter names); with a pattern, only programs whose path fully matches this regular expression',
    )
    .option(
      '--grace <seconds>',
      'on SIGTERM, wait this long for running attempts before handing them back',
      positiveNumber('--grace'),
      30,
    )
    .option('--tls-cert <file>', 'mTLS: client certificate (PEM) to present; its subject CN is the worker identity')
    .option('--tls-key <file>', 'private key (PEM) of --tls-cert')
    .option(
      '--data-root <dir>',
      'folder tfjs dataset paths may resolve into; repeatable (default: the built-in datasets and the working directory)',
      (value: string, previous: string[] = []) => [...previous, value],
    )
    .option(
      '--max-dataset-size <size>',
      'largest dataset file read (bytes, or e.g. 512Mi, 2Gi)',
      sizeFlag('--max-dataset-size'),
      2 ** 30,
    )
    .option(
      '--max-memory <size>',
      'address-space limit of each program the command runtime starts (rlimit; e.g. 8Gi)',
      sizeFlag('--max-memory'),
    )
    .option(
      '--max-procs <n>',
      'most processes one command attempt may run at once (stopped beyond; also RLIMIT_NPROC)',
      positiveInt('--max-procs'),
    )
    .addOption(metricsListenOption())
    .action(
      async (opts: {
        coordinator: string;
        metricsListen?: string;
        id?: string;
        cpus: number;
        gpus?: string;
        memory: number;
        labels?: string;
        runtimes?: string;
        allowCommand?: string | boolean;
        token?: string;
        grace: number;
        tlsCert?: string;
        tlsKey?: string;
        dataRoot?: string[];
        maxDatasetSize: number;
        maxMemory?: number;
        maxProcs?: number;
      }) => {
        if (!!opts.tlsCert !== !!opts.tlsKey) throw new UsageError('--tls-cert, --tls-key: give both or neither');
        // A client certificate alone means TLS that trusts the system's CAs.
        const ca = getCallerTlsCa();
        const tls =
          ca || opts.tlsCert
            ? {
                ...(ca ? { ca } : {}),
                ...(opts.tlsCert && opts.tlsKey ? { cert: opts.tlsCert, key: opts.tlsKey } : {}),
              }
            : undefined;
        const log = createLogger('worker');
        const { WorkerAgent } = await import('../../worker/agent.js');
        const token = getCallerToken();
        const gpus = detectGpus(opts.gpus);
        const agent = new WorkerAgent({
          coordinator: opts.coordinator,
          ...(opts.id ? { id: opts.id } : {}),
          cpus: opts.cpus,
          gpus,
          memoryBytes: opts.memory,
          labels: parseLabels(opts.labels),
          ...(opts.runtimes ? { runtimes: opts.runtimes.split(',') } : {}),
          ...(opts.allowCommand ? { allowCommand: commandPattern(opts.allowCommand) } : {}),
          ...(token ? { token } : {}),
          ...(tls ? { tls } : {}),
          ...(opts.dataRoot ? { dataRoots: opts.dataRoot } : {}),
          maxDatasetBytes: opts.maxDatasetSize,
          ...(opts.maxMemory !== undefined ? { maxMemoryBytes: opts.maxMemory } : {}),
          ...(opts.maxProcs !== undefined ? { maxProcs: opts.maxProcs } : {}),
          log,
          shutdownGraceMs: opts.grace * 1000,
        });
        let metricsServer: MetricsServer | undefined;
        if (opts.metricsListen) {
          const { workerMetrics } = await import('../../worker/metrics.js');
          metricsServer = await serveMetrics(workerMetrics(agent, { cpus: opts.cpus, gpus }), opts.metricsListen, log);
        }
        installShutdown(async () => {
          await agent.shutdown();
          await metricsServer?.close();
        });
        agent.start();
        log.info({ coordinator: opts.coordinator, id: agent.id }, 'worker started');
      },
    );
}
