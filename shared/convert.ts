/**
 * Documents ⇄ proto messages. Free-form values travel twice: as google.protobuf.Struct (the
 * current fields) and as JSON text (the deprecated `*_json` fields, kept for old clients);
 * readers prefer the Struct and fall back to the JSON. Statuses likewise travel as enum and string.
 */
import { stepFromWire, stepOnWire } from './steps.js';
import type { Experiment, Experiment__Output } from './generated/trellis/v1/Experiment.js';
import type { Trial, Trial__Output } from './generated/trellis/v1/Trial.js';
import type { Event, Event__Output } from './generated/trellis/v1/Event.js';
import type { ExperimentDoc, TrialDoc, BestTrial, ParetoFront } from './types.js';
import { paretoFromProto, paretoToProto } from './convert-pareto.js';
import type { TrellisEvent, EventType } from './events.js';
import type { ExperimentStatus, TrialStatus } from './states.js';
import type { Params } from './spec/space.js';
import type { ExperimentStatus as ExperimentStatusEnum } from './generated/trellis/v1/ExperimentStatus.js';
import type { TrialStatus as TrialStatusEnum } from './generated/trellis/v1/TrialStatus.js';
import type { AttemptStatus as AttemptStatusEnum } from './generated/trellis/v1/AttemptStatus.js';
import type { WorkerStatus as WorkerStatusEnum } from './generated/trellis/v1/WorkerStatus.js';
import { fromListValue, fromStruct, toListValue, toStruct, type ProtoListValue, type ProtoStruct } from './struct.js';

interface StatusEnums {
  EXPERIMENT: ExperimentStatusEnum;
  TRIAL: TrialStatusEnum;
  ATTEMPT: AttemptStatusEnum;
  WORKER: WorkerStatusEnum;
}

/** `running` ⇄ `TRIAL_STATUS_RUNNING` (the proto enums are the status names, prefixed). */
export function statusToEnum<P extends keyof StatusEnums>(prefix: P, status: string): StatusEnums[P] {
  return (status ? `${prefix}_STATUS_${status.toUpperCase()}` : `${prefix}_STATUS_UNSPECIFIED`) as StatusEnums[P];
}

/** The status name of an enum value, or `fallback` (the deprecated string field) when unset. */
export function statusFromEnum(value: string | null | undefined, fallback: string): string {
  const match = /^[A-Z]+_STATUS_(.+)$/.exec(value ?? '');
  return match && match[1] !== 'UNSPECIFIED' ? match[1]!.toLowerCase() : fallback;
}

function structOr<T>(struct: ProtoStruct | null | undefined, text: string | undefined, fallback: T): T {
  return struct ? (fromStruct(struct) as T) : unjson(text, fallback);
}

function json(value: unknown): string {
  return value === undefined ? '' : JSON.stringify(value);
}

function unjson<T>(text: string | undefined, fallback: T): T {
  if (!text) return fallback;
  try {
    return JSON.parse(text) as T;
  } catch {
    return fallback;
  }
}

const DOMAIN_KINDS = new Set(['choice', 'uniform', 'loguniform', 'int']);

/** A parsed domain ({kind: 'uniform', low, high}) back as written ({uniform: [low, high]}). */
function domainAsWritten(domain: Record<string, unknown>): Record<string, unknown> {
  const { kind, values, low, high, ...rest } = domain;
  return { [kind as string]: kind === 'choice' ? values : [low, high], ...rest };
}

/**
 * The stored spec as a submittable document: search spaces are stored parsed (domains with a
 * `kind`), and SubmitExperiment takes them as written, so every `space` is turned back.
 */
export function submittableSpec(value: unknown, key = ''): unknown {
  if (Array.isArray(value)) return value.map((v) => submittableSpec(v));
  if (!value || typeof value !== 'object') return value;
  const entries = Object.entries(value as Record<string, unknown>);
  const isParsedSpace =
    key === 'space' &&
    entries.every(([, d]) => d && typeof d === 'object' && DOMAIN_KINDS.has(String((d as { kind?: unknown }).kind)));
  return Object.fromEntries(
    entries.map(([k, v]) => [k, isParsedSpace ? domainAsWritten(v as Record<string, unknown>) : submittableSpec(v, k)]),
  );
}

