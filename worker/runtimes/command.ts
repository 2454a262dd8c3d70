/**
 * The `command` runtime: runs any program (a PyTorch or JAX script, a shell tool) as one trial
 * attempt.
 *
 * Contract with the program (see also examples/pytorch/README.md):
 *
 * - Arguments: `trial.command` is `[program, ...args]`, spawned without a shell. In every
 *   argument (and every value of `trial.env`) `${params.NAME}` becomes the trial's value of
 *   NAME (dotted names such as `${params.loss.q}`; lists as JSON), `${trial.number}`,
 *   `${trial.seed}`, `${trial.id}` and `${trial.attempt}` the trial's facts; `$${` stands for a
 *   literal `${`. Other `${...}` text is left alone.
 * - Environment: the worker's environment, then `trial.env`, then `TRELLIS_PARAMS` (JSON of
 *   `trial.options` overlaid with the params), `TRELLIS_PARAMS_FILE`, `TRELLIS_TRIAL_ID`, `TRELLIS_TRIAL_NUMBER`,
 *   `TRELLIS_ATTEMPT`, `TRELLIS_SEED`, `TRELLIS_CHECKPOINT_DIR`, `TRELLIS_CHECKPOINT_EVERY`,
 *   `TRELLIS_RESUME_STEP` (only when resuming) and `CUDA_VISIBLE_DEVICES` (the assigned GPUs,
 *   empty when none so CUDA sees no device). `PYTHONUNBUFFERED=1` unless already set, so that
 *   Python prints each metric line as it happens.
 * - Metrics: every stdout line that is a JSON object is a report. Its finite numeric fields are
 *   metrics; `step` (else `epoch`) is the step, otherwise steps count up from the resume step.
 *   A line `{"outputs": {...}}` sets the attempt's outputs (what later pipeline stages reference).
 *   A line with `"final": true` is not a step: its metrics only go into the result (e.g.
 *   `{"final": true, "test_accuracy": 0.93}`). Python's `NaN`/`Infinity` are accepted and
 *   dropped with a log line. Any other stdout line, and all of stderr, goes to the trial log.
 * - Checkpoints: `TRELLIS_CHECKPOINT_DIR` is a fresh directory per attempt, filled with the
 *   trial's last checkpoint when there is one. The line `{"checkpoint": true, "step": N}` means
 *   "the directory now holds my state after step N": the runtime packs it and saves it. Write
 *   the files first (atomically, e.g. write then rename), then print the line. The copy is taken
 *   when the line is read and only kept if the directory held still while it was read (checked
 *   by stat before and after, retried a few times); a directory that keeps changing skips that
 *   checkpoint with a log line rather than saving a torn mix of two steps. At a successful
 *   exit a non-empty directory that differs from the last saved checkpoint is saved too (at
 *   the last reported step).
 * - Stop: on abort the whole process group gets SIGTERM, then SIGKILL after
 *   `trial.stopGraceSeconds`; the attempt rejects with StoppedError. Processes left in the
 *   group after the program exits are killed. A worker killed outright takes the groups of
 *   its running programs along (reaper.ts), so they do not train on beside the retried attempt.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, mkdir, readFile, readdir, rm, stat, lstat, writeFile, chmod } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';
import { tmpdir } from 'node:os';
import { join, posix, resolve, sep } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { reapWithWorker } from './reaper.js';
import type { ParamValue, Params } from '../../shared/spec/space.js';
import {
  PermanentRunError,
  StoppedError,
  type AttemptContext,
  type Checkpoint,
  type RunResult,
  type Runtime,
} from './base.js';

/** Lines of stderr quoted in the error of a failed run. */
const STDERR_TAIL_LINES = 20;
/** A line longer than this is cut and logged as is (a program printing without newlines). */
const MAX_LINE_CHARS = 1 << 20;
/** After the program exits, how long its output pipes may stay open (a process that left its group). */
const PIPE_DRAIN_MS = 5000;

// ---------------------------------------------------------------------------------------------
// Argument substitution

export interface SubstitutionContext {
  params: Params;
  trialId: string;
  trialNumber: number;
  attemptNumber: number;
  seed: number;
}

function formatValue(value: ParamValue): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

/**
 * Replaces `${params.NAME}` and `${trial.number|seed|id|attempt}` in one string; `$${` is a
 * literal `${`. Throws PermanentRunError on an unknown name.
 */
