/**
 * The limits every request is held to at the boundary, in one table: defaults here, a coordinator
 * (or `trellis run`) overrides any of them with `--limits FILE` (a JSON object of the same keys).
 *
 * Each limit is refused with a message naming the field, the value and the limit by its key
 * (`budget.trials: 1000000000 is more than the limit maxTrials = 1000000`), so a user who needs
 * more knows which key to raise. Spec text is held to `maxSpecBytes` and `maxSpecDepth` before the
 * YAML parser sees it (shared/spec/depth.ts): the parser itself can run out of memory on deep
 * nesting.
 */
import { readFileSync } from 'node:fs';

export interface Limits {
  /** Spec text, in UTF-8 bytes (a structured spec: its JSON text). */
  maxSpecBytes: number;
  /** Nesting of mappings and sequences in the spec text. */
  maxSpecDepth: number;
  /** budget.trials. */
  maxTrials: number;
  /** budget.concurrency. */
  maxConcurrency: number;
  /** budget.maxAttempts (and a pipeline stage's retry.attempts). */
  maxAttempts: number;
  /** trial.epochs (steps a trial may run; schedulers size their rungs from it). */
  maxEpochs: number;
  /** trial.stopGraceSeconds (seconds between SIGTERM and SIGKILL). */
  maxStopGraceSeconds: number;
  /** Combinations of a grid search. */
  maxGridSize: number;
  /** Parameters of search.space. */
  maxParams: number;
  /** Values of one choice domain. */
  maxChoices: number;
  /** search.replicates. */
  maxReplicates: number;
  /** Stages of a pipeline. */
  maxStages: number;
  /** TPE `candidates` drawn per suggestion (the work of one suggestion scales with it). */
  maxCandidates: number;
  /** request_id, in characters (printable ASCII, no spaces). */
  maxRequestIdLength: number;
  /** An experiment, trial or artifact id given to a call, in characters. */
  maxIdLength: number;
  /** A spec's description, in characters. */
  maxDescriptionLength: number;
  /** resources.cpus, smallest request (a smaller one would let any number share one CPU). */
  minCpus: number;
  /** resources.cpus, largest request. */
  maxCpus: number;
  /** resources.gpus. */
  maxGpus: number;
  /** resources.memory, in bytes. */
  maxMemoryBytes: number;
  /** resources.gpuMemory, in bytes. */
  maxGpuMemoryBytes: number;
}

export const DEFAULT_LIMITS: Readonly<Limits> = Object.freeze({
  maxSpecBytes: 1024 * 1024,
  maxSpecDepth: 64,
  maxTrials: 1_000_000,
  maxConcurrency: 1024,
  maxAttempts: 100,
  maxEpochs: 1_000_000,
  maxStopGraceSeconds: 3600,
  maxGridSize: 1_000_000,
  maxParams: 200,
  maxChoices: 10_000,
  maxReplicates: 100,
  maxStages: 200,
  maxCandidates: 10_000,
  maxRequestIdLength: 200,
  maxIdLength: 256,
  maxDescriptionLength: 10_000,
  minCpus: 0.01,
  maxCpus: 4096,
  maxGpus: 64,
  maxMemoryBytes: 2 ** 50, // 1 PiB
  maxGpuMemoryBytes: 2 ** 42, // 4 TiB: above any GPU made
});

/** Keys whose values may be fractions (the others are whole numbers). */
const FRACTIONAL = new Set<keyof Limits>(['minCpus', 'maxCpus', 'maxStopGraceSeconds']);

/** The defaults with `overrides` applied; every key must be known and every value a positive number. */
export function resolveLimits(overrides: Record<string, unknown> = {}): Limits {
  const issues: string[] = [];
  const out: Limits = { ...DEFAULT_LIMITS };
  for (const [key, value] of Object.entries(overrides)) {
    if (!(key in DEFAULT_LIMITS)) {
      issues.push(`${key}: unknown limit; known: ${Object.keys(DEFAULT_LIMITS).join(', ')}`);
      continue;
    }
    const name = key as keyof Limits;
    const whole = !FRACTIONAL.has(name);
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || (whole && !Number.isSafeInteger(value))) {
      issues.push(`${key}: must be ${whole ? 'a whole number' : 'a number'} > 0, got ${JSON.stringify(value)}`);
      continue;
    }
    out[name] = value;
  }
  if (out.minCpus > out.maxCpus) issues.push(`minCpus: ${out.minCpus} is more than maxCpus (${out.maxCpus})`);
  if (issues.length > 0) throw new LimitsFileError(issues);
  return out;
}

export class LimitsFileError extends Error {
  override readonly name = 'LimitsFileError';
  constructor(readonly issues: string[]) {
    super(`limits: ${issues.join('; ')}`);
  }
}

/** Reads a `--limits` JSON file (an object of limit keys); problems name the file and the key. */
export function loadLimitsFile(path: string): Limits {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new LimitsFileError([`${path}: cannot be read as JSON: ${(err as Error).message}`]);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new LimitsFileError([`${path}: must be a JSON object of limits (e.g. {"maxTrials": 5000000})`]);
  }
  try {
    return resolveLimits(raw as Record<string, unknown>);
  } catch (err) {
    if (err instanceof LimitsFileError) throw new LimitsFileError(err.issues.map((issue) => `${path}: ${issue}`));
    throw err;
  }
}

/** `field: VALUE is more than the limit KEY = N` — the one wording of a refused limit. */
export function overLimit(field: string, value: number | string, key: keyof Limits, limits: Limits): string {
  return `${field}: ${value} is more than the limit ${key} = ${limits[key]}`;
}

/** Checks one number against an upper limit; returns the issue, or undefined. */
export function checkMax(field: string, value: number | undefined, key: keyof Limits, limits: Limits): string[] {
  return value !== undefined && value > limits[key] ? [overLimit(field, value, key, limits)] : [];
}

/** resources.memory in bytes: a number, or a string like 512Mi / 2Gi (0 when absent or unreadable). */
export function memoryBytes(value: number | string | undefined): number {
  if (value === undefined) return 0;
  if (typeof value === 'number') return value;
  const match = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti)?$/.exec(value);
  if (!match) return 0;
  const unit = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40 }[match[2] as 'Ki'] ?? 1;
  return Math.round(Number(match[1]) * unit);
}

/** Bytes of `text` in UTF-8, without encoding it. */
export function utf8Bytes(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

/** A request_id: printable ASCII without spaces, at most maxRequestIdLength characters ('' = none given). */
export function requestIdIssue(requestId: string | undefined, limits: Limits): string | undefined {
  if (!requestId) return undefined;
  if (requestId.length > limits.maxRequestIdLength) {
    return `request_id: ${requestId.length} characters is more than the limit maxRequestIdLength = ${limits.maxRequestIdLength}`;
  }
  if (!/^[\x21-\x7e]+$/.test(requestId)) {
    return 'request_id: must be printable ASCII without spaces (letters, digits, punctuation)';
  }
  return undefined;
}

/** An id given to a call (experiment, artifact): printable ASCII, at most maxIdLength characters. */
export function idIssue(field: string, id: string, limits: Limits): string | undefined {
  if (id.length > limits.maxIdLength) {
    return `${field}: ${id.length} characters is more than the limit maxIdLength = ${limits.maxIdLength}`;
  }
  if (!/^[\x21-\x7e]+$/.test(id)) return `${field}: must be printable ASCII without spaces`;
  return undefined;
}
