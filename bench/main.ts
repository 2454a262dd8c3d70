/**
 * `npm run bench -- SUITE [options]`: runs one benchmark suite and prints one JSON document
 * with Trellis's figures, the peers' figures measured in the same run, and their ratios.
 * With --json only that document goes to stdout (progress is on stderr); without it a short
 * summary of the goals comes first. Exit: 0 done (goals met or not), 1 the suite failed,
 * 2 usage. See bench/README.md.
 */
import { writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { machine, positiveInt, progress, ROOT } from './common.js';
import { runDispatch } from './dispatch.js';
import { runSuggest } from './suggest.js';
import { runSearch } from './search.js';
import { runIngest } from './ingest.js';
import { runPareto } from './pareto.js';
import { runParetoFairness } from './pareto-fairness.js';
import { runScale } from './scale.js';
import { runMillion } from './million.js';
import { runTfBackends } from './tf-backends.js';

const SUITES = ['dispatch', 'suggest', 'search', 'ingest', 'pareto', 'scale', 'million', 'tf-backends'] as const;
type Suite = (typeof SUITES)[number];

function fraction(name: string) {
  return (value: string): number => {
    const f = Number(value);
    if (!(f >= 0 && f < 1))
      throw new InvalidArgumentError(`${name} must be a number from 0 up to (not including) 1, got ${value}`);
    return f;
  };
}

interface CliOptions {
  json?: boolean;
  save?: boolean;
  peers: boolean;
  ray: boolean;
  trials: number;
  sleepTrials: number;
  reps: number;
  rayTrials: number;
  raySleepTrials: number;
  optunaProcs: number;
  sizes: string;
  seeds: number;
  budget: number;
  maxEpochs: number;
  concurrency: number;
  raySeeds: number;
  target: number;
  attempts: number;
  reports: number;
  remoteReports: number;
  window: number;
  paretoTrials: number;
  task: string;
  fairnessTrials: number;
  jobs: number;
  workers: number[];
  slots: number;
  trialMs: number;
  reportMs: number;
  rounds: number;
  trialJitter: number;
  procs: number;
  total: number;
  every: number;
  pin: boolean;
  idleMs?: number;
  out?: string;
}

async function runSuite(suite: Suite, o: CliOptions): Promise<Record<string, unknown>> {
  switch (suite) {
    case 'dispatch':
      return runDispatch({
        trials: o.trials,
        sleepTrials: o.sleepTrials,
        reps: o.reps,
        rayTrials: o.rayTrials,
        raySleepTrials: o.raySleepTrials,
        optunaProcs: o.optunaProcs,
        peers: o.peers,
        ray: o.ray,
      });
    case 'suggest':
      return runSuggest({ sizes: o.sizes.split(',').map((s) => positiveInt('--sizes')(s.trim())), peers: o.peers });
    case 'search':
      return runSearch({
        seeds: o.seeds,
        budget: o.budget,
        maxEpochs: o.maxEpochs,
        concurrency: o.concurrency,
        raySeeds: o.raySeeds,
        peers: o.peers,
        target: o.target,
      });
    case 'ingest':
      return runIngest({ attempts: o.attempts, reports: o.reports, remoteReports: o.remoteReports, window: o.window });
    case 'pareto':
      return o.task === 'fairness'
        ? runParetoFairness({ seeds: o.seeds, trials: o.fairnessTrials, peers: o.peers, jobs: o.jobs })
        : runPareto({ seeds: o.seeds, trials: o.paretoTrials, peers: o.peers });
    case 'scale':
      return runScale({
        workers: o.workers,
        slots: o.slots,
        trialMs: o.trialMs,
        reportMs: o.reportMs,
        rounds: o.rounds,
        trialJitter: o.trialJitter,
        procs: o.procs,
        pin: o.pin,
        ...(o.idleMs !== undefined ? { idleMs: o.idleMs } : {}),
      });
    case 'million':
      return runMillion({ total: o.total, every: o.every });
    case 'tf-backends':
      return runTfBackends({ reps: o.reps });
  }
}

function summary(doc: Record<string, unknown>): string {
  const goals = (doc.goals ?? {}) as Record<string, { value?: unknown; target?: unknown; met?: unknown }>;
  const lines = Object.entries(goals).map(
    ([name, g]) =>
      `  ${g.met === true ? 'met    ' : g.met === false ? 'MISSED ' : 'n/a    '} ${name}: ${JSON.stringify(g.value)} (target ${String(g.target)})`,
  );
  return lines.length > 0 ? `goals:\n${lines.join('\n')}\n` : '';
}

const program = new Command()
  .name('bench')
  .description('Trellis benchmarks against Optuna and Ray Tune')
  .argument('<suite>', `one of ${SUITES.join(', ')}`)
  .option('--json', 'print only the JSON document on stdout')
  .option('--save', 'also write the document to bench/results/SUITE.json')
  .option('--out <file>', 'also write the document to this file (its folder is created)')
  .option('--no-peers', 'skip Optuna and Ray Tune')
  .option('--no-ray', 'dispatch: skip Ray Tune only (Optuna alone in bench/.venv is enough)')
  .addOption(new Option('--trials <n>', 'dispatch: no-op trials').argParser(positiveInt('--trials')).default(200))
  .addOption(
    new Option('--sleep-trials <n>', 'dispatch: 1 s trials (16 concurrent)')
      .argParser(positiveInt('--sleep-trials'))
      .default(64),
  )
  .addOption(
    new Option(
      '--reps <n>',
      'dispatch: repetitions of each no-op run; tf-backends: of each workload and backend (median reported)',
    )
      .argParser(positiveInt('--reps'))
      .default(3),
  )
  .addOption(
    new Option('--ray-trials <n>', 'dispatch: Ray Tune no-op trials (Ray is slow here)')
      .argParser(positiveInt('--ray-trials'))
      .default(30),
  )
  .addOption(
    new Option('--ray-sleep-trials <n>', 'dispatch: Ray Tune 1 s trials')
      .argParser(positiveInt('--ray-sleep-trials'))
      .default(64),
  )
  .addOption(
    new Option(
      '--optuna-procs <n>',
      'dispatch: Optuna processes sharing the journal (1 process is tried too; the faster is reported)',
    )
      .argParser(positiveInt('--optuna-procs'))
      .default(2),
  )
  .addOption(new Option('--sizes <list>', 'suggest: finished-trial counts').default('100,1000,2000'))
  .addOption(
    new Option('--pareto-trials <n>', 'pareto: trials per run (ZDT1/ZDT2)')
      .argParser(positiveInt('--pareto-trials'))
      .default(300),
  )
  .addOption(
    new Option('--task <name>', 'pareto: zdt (ZDT1/ZDT2) or fairness (examples/fairness-pareto.yaml, trained)')
      .choices(['zdt', 'fairness'])
      .default('zdt'),
  )
  .addOption(
    new Option('--fairness-trials <n>', 'pareto --task fairness: trials per run')
      .argParser(positiveInt('--fairness-trials'))
      .default(40),
  )
  .addOption(
    new Option('--jobs <n>', 'pareto --task fairness: runs (method, seed) at once, each sequential')
      .argParser(positiveInt('--jobs'))
      .default(2),
  )
  .addOption(
    new Option('--seeds <n>', 'search, pareto: seeds per method').argParser(positiveInt('--seeds')).default(10),
  )
  .addOption(new Option('--budget <epochs>', 'search: epochs per run').argParser(positiveInt('--budget')).default(600))
  .addOption(
    new Option('--max-epochs <n>', 'search: epochs of a full trial').argParser(positiveInt('--max-epochs')).default(27),
  )
  .addOption(
    new Option('--concurrency <n>', 'search: trials at once').argParser(positiveInt('--concurrency')).default(4),
  )
  .addOption(
    new Option('--ray-seeds <n>', 'search: seeds for Ray Tune (the first N of --seeds; Ray is slow here)')
      .argParser(positiveInt('--ray-seeds'))
      .default(5),
  )
  .addOption(new Option('--target <regret>', 'search: regret target (accuracy points)').argParser(Number).default(0.02))
  .addOption(
    new Option('--attempts <n>', 'ingest: running attempts reporting at once')
      .argParser(positiveInt('--attempts'))
      .default(32),
  )
  .addOption(
    new Option('--reports <n>', 'ingest: reports on the local store + bus')
      .argParser(positiveInt('--reports'))
      .default(20000),
  )
  .addOption(
    new Option('--remote-reports <n>', 'ingest: reports on MongoStore + NatsBus (FerretDB is slow)')
      .argParser(positiveInt('--remote-reports'))
      .default(1000),
  )
  .addOption(
    new Option(
      '--window <n>',
      'ingest: reports in flight per attempt in the second measurement (the first uses 1; 1 skips the second)',
    )
      .argParser(positiveInt('--window'))
      .default(8),
  )
  .addOption(
    new Option('--workers <list>', 'scale: simulated worker counts, run in turn')
      .argParser((list) => list.split(',').map((s) => positiveInt('--workers')(s.trim())))
      .default([10, 100, 1000], '10,100,1000'),
  )
  .addOption(new Option('--slots <n>', 'scale: slots per worker').argParser(positiveInt('--slots')).default(4))
  .addOption(
    new Option('--trial-ms <ms>', 'scale: length of each trial').argParser(positiveInt('--trial-ms')).default(5000),
  )
  .addOption(
    new Option(
      '--trial-jitter <fraction>',
      'scale: each trial lasts --trial-ms × a uniform draw from [1 − F, 1 + F] (0: all alike, so they end in bursts)',
    )
      .argParser(fraction('--trial-jitter'))
      .default(0),
  )
  .addOption(
    new Option('--report-ms <ms>', 'scale: a metric report every this often per trial')
      .argParser(positiveInt('--report-ms'))
      .default(100),
  )
  .addOption(
    new Option('--rounds <n>', 'scale: trials per slot (the sweep has workers × slots × rounds trials)')
      .argParser(positiveInt('--rounds'))
      .default(4),
  )
  .addOption(
    new Option('--procs <n>', 'scale: processes holding the simulated workers')
      .argParser(positiveInt('--procs'))
      .default(4),
  )
  .addOption(
    new Option('--pin', 'scale: coordinator on CPU 0, simulated workers on the other CPUs (taskset; > 2 CPUs)').default(
      false,
    ),
  )
  .addOption(
    new Option(
      '--idle-ms <ms>',
      'scale: idle phase before each sweep (CPU per heartbeat); default one heartbeat interval',
    ).argParser(positiveInt('--idle-ms')),
  )
  .addOption(
    new Option('--total <n>', 'million: no-op trials in one in-process sweep')
      .argParser(positiveInt('--total'))
      .default(1_000_000),
  )
  .addOption(
    new Option('--every <n>', 'million: sample rate, RSS and cache sizes every this many trials')
      .argParser(positiveInt('--every'))
      .default(10_000),
  )
  .action(async (suiteName: string, o: CliOptions) => {
    if (!(SUITES as readonly string[]).includes(suiteName)) {
      program.error(`unknown suite ${JSON.stringify(suiteName)}; allowed: ${SUITES.join(', ')}`, { exitCode: 2 });
    }
    const suite = suiteName as Suite;
    const started = new Date();
    progress(`suite ${suite} started`);
    const result = await runSuite(suite, o);
    const doc = {
      suite,
      date: started.toISOString(),
      seconds: Math.round((Date.now() - started.getTime()) / 100) / 10,
      command: `npm run bench -- ${process.argv.slice(2).join(' ')}`,
      machine: machine(),
      ...result,
    };
    const text = JSON.stringify(doc, null, 2);
    if (o.save) {
      mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
      const file = suite === 'pareto' && o.task === 'fairness' ? 'pareto-fairness' : suite;
      writeFileSync(join(ROOT, 'bench', 'results', `${file}.json`), text + '\n');
      progress(`saved bench/results/${file}.json`);
    }
    if (o.out) {
      mkdirSync(dirname(resolve(o.out)), { recursive: true });
      writeFileSync(o.out, text + '\n');
      progress(`wrote ${o.out}`);
    }
    if (o.json) process.stdout.write(JSON.stringify(doc) + '\n');
    else process.stdout.write(`${summary(doc)}${text}\n`);
  });

program.exitOverride((err) => {
  process.exit(err.exitCode === 0 ? 0 : 2);
});

try {
  await program.parseAsync(process.argv);
  // Worker processes, gRPC channels and peer children are closed by the suites; anything left
  // (a keep-alive timer) must not keep the benchmark alive.
  process.exit(0);
} catch (err) {
  process.stderr.write(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
}