export function experimentToProto(doc: ExperimentDoc): Experiment {
  const spec = submittableSpec(doc.spec) as Record<string, unknown>;
  return {
    id: doc.id,
    name: doc.name,
    kind: doc.kind,
    status: doc.status,
    state: statusToEnum('EXPERIMENT', doc.status),
    spec_json: json(spec),
    spec: toStruct(spec),
    created_at_ms: String(doc.createdAt),
    updated_at_ms: String(doc.updatedAt),
    trials_created: doc.trialsCreated,
    best: doc.best
      ? {
          trial_id: doc.best.trialId,
          number: doc.best.number,
          params_json: json(doc.best.params),
          params: toStruct(doc.best.params),
          metric: doc.best.metric,
          value: doc.best.value,
          ci: doc.best.ci ?? 0,
          replicates: doc.best.replicates ?? 0,
        }
      : null,
    pareto: doc.pareto ? paretoToProto(doc.pareto) : null,
    error: doc.error ?? '',
    stages_json: json(doc.stages),
    stages: toStruct(doc.stages as Record<string, unknown> | undefined),
    owner: doc.owner ?? '',
  };
}

/** What clients see of an experiment (the spec included, parsed). */
export interface ExperimentView {
  id: string;
  name: string;
  kind: 'Sweep' | 'Pipeline';
  status: ExperimentStatus;
  spec: Record<string, unknown>;
  createdAt: number;
  updatedAt: number;
  trialsCreated: number;
  best?: BestTrial;
  /** Multi-objective sweeps: the Pareto front and its hypervolume. */
  pareto?: ParetoFront;
  error?: string;
  stages?: Record<string, unknown>;
  /** Who submitted it (absent for experiments stored before owners were recorded). */
  owner?: string;
}

export function experimentFromProto(p: Experiment__Output): ExperimentView {
  return {
    id: p.id,
    name: p.name,
    kind: p.kind as ExperimentView['kind'],
    status: statusFromEnum(p.state, p.status) as ExperimentStatus,
    spec: structOr(p.spec, p.spec_json, {}),
    createdAt: Number(p.created_at_ms),
    updatedAt: Number(p.updated_at_ms),
    trialsCreated: p.trials_created,
    ...(p.best
      ? {
          best: {
            trialId: p.best.trial_id,
            number: p.best.number,
            params: structOr<Params>(p.best.params, p.best.params_json, {}),
            metric: p.best.metric,
            value: p.best.value,
            ...(p.best.replicates > 1 ? { ci: p.best.ci, replicates: p.best.replicates } : {}),
          },
        }
      : {}),
    ...(p.pareto && p.pareto.metrics.length > 0 ? { pareto: paretoFromProto(p.pareto) } : {}),
    ...(p.error ? { error: p.error } : {}),
    ...(p.stages || p.stages_json ? { stages: structOr(p.stages, p.stages_json, {}) } : {}),
    ...(p.owner ? { owner: p.owner } : {}),
  };
}

export function trialToProto(doc: TrialDoc): Trial {
  const last = doc.attempts[doc.attempts.length - 1];
  return {
    id: doc.id,
    experiment_id: doc.experimentId,
    number: doc.number,
    status: doc.status,
    state: statusToEnum('TRIAL', doc.status),
    params_json: json(doc.params),
    params: toStruct(doc.params),
    metrics: doc.metrics,
    attempts: doc.attempts.map((a) => ({
      n: a.n,
      id: a.id,
      worker_id: a.workerId,
      status: a.status,
      state: statusToEnum('ATTEMPT', a.status),
      started_at_ms: String(a.startedAt),
      ended_at_ms: String(a.endedAt ?? 0),
      failure_kind: a.failureKind ?? '',
      failure_evidence: a.failureEvidence ?? '',
      error: a.error ?? '',
    })),
    worker_id: last?.workerId ?? '',
    info_json: json(doc.info),
    info: toStruct(doc.info as Record<string, unknown> | undefined),
    error: doc.error ?? '',
    seed: String(doc.seed),
    ...(({ step, step64 }) => ({ last_step: step, last_step64: step64 }))(stepOnWire(doc.lastStep ?? 0)),
    step_warnings: doc.stepWarnings ?? 0,
    step_warning: doc.stepWarning ?? '',
    lineage_json: json(doc.lineage),
    lineage: toListValue(doc.lineage as unknown[] | undefined),
    pending_reason: doc.pendingReason ?? '',
  };
}