export function substitute(text: string, sub: SubstitutionContext, where: string): string {
  return text.replace(/\$?\$\{([^}]*)\}/g, (match: string, inner: string) => {
    if (match.startsWith('$$')) return match.slice(1);
    const ref = inner.trim();
    if (ref.startsWith('params.')) {
      const name = ref.slice('params.'.length);
      const value = Object.prototype.hasOwnProperty.call(sub.params, name) ? sub.params[name] : undefined;
      if (value === undefined) {
        const known = Object.keys(sub.params).sort();
        throw new PermanentRunError(
          `${where}: \${params.${name}} names no parameter of this trial; known params: ${known.length > 0 ? known.join(', ') : '(none)'}`,
        );
      }
      return formatValue(value);
    }
    if (ref.startsWith('trial.')) {
      const field = ref.slice('trial.'.length);
      switch (field) {
        case 'number':
          return String(sub.trialNumber);
        case 'seed':
          return String(sub.seed);
        case 'id':
          return sub.trialId;
        case 'attempt':
          return String(sub.attemptNumber);
        default:
          throw new PermanentRunError(
            `${where}: \${trial.${field}} is unknown; use trial.number, trial.seed, trial.id or trial.attempt`,
          );
      }
    }
    return match;
  });
}

// ---------------------------------------------------------------------------------------------
// Line splitting

/** Splits a byte stream into lines (\n or \r\n), across chunk and UTF-8 character boundaries. */
export class LineSplitter {
  private readonly decoder = new StringDecoder('utf8');
  private buffer = '';

  constructor(private readonly onLine: (line: string) => void) {}

  push(chunk: Buffer | string): void {
    this.buffer += typeof chunk === 'string' ? chunk : this.decoder.write(chunk);
    let start = 0;
    for (;;) {
      const newline = this.buffer.indexOf('\n', start);
      if (newline < 0) break;
      let end = newline;
      if (end > start && this.buffer.charCodeAt(end - 1) === 13) end -= 1;
      this.onLine(this.buffer.slice(start, end));
      start = newline + 1;
    }
    this.buffer = this.buffer.slice(start);
    while (this.buffer.length > MAX_LINE_CHARS) {
      this.onLine(this.buffer.slice(0, MAX_LINE_CHARS));
      this.buffer = this.buffer.slice(MAX_LINE_CHARS);
    }
  }

