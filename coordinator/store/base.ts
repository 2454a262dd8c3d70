import type { TrellisEvent } from '../../shared/events.js';
import type { ExperimentStatus, TrialStatus } from '../../shared/states.js';
import type { ArtifactMeta, ExperimentDoc, MetricDoc, TrialDoc, WorkerDoc } from '../../shared/types.js';

/** Preconditions of a compare-and-set update on a trial. */
export interface TrialExpect {
  status?: TrialStatus | TrialStatus[];
  /** Number of attempts the trial has (attempts.length): guards lease claims. */
  attemptCount?: number;
}

export interface ExperimentExpect {
  status?: ExperimentStatus | ExperimentStatus[];
  trialsCreated?: number;
}

/**
 * The coordinator's system of record. Two implementations (LocalStore in a directory,
 * MongoStore) pass one contract suite (test/contract/store.contract.ts).
 *
 * Contract:
 * - Every update is a single-document compare-and-set: it applies only if the stored document
 *   matches `expect`, and returns the updated document, or undefined when the precondition (or
 *   the document) is missing. No multi-document transactions are needed or used.
 * - Writes are durable when the promise resolves (a restarted store sees them).
 * - `start` and `close` are idempotent.
 */
export interface Store {
  readonly kind: string;
  start(): Promise<void>;
  close(): Promise<void>;

  /** Inserts unless an experiment with the same requestId exists; returns the stored one. */
  createExperiment(doc: ExperimentDoc): Promise<{ experiment: ExperimentDoc; created: boolean }>;
  getExperiment(id: string): Promise<ExperimentDoc | undefined>;
  /** Newest first. */
  listExperiments(filter?: { status?: ExperimentStatus[] }): Promise<ExperimentDoc[]>;
  updateExperiment(id: string, expect: ExperimentExpect, patch: Partial<ExperimentDoc>): Promise<ExperimentDoc | undefined>;

  /** Inserts; false when (experimentId, number) already exists (nothing changes). */
  insertTrial(doc: TrialDoc): Promise<boolean>;
  getTrial(id: string): Promise<TrialDoc | undefined>;
  /** Sorted by number. */
  listTrials(experimentId: string): Promise<TrialDoc[]>;
  updateTrial(id: string, expect: TrialExpect, patch: Partial<TrialDoc>): Promise<TrialDoc | undefined>;

  /** Idempotent on (trialId, attempt, step); returns how many reports were new. */
  appendMetrics(docs: MetricDoc[]): Promise<number>;
  /** Sorted by (attempt, step). */
  listMetrics(trialId: string): Promise<MetricDoc[]>;

  /** The event log (outbox). Idempotent on (experimentId, seq). */
  appendEvents(events: TrellisEvent[]): Promise<void>;
  /** Events of an experiment with seq >= fromSeq, in order. */
  listEvents(experimentId: string, fromSeq?: number): Promise<TrellisEvent[]>;
  /** Highest seq stored for the experiment (0 when none). */
  lastEventSeq(experimentId: string): Promise<number>;
  /** Events not yet acknowledged by the bus, in order (re-published after a restart). */
  unpublishedEvents(limit?: number): Promise<TrellisEvent[]>;
  markPublished(experimentId: string, seqs: number[]): Promise<void>;

  upsertWorker(doc: WorkerDoc): Promise<void>;
  listWorkers(): Promise<WorkerDoc[]>;

  /** Stores a blob; size and sha256 are computed by the store. */
  putArtifact(meta: Omit<ArtifactMeta, 'size' | 'sha256' | 'createdAt'>, data: Buffer): Promise<ArtifactMeta>;
  getArtifact(id: string): Promise<{ meta: ArtifactMeta; data: Buffer } | undefined>;
}

/** Raised when the store cannot be reached (mapped to gRPC UNAVAILABLE). */
export class StoreUnavailableError extends Error {
  override readonly name = 'StoreUnavailableError';
}
