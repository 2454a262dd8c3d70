/**
 * What the `trellis` commands share: the exit-code contract (UsageError → 2), spec reading,
 * the one-JSON-document output, a client that is always closed, flag parsers, following an
 * experiment to its end, and the shutdown of the long-running commands.
 */
import { loadLimitsFile } from '../shared/limits.js';
import { parseListen } from '../shared/metrics-http.js';
import { Option } from 'commander';
import { readFileSync } from 'node:fs';
import { TrellisClient } from '../client/index.js';
import type { ExperimentView } from '../shared/convert.js';
import { env } from '../shared/env.js';
import type { TrellisEvent } from '../shared/events.js';
import { leaderboard, pipelineSummary, ProgressView, runDocument } from './render.js';
import { objectiveOf } from '../shared/dashboard.js';

/** Bad flags or arguments: exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export function readSpec(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read spec ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

export function print(json: boolean, document: unknown, text: () => string): void {
  process.stdout.write(json ? `${JSON.stringify(document, null, 2)}\n` : `${text()}\n`);
}

/** The `--token` of the command being run (main.ts sets it before the action); else TRELLIS_TOKEN. */
let callerToken: string | undefined;

export function setCallerToken(token: string | undefined): void {
  callerToken = token;
}

export function getCallerToken(): string | undefined {
  return callerToken ?? env().TRELLIS_TOKEN;
}

/** `--token`, added by main.ts to every command that talks to a coordinator. */
export function tokenOption(): Option {
  return new Option('--token <token>', 'token sent to the coordinator (env TRELLIS_TOKEN)');
}

/** The `--tls-ca` of the command being run (main.ts sets it before the action); else TRELLIS_TLS_CA. */
let callerTlsCa: string | undefined;

export function setCallerTlsCa(path: string | undefined): void {
  callerTlsCa = path;
}

export function getCallerTlsCa(): string | undefined {
  return callerTlsCa ?? env().TRELLIS_TLS_CA;
}

/** `--tls-ca`, added by main.ts to every command that talks to a coordinator. */
export function tlsCaOption(): Option {
  return new Option('--tls-ca <file>', "CA (PEM) that signed the coordinator's TLS certificate (env TRELLIS_TLS_CA)");
}

/** The token and TLS settings of this command's calls (`--token`, `--tls-ca` or their variables). */
export function callerOptions(): { token?: string; tls?: { ca: string } } {
  const token = getCallerToken();
  const ca = getCallerTlsCa();
  return { ...(token ? { token } : {}), ...(ca ? { tls: { ca } } : {}) };
}

/** Runs `use` with a client of the coordinator at `address`, closed afterwards whatever happens. */
export async function withClient(address: string, use: (client: TrellisClient) => Promise<void>): Promise<void> {
  const client = new TrellisClient(address, callerOptions());
  try {
    await use(client);
  } finally {
    client.close();
  }
}

export function exitCodeOf(experiment: ExperimentView): number {
  return experiment.status === 'succeeded' ? 0 : 1;
}

export function positiveInt(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) throw new UsageError(`${name}: must be an integer >= 1, got ${value}`);
    return n;
  };
}

export function positiveNumber(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!(n > 0)) throw new UsageError(`${name}: must be a number > 0, got ${value}`);
    return n;
  };
}

/** A size flag: bytes, or a number with Ki, Mi, Gi or Ti (e.g. 512Mi, 1.5Gi); must be > 0. */
export function sizeFlag(name: string) {
  return (value: string): number => {
    const match = /^\s*(\d+(?:\.\d+)?)\s*(Ki|Mi|Gi|Ti)?\s*$/.exec(value);
    const unit = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40 }[match?.[2] as 'Ki'] ?? 1;
    const bytes = match ? Math.floor(Number(match[1]) * unit) : NaN;
    if (!(bytes > 0)) throw new UsageError(`${name}: must be a size > 0: bytes, or e.g. 512Mi, 2Gi; got ${value}`);
    return bytes;
  };
}

/** `--metrics-listen HOST:PORT` (coordinator, worker, run): Prometheus /metrics, off unless given. */
export function metricsListenOption(): Option {
  return new Option(
    '--metrics-listen <host:port>',
    'serve Prometheus metrics on http://HOST:PORT/metrics (off by default)',
  ).argParser((value) => {
    try {
      parseListen(value);
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    return value;
  });
}

/** `--limits FILE` (coordinator, run): a JSON object overriding keys of shared/limits.ts's table. */
export function limitsOption(): Option {
  return new Option(
    '--limits <file>',
    'JSON file of request limits to override (e.g. {"maxTrials": 5000000}; keys and defaults in README)',
  ).argParser((path) => {
    try {
      return loadLimitsFile(path);
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
  });
}

/** `--coordinator`, defaulting to TRELLIS_COORDINATOR. */
export function coordinatorOption(): Option {
  return new Option('--coordinator <host:port>', 'coordinator address (env TRELLIS_COORDINATOR)').default(
    env().TRELLIS_COORDINATOR,
  );
}

/** Shows progress until the experiment ends, prints its document; the exit code (0 only when it succeeded). */
export async function followAndReport(
  client: TrellisClient,
  experiment: ExperimentView,
  json: boolean,
  quiet = false,
): Promise<number> {
  const spec = experiment.spec as {
    budget?: { trials?: number };
    trial?: { epochs?: number };
  };
  const view = new ProgressView(
    spec.budget?.trials ?? 0,
    spec.trial?.epochs ?? 1,
    objectiveOf(experiment.spec).metric,
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

/** Runs `stop` once on SIGTERM/SIGINT; a second signal exits at once. */
export function installShutdown(stop: () => Promise<void>): void {
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