  /** Emits what is left (a last line without a newline). */
  end(): void {
    this.buffer += this.decoder.end();
    if (this.buffer.length > 0) {
      const rest = this.buffer.endsWith('\r') ? this.buffer.slice(0, -1) : this.buffer;
      this.buffer = '';
      this.onLine(rest);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Metric lines

export interface ParsedLine {
  /** Finite numeric fields, without the one used as the step. */
  metrics: Record<string, number>;
  step?: number;
  checkpoint: boolean;
  final: boolean;
  /** A line `{"outputs": {...}}`: the stage outputs a pipeline's later stages may reference. */
  outputs?: Record<string, unknown>;
  /** Fields whose value was NaN or ±Infinity (dropped). */
  nonFinite: string[];
}

/** Replaces bare NaN / Infinity / -Infinity tokens (outside strings) by null, as Python's json writes them. */
function replaceNonFiniteTokens(text: string): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const ch = text[i]!;
    if (ch === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      out += text.slice(i, j + 1);
      i = j + 1;
      continue;
    }
    const rest = text.slice(i, i + 9);
    const token = rest.startsWith('-Infinity')
      ? '-Infinity'
      : rest.startsWith('Infinity')
        ? 'Infinity'
        : rest.startsWith('NaN')
          ? 'NaN'
          : undefined;
    if (token) {
      out += `{"__nonfinite":"${token}"}`;
      i += token.length;
      continue;
    }
    out += ch;
    i += 1;
  }
  return out;
}

/** Parses a stdout line; undefined when it is not a JSON object (then it is a log line). */
export function parseMetricLine(line: string): ParsedLine | undefined {
  const text = line.trim();
  if (!text.startsWith('{') || !text.endsWith('}')) return undefined;
  let record: unknown;
  try {
    record = JSON.parse(text);
  } catch {
    try {
      record = JSON.parse(replaceNonFiniteTokens(text));
    } catch {
      return undefined;
    }
  }
  if (typeof record !== 'object' || record === null || Array.isArray(record)) return undefined;
  const fields = record as Record<string, unknown>;
  const isNonFinite = (value: unknown): boolean =>
    typeof value === 'object' && value !== null && '__nonfinite' in value && Object.keys(value).length === 1;
  const numeric = (value: unknown): number | undefined =>
    typeof value === 'number' && Number.isFinite(value) ? value : undefined;
  const stepKey =
    numeric(fields.step) !== undefined ? 'step' : numeric(fields.epoch) !== undefined ? 'epoch' : undefined;
  const parsed: ParsedLine = {
    metrics: {},
    checkpoint: fields.checkpoint === true,
    final: fields.final === true,
    nonFinite: [],
  };
  if (stepKey) parsed.step = fields[stepKey] as number;
  const outputs = fields.outputs;
  if (outputs && typeof outputs === 'object' && !Array.isArray(outputs))
    parsed.outputs = outputs as Record<string, unknown>;
  for (const [key, value] of Object.entries(fields)) {
    if (key === stepKey || key === 'step' || key === 'outputs') continue;
    const number = numeric(value);
    if (number !== undefined) parsed.metrics[key] = number;
    else if (isNonFinite(value)) parsed.nonFinite.push(key);
  }
  return parsed;
}

// ---------------------------------------------------------------------------------------------
// Checkpoint archives
//
// Format (all integers big-endian):
//   magic "TRELLIS-CKPT\x01\n"
//   entries: u8 kind (1 = file, 2 = directory), u32 mode, u32 path length, path (UTF-8, POSIX
//            separators, relative), and for a file: u64 size, bytes
//   end: u8 0
// Entries come in sorted path order, so the same directory always packs to the same bytes.

const MAGIC = Buffer.from('TRELLIS-CKPT\x01\n', 'latin1');
const KIND_END = 0;
const KIND_FILE = 1;
const KIND_DIR = 2;

/** A packed checkpoint directory. `stable` is false when the tree changed while it was read. */
export interface PackedDirectory {
  data: Buffer;
  files: number;
  skipped: string[];
  stable: boolean;
}

/**
 * Packs a directory tree (files and directories; symlinks and others are skipped and named).
 * The program may still be writing while we read, so the tree's stat signature (paths, sizes,
 * mtimes, inodes) is taken before and after; a file that vanishes mid-read (a temp file being
 * renamed into place) or any change between the two makes the pack unstable, not an error.
 */
export async function packDirectory(dir: string): Promise<PackedDirectory> {
  const before = await treeSignature(dir);
  const parts: Buffer[] = [MAGIC];
  const skipped: string[] = [];
  let files = 0;
  let vanished = false;
  const header = (kind: number, mode: number, path: string): void => {
    const name = Buffer.from(path, 'utf8');
    const head = Buffer.alloc(9);
    head.writeUInt8(kind, 0);
    head.writeUInt32BE(mode & 0o7777, 1);
    head.writeUInt32BE(name.length, 5);
    parts.push(head, name);
  };
  const walk = async (absolute: string, relative: string): Promise<void> => {
    const entries = await ifPresent(readdir(absolute, { withFileTypes: true }));
    if (entries === undefined) return void (vanished = true);
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      const path = relative ? `${relative}/${entry.name}` : entry.name;
      const full = join(absolute, entry.name);
      if (entry.isDirectory()) {
        const info = await ifPresent(stat(full));
        if (info === undefined) return void (vanished = true);
        header(KIND_DIR, info.mode, path);
        await walk(full, path);
      } else if (entry.isFile()) {
        const [content, info] = await Promise.all([ifPresent(readFile(full)), ifPresent(stat(full))]);
        if (content === undefined || info === undefined) return void (vanished = true);
        header(KIND_FILE, info.mode, path);
        const size = Buffer.alloc(8);
        size.writeBigUInt64BE(BigInt(content.length));
        parts.push(size, content);
        files += 1;
      } else {
        skipped.push(path);
      }
    }
  };
  await walk(dir, '');
  parts.push(Buffer.from([KIND_END]));
  const stable = !vanished && before === (await treeSignature(dir));
  return { data: Buffer.concat(parts), files, skipped, stable };
}

