/**
 * Events: every state change and metric report, published after the state is stored.
 * `seq` is per experiment, starts at 1 and has no gaps; consumers de-duplicate on it.
 * Subjects: trellis.v1.exp.<id>.state, trellis.v1.exp.<id>.trial.<n>.{state,metric},
 * trellis.v1.exp.<id>.stage.<name>.state, trellis.v1.worker.<id>.state, trellis.v1.audit.<kind>. Ids and names go
 * through `subjectToken`, so a worker id with dots (a host name) is one token.
 *
 * `EventPayloads` is the one map from event type to payload; `TrellisEvent` is a union
 * discriminated by `type`, so `event.type === 'trial.metric'` narrows `event.payload`. The same
 * payloads as zod schemas (docs/events.md, schemas/event.schema.json): shared/event-schemas.ts.
 */
import type { Params } from './spec/space.js';
import type { BestTrial } from './types.js';
import { isTerminal, type ExperimentStatus, type StageStatus, type TrialStatus, type WorkerStatus } from './states.js';

export interface EventPayloads {
  'experiment.state': {
    status: ExperimentStatus;
    /** On `pending` (the experiment was created). */
    name?: string;
    kind?: 'Sweep' | 'Pipeline';
    error?: string;
    /** On a sweep's terminal state, when it has a best trial. */
    best?: BestTrial;
  };
  'trial.state': {
    status: TrialStatus;
    params: Params;
    /** The latest attempt's number (0 before the first) and worker ('' before the first). */
    attempt: number;
    workerId: string;
    /** On succeeded and pruned. */
    metrics?: Record<string, number>;
    error?: string;
    /** On pending: why no connected worker can ever run the trial ('' or absent: none known). */
    pendingReason?: string;
  };
  'trial.metric': { step: number; attempt: number; values: Record<string, number> };
  'stage.state': {
    status: StageStatus;
    cached: boolean;
    attempt: number;
    childId?: string;
    metrics?: Record<string, number>;
    error?: string;
  };
  'worker.state': { status: WorkerStatus };
  /** coordinator/auth/audit.ts: who did what, and whether it was allowed. */
  audit: {
    kind: AuditKind;
    /** The authenticated name (token name), or `unknown` when authentication failed. */
    identity: string;
    role?: string;
    /** `Service.Method`, e.g. `ExperimentService.SubmitExperiment`, `WorkerService.Connect`. */
    method: string;
    /** `ok`, or the gRPC status name of the refusal (`PERMISSION_DENIED`, `UNAUTHENTICATED`...), or `clamped`. */
    outcome: string;
    /** Why (a refusal's message; never a token or a secret). */
    reason?: string;
    experimentId?: string;
    workerId?: string;
    /** The caller's address as gRPC saw it. */
    peer?: string;
    /** How many calls this record stands for (aggregated kinds: 1 at first, then the count of a window). */
    count: number;
  };
}

/** Audit record kinds (the last token of the subject `trellis.v1.audit.<kind>`). */
export const AUDIT_KINDS = ['submit', 'cancel', 'token', 'unauthenticated', 'denied', 'clamped'] as const;
export type AuditKind = (typeof AUDIT_KINDS)[number];

export type EventType = keyof EventPayloads;

interface EventOf<T extends EventType> {
  /** Per-experiment sequence number (0 for worker events, which belong to no experiment). */
  seq: number;
  type: T;
  /** Epoch milliseconds. */
  time: number;
  experimentId?: string;
  trialNumber?: number;
  trialId?: string;
  workerId?: string;
  stage?: string;
  payload: EventPayloads[T];
}

export type TrellisEvent = { [T in EventType]: EventOf<T> }[EventType];

/** An event as emitted, before the event log gives it its `seq` and `time`. */
export type NewEvent = { [T in EventType]: Omit<EventOf<T>, 'seq' | 'time'> }[EventType];

export const SUBJECT_ROOT = 'trellis.v1';

/**
 * One NATS subject token for any text: bytes outside [A-Za-z0-9_-] become `%HH` (UTF-8), so
 * `.`, `*`, `>`, spaces and `%` itself cannot split or widen a subject, and the mapping is
 * reversible. Empty text is a lone `%` (no encoding makes one). Subscribe to one worker with `trellis.v1.worker.<token>.state`.
 */
export function subjectToken(text: string): string {
  if (text === '') return '%';
  let out = '';
  for (const byte of new TextEncoder().encode(text)) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9_-]/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

export function subjectOf(event: TrellisEvent): string {
  const exp = `${SUBJECT_ROOT}.exp.${subjectToken(event.experimentId ?? '')}`;
  switch (event.type) {
    case 'experiment.state':
      return `${exp}.state`;
    case 'trial.state':
      return `${exp}.trial.${event.trialNumber ?? 0}.state`;
    case 'trial.metric':
      return `${exp}.trial.${event.trialNumber ?? 0}.metric`;
    case 'stage.state':
      return `${exp}.stage.${subjectToken(event.stage ?? '')}.state`;
    case 'worker.state':
      return `${SUBJECT_ROOT}.worker.${subjectToken(event.workerId ?? '')}.state`;
    case 'audit':
      return `${SUBJECT_ROOT}.audit.${event.payload.kind}`;
  }
}

/** Message id used for de-duplication of a re-published event. */
export function eventId(event: TrellisEvent): string {
  if (event.type === 'audit') {
    const p = event.payload;
    return `a:${event.time}:${p.kind}:${p.identity}:${p.method}:${p.outcome}:${p.experimentId ?? ''}:${p.count}`;
  }
  return event.type === 'worker.state'
    ? `w:${event.workerId}:${event.time}:${event.payload.status}`
    : `e:${event.experimentId}:${event.seq}`;
}

/** The experiment's terminal state event: the last event of its stream. */
export function isFinalEvent(event: TrellisEvent): event is EventOf<'experiment.state'> {
  return event.type === 'experiment.state' && isTerminal('experiment', event.payload.status);
}
