/**
 * Embedded runs die whole and resume (issue 11): a real `trellis run` SIGKILLed mid-sweep takes
 * its worker processes and their programs with it (polled in /proc, with a deadline); running
 * the same spec again in the same directory refuses with a hint (exit 2) and starts nothing,
 * `--resume` finishes the killed experiment with every trial succeeded exactly once, `--new`
 * cancels it and runs another.
 *
 * The trial program (fixtures/robustness/gated.mjs) holds until a gate file exists, so the
 * kill surely lands while programs run; the coordinator's lease is short (TRELLIS_LEASE_MS) so
 * the killed run's attempts expire quickly when it resumes.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CLI_PATH } from '../../cli/embedded.js';
import { LocalStore } from '../../coordinator/store/local.js';
import { within } from '../helpers/deadline.js';
import { processEnded, tempDir, waitUntil } from '../helpers/services.js';

const GATED = fileURLToPath(new URL('../../../test/fixtures/robustness/gated.mjs', import.meta.url));
const TRIALS = 4;

function cliEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, TRELLIS_LEASE_MS: '1500', TRELLIS_LOG_LEVEL: 'warn' };
  delete env.MONGODB_URI;
  delete env.NATS_URL;
  return env;
}

/** pid → parent pid of every process on this machine. */
function parents(): Map<number, number> {
  const out = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      out.set(Number(name), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** Every descendant of `root`. */
function descendants(root: number): number[] {
  const ppid = parents();
  const found: number[] = [];
  let frontier = [root];
  while (frontier.length > 0) {
    const next: number[] = [];
    for (const [pid, parent] of ppid) if (frontier.includes(parent)) next.push(pid);
    found.push(...next);
    frontier = next;
  }
  return found;
}

function run(args: string[], dir: string): Promise<{ code: number | null; stderr: string }> {
  return within(
    new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [CLI_PATH, 'run', ...args, '--dir', dir, '--workers', '2', '--cpus', '1'], {
        env: cliEnv(),
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('error', reject);
      child.on('exit', (code) => resolve({ code, stderr }));
    }),
    90_000,
    `trellis run ${args.join(' ')} to exit`,
  );
}

describe('trellis run SIGKILLed mid-sweep', () => {
  let tmp: ReturnType<typeof tempDir>;
  let spec: string;
  let markers: string;
  let home: string;

  before(() => {
    tmp = tempDir('trellis-embedded-');
    markers = join(tmp.dir, 'markers');
    home = join(tmp.dir, 'home');
    mkdirSync(markers);
    spec = join(tmp.dir, 'spec.json');
    writeFileSync(
      spec,
      JSON.stringify({
        apiVersion: 'trellis/v1',
        kind: 'Sweep',
        name: 'die-whole',
        trial: {
          runtime: 'command',
          command: [process.execPath, GATED],
          objective: { metric: 'score', mode: 'max' },
        },
        search: {
          algorithm: 'grid',
          space: { markers: { choice: [markers] }, n: { choice: Array.from({ length: TRIALS }, (_, i) => i) } },
        },
        budget: { trials: TRIALS, concurrency: 2 },
      }),
    );
  });
  after(() => tmp.remove());

  /** Starts `trellis run`, waits for two programs to run, SIGKILLs it; returns the pids it had below it. */
  async function killMidSweep(extra: string[] = []): Promise<number[]> {
    const child = spawn(
      process.execPath,
      [CLI_PATH, 'run', spec, '--dir', home, '--workers', '2', '--cpus', '1', ...extra],
      { env: cliEnv(), stdio: 'ignore' },
    );
    try {
      const before = new Set(readdirSync(markers));
      await waitUntil(
        () => readdirSync(markers).filter((f) => f.endsWith('.started') && !before.has(f)).length >= 2,
        60_000,
        'two trial programs to start',
      );
      const tree = descendants(child.pid!);
      // Two workers (and their reapers) and the two programs, at least.
      assert.ok(tree.length >= 4, `processes below trellis run: ${tree.join(' ')}`);
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await within(exited, 10_000, 'trellis run to die of SIGKILL');
      return tree;
    } finally {
      child.kill('SIGKILL');
    }
  }

  async function goneWithin(pids: number[], ms: number): Promise<void> {
    try {
      await waitUntil(() => pids.every(processEnded), ms, `every process below the killed trellis run to exit`);
    } finally {
      for (const pid of pids.filter((p) => !processEnded(p))) process.kill(pid, 'SIGKILL');
    }
  }

  it('takes its workers and their programs with it', async () => {
    const tree = await killMidSweep();
    // Workers see their stdin pipe close at once; 15 s covers stopping programs on a loaded machine.
    await goneWithin(tree, 15_000);
  });

  it('the same spec again: refused with a hint (exit 2), nothing started', async () => {
    const logsBefore = readdirSync(join(home, 'logs')).length;
    const again = await run([spec], home);
    assert.equal(again.code, 2, again.stderr);
    assert.match(again.stderr, /an unfinished run of this spec exists .*experiment die-whole-[0-9a-f]+, running/);
    assert.match(again.stderr, /re-run with --resume to continue it, or --new to cancel it and start another/);
    assert.equal(readdirSync(join(home, 'logs')).length, logsBefore, 'no worker was started');
  });

  it('--resume finishes the killed experiment: every trial succeeded exactly once', async () => {
    writeFileSync(join(markers, 'open'), '');
    const resumed = await run([spec, '--resume'], home);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stderr, /resuming experiment die-whole-[0-9a-f]+ \(running\)/);
    const store = new LocalStore(join(home, 'store'));
    await store.start();
    try {
      const experiments = await store.listExperiments();
      assert.equal(experiments.length, 1, 'no second experiment');
      const [experiment] = experiments;
      assert.equal(experiment!.status, 'succeeded');
      assert.equal(experiment!.trialsCreated, TRIALS);
      const trials = await store.listTrials(experiment!.id);
      assert.deepEqual(
        trials.map((t) => t.number),
        Array.from({ length: TRIALS }, (_, i) => i),
      );
      for (const t of trials) {
        assert.equal(t.status, 'succeeded', `trial ${t.number}`);
        assert.equal(t.attempts.filter((a) => a.status === 'succeeded').length, 1, `trial ${t.number} succeeded once`);
        assert.equal(t.metrics.score, t.number);
      }
      // The two trials the kill interrupted ran again after their leases expired.
      assert.equal(trials.filter((t) => t.attempts.some((a) => a.status === 'lost')).length, 2);
    } finally {
      await store.close();
    }
  });

  it('--new cancels an unfinished run and starts another', async () => {
    const gate = join(markers, 'open');
    rmSync(gate); // closed again: the next run's programs hold
    const tree = await killMidSweep();
    await goneWithin(tree, 15_000);
    writeFileSync(gate, '');
    const fresh = await run([spec, '--new'], home);
    assert.equal(fresh.code, 0, fresh.stderr);
    assert.match(fresh.stderr, /cancelled the unfinished experiment die-whole-[0-9a-f]+/);
    const store = new LocalStore(join(home, 'store'));
    await store.start();
    try {
      const statuses = (await store.listExperiments()).map((e) => e.status);
      assert.deepEqual(statuses, ['succeeded', 'cancelled', 'succeeded']);
    } finally {
      await store.close();
    }
  });
});

