/**
 * A store that fails loud (issue 11): LocalStore journals damaged on disk in each way the issue
 * found, opened by a real LocalStore, by `trellis coordinator` and `trellis run` as processes,
 * checked and repaired by `trellis store check|repair`; LOCK files left by processes that are
 * gone (a restart that got the same pid, pid 1, a reused pid, another boot) taken over, and
 * those of live processes refused. Real files and processes throughout.
 */
import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { CLI_PATH } from '../../cli/embedded.js';
import { LocalStore } from '../../coordinator/store/local.js';
import { procStartTime, selfOwner, type LockOwner } from '../../coordinator/store/local-lock.js';
import type { ExperimentDoc, TrialDoc } from '../../shared/types.js';
import { within } from '../helpers/deadline.js';
import { tempDir } from '../helpers/services.js';

const JOURNAL = 'journal.jsonl';

function experiment(id: string): ExperimentDoc {
  return {
    id,
    name: 'loud',
    kind: 'Sweep',
    status: 'running',
    spec: { apiVersion: 'trellis/v1' } as unknown as ExperimentDoc['spec'],
    requestId: `req-${id}`,
    createdAt: 1,
    updatedAt: 1,
    trialsCreated: 1,
  } as ExperimentDoc;
}

function trial(experimentId: string, number: number): TrialDoc {
  return {
    id: `${experimentId}-t${number}`,
    experimentId,
    number,
    status: 'pending',
    params: { lr: 0.1 },
    seed: 1,
    attempts: [],
    metrics: { loss: Number.NaN },
    createdAt: 1,
    updatedAt: 1,
  };
}

/** A closed store in `dir` holding experiments e1, e2 and one trial of e1; its journal's lines. */
async function seed(dir: string): Promise<string[]> {
  const store = new LocalStore(dir);
  await store.start();
  await store.createExperiment(experiment('e1'));
  await store.insertTrial(trial('e1', 0));
  await store.createExperiment(experiment('e2'));
  await store.close();
  return readFileSync(join(dir, JOURNAL), 'utf8').split('\n');
}

/** Runs the CLI to its exit (deadline: a CLI that half-serves forever fails here). */
function cli(
  args: string[],
  env: Record<string, string | undefined> = {},
  timeoutMs = 30_000,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const childEnv = { ...process.env, ...env };
  for (const key of ['MONGODB_URI', 'NATS_URL']) if (!(key in env)) delete childEnv[key];
  return within(
    new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [CLI_PATH, ...args], { env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('error', reject);
      child.on('exit', (code) => resolve({ code, stdout, stderr }));
      setTimeout(() => child.kill('SIGKILL'), timeoutMs).unref();
    }),
    timeoutMs + 5000,
    `trellis ${args.join(' ')} to exit`,
  );
}

