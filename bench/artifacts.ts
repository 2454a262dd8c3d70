/**
 * Streamed artifact throughput (`npm run bench:artifacts [-- --mib N --reps R --save]`): one file
 * of N MiB (default 256) uploaded with PutArtifactStream and downloaded with GetArtifactStream
 * through a real gRPC server on loopback, into LocalStore (temp dir) and MongoStore (GridFS, on
 * MONGODB_URI: FerretDB from `node scripts/services.mjs up`), against the peer
 * that bounds them on this disk: a plain streamed file copy of the same bytes. The coordinator and
 * the transfer client share this process; its peak RSS over the run is reported. Median of R
 * repetitions; JSON to stdout and, with --save, bench/results/artifacts.json.
 */
import { createHash, randomBytes } from 'node:crypto';
import {
  createReadStream,
  createWriteStream,
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { once } from 'node:events';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import * as grpc from '@grpc/grpc-js';
import { Coordinator } from '../coordinator/coordinator.js';
import { startServer } from '../coordinator/server.js';
import { LocalStore } from '../coordinator/store/local.js';
import { MongoStore } from '../coordinator/store/mongo.js';
import type { Store } from '../coordinator/store/base.js';
import { LocalBus } from '../coordinator/bus/local.js';
import { flowLimitsFromEnv } from '../coordinator/flow/limits.js';
import { createLogger } from '../shared/log.js';
import { env as processEnv } from '../shared/env.js';
import { loadProto, type WorkerServiceClient } from '../shared/proto.js';
import { downloadFile, uploadFile } from '../shared/artifact-transfer.js';
import type { Assignment__Output } from '../shared/generated/trellis/v1/Assignment.js';
import type { CoordinatorMessage__Output } from '../shared/generated/trellis/v1/CoordinatorMessage.js';
import { machine, median, ROOT, round } from './common.js';

const MiB = 1024 * 1024;

function arg(name: string, fallback: number): number {
  const at = process.argv.indexOf(name);
  if (at < 0) return fallback;
  const value = Number(process.argv[at + 1]);
  if (!Number.isInteger(value) || value < 1) {
    process.stderr.write(`${name}: must be a whole number >= 1\n`);
    process.exit(2);
  }
  return value;
}

function rss(): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return match ? Number(match[1]) * 1024 : 0;
}

function mongoUri(): string | undefined {
  const own = processEnv().MONGODB_URI;
  if (own) return own;
  const file = join(ROOT, '.services.env');
  if (!existsSync(file)) return undefined;
  return /^MONGODB_URI=(.*)$/m.exec(readFileSync(file, 'utf8'))?.[1]?.trim();
}

async function timed(work: () => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint();
  await work();
  return Number(process.hrtime.bigint() - start) / 1e9;
}

