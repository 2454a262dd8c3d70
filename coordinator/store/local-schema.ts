/**
 * The shape of every LocalStore journal record, as zod schemas, checked on every line read back
 * (start-up, `trellis store check|repair`). A line that is not JSON, names an unknown record
 * kind, or holds a field of the wrong type is a problem reported with its line number; the store
 * never loads it silently.
 *
 * Documents are checked on the fields the store and its readers rely on (ids, numbers, statuses,
 * the shapes of maps and lists). Fields a document does not list are kept as they are: a newer
 * build may add optional fields, and an older journal lacks them. Stored numbers may be NaN or
 * ±Infinity (metric values, objectives: see encode in local-journal.ts), so `num` accepts any
 * number; counts and sequence numbers must be integers.
 */
import { z } from 'zod';
import { ATTEMPT_STATUSES, EXPERIMENT_STATUSES, STAGE_STATUSES, TRIAL_STATUSES } from '../../shared/states.js';

export const FORMAT = 'trellis-local-store';
/**
 * v2: specs are their own records (`spec`), written once; `exp` records carry no spec.
 * v3: a finished trial's metric rows are written again as a sealed block, whose first `metric`
 * record carries `b`, the block's row count (local-trials.ts). v1 and v2 still read.
 */
export const FORMAT_VERSION = 3;

/** Any number, NaN and ±Infinity included (zod's number refuses them). */
const num = z.custom<number>((v) => typeof v === 'number', { message: 'expected a number' });
const int = z.number().int();
const count = z.number().int().min(0);
const id = z.string().min(1);
const numbers = z.record(z.string(), num);
const object = z.record(z.string(), z.unknown());

const attempt = z.looseObject({
  n: count,
  id,
  workerId: z.string(),
  status: z.enum(ATTEMPT_STATUSES),
  startedAt: num,
  leaseExpiresAt: num,
  endedAt: num.optional(),
  error: z.string().optional(),
  gpuIds: z.array(z.string()).optional(),
  gpuMemoryBytes: num.optional(),
});

const stage = z.looseObject({
  status: z.enum(STAGE_STATUSES),
  cached: z.boolean(),
  attempt: count,
});

const experiment = z.looseObject({
  id,
  name: z.string(),
  kind: z.enum(['Sweep', 'Pipeline']),
  status: z.enum(EXPERIMENT_STATUSES),
  requestId: z.string(),
  createdAt: num,
  updatedAt: num,
  trialsCreated: count,
  // v1 records carry the spec; v2 records leave it to the experiment's `spec` record.
  spec: object.optional(),
  error: z.string().optional(),
  stages: z.record(z.string(), stage).optional(),
  parentId: z.string().optional(),
  owner: z.string().optional(),
});

const trial = z.looseObject({
  id,
  experimentId: id,
  number: count,
  status: z.enum(TRIAL_STATUSES),
  params: object,
  seed: num,
  attempts: z.array(attempt),
  metrics: numbers,
  lastStep: num.optional(),
  createdAt: num,
  updatedAt: num,
});

const worker = z.looseObject({
  id,
  status: z.string(),
  slots: z.looseObject({ cpus: num, gpus: z.array(z.string()), memoryBytes: num }),
  labels: z.record(z.string(), z.string()),
  runtimes: z.array(z.string()),
  lastSeenAt: num,
});

const artifact = z.looseObject({
  id,
  experimentId: z.string(),
  trialId: z.string().optional(),
  kind: z.string(),
  size: count,
  sha256: z.string().regex(/^[0-9a-f]{64}$/, 'expected 64 lowercase hex digits'),
  createdAt: num,
});

const metric = z.looseObject({
  experimentId: z.string(),
  trialId: id,
  attempt: int,
  step: num,
  time: num,
  values: numbers,
});

const event = z.looseObject({
  seq: z.number().int().min(1),
  type: z.string().min(1),
  time: num,
  experimentId: id,
  trialNumber: int.optional(),
  payload: object,
});

/** One journal record; `t` names its kind. */
export const RECORD = z.discriminatedUnion('t', [
  z.strictObject({ t: z.literal('header'), format: z.string(), version: int }),
  z.strictObject({ t: z.literal('exp'), d: experiment }),
  z.strictObject({ t: z.literal('spec'), e: id, d: object }),
  z.strictObject({ t: z.literal('trial'), d: trial }),
  z.strictObject({ t: z.literal('worker'), d: worker }),
  z.strictObject({ t: z.literal('artifact'), d: artifact }),
  z.strictObject({ t: z.literal('metric'), d: metric, b: z.number().int().min(1).optional() }),
  z.strictObject({ t: z.literal('event'), d: event, p: z.boolean().optional() }),
  z.strictObject({ t: z.literal('pub'), e: id, s: z.array(z.number().int().min(1)) }),
]);

export const RECORD_KINDS = ['header', 'exp', 'spec', 'trial', 'worker', 'artifact', 'metric', 'event', 'pub'] as const;

/**
 * What is wrong with a parsed line, or undefined when it is a record this build reads. The
 * message names the field, what was there and what is allowed.
 */
export function recordProblem(value: unknown): string | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return `not a journal record (a JSON ${value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value}, expected an object)`;
  }
  const kind = (value as { t?: unknown }).t;
  if (typeof kind !== 'string' || !(RECORD_KINDS as readonly string[]).includes(kind)) {
    return `unknown record kind t=${JSON.stringify(kind) ?? 'missing'} (this build reads ${RECORD_KINDS.join(', ')})`;
  }
  const parsed = RECORD.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = issue.path.length > 0 ? issue.path.join('.') : '(record)';
    const at = valueAt(value, issue.path);
    const seen = at === undefined ? 'missing' : truncate(JSON.stringify(at) ?? typeof at);
    const more = parsed.error.issues.length > 1 ? ` (and ${parsed.error.issues.length - 1} more)` : '';
    return `${kind} record: field ${field} is ${seen}: ${issue.message}${more}`;
  }
  if (kind === 'header') {
    const h = value as { format: string; version: number };
    if (h.format !== FORMAT || h.version < 1 || h.version > FORMAT_VERSION) {
      return `header says format ${JSON.stringify(h.format)} version ${h.version}; this build reads ${FORMAT} versions 1..${FORMAT_VERSION}`;
    }
  }
  return undefined;
}

function valueAt(value: unknown, path: readonly PropertyKey[]): unknown {
  let at = value;
  for (const key of path) {
    if (at === null || typeof at !== 'object') return undefined;
    at = (at as Record<PropertyKey, unknown>)[key];
  }
  return at;
}

function truncate(text: string): string {
  return text.length <= 60 ? text : `${text.slice(0, 57)}...`;
}