describe('LocalStore journal: anything but a torn final write refuses start-up, naming file and line', () => {
  let tmp: ReturnType<typeof tempDir>;
  let journal: string;
  beforeEach(() => {
    tmp = tempDir('trellis-loud-');
    journal = join(tmp.dir, JOURNAL);
  });
  afterEach(() => tmp.remove());

  async function refused(pattern: RegExp): Promise<void> {
    await assert.rejects(new LocalStore(tmp.dir).start(), (err: Error) => {
      assert.equal(err.name, 'JournalCorruptError');
      assert.match(err.message, pattern);
      assert.ok(err.message.includes(journal), `names the file: ${err.message}`);
      assert.match(err.message, /trellis store check/);
      return true;
    });
    // The refused start gave its LOCK back: nothing is left holding the directory.
    assert.equal(existsSync(join(tmp.dir, 'LOCK')), false);
  }

  it('a corrupt last line that ends in a newline', async () => {
    const lines = await seed(tmp.dir);
    appendFileSync(journal, '{"t":"exp","d":{"id":"cut\n');
    await refused(new RegExp(`journal\\.jsonl:${lines.length}: not JSON`));
  });

  it('a journal replaced by binary garbage (no newline at all)', async () => {
    await seed(tmp.dir);
    writeFileSync(journal, Buffer.from([0xff, 0xfe, 0x00, 0x13, 0x80, 0x81, 0x7b, 0x22]));
    await refused(/journal\.jsonl:1: not UTF-8 text/);
  });

  it('a record with a field of the wrong type ("number": "zero")', async () => {
    const lines = await seed(tmp.dir);
    const at = lines.findIndex((l) => l.startsWith('{"t":"trial"'));
    lines[at] = lines[at]!.replace('"number":0', '"number":"zero"');
    writeFileSync(journal, lines.join('\n'));
    await refused(new RegExp(`journal\\.jsonl:${at + 1}: trial record: field d\\.number is "zero"`));
  });

  it('a header of a newer version', async () => {
    const lines = await seed(tmp.dir);
    lines[0] = lines[0]!.replace(/"version":\d+/, '"version":99');
    writeFileSync(journal, lines.join('\n'));
    await refused(
      /journal\.jsonl:1: header says format "trellis-local-store" version 99; this build reads trellis-local-store versions 1..3/,
    );
  });

  it('an unknown record kind', async () => {
    await seed(tmp.dir);
    appendFileSync(journal, '{"t":"mystery","d":{}}\n');
    await refused(/unknown record kind t="mystery"/);
  });

  it('a journal whose header line is gone', async () => {
    const lines = await seed(tmp.dir);
    writeFileSync(journal, lines.slice(1).join('\n'));
    await refused(/journal\.jsonl:1: the first line is not the journal's header \(it is a spec record\)/);
  });

  it('a torn final write (no newline) is dropped with a warning; the rest loads', async () => {
    const lines = await seed(tmp.dir);
    appendFileSync(journal, '{"t":"exp","d":{"id":"torn","na');
    const warnings: { message: string; fields: Record<string, unknown> }[] = [];
    const store = new LocalStore(tmp.dir, { warn: (message, fields) => warnings.push({ message, fields }) });
    await store.start();
    assert.deepEqual((await store.listExperiments()).map((e) => e.id).sort(), ['e1', 'e2']);
    assert.equal(Number.isNaN((await store.getTrial('e1-t0'))!.metrics.loss), true);
    await store.close();
    assert.equal(warnings.length, 1);
    assert.equal(warnings[0]!.message, 'dropped a torn final write');
    assert.equal(warnings[0]!.fields.line, lines.length);
  });
});

describe('processes on a store that cannot be opened exit non-zero instead of half-serving', () => {
  let tmp: ReturnType<typeof tempDir>;
  beforeEach(() => {
    tmp = tempDir('trellis-loud-cli-');
  });
  afterEach(() => tmp.remove());

  it('trellis coordinator and trellis run on a corrupt journal: exit 1 naming file:line', async () => {
    const storeDir = join(tmp.dir, 'store');
    await seed(storeDir);
    // The appended line's number: the journal ends with a newline, so it is one past its lines.
    const at = readFileSync(join(storeDir, JOURNAL), 'utf8').split('\n').length;
    appendFileSync(join(storeDir, JOURNAL), '{"t":"trial","d":{"number":"zero"}}\n');
    const coordinator = await cli(['coordinator', '--dir', tmp.dir, '--listen', '127.0.0.1:0']);
    assert.equal(coordinator.code, 1, coordinator.stderr);
    assert.match(coordinator.stderr, new RegExp(`store/journal\\.jsonl:${at}: trial record: field d\\.id is missing`));
    assert.doesNotMatch(coordinator.stderr, /coordinator serving/);
    const spec = join(tmp.dir, 'spec.json');
    writeFileSync(
      spec,
      JSON.stringify({
        apiVersion: 'trellis/v1',
        kind: 'Sweep',
        name: 'never',
        trial: {
          runtime: 'command',
          command: [process.execPath, '-e', '0'],
          objective: { metric: 'score', mode: 'max' },
        },
        search: { algorithm: 'grid', space: { n: { choice: [1] } } },
        budget: { trials: 1 },
      }),
    );
    const run = await cli(['run', spec, '--dir', tmp.dir]);
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stderr, new RegExp(`store/journal\\.jsonl:${at}: trial record`));
    assert.equal(existsSync(join(tmp.dir, 'logs', 'worker-0.log')), false, 'no worker was started');
  });

  it('trellis coordinator with MongoDB unreachable: exit 1 after the server-selection timeout', async () => {
    // A port that was free a moment ago: nothing listens there.
    const port = await new Promise<number>((resolve) => {
      const server = createServer().listen(0, '127.0.0.1', () => {
        const { port } = server.address() as { port: number };
        server.close(() => resolve(port));
      });
    });
    const result = await cli(['coordinator', '--listen', '127.0.0.1:0'], {
      MONGODB_URI: `mongodb://127.0.0.1:${port}/trellis`,
    });
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stderr, /coordinator cannot start/);
  });
});

