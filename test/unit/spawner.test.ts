/**
 * The two ways a command-runtime program is started (launch.ts): the worker's spawner helper
 * and child_process on the event loop. Both keep one contract (events in order, output whole,
 * exit codes and signals, the process group signalled); the spawner's own failure stops its
 * programs loudly and a new spawner takes over.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  chmodSync,
  existsSync,
  linkSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import {
  launchInProcess,
  type LaunchedProgram,
  type LaunchRequest,
  type ProgramEvents,
} from '../../worker/runtimes/command/launch.js';
import { spawnerPid, workerSpawner } from '../../worker/runtimes/command/spawner.js';
import { supervise } from '../../worker/runtimes/command/process.js';
import { createWorkspace, removeWorkspace } from '../../worker/runtimes/command/workspace.js';
import { processEnded, waitUntil } from '../helpers/services.js';

const SPAWNER_HOST = fileURLToPath(new URL('../../../test/fixtures/programs/spawner-host.mjs', import.meta.url));
const WORKSPACE_HOST = fileURLToPath(new URL('../../../test/fixtures/programs/workspace-host.mjs', import.meta.url));
const WORKSPACE_URL = new URL('../../worker/runtimes/command/workspace.js', import.meta.url).href;
const PROCESS_URL = new URL('../../worker/runtimes/command/process.js', import.meta.url).href;
const SPAWNER_URL = new URL('../../worker/runtimes/command/spawner.js', import.meta.url).href;

interface Seen {
  events: string[];
  stdout: string;
  stderr: string;
  pid?: number;
  exit?: { code: number | null; signal: NodeJS.Signals | null };
  error?: NodeJS.ErrnoException;
  lost?: string;
}

/** Runs a request through a launcher; resolves at `closed`, `failed` or `lost`. */
function run(
  launch: (req: LaunchRequest, events: ProgramEvents) => LaunchedProgram,
  req: LaunchRequest,
  onSpawned?: (program: LaunchedProgram, seen: Seen) => void,
): Promise<Seen> {
  return new Promise((resolve) => {
    const seen: Seen = { events: [], stdout: '', stderr: '' };
    let program: LaunchedProgram | undefined;
    const events: ProgramEvents = {
      spawned: (pid) => {
        seen.events.push('spawned');
        seen.pid = pid;
        // After launch() returned: the spawned event of either launcher comes asynchronously.
        setImmediate(() => onSpawned?.(program!, seen));
      },
      failed: (error) => {
        seen.events.push('failed');
        seen.error = error;
        resolve(seen);
      },
      stdout: (chunk) => void (seen.stdout += chunk.toString()),
      stderr: (chunk) => void (seen.stderr += chunk.toString()),
      exited: (code, signal) => {
        seen.events.push('exited');
        seen.exit = { code, signal };
      },
      closed: () => {
        seen.events.push('closed');
        resolve(seen);
      },
      lost: (reason) => {
        seen.events.push('lost');
        seen.lost = reason;
        resolve(seen);
      },
      note: () => undefined,
    };
    program = launch(req, events);
  });
}

async function spawnerLaunch(): Promise<(req: LaunchRequest, events: ProgramEvents) => LaunchedProgram> {
  const spawner = await workerSpawner();
  if (typeof spawner !== 'object') assert.fail(`the spawner should run here (perl): ${spawner ?? 'turned off'}`);
  return (req, events) => spawner.launch(req, events);
}

const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', ODD: 'a b\tc=d' };

