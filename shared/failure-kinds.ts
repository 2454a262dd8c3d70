/**
 * Failure kinds: how an attempt that did not succeed ended, recognised from what is known of its
 * end (the program's output, its exit code or signal, whether it reported a step) and recorded on
 * the attempt as `failureKind` + `failureEvidence`. Each kind has its own retry policy
 * (`budget.retry`, shared/spec/retry.ts; applied by coordinator/sweeps/outcome.ts).
 *
 * The worker classifies what it sees (oom, diverged, user_error, crash); the coordinator adds
 * the kinds only it knows (preempted: the worker was drained; lost: the lease expired; timeout:
 * `budget.trialTimeout` passed). Pure: no I/O, no clock.
 */

export const FAILURE_KINDS = ['oom', 'diverged', 'preempted', 'lost', 'timeout', 'user_error', 'crash'] as const;
export type FailureKind = (typeof FAILURE_KINDS)[number];

export interface Failure {
  kind: FailureKind;
  /** What the kind was recognised from: the matching output line, the exit signal, ... (≤ 500 chars). */
  evidence: string;
}

export function isFailureKind(value: unknown): value is FailureKind {
  return typeof value === 'string' && (FAILURE_KINDS as readonly string[]).includes(value);
}

/**
 * Out-of-memory texts, as the frameworks print them: PyTorch (`torch.OutOfMemoryError: CUDA out
 * of memory. Tried to allocate …`; older `RuntimeError: CUDA out of memory`), TensorFlow
 * (`ResourceExhaustedError … OOM when allocating tensor …`), cuDNN/cuBLAS allocation failures,
 * Python's host `MemoryError`, and the allocation failures of Node/TensorFlow.js
 * (`Array buffer allocation failed`, `Failed to allocate`, V8's `heap out of memory`).
 */
const OOM_PATTERNS: readonly RegExp[] = [
  /CUDA out of memory/i,
  // Exception lines only (`torch.OutOfMemoryError: …`), not the traceback's source lines (`raise OutOfMemoryError(`).
  /^([\w.]+\.)?OutOfMemoryError:/,
  /^([\w.]+\.)?ResourceExhaustedError:/,
  /OOM when allocating/,
  /CUDNN_STATUS_ALLOC_FAILED|CUBLAS_STATUS_ALLOC_FAILED|CUDA_ERROR_OUT_OF_MEMORY/,
  /^MemoryError\b/,
  /Array buffer allocation failed/,
  /Failed to allocate/i,
  /JavaScript heap out of memory/,
  /std::bad_alloc/,
];

/**
 * Deterministic mistakes in the program or its inputs: the last line of a Python traceback of
 * these exceptions, and an argparse usage error (`prog: error: …`, printed after `usage:`).
 * They count as user errors only before the program's first report (later, the same exception
 * is a crash in the middle of training).
 */
const USER_ERROR_PATTERNS: readonly RegExp[] = [
  /^(ImportError|ModuleNotFoundError|SyntaxError|IndentationError|FileNotFoundError|KeyError)\b/,
  /^\S+: error: (the following arguments are required|unrecognized arguments|argument )/,
];

const TRACEBACK = /^Traceback \(most recent call last\):/;
const USAGE = /^usage: /;
const EVIDENCE_CHARS = 500;

function cut(text: string): string {
  return text.length > EVIDENCE_CHARS ? `${text.slice(0, EVIDENCE_CHARS)}…` : text;
}

/**
 * Watches a program's output line by line (stdout and stderr) for failure signatures, so that a
 * signature far above the output tail still counts. Keeps O(1) state.
 */
export class FailureScanner {
  private oomLine: string | undefined;
  private userErrorLine: string | undefined;
  private sawTraceback = false;
  private sawUsage = false;

  readonly observe = (line: string): void => {
    const text = line.trim();
    if (!text) return;
    if (TRACEBACK.test(text)) this.sawTraceback = true;
    if (USAGE.test(text)) this.sawUsage = true;
    if (this.oomLine === undefined && OOM_PATTERNS.some((p) => p.test(text))) this.oomLine = text;
    const [exception, usage] = USER_ERROR_PATTERNS;
    if ((this.sawTraceback && exception!.test(text)) || (this.sawUsage && usage!.test(text))) {
      this.userErrorLine = text;
    }
  };

  /** What the lines seen so far say (for classifyExit). */
  get signatures(): OutputSignatures {
    return {
      ...(this.oomLine !== undefined ? { oomLine: this.oomLine } : {}),
      ...(this.userErrorLine !== undefined ? { userErrorLine: this.userErrorLine } : {}),
    };
  }
}

export interface OutputSignatures {
  /** The first output line with an out-of-memory text. */
  oomLine?: string;
  /** The last traceback line of a user-error exception, or an argparse usage error. */
  userErrorLine?: string;
}

/** How a program that was not stopped by Trellis ended with a failure. */
export interface ProgramEnd extends OutputSignatures {
  exitCode: number | null;
  signal: string | null;
  /** Whether the program had reported at least one step (metric line) before it ended. */
  reported: boolean;
}

/**
 * The kind of a failed program run. Order matters: an out-of-memory text or a SIGKILL nobody in
 * Trellis sent (the kernel OOM killer's signature; Trellis's own SIGKILL only follows a stop,
 * which never gets here) is `oom`; a user-error traceback or usage error before the first report
 * is `user_error`; anything else is `crash`.
 */
export function classifyExit(end: ProgramEnd): Failure {
  if (end.oomLine !== undefined) return { kind: 'oom', evidence: cut(end.oomLine) };
  if (end.signal === 'SIGKILL' || (end.signal === null && end.exitCode === 137)) {
    return {
      kind: 'oom',
      evidence: `killed by SIGKILL that Trellis did not send (the kernel OOM killer's signature)`,
    };
  }
  if (!end.reported && end.userErrorLine !== undefined) {
    return { kind: 'user_error', evidence: cut(end.userErrorLine) };
  }
  const how = end.signal ? `killed by signal ${end.signal}` : `exit code ${String(end.exitCode)}`;
  return { kind: 'crash', evidence: end.reported ? `${how} after its first report` : how };
}

/**
 * The kind of a failure known only by its error text (the tfjs runtime's exceptions, a runtime
 * that threw): `oom` for an allocation failure, else `crash` (or `user_error` when the runtime
 * said the failure is permanent: a bad config, a missing file).
 */
export function classifyError(message: string, permanent: boolean): Failure {
  for (const line of message.split('\n')) {
    const text = line.trim();
    if (OOM_PATTERNS.some((p) => p.test(text))) return { kind: 'oom', evidence: cut(text) };
  }
  const first = cut(message.split('\n')[0] ?? '');
  return permanent ? { kind: 'user_error', evidence: first } : { kind: 'crash', evidence: first };
}