async function throughput(
  name: string,
  store: Store,
  file: string,
  size: number,
  sha256: string,
  reps: number,
  dir: string,
) {
  const log = createLogger('bench-artifacts', 'error');
  const coordinator = new Coordinator({ store, bus: new LocalBus(), log, leaseMs: 600_000 });
  await coordinator.start();
  const server = await startServer(coordinator, '127.0.0.1:0', log, {
    limits: { ...flowLimitsFromEnv(), stagingDir: join(dir, 'staging'), stagingMaxBytes: 4 * size },
  });
  const { proto } = loadProto();
  const client = new proto.trellis.v1.WorkerService(
    server.address,
    grpc.credentials.createInsecure(),
  ) as unknown as WorkerServiceClient;
  try {
    // A real attempt to upload for: a scripted worker takes the one trial and heartbeats.
    await coordinator.submit(
      JSON.stringify({
        apiVersion: 'trellis/v1',
        kind: 'Sweep',
        name: 'bench-artifacts',
        trial: { runtime: 'command', command: ['never-run'], objective: { metric: 's', mode: 'max' } },
        search: { algorithm: 'random', seed: 1, space: { x: { uniform: [0, 1] } } },
        budget: { trials: 1, concurrency: 1 },
      }),
    );
    const stream = client.Connect();
    stream.on('error', () => undefined);
    const attempt = await new Promise<Assignment__Output>((resolve) => {
      stream.on('data', (m: CoordinatorMessage__Output) => m.assign && resolve(m.assign));
      stream.write({ hello: { worker_id: 'bench', slots: { cpus: 1 }, runtimes: ['command'] } });
    });
    const heartbeat = setInterval(
      () => stream.write({ heartbeat: { running_attempt_ids: [attempt.attempt_id] } }),
      1000,
    );
    const up: number[] = [];
    const down: number[] = [];
    let peak = 0;
    const base = rss();
    const sampler = setInterval(() => (peak = Math.max(peak, rss())), 50);
    for (let i = 0; i < reps; i++) {
      let id = '';
      up.push(
        await timed(async () => {
          id = await uploadFile(client, {
            attemptId: attempt.attempt_id,
            attemptToken: attempt.attempt_token,
            kind: 'checkpoint',
            step: i,
            path: file,
            size,
            sha256,
          });
        }),
      );
      const out = join(dir, 'download.bin');
      down.push(await timed(() => downloadFile(client, { artifactId: id, path: out })));
      rmSync(out, { force: true });
    }
    clearInterval(sampler);
    clearInterval(heartbeat);
    stream.cancel();
    const mbps = (seconds: number) => round(size / 1e6 / seconds);
    return {
      store: name,
      upload_mb_s: mbps(median(up)),
      download_mb_s: mbps(median(down)),
      upload_s: up.map((s) => round(s, 3)),
      download_s: down.map((s) => round(s, 3)),
      rss_idle_mb: round(base / 1e6),
      rss_peak_mb: round(peak / 1e6),
    };
  } finally {
    client.close();
    await server.close();
    await coordinator.close();
  }
}

async function main(): Promise<void> {
  const mib = arg('--mib', 256);
  const reps = arg('--reps', 3);
  const dir = mkdtempSync(join(tmpdir(), 'trellis-bench-artifacts-'));
  try {
    const file = join(dir, 'artifact.bin');
    const hash = createHash('sha256');
    const sink = createWriteStream(file);
    for (let i = 0; i < mib; i++) {
      const piece = randomBytes(MiB);
      hash.update(piece);
      if (!sink.write(piece)) await once(sink, 'drain');
    }
    await new Promise<void>((resolve, reject) => sink.end((err?: Error | null) => (err ? reject(err) : resolve())));
    const sha256 = hash.digest('hex');
    const size = mib * MiB;
    const load = { before: loadavg().map((x) => round(x, 2)) };
    // The peer: the same bytes copied file to file, streamed (what any store write is bounded by here).
    const copies: number[] = [];
    for (let i = 0; i < reps; i++) {
      const copy = join(dir, 'copy.bin');
      copies.push(await timed(() => pipeline(createReadStream(file, { highWaterMark: MiB }), createWriteStream(copy))));
      rmSync(copy);
    }
    const results = [];
    results.push(await throughput('local', new LocalStore(join(dir, 'store')), file, size, sha256, reps, dir));
    const uri = mongoUri();
    if (uri) {
      const db = `bench_artifacts_${process.pid}`;
      results.push(await throughput('mongo (GridFS)', new MongoStore({ uri, db }), file, size, sha256, reps, dir));
    } else {
      results.push({
        store: 'mongo (GridFS)',
        missing: 'no MONGODB_URI and no .services.env: run node scripts/services.mjs up',
      });
    }
    const copyMbs = round(size / 1e6 / median(copies));
    const report = {
      bench: 'artifacts',
      date: new Date().toISOString(),
      machine: machine(),
      load: { ...load, after: loadavg().map((x) => round(x, 2)) },
      size_mib: mib,
      reps,
      peer_file_copy_mb_s: copyMbs,
      results: results.map((r) =>
        'upload_mb_s' in r
          ? {
              ...r,
              upload_vs_copy: round(r.upload_mb_s / copyMbs, 3),
              download_vs_copy: round(r.download_mb_s / copyMbs, 3),
            }
          : r,
      ),
    };
    const text = JSON.stringify(report, null, 2);
    process.stdout.write(`${text}\n`);
    if (process.argv.includes('--save')) writeFileSync(join(ROOT, 'bench', 'results', 'artifacts.json'), `${text}\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