describe('command-runtime launchers: one contract', () => {
  for (const name of ['spawner', 'in process'] as const) {
    const launcher = async (): Promise<(req: LaunchRequest, events: ProgramEvents) => LaunchedProgram> =>
      name === 'spawner' ? spawnerLaunch() : launchInProcess;

    it(`${name}: output whole and in order, environment and arguments as given, the exit code`, async () => {
      const launch = await launcher();
      const big = 'x'.repeat(100_000); // one argument may be up to 128 KiB (MAX_ARG_STRLEN)
      const seen = await run(launch, {
        program: 'sh',
        args: ['-c', 'printf "%s" "$1"; echo; echo "$ODD" >&2; exit 3', 'sh', big],
        env,
      });
      assert.deepEqual(seen.events, ['spawned', 'exited', 'closed']);
      assert.equal(seen.stdout, `${big}\n`);
      assert.equal(seen.stderr, `${env.ODD}\n`);
      assert.deepEqual(seen.exit, { code: 3, signal: null });
    });

    it(`${name}: a missing program fails with ENOENT, a non-executable file with EACCES`, async () => {
      const launch = await launcher();
      const missing = await run(launch, { program: 'no-such-program-trellis', args: [], env });
      assert.deepEqual(missing.events, ['failed']);
      assert.equal(missing.error?.code, 'ENOENT');
      const dir = mkdtempSync(join(tmpdir(), 'trellis-launch-test-'));
      const file = join(dir, 'not-executable');
      writeFileSync(file, 'echo hi\n', { mode: 0o644 });
      const notExecutable = await run(launch, { program: file, args: [], env });
      rmSync(dir, { recursive: true, force: true });
      assert.deepEqual(notExecutable.events, ['failed']);
      assert.equal(notExecutable.error?.code, 'EACCES');
    });

    it(`${name}: kill signals the whole process group`, async () => {
      const launch = await launcher();
      const seen = await run(
        launch,
        // The group's leader waits on a background sleep that would outlive a kill of the leader alone.
        { program: 'sh', args: ['-c', 'sleep 60 & echo $!; wait'], env },
        (program, progress) => {
          const waitForChild = setInterval(() => {
            if (!progress.stdout.includes('\n')) return; // the child's pid is printed
            clearInterval(waitForChild);
            program.kill('SIGTERM');
          }, 5);
        },
      );
      const child = Number(seen.stdout.trim());
      assert.deepEqual(seen.exit, { code: null, signal: 'SIGTERM' });
      assert.ok(Number.isInteger(child), `the child's pid was printed: ${JSON.stringify(seen.stdout)}`);
      // Signalled with its group, it dies when next scheduled, maybe just after the leader's exit
      // is reported (a loaded machine); had it not been signalled, `sleep 60` outlives the deadline.
      await waitUntil(() => processEnded(child), 10_000, 'the background child to end with its group');
    });
  }
});

