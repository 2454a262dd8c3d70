/**
 * A flood against a real coordinator process, while an honest client measures GetExperiment
 * latency and an honest worker process reports metrics (issue 11, "back-pressure and fairness").
 * Used by test/robustness/fairness.test.ts (which asserts bounds) and bench/flow.ts (which prints
 * the figures as JSON).
 *
 * Everything is real: `trellis token create`, a `trellis coordinator --tokens` process (local
 * store), a `trellis worker` process running a command program, and gRPC clients on loopback.
 * The callers are separate identities (tokens), as in a shared deployment:
 * - flood (viewer): `watchers` WatchEvents streams on the honest experiment that are never read,
 *   and `floodCalls` unary calls fired at once;
 * - abuser (worker): a Connect stream that never reads its replies, sending heartbeats that name
 *   `unknownIds` unknown attempts and `bogusReports` reports of attempts it does not hold;
 * - honest (viewer): GetExperiment, one call after another, until the honest experiment ends;
 * - node (worker): a real worker whose program reports `reports` steps.
 * The coordinator's RSS is sampled from /proc every 50 ms.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { connect, type ClientHttp2Session, type ClientHttp2Stream } from 'node:http2';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { CLI_PATH, stopChild } from '../cli/embedded.js';
import { TrellisClient } from '../client/index.js';
import { loadProto, type ExperimentServiceClient, type WorkerServiceClient } from '../shared/proto.js';
import { tokenInterceptors } from '../shared/token-metadata.js';
import { inheritedEnv } from '../shared/env.js';

export interface FloodOptions {
  watchers: number;
  reports: number;
  unknownIds: number;
  heartbeats: number;
  bogusReports: number;
  floodCalls: number;
  /** Extra coordinator environment (the flow limits, coordinator/flow/limits.ts). */
  env: Record<string, string>;
  /** Node flags for the coordinator process (e.g. --cpu-prof, to see where a flood's time goes). */
  nodeArgs?: string[];
  /** Everything must be over by then (ms). */
  deadlineMs: number;
}

export interface FloodResult {
  getExperiment: {
    calls: number;
    failed: number;
    p50Ms: number;
    p99Ms: number;
    maxMs: number;
    /** Which call was the slowest (0: the first made while the experiment ran). */
    maxAt: number;
  };
  rssMb: { baseline: number; peak: number; growth: number };
  honestReports: { sent: number; stored: number };
  experiment: { status: string; trials: { status: string; error?: string | undefined }[] };
  flood: {
    watchersOpened: number;
    watchersRefused: number;
    watchersDisconnected: number;
    watchersReset: number;
    callsRefused: number;
    callCodes: Record<string, number>;
    abuserStops: number;
    abuserEnded: string;
  };
  coordinatorLog: { slowWatchers: number; throttledWarnings: number; slowWorkers: number };
  seconds: number;
}

const SPEC = (reports: number): string =>
  JSON.stringify({
    apiVersion: 'trellis/v1',
    kind: 'Sweep',
    name: 'honest',
    trial: {
      runtime: 'command',
      command: [
        process.execPath,
        '-e',
        // 100 steps every 250 ms: the reports go on while the flood runs.
        `let i = 0; const t = setInterval(() => { for (let k = 0; k < 100 && i < ${reports}; k++) { i++; ` +
          `console.log(JSON.stringify({ step: i, val_score: i / ${reports} })); } if (i >= ${reports}) clearInterval(t); }, 250);`,
      ],
      objective: { metric: 'val_score', mode: 'max' },
    },
    search: { algorithm: 'random', seed: 1, space: { x: { uniform: [0, 1] } } },
    budget: { trials: 1, concurrency: 1, maxAttempts: 1 },
  });

function run(args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI_PATH, ...args], { env });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out.trim());
      else reject(new Error(`trellis ${args.join(' ')} exited ${code}: ${err.slice(-1000)}`));
    });
  });
}

/** The environment of a process we start: no services or credentials of the caller's own. */
function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env = inheritedEnv();
  for (const name of ['MONGODB_URI', 'NATS_URL', 'TRELLIS_TOKEN', 'TRELLIS_TOKENS_FILE']) delete env[name];
  return { ...env, ...extra };
}