/**
 * Packs dir until two stat signatures taken around the read agree (up to `tries` times, with a
 * short pause between). Returns undefined when the tree never held still: a torn copy (weights of
 * one step, state of another) is worse than a skipped checkpoint.
 */
export async function snapshotDirectory(dir: string, tries = 4): Promise<PackedDirectory | undefined> {
  for (let attempt = 1; attempt <= tries; attempt++) {
    const packed = await packDirectory(dir);
    if (packed.stable) return packed;
    if (attempt < tries) await delay(10 * attempt);
  }
  return undefined;
}

/** Paths, kinds, sizes, nanosecond mtimes and inodes of everything under dir, in sorted order. */
async function treeSignature(dir: string): Promise<string> {
  const lines: string[] = [];
  const walk = async (absolute: string, relative: string): Promise<void> => {
    const names = await ifPresent(readdir(absolute));
    if (names === undefined) return void lines.push(`${relative}\0gone`);
    names.sort();
    for (const name of names) {
      const path = relative ? `${relative}/${name}` : name;
      const info = await ifPresent(lstat(join(absolute, name), { bigint: true }));
      if (info === undefined) {
        lines.push(`${path}\0gone`);
        continue;
      }
      lines.push(`${path}\0${info.mode}\0${info.size}\0${info.mtimeNs}\0${info.ino}`);
      if (info.isDirectory()) await walk(join(absolute, name), path);
    }
  };
  await walk(dir, '');
  return lines.join('\n');
}