export interface TrialView {
  id: string;
  number: number;
  status: TrialStatus;
  params: Params;
  metrics: Record<string, number>;
  attempts: number;
  worker: string;
  seed: number;
  info?: Record<string, unknown>;
  error?: string;
  lineage?: unknown[];
  /** Why the trial cannot be placed on any connected worker (set only while it waits). */
  pendingReason?: string;
  /** The highest step reported (64-bit on the wire). */
  lastStep: number;
  /** Reports refused for their step, and the latest reason (absent when none). */
  stepWarnings?: { count: number; last: string };
  attemptHistory: {
    n: number;
    id: string;
    workerId: string;
    status: string;
    startedAt: number;
    endedAt?: number;
    error?: string;
    /** How it ended when not a success: oom, diverged, preempted, lost, timeout, user_error, crash. */
    failureKind?: string;
    /** What the kind was recognised from. */
    failureEvidence?: string;
  }[];
}

export function trialFromProto(p: Trial__Output): TrialView {
  return {
    id: p.id,
    number: p.number,
    status: statusFromEnum(p.state, p.status) as TrialStatus,
    params: structOr<Params>(p.params, p.params_json, {}),
    metrics: { ...p.metrics },
    attempts: p.attempts.length,
    worker: p.worker_id,
    seed: Number(p.seed),
    ...(p.info || p.info_json ? { info: structOr(p.info, p.info_json, {}) } : {}),
    ...(p.error ? { error: p.error } : {}),
    ...(p.lineage
      ? { lineage: fromListValue(p.lineage as ProtoListValue) }
      : p.lineage_json
        ? { lineage: unjson<unknown[]>(p.lineage_json, []) }
        : {}),
    ...(p.pending_reason ? { pendingReason: p.pending_reason } : {}),
    lastStep: stepFromWire(p.last_step, p.last_step64),
    ...(p.step_warnings > 0 ? { stepWarnings: { count: p.step_warnings, last: p.step_warning } } : {}),
    attemptHistory: p.attempts.map((a) => ({
      n: a.n,
      id: a.id,
      workerId: a.worker_id,
      status: statusFromEnum(a.state, a.status),
      startedAt: Number(a.started_at_ms),
      ...(Number(a.ended_at_ms) > 0 ? { endedAt: Number(a.ended_at_ms) } : {}),
      ...(a.error ? { error: a.error } : {}),
      ...(a.failure_kind ? { failureKind: a.failure_kind } : {}),
      ...(a.failure_evidence ? { failureEvidence: a.failure_evidence } : {}),
    })),
  };
}

export function eventToProto(e: TrellisEvent): Event {
  return {
    seq: String(e.seq),
    type: e.type,
    time_ms: String(e.time),
    experiment_id: e.experimentId ?? '',
    trial_number: e.trialNumber ?? 0,
    trial_id: e.trialId ?? '',
    worker_id: e.workerId ?? '',
    stage: e.stage ?? '',
    payload_json: json(e.payload),
    payload: toStruct(e.payload),
  };
}

export function eventFromProto(p: Event__Output): TrellisEvent {
  return {
    seq: Number(p.seq),
    type: p.type as EventType,
    time: Number(p.time_ms),
    ...(p.experiment_id ? { experimentId: p.experiment_id } : {}),
    ...(p.trial_id ? { trialId: p.trial_id, trialNumber: p.trial_number } : {}),
    ...(p.worker_id ? { workerId: p.worker_id } : {}),
    ...(p.stage ? { stage: p.stage } : {}),
    payload: structOr(p.payload, p.payload_json, {}),
    // The payload is the JSON the coordinator wrote for this event type (shared/events.ts).
  } as TrellisEvent;
}