describe('trellis store check | repair', () => {
  let tmp: ReturnType<typeof tempDir>;
  beforeEach(() => {
    tmp = tempDir('trellis-repair-');
  });
  afterEach(() => tmp.remove());

  it('check lists every problem with file:line and exits 1; repair moves them aside, keeps the rest', async () => {
    const storeDir = join(tmp.dir, 'store');
    const lines = await seed(storeDir);
    const journal = join(storeDir, JOURNAL);
    // lines: header, spec e1, exp e1, trial, spec e2, exp e2, '' — damage the trial and add garbage and a torn tail.
    const trialAt = lines.findIndex((l) => l.startsWith('{"t":"trial"'));
    const damaged = [...lines];
    damaged[trialAt] = damaged[trialAt]!.replace('"number":0', '"number":"zero"');
    damaged.splice(damaged.length - 1, 0, '\u0000\u0001garbage');
    const original = Buffer.concat([Buffer.from(damaged.join('\n')), Buffer.from('{"t":"exp","d":{"i')]);
    writeFileSync(journal, original);

    const check = await cli(['store', 'check', tmp.dir]); // the state directory above store/ works too
    assert.equal(check.code, 1, check.stderr);
    assert.match(check.stdout, new RegExp(`journal\\.jsonl:${trialAt + 1}: trial record: field d\\.number`));
    assert.match(check.stdout, new RegExp(`journal\\.jsonl:${lines.length}: not JSON`));
    assert.match(check.stdout, new RegExp(`journal\\.jsonl:${lines.length + 1}: torn final write`));
    const json = JSON.parse((await cli(['store', 'check', storeDir, '--json'])).stdout) as {
      ok: boolean;
      records: Record<string, number>;
      problems: { line: number }[];
    };
    assert.equal(json.ok, false);
    assert.deepEqual(json.records, { header: 1, spec: 2, exp: 2 });
    assert.deepEqual(
      json.problems.map((p) => p.line),
      [trialAt + 1, lines.length],
    );

    const repair = await cli(['store', 'repair', storeDir, '--json']);
    assert.equal(repair.code, 0, repair.stderr);
    const report = JSON.parse(repair.stdout) as {
      kept: number;
      moved: { line: number }[];
      asideFile: string;
      backupFile: string;
    };
    assert.equal(report.kept, 5, 'the header and both experiments, each a spec and an exp record');
    assert.deepEqual(
      report.moved.map((m) => m.line),
      [trialAt + 1, lines.length, lines.length + 1],
    );
    // Nothing deleted: the moved lines byte for byte, and the whole journal as it was.
    assert.deepEqual(readFileSync(report.backupFile), original);
    const aside = readFileSync(report.asideFile);
    assert.ok(aside.includes(Buffer.from('"number":"zero"')));
    assert.ok(aside.includes(Buffer.from('\u0000\u0001garbage\n')));
    assert.ok(aside.includes(Buffer.from('{"t":"exp","d":{"i\n')));
    assert.ok(readdirSync(storeDir).some((f) => f === `${JOURNAL}.unreadable-${report.asideFile.split('-').at(-1)}`));

    assert.equal((await cli(['store', 'check', storeDir])).code, 0);
    const store = new LocalStore(storeDir);
    await store.start();
    assert.deepEqual((await store.listExperiments()).map((e) => e.id).sort(), ['e1', 'e2']);
    assert.equal(await store.getTrial('e1-t0'), undefined);
    await store.close();
  });

  it('repair refuses while a live process holds the store; check on a directory without a journal exits 2', async () => {
    const storeDir = join(tmp.dir, 'store');
    await seed(storeDir);
    appendFileSync(join(storeDir, JOURNAL), 'garbage\n');
    const sleeper = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      writeLock(storeDir, { ...selfOwner(), pid: sleeper.pid!, startTime: procStartTime(sleeper.pid!)! });
      const repair = await cli(['store', 'repair', storeDir]);
      assert.equal(repair.code, 1);
      assert.match(repair.stderr, new RegExp(`is in use: process ${sleeper.pid} is alive`));
      assert.ok(readFileSync(join(storeDir, JOURNAL), 'utf8').endsWith('garbage\n'), 'the journal is untouched');
    } finally {
      sleeper.kill('SIGKILL');
    }
    const none = await cli(['store', 'check', join(tmp.dir, 'nothing-here')]);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /no LocalStore journal at/);
  });
});