function rssMb(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) / 1024 : NaN;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/**
 * A WatchEvents call on a raw HTTP/2 stream that is paused: it takes nothing off the connection,
 * as a client that never reads (grpc-js clients keep reading into memory until they read once).
 * `read()` resumes it and resolves with the events' seqs and the status trailers.
 */
export function unreadWatch(
  session: ClientHttp2Session,
  experimentId: string,
  token?: string,
): {
  stream: ClientHttp2Stream;
  read(): Promise<{ seqs: number[]; status: number; message: string; resumeFromSeq: number }>;
} {
  const id = Buffer.from(experimentId);
  // WatchEventsRequest: experiment_id (field 1, string), from_start (field 3, true).
  const body = Buffer.concat([Buffer.from([0x0a, id.length]), id, Buffer.from([0x18, 0x01])]);
  const frame = Buffer.alloc(5 + body.length);
  frame.writeUInt32BE(body.length, 1);
  body.copy(frame, 5);
  const stream = session.request({
    ':method': 'POST',
    ':path': '/trellis.v1.ExperimentService/WatchEvents',
    'content-type': 'application/grpc',
    te: 'trailers',
    ...(token ? { authorization: `Bearer ${token}` } : {}),
  });
  stream.end(frame);
  stream.pause();
  stream.on('error', () => undefined);
  const trailers = new Promise<Record<string, unknown>>((resolve) => {
    stream.on('response', (headers) => headers['grpc-status'] !== undefined && resolve(headers));
    stream.on('trailers', resolve);
    stream.on('close', () => resolve({ 'grpc-status': 'closed' }));
  });
  const decode = loadProto().proto.trellis.v1.ExperimentService.service.WatchEvents.responseDeserialize;
  return {
    stream,
    async read() {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.resume();
      const headers = await trailers;
      const all = Buffer.concat(chunks);
      const seqs: number[] = [];
      for (let at = 0; at + 5 <= all.length;) {
        const length = all.readUInt32BE(at + 1);
        if (at + 5 + length > all.length) break;
        seqs.push(Number((decode(all.subarray(at + 5, at + 5 + length)) as { seq: string }).seq));
        at += 5 + length;
      }
      return {
        seqs,
        status: Number(headers['grpc-status']),
        message: decodeURIComponent(typeof headers['grpc-message'] === 'string' ? headers['grpc-message'] : ''),
        resumeFromSeq: Number(headers['trellis-resume-from-seq'] ?? NaN),
      };
    },
  };
}

const HONEST_CLIENT = fileURLToPath(new URL('./honest-client.js', import.meta.url));

/** A client on its own connection (grpc-js would otherwise share one between clients). */
const OWN_CONNECTION = { 'grpc.use_local_subchannel_pool': 1 };

