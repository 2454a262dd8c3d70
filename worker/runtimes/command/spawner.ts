/**
 * Programs started off the worker's event loop.
 *
 * `child_process.spawn` forks the whole worker and waits for the child's exec: milliseconds per
 * program during which the worker's event loop (its gRPC stream, heartbeats, other attempts'
 * output) stands still. Instead, each worker starts one small helper, the spawner
 * (spawner-source.ts, Perl), on first use; it forks and execs programs on request and relays
 * their output and exit over one pipe each way. The worker's side of a start is one pipe
 * write. It also removes attempts' temp directories, or empties them for reuse (workspace.ts). The spawner is also the reaper of its programs: it sees end-of-file on its stdin when
 * the worker dies, however it dies, and SIGKILLs the groups still running (`TRELLIS_REAPER`).
 *
 * `TRELLIS_SPAWNER=0` turns it off. If it cannot start (no `perl`), programs are spawned on
 * the event loop as before, with a note in each attempt's log. If it dies while programs run,
 * their groups are SIGKILLed and their attempts fail with the reason (they are retried); the
 * next program starts a new spawner.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { constants, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Socket } from 'node:net';
import { env } from '../../../shared/env.js';
import { killGroup, type LaunchedProgram, type LaunchRequest, type ProgramEvents } from './launch.js';
import { SPAWNER_SOURCE } from './spawner-source.js';

/** How long the spawner may take to say it is ready before the worker gives up on it. */
const READY_TIMEOUT_MS = 10_000;
/** Emptied temp directories kept for reuse, at most (more are removed). */
const MAX_FREE_WORKSPACES = 64;

const ERRNO_NAMES = new Map<number, string>(Object.entries(constants.errno).map(([name, no]) => [no, name]));
const SIGNAL_NAMES = new Map<number, NodeJS.Signals>(
  Object.entries(constants.signals).map(([name, no]) => [no, name as NodeJS.Signals]),
);

/** An error like Node's own for a system call that failed with `errno`. */
function errnoError(errno: number, what: string): NodeJS.ErrnoException {
  const code = ERRNO_NAMES.get(errno) ?? `errno ${errno}`;
  const error: NodeJS.ErrnoException = new Error(`${what} ${code}`);
  error.code = code;
  error.errno = -errno;
  return error;
}

interface Running {
  events: ProgramEvents;
  pid?: number;
  exited: boolean;
  open: number;
}

export class Spawner {
  private readonly programs = new Map<number, Running>();
  /** Requests waiting for their `Z` reply: the errno (0: done). */
  private readonly replies = new Map<number, (errno: number) => void>();
  private nextId = 1;
  private pending = Buffer.alloc(0);
  private readonly stdin: NonNullable<ChildProcess['stdin']>;
  private readonly stdout: Socket;
  private dead: string | undefined;
  private ready = false;
  /** Emptied attempt directories waiting for the next attempt (recycleWorkspace). */
  private readonly free: string[] = [];
  private freeCount = 0;

  private constructor(
    private readonly child: ChildProcess,
    private readonly onDead: (spawner: Spawner) => void,
    /** The names of the emptied directories begin with it; the spawner removes those left when it exits. */
    private readonly freePrefix: string,
  ) {
    this.stdin = child.stdin!;
    this.stdout = child.stdout as Socket;
  }

