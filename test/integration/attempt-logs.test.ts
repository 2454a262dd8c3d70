/**
 * `trellis logs` end to end (coordinator + a worker process + real programs): each attempt's
 * output is kept (head + tail, a 50 MB line cut with a marker, env values redacted), stored as
 * the attempt's log artifact, readable per attempt, and `--follow` streams a running attempt's
 * new lines and ends with it.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TrellisClient } from '../../client/index.js';
import { CLI_PATH } from '../../cli/embedded.js';
import { LINE_CHARS } from '../../shared/bounded-log.js';
import { logArtifactId } from '../../coordinator/attempt-logs.js';
import { startCluster, waitForWorkers } from '../helpers/cluster.js';
import { trellis } from '../helpers/cli.js';
import { within } from '../helpers/deadline.js';

const CHATTY = fileURLToPath(new URL('../../../test/fixtures/programs/chatty.mjs', import.meta.url));
const SECRET = 'sk-live-0123456789abcdef';

function spec(name: string, args: string[], env: Record<string, string> = {}): string {
  return JSON.stringify({
    apiVersion: 'trellis/v1',
    kind: 'Sweep',
    name,
    trial: {
      runtime: 'command',
      command: [process.execPath, CHATTY, ...args],
      env,
      objective: { metric: 'loss', mode: 'min' },
      stopGraceSeconds: 2,
    },
    search: { algorithm: 'grid', space: { x: { choice: [1] } } },
    budget: { trials: 1, concurrency: 1, maxAttempts: 2 },
  });
}

describe('trellis logs through a real cluster', () => {
  it('keeps each attempt bounded, cuts a 50 MB line, redacts env values, and follows a running attempt', async () => {
    const cluster = await startCluster({ workers: 1 });
    const client = new TrellisClient(cluster.address);
    const coordinator = ['--coordinator', cluster.address];
    try {
      await waitForWorkers(cluster, 1);

      const flood = (await client.submit(spec('flood', ['flood'], { API_KEY: SECRET }))).experiment;
      assert.equal((await client.wait(flood.id, undefined, { timeoutMs: 90_000 })).status, 'succeeded');
      const [trial] = await client.trials(flood.id);
      assert.equal(trial!.attemptHistory.length, 2, 'attempt 1 failed and was retried');

      const first = await trellis(['logs', trial!.id, '--attempt', '1', ...coordinator], cluster.dir);
      assert.equal(first.code, 0, first.stderr);
      // stdout and stderr are two pipes: the log keeps both, in the order the worker read them,
      // which across pipes is not the order the program wrote them.
      assert.deepEqual(first.stdout.trim().split('\n').sort(), ['attempt 1 fails on purpose', 'attempt 1 output']);

      const latest = await trellis(['logs', trial!.id, ...coordinator], cluster.dir);
      assert.equal(latest.code, 0, latest.stderr);
      const lines = latest.stdout.trimEnd().split('\n');
      assert.equal(lines[0], 'key is [redacted]', 'the env value is redacted');
      assert.ok(!latest.stdout.includes(SECRET));
      const long = lines[1]!;
      assert.match(long, /^x+…\[cut 52\.4 MB\]$/, 'the 50 MB line is cut, the marker says by how much');
      assert.equal(long.indexOf('…'), LINE_CHARS);
      assert.match(latest.stdout, /\n…\[\d+ lines \([\d.]+ kB\) omitted\]\n/, 'the middle is omitted, and said so');
      assert.equal(lines[lines.length - 2], 'line 05999 of the flood', 'the tail is kept to the last line');
      assert.equal(lines[lines.length - 1], '{"loss":0.25,"step":1}');
      assert.ok(Buffer.byteLength(latest.stdout) < 140 * 1024, `bounded: ${Buffer.byteLength(latest.stdout)} bytes`);

      const log = await client.logs(trial!.id);
      assert.equal(log.source, 'worker');
      assert.equal(log.attempt, 2);
      assert.equal(log.totalLines, 6003);
      assert.ok(log.totalBytes > 50 * 1024 * 1024, 'totals count what the program printed');
      assert.equal(log.head.length + log.tail.length + log.omittedLines, log.totalLines);
      // Neither the worker's log (its output goes to files under the cluster's dir) nor the
      // coordinator's holds the 50 MB line: it was cut before any logging.
      const logsDir = join(cluster.dir, 'logs');
      const logged = readdirSync(logsDir).reduce((size, name) => size + statSync(join(logsDir, name)).size, 0);
      assert.ok(logged < 4 * 1024 * 1024, `worker logs hold ${logged} bytes after a 50 MB line`);
      const stored = await cluster.coordinator.store.getArtifact(logArtifactId(log.attemptId));
      assert.equal(stored?.meta.kind, 'log', 'the log is stored with the attempt (an artifact)');

      const missing = await trellis(['logs', trial!.id, '--attempt', '3', ...coordinator], cluster.dir);
      assert.equal(missing.code, 2);
      assert.match(missing.stderr, /has no attempt 3 \(it has 2\)/);

      // --follow: the first line arrives while the program waits for the marker file.
      const marker = join(cluster.dir, 'go-on');
      const followed = (await client.submit(spec('follow', ['follow', marker]))).experiment;
      const running = await cluster.waitForEvent(
        (e) => e.experimentId === followed.id && e.type === 'trial.state' && e.payload.status === 'running',
      );
      const child = spawn(process.execPath, [CLI_PATH, 'logs', running.trialId!, '--follow', ...coordinator]);
      let out = '';
      let err = '';
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      const sawFirst = new Promise<void>((resolve) =>
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          if (out.includes('first line')) resolve();
        }),
      );
      await within(sawFirst, 60_000, `logs --follow showing the first line (stderr: ${err})`);
      assert.ok(!out.includes('second line'));
      writeFileSync(marker, '');
      const code = await within(
        new Promise<number | null>((resolve) => child.once('exit', resolve)),
        60_000,
        'logs --follow ending with the attempt',
      );
      assert.equal(code, 0, err);
      assert.deepEqual(out.trim().split('\n'), ['first line', 'second line', '{"loss":0.5,"step":1}']);
    } finally {
      client.close();
      await cluster.stop();
    }
  });
});
