/** The documents the coordinator stores (the same shape in the local store and in MongoDB). */
import type { AttemptStatus, ExperimentStatus, StageStatus, TrialStatus, WorkerStatus } from './states.js';
import type { Params } from './spec/space.js';
import type { SweepSpec } from './spec/schema.js';

export interface BestTrial {
  trialId: string;
  number: number;
  params: Params;
  metric: string;
  value: number;
  /** With replicates: the mean over seeds and its 95% confidence half-width. */
  ci?: number;
  replicates?: number;
}

/** One member of a multi-objective sweep's Pareto front (a configuration; its seeds' means). */
export interface ParetoPoint {
  /** The configuration's first trial. */
  trialId: string;
  number: number;
  params: Params;
  /** Each objective's value (the mean over seeds with replicates), in `trial.objective` order. */
  values: number[];
  /** With replicates: each objective's 95% confidence half-width, and the number of seeds. */
  ci?: number[];
  replicates?: number;
}

/** A multi-objective sweep's leaderboard (coordinator/sweeps/pareto-front.ts). */
export interface ParetoFront {
  metrics: string[];
  modes: ('max' | 'min')[];
  /** The non-dominated configurations, best first on the first objective. */
  points: ParetoPoint[];
  /** The hypervolume's reference point, in the metrics' own units. */
  reference: number[];
  /** `spec`: trial.objectiveReference; `nadir`: the worst value of each objective measured. */
  referenceSource: 'spec' | 'nadir';
  /** The volume the front dominates up to `reference` (exact, shared/pareto.ts). */
  hypervolume: number;
  /** Configurations measured (every objective finite) that the front was chosen from. */
  configurations: number;
  /**
   * Non-dominated configurations dropped because the front reached its limit (the most crowded
   * first; coordinator/sweeps/pareto-front.ts FRONT_LIMIT); absent when none was.
   */
  thinned?: number;
}

interface ExperimentBase {
  id: string;
  name: string;
  status: ExperimentStatus;
  /** Client request id that created it; a retried submit returns the same experiment. */
  requestId: string;
  createdAt: number;
  updatedAt: number;
  /** Trials created so far; the next trial number. Never reused, never skipped. */
  trialsCreated: number;
  best?: BestTrial;
  /** Multi-objective sweeps: the Pareto front (`best` is then its best member on the first objective). */
  pareto?: ParetoFront;
  error?: string;
  /** Pipelines: per-stage state (see coordinator/pipelines/engine.ts). */
  stages?: Record<string, StageState>;
  /** A pipeline stage's sweep: the pipeline it belongs to. */
  parentId?: string;
  /** The authenticated name that submitted it (`anonymous` without tokens); absent before owners were recorded. */
  owner?: string;
}

/** A sweep; `spec` is the validated spec (defaults filled in). */
export interface SweepDoc extends ExperimentBase {
  kind: 'Sweep';
  spec: SweepSpec;
}

/**
 * The shape every stored pipeline spec has. Its full type (`PipelineSpec`) is defined by its
 * schema in coordinator/pipelines/spec.ts, which `shared/` may not import.
 */
export interface StoredPipelineSpec {
  apiVersion: string;
  kind: 'Pipeline';
  name: string;
  stages: { name: string }[];
}

/** A pipeline; `spec` is the validated spec (defaults filled in). */
export interface PipelineDoc<Spec extends StoredPipelineSpec = StoredPipelineSpec> extends ExperimentBase {
  kind: 'Pipeline';
  spec: Spec;
}

export type ExperimentDoc = SweepDoc | PipelineDoc;

export interface AttemptDoc {
  n: number;
  id: string;
  workerId: string;
  /** GPUs the attempt holds on its worker. */
  gpuIds?: string[];
  /** Its share of each of gpuIds, bytes (resources.gpuMemory or a learned estimate); absent: whole GPUs. */
  gpuMemoryBytes?: number;
  status: AttemptStatus;
  startedAt: number;
  endedAt?: number;
  /** Epoch milliseconds; renewed by the worker's heartbeats. */
  leaseExpiresAt: number;
  error?: string;
  /** How the attempt ended when not a success (shared/failure-kinds.ts): oom, diverged, preempted, lost, timeout, user_error, crash. */
  failureKind?: FailureKind;
  /** What the kind was recognised from (an output line, a signal, a lease expiry). */
  failureEvidence?: string;
  /** The worker identity (token name) the attempt is bound to; only it may report for it. */
  identity?: string;
  /** SHA-256 (hex) of the attempt's token (the token itself is only in the assignment). */
  tokenHash?: string;
}

export type { FailureKind } from './failure-kinds.js';
import type { FailureKind } from './failure-kinds.js';

export interface TrialDoc {
  id: string;
  experimentId: string;
  number: number;
  status: TrialStatus;
  params: Params;
  seed: number;
  attempts: AttemptDoc[];
  /** Last value of each metric reported (per-step values live in the metrics collection). */
  metrics: Record<string, number>;
  /** Highest step reported. */
  lastStep?: number;
  /** Reports refused for their step (shared/steps.ts): how many, and the latest reason. */
  stepWarnings?: number;
  stepWarning?: string;
  /** Facts from the runtime: backend, dropped rows... */
  info?: Record<string, unknown>;
  /** Latest checkpoint artifact and the step it holds. */
  checkpoint?: { artifactId: string; step: number };
  /** PBT: where this trial's weights came from. */
  lineage?: { fromTrial: number; step: number; params: Params }[];
  /** replicates: the configuration index this trial is a seed of. */
  config?: number;
  error?: string;
  /** Set while no connected worker could ever run the trial (resources, runtime, labels). */
  pendingReason?: string;
  createdAt: number;
  updatedAt: number;
}

export interface MetricDoc {
  experimentId: string;
  trialId: string;
  attempt: number;
  step: number;
  time: number;
  values: Record<string, number>;
}

export interface WorkerDoc {
  id: string;
  status: WorkerStatus;
  slots: { cpus: number; gpus: string[]; memoryBytes: number };
  labels: Record<string, string>;
  runtimes: string[];
  /** Hello, then heartbeats (throttled, LAST_SEEN_EVERY_MS in dispatch/worker-record.ts), and the disconnect. */
  lastSeenAt: number;
  /** The worker said it is shutting down (status `draining`). */
  draining?: boolean;
}

export interface ArtifactMeta {
  id: string;
  experimentId: string;
  trialId?: string;
  kind: string;
  size: number;
  sha256: string;
  createdAt: number;
  /** Free-form: step, stage name... */
  meta?: Record<string, unknown>;
}

/** One pipeline stage's state, stored in its pipeline's experiment document. */
export interface StageState {
  status: StageStatus;
  /** Outputs reused from an earlier identical stage instead of running. */
  cached: boolean;
  /** How many times the stage has been started (its retry count + 1). */
  attempt: number;
  /** The child Sweep experiment running (or that ran) the stage. */
  childId?: string;
  /** Params with every `${stages...}` reference resolved. */
  inputs?: Record<string, unknown>;
  cacheKey?: string;
  outputs?: Record<string, unknown>;
  metrics?: Record<string, number>;
  best?: BestTrial;
  error?: string;
  startedAt?: number;
  endedAt?: number;
}