  /** Starts a spawner; resolves once it is ready, rejects with the reason it is not. */
  static start(reap: boolean, onDead: (spawner: Spawner) => void): Promise<Spawner> {
    return new Promise((resolve, reject) => {
      let child: ChildProcess;
      const freePrefix = join(tmpdir(), `trellis-free-${process.pid}-${randomBytes(4).toString('hex')}-`);
      try {
        // A session of its own, like the reaper: a terminal's Ctrl-C to the worker's group does
        // not reach it, and it outlives the worker just long enough to reap the programs.
        child = spawn('perl', ['-e', SPAWNER_SOURCE, reap ? '1' : '0', freePrefix], {
          detached: true,
          stdio: ['pipe', 'pipe', 'inherit'],
        });
      } catch (err) {
        reject(err instanceof Error ? err : new Error(String(err)));
        return;
      }
      const spawner = new Spawner(child, onDead, freePrefix);
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        fail(`it did not answer within ${READY_TIMEOUT_MS / 1000}s`);
      }, READY_TIMEOUT_MS);
      const fail = (reason: string): void => {
        clearTimeout(timer);
        if (!spawner.ready) reject(new Error(reason));
        spawner.die(reason);
      };
      child.on('error', (err) => fail(`perl: ${err.message}`));
      child.on('exit', (code, signal) => fail(signal ? `it was killed by ${signal}` : `it exited with code ${code}`));
      child.stdin!.on('error', () => undefined); // EPIPE once it is gone: 'exit' handles it
      child.stdout!.on('data', (chunk: Buffer) =>
        spawner.onData(chunk, () => {
          spawner.ready = true;
          clearTimeout(timer);
          resolve(spawner);
        }),
      );
      // Neither the helper nor its pipes keep the worker alive; a running program does (ref below).
      child.unref();
      (child.stdin as unknown as Socket).unref();
      spawner.stdout.unref();
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Starts one program. Throws (synchronously) when the request cannot be encoded. */
  launch(req: LaunchRequest, events: ProgramEvents): LaunchedProgram {
    if (this.dead) throw new Error(`the spawner is gone: ${this.dead}`);
    const fields = ['S', '', req.program, String(req.args.length), ...req.args];
    for (const [key, value] of Object.entries(req.env)) if (value !== undefined) fields.push(`${key}=${value}`);
    for (const field of fields) {
      if (field.includes('\0')) throw new TypeError(`an argument or environment value contains a NUL byte`);
    }
    const id = this.nextId++;
    fields[1] = String(id);
    const running: Running = { events, exited: false, open: 2 };
    this.programs.set(id, running);
    this.hold();
    this.send(fields);
    return {
      kill: (signal) => {
        if (running.pid !== undefined && !running.exited && this.programs.has(id)) {
          this.send(['K', String(id), String(constants.signals[signal])]);
        }
      },
      dropOutput: () => {
        if (this.programs.has(id)) this.send(['D', String(id)]);
      },
    };
  }

  /** Removes a directory tree. */
  async removeWorkspace(dir: string): Promise<void> {
    const errno = await this.ask(['Z', '', dir]);
    if (errno !== 0) throw errnoError(errno, `cannot remove ${dir}`);
  }

  /**
   * Empties an attempt's temp directory for the next attempt (takeWorkspace), keeping its
   * `checkpoint/` and `params.json`: a new attempt then creates no inode, where making and
   * removing three per attempt costs a file system like ext4 without a journal more CPU than
   * the rest of the attempt (bench/README.md, "dispatch"). Removed instead when it holds
   * anything the spawner will not keep (spawner-source.ts, recycle) or enough are waiting.
   */
  async recycleWorkspace(dir: string): Promise<void> {
    if (this.free.length >= MAX_FREE_WORKSPACES) return this.removeWorkspace(dir);
    const name = `${this.freePrefix}${this.freeCount++}`;
    const errno = await this.ask(['Y', '', dir, name]);
    if (errno > 0) throw errnoError(errno, `cannot remove ${dir}`);
    if (errno === 0) {
      if (this.dead) await rm(name, { recursive: true, force: true });
      else this.free.push(name);
    }
  }

  /** An emptied directory to rename into an attempt's (its `checkpoint/` and empty `params.json` inside), if one waits. */
  takeWorkspace(): string | undefined {
    return this.free.pop();
  }

  private ask(fields: string[]): Promise<number> {
    if (this.dead) return Promise.reject(new Error(`the spawner is gone: ${this.dead}`));
    for (const field of fields) {
      if (field.includes('\0')) return Promise.reject(new TypeError('a path or value contains a NUL byte'));
    }
    const id = this.nextId++;
    fields[1] = String(id);
    return new Promise((resolve) => {
      this.replies.set(id, resolve);
      this.hold();
      this.send(fields);
    });
  }

  /**
   * While a program runs or a request waits, the spawner's output and its exit (both: either may
   * be seen first when it dies) keep the worker alive; otherwise neither does.
   */
  private hold(): void {
    if (this.programs.size + this.replies.size > 0) {
      this.stdout.ref();
      this.child.ref();
    } else {
      this.stdout.unref();
      this.child.unref();
    }
  }

  private send(fields: string[]): void {
    const payload = Buffer.from(fields.join('\0'));
    this.stdin.write(Buffer.concat([Buffer.from(`${payload.length}\n`), payload]));
  }

  private onData(chunk: Buffer, onReady: () => void): void {
    let buf = this.pending.length > 0 ? Buffer.concat([this.pending, chunk]) : chunk;
    for (;;) {
      const nl = buf.indexOf(10);
      if (nl < 0) break;
      const [op, idText, lenText] = buf.toString('latin1', 0, nl).split(' ');
      const len = Number(lenText);
      if (buf.length < nl + 1 + len) break;
      const data = buf.subarray(nl + 1, nl + 1 + len);
      buf = buf.subarray(nl + 1 + len);
      if (op === 'R') onReady();
      else this.onFrame(op!, Number(idText), data);
    }
    // Copy the partial frame out: `chunk` may be large and is otherwise released.
    this.pending = Buffer.from(buf);
  }

  private onFrame(op: string, id: number, data: Buffer): void {
    const reply = this.replies.get(id);
    if (reply) {
      this.replies.delete(id);
      this.hold();
      reply(Number(data.toString()));
      return;
    }
    const running = this.programs.get(id);
    if (!running) return;
    const { events } = running;
    switch (op) {
      case 'P':
        running.pid = Number(data.toString());
        events.spawned(running.pid);
        return;
      case 'F':
        this.forget(id);
        events.failed(errnoError(Number(data.toString()), 'spawn'));
        return;
      case 'O':
        events.stdout(Buffer.from(data));
        return;
      case 'E':
        events.stderr(Buffer.from(data));
        return;
      case 'X': {
        const [code, signal, leftovers] = data.toString().split(' ').map(Number);
        running.exited = true;
        events.exited(signal ? null : code!, signal ? (SIGNAL_NAMES.get(signal) ?? null) : null, leftovers === 1);
        break;
      }
      case 'C':
        running.open--;
        break;
      default:
        return;
    }
    if (running.exited && running.open === 0) {
      this.forget(id);
      events.closed();
    }
  }

  private forget(id: number): void {
    this.programs.delete(id);
    this.hold();
  }

  /** The spawner is gone: its running programs cannot be followed any more, so they are stopped. */
  private die(reason: string): void {
    if (this.dead) return;
    this.dead = reason;
    if (this.ready) this.onDead(this);
    const programs = [...this.programs.values()];
    const replies = [...this.replies.values()];
    this.programs.clear();
    this.replies.clear();
    this.stdout.unref();
    // It cannot remove them at its exit any more; an error here leaves an empty directory.
    for (const dir of this.free.splice(0)) void rm(dir, { recursive: true, force: true }).catch(() => undefined);
    // A request without its answer: EPIPE-like, so the caller's fallback or error names it.
    for (const reply of replies) reply(constants.errno.EPIPE);
    for (const running of programs) {
      if (running.pid !== undefined && !running.exited) killGroup(running.pid, 'SIGKILL');
      running.events.lost(`the worker's spawner process failed (${reason}); the program was killed`);
    }
  }
}

type SpawnerState =
  | { kind: 'off' }
  | { kind: 'starting'; ready: Promise<Spawner | string>; settled?: Spawner | string }
  | { kind: 'failed'; reason: string };

let state: SpawnerState | undefined;

/**
 * The worker's spawner (started on first use), or why programs are spawned on the event loop:
 * undefined when it is turned off, the reason when it cannot start.
 */
export async function workerSpawner(): Promise<Spawner | string | undefined> {
  if (!state) {
    const config = env();
    if (!config.TRELLIS_SPAWNER) state = { kind: 'off' };
    else {
      const current: SpawnerState & { kind: 'starting' } = {
        kind: 'starting',
        ready: Spawner.start(config.TRELLIS_REAPER, () => {
          // A spawner that dies after starting is replaced for the next program.
          if (state === current) state = undefined;
        }).then(
          (spawner) => (current.settled = spawner),
          (err: unknown) => {
            const reason = `spawner unavailable: ${err instanceof Error ? err.message : String(err)}`;
            if (state === current) state = { kind: 'failed', reason };
            return reason;
          },
        ),
      };
      state = current;
    }
  }
  if (state.kind === 'off') return undefined;
  if (state.kind === 'failed') return state.reason;
  return state.ready;
}

/**
 * What workerSpawner() gives, when that is known without waiting (null: not yet). A program
 * that starts the moment its slot is free (prefetch) goes out in the same turn.
 */
export function knownSpawner(): Spawner | string | undefined | null {
  if (!state) return null;
  if (state.kind === 'off') return undefined;
  if (state.kind === 'failed') return state.reason;
  return state.settled ?? null;
}

/** The spawner's pid (tests), or undefined when none is running. */
export async function spawnerPid(): Promise<number | undefined> {
  const spawner = await workerSpawner();
  return typeof spawner === 'object' ? spawner.pid : undefined;
}
