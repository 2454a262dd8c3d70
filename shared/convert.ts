/** Documents ⇄ proto messages. The wire carries free-form values as JSON text. */
import type { Experiment, Experiment__Output } from './generated/trellis/v1/Experiment.js';
import type { Trial, Trial__Output } from './generated/trellis/v1/Trial.js';
import type { Event, Event__Output } from './generated/trellis/v1/Event.js';
import type { ExperimentDoc, TrialDoc, BestTrial } from './types.js';
import type { TrellisEvent, EventType } from './events.js';
import type { ExperimentStatus, TrialStatus } from './states.js';
import type { Params } from './spec/space.js';

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

export function experimentToProto(doc: ExperimentDoc): Experiment {
  return {
    id: doc.id,
    name: doc.name,
    kind: doc.kind,
    status: doc.status,
    spec_json: json(doc.spec),
    created_at_ms: String(doc.createdAt),
    updated_at_ms: String(doc.updatedAt),
    trials_created: doc.trialsCreated,
    best: doc.best
      ? {
          trial_id: doc.best.trialId,
          number: doc.best.number,
          params_json: json(doc.best.params),
          metric: doc.best.metric,
          value: doc.best.value,
          ci: doc.best.ci ?? 0,
          replicates: doc.best.replicates ?? 0,
        }
      : null,
    error: doc.error ?? '',
    stages_json: json(doc.stages),
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
  error?: string;
  stages?: Record<string, unknown>;
}

export function experimentFromProto(p: Experiment__Output): ExperimentView {
  return {
    id: p.id,
    name: p.name,
    kind: p.kind as ExperimentView['kind'],
    status: p.status as ExperimentStatus,
    spec: unjson(p.spec_json, {}),
    createdAt: Number(p.created_at_ms),
    updatedAt: Number(p.updated_at_ms),
    trialsCreated: p.trials_created,
    ...(p.best
      ? {
          best: {
            trialId: p.best.trial_id,
            number: p.best.number,
            params: unjson<Params>(p.best.params_json, {}),
            metric: p.best.metric,
            value: p.best.value,
            ...(p.best.replicates > 1 ? { ci: p.best.ci, replicates: p.best.replicates } : {}),
          },
        }
      : {}),
    ...(p.error ? { error: p.error } : {}),
    ...(p.stages_json ? { stages: unjson(p.stages_json, {}) } : {}),
  };
}

export function trialToProto(doc: TrialDoc): Trial {
  const last = doc.attempts[doc.attempts.length - 1];
  return {
    id: doc.id,
    experiment_id: doc.experimentId,
    number: doc.number,
    status: doc.status,
    params_json: json(doc.params),
    metrics: doc.metrics,
    attempts: doc.attempts.map((a) => ({
      n: a.n,
      id: a.id,
      worker_id: a.workerId,
      status: a.status,
      started_at_ms: String(a.startedAt),
      ended_at_ms: String(a.endedAt ?? 0),
      error: a.error ?? '',
    })),
    worker_id: last?.workerId ?? '',
    info_json: json(doc.info),
    error: doc.error ?? '',
    seed: String(doc.seed),
    last_step: doc.lastStep ?? 0,
    lineage_json: json(doc.lineage),
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
  attemptHistory: {
    n: number;
    id: string;
    workerId: string;
    status: string;
    startedAt: number;
    endedAt?: number;
    error?: string;
  }[];
}

export function trialFromProto(p: Trial__Output): TrialView {
  return {
    id: p.id,
    number: p.number,
    status: p.status as TrialStatus,
    params: unjson<Params>(p.params_json, {}),
    metrics: { ...p.metrics },
    attempts: p.attempts.length,
    worker: p.worker_id,
    seed: Number(p.seed),
    ...(p.info_json ? { info: unjson(p.info_json, {}) } : {}),
    ...(p.error ? { error: p.error } : {}),
    ...(p.lineage_json ? { lineage: unjson<unknown[]>(p.lineage_json, []) } : {}),
    attemptHistory: p.attempts.map((a) => ({
      n: a.n,
      id: a.id,
      workerId: a.worker_id,
      status: a.status,
      startedAt: Number(a.started_at_ms),
      ...(Number(a.ended_at_ms) > 0 ? { endedAt: Number(a.ended_at_ms) } : {}),
      ...(a.error ? { error: a.error } : {}),
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
    payload: unjson(p.payload_json, {}),
    // The payload is the JSON the coordinator wrote for this event type (shared/events.ts).
  } as TrellisEvent;
}
