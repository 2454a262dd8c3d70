/**
 * `trellis worker`: a worker that takes trials from a coordinator, advertising its CPUs, GPUs,
 * memory, labels and runtimes.
 */
import { Option, type Command } from 'commander';
import { availableParallelism, totalmem } from 'node:os';
import type { GpuProbe } from '../../worker/gpus/base.js';
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
  print,
  tokenOption,
  sizeFlag,
  UsageError,
  withClient,
} from '../common.js';

/** How long a worker whose parent died may take to stop its programs before it exits anyway. */
const PARENT_GONE_EXIT_MS = 5000;

/**
 * The GPUs to advertise: `--gpus` ids (memory unknown: whole-GPU requests only), else what the
 * GPU probe finds (nvidia-smi, or the test-only TRELLIS_FAKE_GPUS), with their total memory.
 */
async function detectGpus(
  spec: string | undefined,
  probe: GpuProbe,
): Promise<{ id: string; name: string; memoryBytes: number }[]> {
  if (spec !== undefined) {
    return spec
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)
      .map((id) => ({ id, name: 'gpu', memoryBytes: 0 }));
  }
  return (await probe.inventory()).map((g) => ({ id: g.id, name: g.name, memoryBytes: g.totalBytes }));
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
  const worker = program
    .command('worker')
    // The worker's own flags only before `drain`, so `worker drain ID --coordinator X` reaches drain.
    .enablePositionalOptions()
    .description('run a worker that takes trials from a coordinator')
    .addOption(coordinatorOption())
    .addOption(
      new Option('--id <id>', 'worker id (env TRELLIS_WORKER_ID; default host-pid-random)').default(
        env().TRELLIS_WORKER_ID,
      ),
    )
    .option('--cpus <n>', 'CPU slots to advertise', positiveNumber('--cpus'), availableParallelism())
    .option(
      '--gpus <ids>',
      "GPU ids to advertise, comma-separated, memory unknown (default: nvidia-smi with each GPU's memory, or none)",
    )
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
      'drain grace time (SIGTERM or `trellis worker drain`): running attempts checkpoint and are handed back as preempted within it; keep terminationGracePeriodSeconds above it',
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
    .option(
      '--exit-with-parent',
      'exit when the process that started this worker dies (its stdin pipe closes or the parent pid changes); set by `trellis run`',
    )
    .addOption(metricsListenOption())
    .option('--list-gpus', 'print the GPUs this worker would advertise (nvidia-smi, or --gpus) as JSON and exit')
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
        listGpus?: boolean;
        tlsCert?: string;
        tlsKey?: string;
        dataRoot?: string[];
        maxDatasetSize: number;
        maxMemory?: number;
        maxProcs?: number;
        exitWithParent?: boolean;
      }) => {
        if (opts.listGpus) {
          const probe = (await import('../../worker/gpus/registry.js')).gpuProbe();
          const seen = await detectGpus(opts.gpus, probe);
          process.stdout.write(
            `${JSON.stringify({ gpus: seen, source: opts.gpus !== undefined ? '--gpus' : probe.name })}\n`,
          );
          return;
        }
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
        const probe = (await import('../../worker/gpus/registry.js')).gpuProbe();
        const gpus = await detectGpus(opts.gpus, probe);
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
          gpuProbe: probe,
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
        if (opts.exitWithParent) {
          const { watchParent } = await import('../../worker/parent-watch.js');
          watchParent((why) => {
            // The coordinator died with the parent: nothing to drain into. Stop the programs
            // (their attempts are handed back) and exit, bounded.
            log.warn({ why }, 'parent process is gone; stopping');
            setTimeout(() => process.exit(1), PARENT_GONE_EXIT_MS).unref();
            agent.shutdown(0).then(
              () => process.exit(1),
              () => process.exit(1),
            );
          });
        }
        // Drained by an operator (DrainWorker): the agent stops itself; the process ends with it.
        void agent.stopped.then(async () => {
          await metricsServer?.close();
          log.info({ id: agent.id }, 'worker stopped');
          process.exit(0);
        });
        agent.start();
        log.info({ coordinator: opts.coordinator, id: agent.id, gpus }, 'worker started');
      },
    );

  worker
    .command('drain')
    .description(
      'drain a connected worker (admin): it takes nothing new, its running attempts checkpoint and come back as preempted (requeued at once on other workers), then it exits',
    )
    .argument('<id>', 'worker id (see `trellis status --workers` or ListWorkers)')
    .addOption(coordinatorOption())
    .addOption(tokenOption())
    .option('--json', 'print one JSON document on stdout')
    .action(async (id: string, opts: { coordinator: string; json?: boolean }) => {
      await withClient(opts.coordinator, async (client) => {
        const running = await client.drainWorker(id);
        print(!!opts.json, { workerId: id, draining: true, runningAttemptIds: running }, () =>
          running.length > 0
            ? `${id}: draining; preempting ${running.length} attempt(s): ${running.join(', ')}`
            : `${id}: draining; no running attempts`,
        );
      });
    });
}
