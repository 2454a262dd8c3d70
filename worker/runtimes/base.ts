import type { Params } from '../../shared/spec/space.js';
import type { TrialConfig } from '../../shared/spec/schema.js';
import type { Failure, FailureKind } from '../../shared/failure-kinds.js';

/** Everything a runtime needs to run one attempt of a trial (or a pipeline stage). */
export interface AttemptContext {
  experimentId: string;
  trialId: string;
  trialNumber: number;
  attemptId: string;
  attemptNumber: number;
  /** The trial block of the spec with this trial's params merged in (see resolveTrialConfig). */
  config: TrialConfig;
  /** The trial's params exactly as suggested (flat, dotted keys). */
  params: Params;
  /** Seed for everything random in this trial (data split, init, shuffling). */
  seed: number;
  /** GPU ids assigned by the worker (empty on CPU). */
  gpuIds: string[];
  /** The attempt's share of each of gpuIds, bytes (0: the GPUs are its own, whole). */
  gpuMemoryBytes?: number;
  /** Told the attempt mark of the programs it starts (command runtime), so the worker can measure their GPU memory. */
  onProcesses?(mark: string): void;
  /** Aborted when the coordinator stops the attempt (cancel, prune) or the worker's grace time is over. */
  signal: AbortSignal;
  /**
   * Aborted when the worker is drained (SIGTERM, DrainWorker): save a checkpoint as soon as the
   * state is consistent and stop with `StoppedError('preempted')` (PREEMPTED). `signal` follows
   * when the worker's grace time is over.
   */
  preempt?: AbortSignal;
  /** Report metrics for a step (epoch). Steps must increase; a step already reported is ignored. */
  report(step: number, metrics: Record<string, number>): void;
  /** The trial's latest checkpoint (from an earlier attempt) and a way to save a new one. */
  checkpoint: {
    load(): Promise<Checkpoint | undefined>;
    save(checkpoint: Checkpoint): Promise<void>;
    /**
     * The same, streamed to and from files (checkpoints of any size; never held in memory):
     * loadFile writes the latest checkpoint into `path` (sha256 checked) and gives its step;
     * saveFile sends the file. The worker always provides both; a context without them (a test
     * harness) gets the buffer calls through fileCheckpoints (command/checkpoints.ts).
     */
    loadFile?(path: string): Promise<FileCheckpoint | undefined>;
    saveFile?(checkpoint: FileCheckpoint): Promise<void>;
  };
  /** Free-form log line for the trial (goes to the worker's log, bound to the trial). */
  log(line: string): void;
  /**
   * The program's output, line by line (stdout and stderr, in arrival order), for `trellis logs`;
   * `cutBytes` > 0 when the line was too long and cut. Runtimes without a program omit it.
   */
  output?(line: string, cutBytes: number): void;
  /** What the worker's operator allows this attempt (absent: the defaults; see WorkerLimits). */
  limits?: WorkerLimits;
  /** The attempt's work began (the command runtime: its program was spawned). Optional for a runtime. */
  began?(): void;
  /**
   * The attempt no longer uses its slot, though its outcome is not out yet (the command runtime:
   * its program exited and every process it left was killed). An attempt held behind it
   * (prefetch) starts now, off the way of this one's output, result and clean-up. Optional for a
   * runtime: the runner releases the slot anyway once the outcome is sent (or the attempt ends).
   */
  released?(): void;
  /** For a held attempt prepared ahead of its turn (Runtime.preparesAhead). Absent: the slot is its own already. */
  slot?: Slot;
}

/** The slot of a held attempt (prefetch), prepared ahead of its turn. */
export interface Slot {
  /**
   * `start` runs synchronously in the step that frees the slot (at once when it is free
   * already), so the attempt's work begins with nothing queued before it; `refused` runs
   * instead, with the stop's reason, when the attempt is dropped or handed back first. One of
   * them runs, once.
   */
  take(start: () => void, refused: (reason: unknown) => void): void;
}

/** Where dataset files may come from and how large they may be (worker/data/sandbox.ts). */
export interface DataSandbox {
  /** Real, absolute folders a spec's dataset paths must resolve into. */
  roots: string[];
  /** Largest dataset file read, in bytes. */
  maxDatasetBytes: number;
}

/** The worker operator's limits on attempts (`trellis worker --data-root/--max-memory/...`). */
export interface WorkerLimits {
  data: DataSandbox;
  /** Address-space limit of each program of the command runtime, bytes (command/limits.ts). */
  maxMemoryBytes?: number;
  /** Most processes one command attempt may run at once (command/limits.ts). */
  maxProcs?: number;
}

export interface Checkpoint {
  /** Last step (epoch) included in the checkpoint; a resumed attempt continues at step + 1. */
  step: number;
  data: Buffer;
}

/** A checkpoint in a file: its step, and the file's size and sha256. */
export interface FileCheckpoint {
  step: number;
  path: string;
  size: number;
  sha256: string;
}

export interface RunResult {
  /** Final metrics (e.g. test_accuracy); merged over the last reported step's metrics. */
  metrics: Record<string, number>;
  /** Facts about the run recorded with the trial: backend, dropped rows, durations... */
  info: Record<string, unknown>;
  /**
   * Work left after the result (removing the attempt's temp directory): the worker sends the
   * result first, then waits for it before the attempt is over; a failure of it is logged.
   */
  cleanup?: Promise<void>;
}

/** A training runtime: `tfjs` (built-in tasks) or `command` (any program). */
export interface Runtime {
  readonly name: string;
  /**
   * It prepares a held attempt (prefetch) ahead of its turn: run() is called while the attempt
   * ahead still runs, does what needs no slot (a temp directory, a checkpoint's download) and
   * takes `ctx.slot` before it uses the slot's CPUs, memory or GPUs. Otherwise a held attempt
   * is not prepared: run() is called when its slot is free.
   */
  readonly preparesAhead?: boolean;
  run(ctx: AttemptContext): Promise<RunResult>;
}

/** Thrown by a runtime when the failure will not go away on retry (bad config, missing file). */
export class PermanentRunError extends Error {
  override readonly name = 'PermanentRunError';
}

/** Thrown (or the abort reason) when an attempt stops because it was asked to. */
export class StoppedError extends Error {
  override readonly name = 'StoppedError';
}

/** The reason of a preemption stop (the attempt is handed back as `preempted`). */
export const PREEMPTED = 'preempted';

/** A failure whose kind the runtime recognised (from the program's output and exit). */
export class ClassifiedRunError extends Error {
  override readonly name = 'ClassifiedRunError';
  constructor(
    message: string,
    readonly failure: Failure,
  ) {
    super(message);
  }
}

/** Thrown when training (recorded on the attempt as `failureKind: diverged`) produced a non-finite objective or loss: never a success, never retried. */
export class DivergedError extends PermanentRunError {
  readonly kind: FailureKind = 'diverged';
}