export async function runFlood(options: FloodOptions): Promise<FloodResult> {
  const started = Date.now();
  const dir = mkdtempSync(join(tmpdir(), 'trellis-flood-'));
  const tokensFile = join(dir, 'tokens.json');
  const tokens: Record<string, string> = {};
  const children: ChildProcess[] = [];
  const closers: (() => void)[] = [];
  try {
    for (const [name, role] of Object.entries({
      sub: 'submitter',
      honest: 'viewer',
      flood: 'viewer',
      node: 'worker',
      abuser: 'worker',
    })) {
      tokens[name] = await run(
        ['token', 'create', '--tokens', tokensFile, '--name', name, '--role', role],
        cleanEnv({}),
      );
    }
    const coordinator = spawn(
      process.execPath,
      [
        ...(options.nodeArgs ?? []),
        CLI_PATH,
        'coordinator',
        '--listen',
        '127.0.0.1:0',
        '--tokens',
        tokensFile,
        '--dir',
        join(dir, 'state'),
      ],
      { env: cleanEnv({ TRELLIS_LOG_LEVEL: 'info', ...options.env }), stdio: ['ignore', 'ignore', 'pipe'] },
    );
    children.push(coordinator);
    let log = '';
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`coordinator did not serve within 60 s: ${log}`)), 60_000);
      coordinator.stderr!.on('data', (d: Buffer) => {
        log += d.toString();
        const match = /LISTENING (\d+)/.exec(log);
        if (match) {
          clearTimeout(timer);
          resolve(Number(match[1]));
        }
      });
      coordinator.once('exit', (code) => reject(new Error(`coordinator exited ${code}: ${log.slice(-2000)}`)));
    });
    const address = `127.0.0.1:${port}`;
    const { proto } = loadProto();
    const raw = <T>(Service: new (...args: never[]) => unknown, token: string): T => {
      const client = new (Service as unknown as new (a: string, c: grpc.ChannelCredentials, o: object) => T)(
        address,
        grpc.credentials.createInsecure(),
        { ...OWN_CONNECTION, interceptors: tokenInterceptors(token) },
      );
      closers.push(() => (client as unknown as grpc.Client).close());
      return client;
    };

    // RSS before the flood, then sampled throughout.
    const baseline = rssMb(coordinator.pid!);
    let peak = baseline;
    const sampler = setInterval(() => {
      try {
        peak = Math.max(peak, rssMb(coordinator.pid!));
      } catch {
        // the process is gone; the result says so through its other checks
      }
    }, 50);
    closers.push(() => clearInterval(sampler));

    const submitter = new TrellisClient(address, { token: tokens.sub!, timeoutMs: 30_000 });
    closers.push(() => submitter.close());
    const { experiment } = await submitter.submit(SPEC(options.reports));

    // flood: unread watchers on the honest experiment (one connection, as one abusive client).
    const flood = raw<ExperimentServiceClient>(proto.trellis.v1.ExperimentService, tokens.flood!);
    const floodSession = connect(`http://${address}`);
    floodSession.on('error', () => undefined);
    closers.push(() => floodSession.destroy());
    const watchers = Array.from({ length: options.watchers }, () =>
      unreadWatch(floodSession, experiment.id, tokens.flood!),
    );

    // flood: unary calls fired at once.
    let callsRefused = 0;
    const callCodes: Record<string, number> = {};
    const floodCalls = Promise.all(
      Array.from(
        { length: options.floodCalls },
        () =>
          new Promise<void>((resolve) =>
            flood.GetExperiment({ id: experiment.id }, { deadline: Date.now() + 30_000 }, (err) => {
              const code = err ? (grpc.status[err.code] ?? String(err.code)) : 'OK';
              callCodes[code] = (callCodes[code] ?? 0) + 1;
              if (err?.code === grpc.status.RESOURCE_EXHAUSTED) callsRefused++;
              resolve();
            }),
          ),
      ),
    );

    // abuser: a worker stream that never reads, naming unknown attempts.
    const abuserClient = raw<WorkerServiceClient>(proto.trellis.v1.WorkerService, tokens.abuser!);
    const abuser = abuserClient.Connect();
    closers.push(() => abuser.cancel());
    let abuserStops = 0;
    const abuserEnded = new Promise<string>((resolve) => {
      abuser.on('error', (err: grpc.ServiceError) => resolve(grpc.status[err.code] ?? String(err.code)));
      abuser.on('end', () => resolve('end'));
    });
    // A runtime no trial asks for: no work is ever placed on it.
    abuser.write({ hello: { worker_id: 'abuser', slots: { cpus: 1 }, runtimes: ['abuse'] } });
    const ids = Array.from({ length: options.unknownIds }, (_, n) => `ghost-t${n}-a1`);
    const abuse = (async () => {
      for (let n = 0; n < options.heartbeats; n++) {
        if (!abuser.write({ heartbeat: { running_attempt_ids: ids } }))
          await new Promise((resolve) => abuser.once('drain', resolve));
      }
      for (let n = 0; n < options.bogusReports; n++) {
        const ok = abuser.write({ progress: { attempt_id: `ghost-t${n}-a1`, step: 1, metrics: { val_score: 1 } } });
        if (!ok) {
          const drained = await Promise.race([
            new Promise((resolve) => abuser.once('drain', () => resolve(true))),
            abuserEnded.then(() => false),
          ]);
          if (!drained) return;
        }
      }
    })();
    // Counted only once the abuse is over: reading earlier would make it an honest reader.
    abuser.on('data', (m: { stop?: unknown }) => (m.stop ? abuserStops++ : undefined));
    abuser.pause();

    // node: the honest worker process.
    const worker = spawn(
      process.execPath,
      [CLI_PATH, 'worker', '--coordinator', address, '--cpus', '1', '--id', 'honest-node', '--allow-command'],
      { env: cleanEnv({ TRELLIS_TOKEN: tokens.node! }), stdio: 'ignore' },
    );
    children.push(worker);

    // honest: GetExperiment one after another until the experiment ends, from its own process.
    const deadline = started + options.deadlineMs;
    const honestRun = await new Promise<{ status: string; failed: number; latencies: number[] }>((resolve, reject) => {
      const child = spawn(
        process.execPath,
        [HONEST_CLIENT, address, tokens.honest!, experiment.id, String(Math.max(1000, deadline - Date.now()))],
        { env: cleanEnv({}), stdio: ['ignore', 'pipe', 'pipe'] },
      );
      children.push(child);
      let out = '';
      let err = '';
      child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
      child.on('exit', (code) =>
        code === 0
          ? resolve(JSON.parse(out) as { status: string; failed: number; latencies: number[] })
          : reject(new Error(`honest client exited ${code}: ${err.slice(-1000)}`)),
      );
    });
    const { status, failed, latencies } = honestRun;
    const honest = new TrellisClient(address, { token: tokens.honest!, timeoutMs: 30_000 });
    closers.push(() => honest.close());
    await Promise.race([
      Promise.all([floodCalls, abuse]),
      new Promise((_, reject) =>
        setTimeout(() => reject(new Error('flood did not finish')), Math.max(1000, deadline - Date.now())).unref(),
      ),
    ]);
    const stored = (await honest.exportMetrics(experiment.id)).length;
    const outcomes = await Promise.all(watchers.map((w) => w.read()));
    const exhausted = outcomes.filter((o) => o.status === Number(grpc.status.RESOURCE_EXHAUSTED));
    const watchersRefused = exhausted.filter((o) => /open streams; the limit/.test(o.message)).length;
    const watchersDisconnected = exhausted.filter((o) => /slow consumer/.test(o.message)).length;
    // Disconnected, then reset when the status was still not taken (coordinator/flow/watch.ts).
    const watchersReset = outcomes.filter((o) => Number.isNaN(o.status)).length;
    const trials = await honest.trials(experiment.id);
    abuser.resume();
    const sorted = [...latencies].sort((a, b) => a - b);
    const round = (x: number): number => Math.round(x * 10) / 10;
    const count = (pattern: RegExp): number => log.split('\n').filter((line) => pattern.test(line)).length;
    return {
      getExperiment: {
        calls: latencies.length,
        failed,
        p50Ms: round(percentile(sorted, 50)),
        p99Ms: round(percentile(sorted, 99)),
        maxMs: round(sorted.at(-1) ?? NaN),
        maxAt: latencies.indexOf(sorted.at(-1)!),
      },
      rssMb: { baseline: round(baseline), peak: round(peak), growth: round(peak - baseline) },
      honestReports: { sent: options.reports, stored },
      experiment: { status, trials: trials.map((t) => ({ status: t.status, error: t.error })) },
      flood: {
        watchersOpened: options.watchers,
        watchersRefused,
        watchersDisconnected,
        watchersReset,
        callsRefused,
        callCodes,
        abuserStops,
        abuserEnded: await Promise.race([abuserEnded, Promise.resolve('open')]),
      },
      coordinatorLog: {
        slowWatchers: count(/slow watcher disconnected/),
        throttledWarnings: count(/over its report rate/),
        slowWorkers: count(/worker not reading its stream/),
      },
      seconds: round((Date.now() - started) / 1000),
    };
  } finally {
    for (const close of closers.reverse()) close();
    await Promise.all(children.reverse().map((child) => stopChild(child, 5000)));
    rmSync(dir, { recursive: true, force: true });
  }
}