function writeLock(dir: string, owner: LockOwner | string): void {
  writeFileSync(join(dir, 'LOCK'), typeof owner === 'string' ? owner : JSON.stringify(owner));
}

describe('LOCK: stale by more than the pid', () => {
  let tmp: ReturnType<typeof tempDir>;
  let children: ChildProcess[];
  beforeEach(() => {
    tmp = tempDir('trellis-lock-');
    children = [];
  });
  afterEach(() => {
    for (const c of children) c.kill('SIGKILL');
    tmp.remove();
  });

  function sleeper(): number {
    const child = spawn('sleep', ['30'], { stdio: 'ignore' });
    children.push(child);
    return child.pid!;
  }

  async function takenOver(owner: LockOwner | string, reason: RegExp): Promise<void> {
    await seed(tmp.dir);
    writeLock(tmp.dir, owner);
    const warnings: { message: string; fields: Record<string, unknown> }[] = [];
    const store = new LocalStore(tmp.dir, { warn: (message, fields) => warnings.push({ message, fields }) });
    await store.start();
    assert.equal((await store.listExperiments()).length, 2);
    const lock = JSON.parse(readFileSync(join(tmp.dir, 'LOCK'), 'utf8')) as LockOwner;
    assert.equal(lock.pid, process.pid);
    assert.equal(lock.startTime, procStartTime(process.pid));
    assert.equal(lock.bootId, readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim());
    await store.close();
    assert.equal(existsSync(join(tmp.dir, 'LOCK')), false, 'close gives the LOCK back');
    assert.equal(warnings.length, 1, JSON.stringify(warnings));
    assert.equal(warnings[0]!.message, 'took over a stale LOCK');
    assert.match(String(warnings[0]!.fields.reason), reason);
  }

  async function refusedBy(owner: LockOwner | string, reason: RegExp): Promise<void> {
    await seed(tmp.dir);
    writeLock(tmp.dir, owner);
    await assert.rejects(new LocalStore(tmp.dir).start(), reason);
    assert.deepEqual(
      readFileSync(join(tmp.dir, 'LOCK'), 'utf8'),
      typeof owner === 'string' ? owner : JSON.stringify(owner),
    );
  }

  it("naming this process's own pid (a restarted container got the same pid) is stale", async () => {
    await takenOver({ ...selfOwner(), startTime: '1' }, /own pid/);
  });

  it('naming pid 1 that started at another time (a restarted container) is stale', async () => {
    await takenOver({ ...selfOwner(), pid: 1, startTime: `${Number(procStartTime(1)) + 12345}` }, /pid 1 now belongs/);
  });

  it('a live pid that started at another time (pid reused) is stale; at the same time it is refused', async () => {
    const pid = sleeper();
    await takenOver({ ...selfOwner(), pid, startTime: `${Number(procStartTime(pid)) + 1}` }, /belongs to another/);
    await refusedBy({ ...selfOwner(), pid, startTime: procStartTime(pid)! }, new RegExp(`process ${pid} is alive`));
  });

  it('written before a reboot (other boot id, same host) is stale; from another host it is refused', async () => {
    const pid = sleeper();
    await takenOver({ ...selfOwner(), pid, bootId: 'another-boot' }, /before this machine rebooted/);
    await refusedBy({ ...selfOwner(), pid, hostname: 'elsewhere' }, /on host elsewhere holds it/);
  });

  it('an old-format LOCK (a bare pid): pid 1 is stale, a live pid is refused', async () => {
    await takenOver('1', /old-format LOCK naming pid 1/);
    const live = sleeper();
    await refusedBy(String(live), new RegExp(`process ${live} is alive`));
  });

  it('a second LocalStore on the same directory in this process is refused', async () => {
    const first = new LocalStore(tmp.dir);
    await first.start();
    await assert.rejects(new LocalStore(tmp.dir).start(), /another LocalStore in this process/);
    await first.close();
  });
});