describe('the spawner', () => {
  it('creates and removes an attempt directory (0700, checkpoint/, params.json 0600)', async () => {
    const workspace = createWorkspace('attempt/../x', '{"lr":0.1}');
    try {
      assert.match(workspace.dir, /trellis-attempt____x-[0-9a-f]{12}$/);
      assert.equal(statSync(workspace.dir).mode & 0o777, 0o700);
      assert.equal(statSync(workspace.checkpointDir).mode & 0o777, 0o700);
      assert.equal(statSync(workspace.paramsFile).mode & 0o777, 0o600);
      assert.equal(readFileSync(workspace.paramsFile, 'utf8'), '{"lr":0.1}');
      assert.ok(existsSync(workspace.checkpointDir));
    } finally {
      await removeWorkspace(workspace);
    }
    assert.ok(!existsSync(workspace.dir), 'removed');
  });

  it("empties an ended attempt's directory and renames it into the next one's: no inode made, nothing of the last attempt left, no link followed", async () => {
    const outside = mkdtempSync(join(tmpdir(), 'trellis-outside-'));
    try {
      writeFileSync(join(outside, 'victim'), 'keep me');
      const first = createWorkspace('first', '{"lr":0.1}');
      const inodes = [first.dir, first.checkpointDir, first.paramsFile].map((path) => statSync(path).ino);
      // What a program may leave: files, a tree, links out, its checkpoints, loose modes.
      writeFileSync(join(first.dir, 'scratch.bin'), 'x');
      mkdirSync(join(first.dir, 'tree', 'deeper'), { recursive: true });
      writeFileSync(join(first.dir, 'tree', 'deeper', 'f'), 'x');
      symlinkSync(outside, join(first.dir, 'link-to-outside'));
      symlinkSync(join(outside, 'victim'), join(first.checkpointDir, 'victim-link'));
      writeFileSync(join(first.checkpointDir, 'step-3.ckpt'), 'weights');
      chmodSync(first.dir, 0o777);
      chmodSync(first.checkpointDir, 0o755);
      await removeWorkspace(first);
      assert.ok(!existsSync(first.dir), 'gone from its own name');

      const second = createWorkspace('second', '{"lr":0.2}');
      try {
        assert.deepEqual(
          [second.dir, second.checkpointDir, second.paramsFile].map((path) => statSync(path).ino),
          inodes,
          'the same directory, checkpoint/ and params.json, renamed',
        );
        assert.deepEqual(readdirSync(second.dir).sort(), ['checkpoint', 'params.json']);
        assert.deepEqual(readdirSync(second.checkpointDir), []);
        assert.equal(readFileSync(second.paramsFile, 'utf8'), '{"lr":0.2}');
        assert.equal(statSync(second.dir).mode & 0o777, 0o700);
        assert.equal(statSync(second.checkpointDir).mode & 0o777, 0o700);
        assert.equal(statSync(second.paramsFile).mode & 0o777, 0o600);
        assert.equal(readFileSync(join(outside, 'victim'), 'utf8'), 'keep me', 'no link was followed');
      } finally {
        await removeWorkspace(second);
      }
    } finally {
      rmSync(outside, { recursive: true, force: true });
    }
  });

  it("never writes the next attempt's params through a params.json that a program made a symlink or a hard link", async () => {
    const outside = mkdtempSync(join(tmpdir(), 'trellis-outside-'));
    try {
      for (const make of [symlinkSync, linkSync]) {
        const victim = join(outside, `victim-${make.name}`);
        writeFileSync(victim, 'keep me');
        const first = createWorkspace('first', '{"lr":0.1}');
        unlinkSync(first.paramsFile);
        make(victim, first.paramsFile);
        await removeWorkspace(first);
        const second = createWorkspace('second', '{"lr":0.2}');
        try {
          assert.equal(readFileSync(second.paramsFile, 'utf8'), '{"lr":0.2}');
          assert.equal(statSync(second.paramsFile).nlink, 1, make.name);
          assert.equal(readFileSync(victim, 'utf8'), 'keep me', `${make.name}: the file it pointed at is untouched`);
        } finally {
          await removeWorkspace(second);
        }
      }
      // The directory itself replaced by a symlink: the link goes, what it points at stays.
      const first = createWorkspace('first', '{}');
      rmSync(first.dir, { recursive: true });
      symlinkSync(outside, first.dir);
      await removeWorkspace(first);
      assert.ok(!existsSync(first.dir));
      assert.ok(existsSync(join(outside, 'victim-symlinkSync')), 'nothing removed through the link');
    } finally {
      rmSync(outside, { recursive: true, force: true });
    }
  });

  it('killed, the emptied directories it kept are removed by the worker', async () => {
    await removeWorkspace(createWorkspace('kept', '{}'));
    const kept = (): string[] =>
      readdirSync(tmpdir()).filter((name) => name.startsWith(`trellis-free-${process.pid}-`));
    assert.ok(kept().length >= 1, 'one kept at least');
    const pid = await spawnerPid();
    process.kill(pid!, 'SIGKILL');
    await waitUntil(() => kept().length === 0, 10_000, 'the kept directories to be removed');
  });

  it('removes the emptied directories it keeps when it exits (its worker gone, however)', async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'trellis-host-tmp-'));
    const host = spawn(process.execPath, [WORKSPACE_HOST, WORKSPACE_URL, SPAWNER_URL], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, TMPDIR: tmp },
    });
    try {
      const [line] = (await once(createInterface({ input: host.stdout! }), 'line')) as [string];
      const { spawner } = JSON.parse(line) as { spawner: number };
      assert.equal(readdirSync(tmp).filter((name) => name.startsWith('trellis-free-')).length, 1, 'one kept');
      host.kill('SIGKILL');
      await waitUntil(() => processEnded(spawner), 10_000, 'the spawner to exit');
      assert.deepEqual(readdirSync(tmp), [], 'nothing left in its TMPDIR');
    } finally {
      host.kill('SIGKILL');
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  it('killed while a program runs: the program is killed, its run ends with the reason, a new spawner starts', async () => {
    const first = await spawnerPid();
    assert.ok(first !== undefined);
    let programPid: number | undefined;
    const running = supervise({
      program: 'sh',
      args: ['-c', 'echo $$; sleep 60'],
      env,
      signal: new AbortController().signal,
      graceMs: 1000,
      onStdoutLine: (line) => {
        programPid = Number(line);
        process.kill(first, 'SIGKILL');
      },
      onStderrLine: () => undefined,
      log: () => undefined,
    });
    const { outcome } = await running;
    assert.equal(outcome.kind, 'lost');
    assert.match(outcome.kind === 'lost' ? outcome.reason : '', /spawner process failed \(it was killed by SIGKILL\)/);
    await waitUntil(() => processEnded(programPid!), 10_000, 'the program to be killed');
    const second = await spawnerPid();
    assert.ok(second !== undefined && second !== first, 'a new spawner');
  });

  it('its worker killed outright: the program and a process that left its group (by its mark) are killed, the spawner exits', async () => {
    const host = spawn(process.execPath, [SPAWNER_HOST, PROCESS_URL, SPAWNER_URL], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const [line] = (await once(createInterface({ input: host.stdout! }), 'line')) as [string];
    const pids = JSON.parse(line) as { program: number; escaped: number; spawner: number; reaper: number | null };
    try {
      assert.ok([pids.program, pids.escaped, pids.spawner].every(Number.isInteger), line);
      assert.equal(pids.reaper, null, 'no separate reaper process: the spawner reaps its programs');
      assert.ok(!processEnded(pids.program) && !processEnded(pids.escaped) && !processEnded(pids.spawner));
      host.kill('SIGKILL');
      await once(host, 'exit');
      await waitUntil(() => processEnded(pids.program), 10_000, 'the program to be killed');
      await waitUntil(() => processEnded(pids.escaped), 10_000, 'the escaped (setsid) process to be killed');
      await waitUntil(() => processEnded(pids.spawner), 10_000, 'the spawner to exit');
    } finally {
      for (const pid of [pids.program, pids.escaped, pids.spawner])
        if (!processEnded(pid)) process.kill(pid, 'SIGKILL');
    }
  });
});