describe('trellis worker --exit-with-parent', () => {
  it('exits when its parent dies even without a pipe on stdin (the parent pid check)', async () => {
    const tmp = tempDir('trellis-orphan-');
    const log = join(tmp.dir, 'worker.log');
    // sh starts the worker with stdin from /dev/null (no pipe to watch) and waits; SIGKILL of sh
    // leaves the worker an orphan, re-parented: only the parent pid check can notice.
    const sh = spawn(
      'sh',
      [
        '-c',
        `"$0" "$1" worker --coordinator 127.0.0.1:1 --exit-with-parent </dev/null 2>"$2" & echo $!; wait`,
        process.execPath,
        CLI_PATH,
        log,
      ],
      { env: { ...cliEnv(), TRELLIS_LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'ignore'] },
    );
    let worker: number | undefined;
    try {
      worker = await within(
        new Promise<number>((resolve) => sh.stdout.once('data', (d: Buffer) => resolve(Number(d.toString().trim())))),
        10_000,
        'the worker pid from sh',
      );
      // sh prints the pid as soon as it forks, possibly before the child has opened its log.
      await waitUntil(
        () => existsSync(log) && readFileSync(log, 'utf8').includes('worker started'),
        30_000,
        'the worker to start',
      );
      assert.equal(processEnded(worker), false, 'the worker runs while its parent lives');
      sh.kill('SIGKILL');
      await waitUntil(() => processEnded(worker!), 15_000, `orphaned worker ${worker} to exit`);
      assert.match(readFileSync(log, 'utf8'), /parent pid changed from \d+ to \d+.*parent process is gone; stopping/);
    } finally {
      sh.kill('SIGKILL');
      if (worker !== undefined && !processEnded(worker)) process.kill(worker, 'SIGKILL');
      tmp.remove();
    }
  });
});
