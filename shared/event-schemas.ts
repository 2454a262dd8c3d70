/**
 * The payload of every event type, as zod schemas: the one definition behind docs/events.md and
 * schemas/event.schema.json (scripts/gen-schemas.mjs), checked against emitted events in tests.
 * Payloads are strict: a field emitted but not listed here fails those tests.
 */
import { z } from 'zod';
import { EXPERIMENT_STATUSES, STAGE_STATUSES, TRIAL_STATUSES } from './states.js';
import { AUDIT_KINDS, type EventPayloads, type EventType } from './events.js';

const params = z.record(z.string(), z.unknown()).describe('the trial params, as the search space named them');
const metrics = z.record(z.string(), z.number()).describe('metric name -> last value');

const best = z.strictObject({
  trialId: z.string(),
  number: z.number().int(),
  params,
  metric: z.string(),
  value: z.number(),
  ci: z.number().optional().describe('replicates: 95% confidence half-width of the mean'),
  replicates: z.number().int().optional(),
});

export const EVENT_PAYLOADS = {
  'experiment.state': z.strictObject({
    status: z.enum(EXPERIMENT_STATUSES),
    name: z.string().optional().describe('on `pending` (submitted)'),
    kind: z.enum(['Sweep', 'Pipeline']).optional().describe('on `pending` (submitted)'),
    error: z.string().optional().describe('on `failed`'),
    best: best.optional().describe('sweeps, on the terminal state: the best trial, if any'),
  }),
  'trial.state': z.strictObject({
    status: z.enum(TRIAL_STATUSES),
    params,
    attempt: z.number().int().min(0).describe('the latest attempt number (0 before the first)'),
    workerId: z.string().describe("the latest attempt's worker ('' before the first)"),
    metrics: metrics.optional().describe('on `succeeded` and `pruned`'),
    error: z.string().optional().describe('why the attempt or trial failed'),
    pendingReason: z
      .string()
      .optional()
      .describe('on `pending`: why no connected worker can ever run the trial (resources, runtime, labels)'),
  }),
  'trial.metric': z.strictObject({
    step: z.number().int(),
    attempt: z.number().int().min(1),
    values: z.record(z.string(), z.number()).describe('metric name -> value at this step'),
  }),
  'stage.state': z.strictObject({
    status: z.enum(STAGE_STATUSES),
    cached: z.boolean().describe('outputs reused from an earlier identical stage'),
    attempt: z.number().int().min(0),
    childId: z.string().optional().describe('the Sweep experiment running the stage'),
    metrics: metrics.optional(),
    error: z.string().optional(),
  }),
  'worker.state': z.strictObject({
    status: z.enum(['connected', 'draining', 'disconnected']),
  }),
  audit: z.strictObject({
    kind: z.enum(AUDIT_KINDS).describe('also the last token of the subject trellis.v1.audit.<kind>'),
    identity: z.string().describe('the authenticated name (token name); `unknown` when authentication failed'),
    role: z.string().optional(),
    method: z.string().describe('Service.Method'),
    outcome: z.string().describe('`ok`, `clamped`, or the gRPC status name of the refusal'),
    reason: z.string().optional().describe('why (never a token or a secret)'),
    experimentId: z.string().optional(),
    workerId: z.string().optional(),
    peer: z.string().optional().describe("the caller's address"),
    count: z
      .number()
      .int()
      .min(1)
      .describe('calls this record stands for: token/denied/unauthenticated are aggregated per minute'),
  }),
} as const;

export type EventPayloadType = keyof typeof EVENT_PAYLOADS;

const envelope = {
  seq: z.number().int().min(0).describe('per experiment, from 1 without gaps; 0 for worker and audit events'),
  time: z.number().int().describe('epoch milliseconds'),
  experimentId: z.string().optional(),
  trialNumber: z.number().int().optional(),
  trialId: z.string().optional(),
  workerId: z.string().optional(),
  stage: z.string().optional(),
};

/** An event as stored, published on NATS (JSON) and returned by WatchEvents (Struct payload). */
export const eventSchema = z.discriminatedUnion(
  'type',
  (Object.keys(EVENT_PAYLOADS) as EventPayloadType[]).map((type) =>
    z.strictObject({ ...envelope, type: z.literal(type), payload: EVENT_PAYLOADS[type] }),
  ) as unknown as [z.ZodObject, ...z.ZodObject[]],
);

/**
 * Compile-time check that these schemas and `EventPayloads` (shared/events.ts) describe the same
 * payloads: the same fields per type, and every typed payload fits its schema (the schemas are
 * looser only where a type is richer than JSON says, e.g. `params`).
 */
type SameKeys<A, B> = [keyof A] extends [keyof B] ? ([keyof B] extends [keyof A] ? true : false) : false;
type Fits<S, P> = [P] extends [S] ? SameKeys<S, P> : false;
type SchemaPayloads = { [T in EventPayloadType]: z.infer<(typeof EVENT_PAYLOADS)[T]> };
const payloadsMatch: { [T in EventType]: Fits<SchemaPayloads[T], EventPayloads[T]> } = {
  'experiment.state': true,
  'trial.state': true,
  'trial.metric': true,
  'stage.state': true,
  'worker.state': true,
  audit: true,
};
void payloadsMatch;