/** The promise's value, or undefined when it failed because the path no longer exists. */
async function ifPresent<T>(pending: Promise<T>): Promise<T | undefined> {
  try {
    return await pending;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** Unpacks an archive made by packDirectory into dir. Throws on anything malformed or unsafe. */
export async function unpackArchive(data: Buffer, dir: string): Promise<number> {
  if (data.length < MAGIC.length || !data.subarray(0, MAGIC.length).equals(MAGIC)) {
    throw new Error('not a command-runtime checkpoint archive (bad magic)');
  }
  const root = resolve(dir);
  let offset = MAGIC.length;
  let files = 0;
  const need = (bytes: number): void => {
    if (offset + bytes > data.length) throw new Error('checkpoint archive is truncated');
  };
  for (;;) {
    need(1);
    const kind = data.readUInt8(offset);
    offset += 1;
    if (kind === KIND_END) break;
    if (kind !== KIND_FILE && kind !== KIND_DIR)
      throw new Error(`checkpoint archive has an unknown entry kind ${kind}`);
    need(8);
    const mode = data.readUInt32BE(offset);
    const nameLength = data.readUInt32BE(offset + 4);
    offset += 8;
    need(nameLength);
    const path = data.subarray(offset, offset + nameLength).toString('utf8');
    offset += nameLength;
    const normal = posix.normalize(path);
    if (
      path.length === 0 ||
      path.includes('\0') ||
      path.includes('\\') ||
      posix.isAbsolute(path) ||
      normal !== path ||
      normal.split('/').some((part) => part === '..' || part === '.' || part === '')
    ) {
      throw new Error(`checkpoint archive has an unsafe path ${JSON.stringify(path)}`);
    }
    const target = resolve(root, ...normal.split('/'));
    if (!target.startsWith(root + sep)) throw new Error(`checkpoint archive path escapes the directory: ${path}`);
    if (kind === KIND_DIR) {
      await mkdir(target, { recursive: true });
      await chmod(target, (mode & 0o777) | 0o700);
      continue;
    }
    need(8);
    const size = data.readBigUInt64BE(offset);
    offset += 8;
    if (size > BigInt(data.length - offset)) throw new Error('checkpoint archive is truncated');
    const length = Number(size);
    await mkdir(resolve(target, '..'), { recursive: true });
    await writeFile(target, data.subarray(offset, offset + length), { mode: (mode & 0o777) | 0o600 });
    offset += length;
    files += 1;
  }
  if (offset !== data.length) throw new Error('checkpoint archive has trailing bytes');
  return files;
}

// ---------------------------------------------------------------------------------------------
// The runtime

function describe(value: unknown): string {
  if (value instanceof Error) return value.message;
  if (value === undefined) return '';
  // eslint-disable-next-line @typescript-eslint/no-base-to-string -- a thrown non-Error: show what it is
  return String(value);
}

function stopError(signal: AbortSignal): StoppedError {
  const reason: unknown = signal.reason;
  if (reason instanceof StoppedError) return reason;
  const text = reason instanceof Error && reason.name === 'AbortError' ? '' : describe(reason);
  return new StoppedError(text ? `stopped: ${text}` : 'stopped');
}

/** Sends a signal to the process group led by pid; false when no such group is left. */
function killGroup(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    // ESRCH: the group is gone. EPERM cannot happen for our own child's group.
    return false;
  }
}

async function run(ctx: AttemptContext): Promise<RunResult> {
  const config = ctx.config;
  const command = config.command;
  if (!command || command.length === 0 || !command[0]) {
    throw new PermanentRunError('trial.command: the command runtime needs trial.command ([program, ...args])');
  }
  if (ctx.signal.aborted) throw stopError(ctx.signal);

  const sub: SubstitutionContext = {
    params: ctx.params,
    trialId: ctx.trialId,
    trialNumber: ctx.trialNumber,
    attemptNumber: ctx.attemptNumber,
    seed: ctx.seed,
  };
  const argv = command.map((arg, index) => substitute(arg, sub, `trial.command[${index}]`));
  const program = argv[0]!;
  const args = argv.slice(1);
  const userEnv: Record<string, string> = {};
  for (const [key, value] of Object.entries(config.env ?? {})) {
    userEnv[key] = substitute(value, sub, `trial.env.${key}`);
  }

  const tempDir = await mkdtemp(
    join(tmpdir(), `trellis-${ctx.attemptId.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 40)}-`),
  );
  try {
    const checkpointDir = join(tempDir, 'checkpoint');
    await mkdir(checkpointDir);
    // `trial.options` (free-form values, e.g. a pipeline stage's resolved inputs) come with the params.
    const paramsJson = JSON.stringify({ ...(ctx.config.options ?? {}), ...ctx.params });
    const paramsFile = join(tempDir, 'params.json');
    await writeFile(paramsFile, paramsJson);

    const checkpointEvery = config.checkpointEvery ?? 1;
    let resumeStep: number | undefined;
    let lastSavedData: Buffer | undefined;
    let lastSavedStep: number | undefined;
    const restored = await ctx.checkpoint.load();
    if (restored) {
      try {
        const files = await unpackArchive(restored.data, checkpointDir);
        ctx.log(`restored checkpoint of step ${restored.step} (${files} files) into ${checkpointDir}`);
      } catch (err) {
        throw new PermanentRunError(`cannot restore the checkpoint of step ${restored.step}: ${describe(err)}`);
      }
      resumeStep = restored.step;
      lastSavedData = restored.data;
      lastSavedStep = restored.step;
    }
    if (ctx.signal.aborted) throw stopError(ctx.signal);

    const env: NodeJS.ProcessEnv = {
      ...process.env,
      PYTHONUNBUFFERED: process.env.PYTHONUNBUFFERED ?? '1',
      ...userEnv,
      TRELLIS_PARAMS: paramsJson,
      TRELLIS_PARAMS_FILE: paramsFile,
      TRELLIS_TRIAL_ID: ctx.trialId,
      TRELLIS_TRIAL_NUMBER: String(ctx.trialNumber),
      TRELLIS_ATTEMPT: String(ctx.attemptNumber),
      TRELLIS_SEED: String(ctx.seed),
      TRELLIS_CHECKPOINT_DIR: checkpointDir,
      TRELLIS_CHECKPOINT_EVERY: String(checkpointEvery),
      CUDA_VISIBLE_DEVICES: ctx.gpuIds.join(','),
    };
    if (resumeStep !== undefined) env.TRELLIS_RESUME_STEP = String(resumeStep);
    else delete env.TRELLIS_RESUME_STEP;

    // --- metrics and checkpoints from stdout
    const finalMetrics: Record<string, number> = {};
    const stageOutputs: Record<string, unknown> = {};
    let lastStep = resumeStep;
    let saves: Promise<void> = Promise.resolve();
    let saveFailure: unknown;
    let warnedNoCheckpoints = false;

    /**
     * Queues a save of the packed directory. A checkpoint line is saved unless it repeats the last
     * save exactly; at exit the directory is saved only when it changed since the last save (or
     * the restore), so an unchanged directory is never relabelled with a later step.
     */
    const saveCheckpoint = (step: number, atExit: boolean, snapshot: Promise<PackedDirectory | undefined>): void => {
      const why = atExit ? 'at exit' : 'checkpoint line';
      saves = saves.then(async () => {
        try {
          const packed = await snapshot;
          if (packed === undefined) {
            ctx.log(`checkpoint for step ${step} (${why}) skipped: ${checkpointDir} kept changing while it was copied`);
            return;
          }
          const { data, files, skipped } = packed;
          if (files === 0) {
            if (!atExit) ctx.log(`checkpoint for step ${step} (${why}) ignored: ${checkpointDir} holds no files`);
            return;
          }
          if (skipped.length > 0)
            ctx.log(`checkpoint: skipped entries that are not files or directories: ${skipped.join(', ')}`);
          if (lastSavedData && data.equals(lastSavedData) && (atExit || lastSavedStep === step)) return;
          const checkpoint: Checkpoint = { step, data };
          await ctx.checkpoint.save(checkpoint);
          lastSavedData = data;
          lastSavedStep = step;
        } catch (err) {
          saveFailure ??= err;
          ctx.log(`checkpoint for step ${step} (${why}) could not be saved: ${describe(err)}`);
        }
      });
    };

    const onStdoutLine = (line: string): void => {
      const parsed = parseMetricLine(line);
      if (!parsed) {
        ctx.log(line);
        return;
      }
      if (parsed.nonFinite.length > 0) {
        ctx.log(`non-finite metric values dropped (${parsed.nonFinite.join(', ')}): ${line}`);
      }
      if (parsed.outputs) Object.assign(stageOutputs, parsed.outputs);
      const hasMetrics = Object.keys(parsed.metrics).length > 0;
      if (parsed.final) {
        Object.assign(finalMetrics, parsed.metrics);
      } else if (hasMetrics) {
        const step = parsed.step ?? (lastStep ?? 0) + 1;
        ctx.report(step, parsed.metrics);
        Object.assign(finalMetrics, parsed.metrics);
        if (lastStep === undefined || step > lastStep) lastStep = step;
      } else if (
        parsed.step !== undefined &&
        !parsed.checkpoint &&
        (lastStep === undefined || parsed.step > lastStep)
      ) {
        lastStep = parsed.step;
      }
      if (parsed.checkpoint) {
        if (checkpointEvery === 0) {
          if (!warnedNoCheckpoints) ctx.log('checkpoint lines ignored: trial.checkpointEvery is 0');
          warnedNoCheckpoints = true;
          return;
        }
        const step = parsed.step ?? lastStep ?? 0;
        saveCheckpoint(step, false, snapshotDirectory(checkpointDir));
      }
    };

    const stderrTail: string[] = [];
    const onStderrLine = (line: string): void => {
      ctx.log(line);
      stderrTail.push(line);
      if (stderrTail.length > STDERR_TAIL_LINES) stderrTail.shift();
    };

    // --- spawn
    const started = Date.now();
    let child: ChildProcess;
    try {
      child = spawn(program, args, { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (err) {
      throw new PermanentRunError(`cannot start ${JSON.stringify(program)}: ${describe(err)}`);
    }
    const stdoutSplitter = new LineSplitter(onStdoutLine);
    const stderrSplitter = new LineSplitter(onStderrLine);
    child.stdout!.on('data', (chunk: Buffer) => stdoutSplitter.push(chunk));
    child.stderr!.on('data', (chunk: Buffer) => stderrSplitter.push(chunk));

    let stopping = false;
    let killTimer: NodeJS.Timeout | undefined;
    const onAbort = (): void => {
      if (stopping || child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
      stopping = true;
      const graceMs = Math.max(0, (config.stopGraceSeconds ?? 10) * 1000);
      ctx.log(`stopping ${program} (pid ${child.pid}): SIGTERM, SIGKILL in ${graceMs / 1000}s`);
      killGroup(child.pid, 'SIGTERM');
      killTimer = setTimeout(() => {
        if (child.pid !== undefined && killGroup(child.pid, 'SIGKILL')) {
          ctx.log(`${program} did not stop within ${graceMs / 1000}s: SIGKILL`);
        }
      }, graceMs);
    };

    type Outcome =
      | { kind: 'exit'; code: number | null; signal: NodeJS.Signals | null }
      | { kind: 'error'; error: NodeJS.ErrnoException };
    let reaped: ReturnType<typeof reapWithWorker> | undefined;
    const outcome = await new Promise<Outcome>((resolveOutcome) => {
      let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
      let drainTimer: NodeJS.Timeout | undefined;
      let settled = false;
      const finish = (value: Outcome): void => {
        if (settled) return;
        settled = true;
        if (drainTimer) clearTimeout(drainTimer);
        resolveOutcome(value);
      };
      child.once('spawn', () => {
        reaped = reapWithWorker(child.pid!);
        if (reaped.problem) ctx.log(`note: ${program} would outlive a worker killed outright: ${reaped.problem}`);
        ctx.signal.addEventListener('abort', onAbort, { once: true });
        if (ctx.signal.aborted) onAbort();
      });
      child.on('error', (error: NodeJS.ErrnoException) => {
        // Only a failed spawn settles the run; a failed kill after spawning is not fatal.
        if (child.pid === undefined) finish({ kind: 'error', error });
      });
      child.once('exit', (code, signal) => {
        exited = { code, signal };
        if (killTimer) clearTimeout(killTimer);
        // Whatever the program left behind in its group (data loaders, servers) goes with it.
        if (child.pid !== undefined && killGroup(child.pid, 'SIGKILL')) {
          ctx.log(`killed processes left in the process group of ${program} (pid ${child.pid})`);
        }
        reaped?.release();
        drainTimer = setTimeout(() => {
          ctx.log(
            `output of ${program} still open ${PIPE_DRAIN_MS / 1000}s after exit (a process left its group?): closing it`,
          );
          child.stdout?.destroy();
          child.stderr?.destroy();
          finish({ kind: 'exit', ...exited! });
        }, PIPE_DRAIN_MS);
      });
      child.once('close', (code, signal) => {
        finish({ kind: 'exit', code: exited?.code ?? code, signal: exited?.signal ?? signal });
      });
    });
    ctx.signal.removeEventListener('abort', onAbort);
    if (killTimer) clearTimeout(killTimer);
    stdoutSplitter.end();
    stderrSplitter.end();
    const durationMs = Date.now() - started;

    if (outcome.kind === 'error') {
      const code = outcome.error.code;
      if (code === 'ENOENT') {
        throw new PermanentRunError(
          `program not found: ${JSON.stringify(program)} (trial.command[0]; not on PATH or no such file)`,
        );
      }
      if (code === 'EACCES' || code === 'ENOTDIR' || code === 'ENOEXEC') {
        throw new PermanentRunError(`cannot run ${JSON.stringify(program)}: ${describe(outcome.error)}`);
      }
      throw new Error(`cannot start ${JSON.stringify(program)}: ${describe(outcome.error)}`);
    }

    if (stopping) {
      await saves;
      throw stopError(ctx.signal);
    }

    if (outcome.code !== 0) {
      await saves;
      const how = outcome.signal ? `was killed by signal ${outcome.signal}` : `exited with code ${outcome.code}`;
      const tail =
        stderrTail.length > 0
          ? `last ${stderrTail.length} lines of stderr:\n${stderrTail.join('\n')}`
          : '(no stderr output)';
      throw new Error(`${program} ${how} after ${(durationMs / 1000).toFixed(1)}s; ${tail}`);
    }

    if (checkpointEvery !== 0) {
      const finalStep = Math.max(lastStep ?? 0, lastSavedStep ?? 0);
      saveCheckpoint(finalStep, true, snapshotDirectory(checkpointDir));
    }
    await saves;
    if (saveFailure !== undefined) {
      // The training itself succeeded; the result stands and the failure is in the log.
      ctx.log(`note: at least one checkpoint could not be saved (${describe(saveFailure)})`);
    }

    const info: Record<string, unknown> = { exitCode: 0, durationMs, command: program };
    if (resumeStep !== undefined) info.resumedFromStep = resumeStep;
    if (Object.keys(stageOutputs).length > 0) info.outputs = stageOutputs;
    return { metrics: finalMetrics, info };
  } finally {
    await rm(tempDir, { recursive: true, force: true });
  }
}

export const commandRuntime: Runtime = {
  name: 'command',
  run,
};
