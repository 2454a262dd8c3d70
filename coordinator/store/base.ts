import type { TrellisEvent } from '../../shared/events.js';
import type { ExperimentStatus, TrialStatus } from '../../shared/states.js';
import type { Readable } from 'node:stream';
import type { ExpectedArtifact } from './artifact-stream.js';
import type { ArtifactMeta, ExperimentDoc, MetricDoc, TrialDoc, WorkerDoc } from '../../shared/types.js';

/** An experiment without its spec (lists). */
export type ExperimentSummary = Omit<ExperimentDoc, 'spec'>;

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
 * MongoStore) pass one contract suite (test/contract/store.contract.test.ts).
 *
 * Contract:
 * - Every update is a single-document compare-and-set: it applies only if the stored document
 *   matches `expect`, and returns the updated document, or undefined when the precondition (or
 *   the document) is missing. No multi-document transactions are needed or used.
 * - A patch is a shallow merge of top-level fields: arrays and objects given in it replace the
 *   stored ones whole; a key present with the value `undefined` removes that field; `id` is
 *   never changed, and a trial patch that names another experimentId or number is refused.
 * - Keys of free-form maps (params, metric values, payloads) may contain '.' or start with '$'.
 * - Numbers round-trip exactly, NaN and ±Infinity included.
 * - Writes are durable when the promise resolves (a restarted store sees them).
 * - Documents returned are copies: mutating them does not change the store.
 * - `start` and `close` are idempotent. Calls before `start` or after `close` reject.
 * - When the backing service cannot be reached, calls reject with StoreUnavailableError
 *   and succeed again once it is back (no restart of the store needed).
 */
export interface Store {
  readonly kind: string;
  start(): Promise<void>;
  close(): Promise<void>;

  /**
   * Inserts unless an experiment with the same requestId exists; returns the stored one.
   * An existing `id` with another requestId is an error (ids are generated, never reused).
   */
  createExperiment(doc: ExperimentDoc): Promise<{ experiment: ExperimentDoc; created: boolean }>;
  getExperiment(id: string): Promise<ExperimentDoc | undefined>;
  /** Newest first (createdAt descending, then id descending). */
  listExperiments(filter?: { status?: ExperimentStatus[] }): Promise<ExperimentDoc[]>;
  /** The same list without the specs: neither read nor copied (a list does not scale with spec sizes). */
  listExperimentSummaries(filter?: { status?: ExperimentStatus[] }): Promise<ExperimentSummary[]>;
  updateExperiment(
    id: string,
    expect: ExperimentExpect,
    patch: Partial<ExperimentDoc>,
  ): Promise<ExperimentDoc | undefined>;

  /** Inserts; false when (experimentId, number) or the id already exists (nothing changes). */
  insertTrial(doc: TrialDoc): Promise<boolean>;
  getTrial(id: string): Promise<TrialDoc | undefined>;
  /** Sorted by number. */
  listTrials(experimentId: string): Promise<TrialDoc[]>;
  updateTrial(id: string, expect: TrialExpect, patch: Partial<TrialDoc>): Promise<TrialDoc | undefined>;

  /** Idempotent on (trialId, attempt, step): the first report wins; returns how many were new. */
  appendMetrics(docs: MetricDoc[]): Promise<number>;
  /** Sorted by (attempt, step). */
  listMetrics(trialId: string): Promise<MetricDoc[]>;

  /**
   * The event log (outbox). Idempotent on (experimentId, seq): the first append wins.
   * Holds experiment events only (experimentId set, seq >= 1); anything else is a TypeError —
   * worker events (seq 0) are published straight to the bus.
   */
  appendEvents(events: TrellisEvent[]): Promise<void>;
  /** Events of an experiment with seq >= fromSeq, in seq order. */
  listEvents(experimentId: string, fromSeq?: number): Promise<TrellisEvent[]>;
  /** Highest seq stored for the experiment (0 when none). */
  lastEventSeq(experimentId: string): Promise<number>;
  /**
   * Events not yet acknowledged by the bus, ordered by (experimentId, seq), at most `limit`
   * (re-published after a restart).
   */
  unpublishedEvents(limit?: number): Promise<TrellisEvent[]>;
  markPublished(experimentId: string, seqs: number[]): Promise<void>;

  /** Replaces the worker's document (inserts it when new). */
  upsertWorker(doc: WorkerDoc): Promise<void>;
  /** Sorted by id. */
  listWorkers(): Promise<WorkerDoc[]>;

  /**
   * Stores a blob; size, sha256 and createdAt are set by the store. Artifacts are immutable:
   * putting an existing id again returns the stored meta when the bytes are the same, and
   * throws otherwise.
   */
  putArtifact(meta: Omit<ArtifactMeta, 'size' | 'sha256' | 'createdAt'>, data: Buffer): Promise<ArtifactMeta>;
  getArtifact(id: string): Promise<{ meta: ArtifactMeta; data: Buffer } | undefined>;
  /**
   * Stores a blob of any size from a stream, never holding it whole: `open()` gives its bytes
   * from the start (called again when the store retries). The store hashes while it writes and
   * publishes only when size and sha256 are `expected` (DataLossError otherwise, nothing stored);
   * readers see the whole artifact or none. Same-id rules as putArtifact.
   */
  putArtifactFrom(
    meta: Omit<ArtifactMeta, 'size' | 'sha256' | 'createdAt'>,
    open: () => Readable,
    expected: ExpectedArtifact,
  ): Promise<ArtifactMeta>;
  /** The artifact's meta and its bytes from `offset` as a stream (read in chunks); undefined when missing. */
  openArtifact(id: string, offset?: number): Promise<{ meta: ArtifactMeta; stream: Readable } | undefined>;
}

/** Raised when the store cannot be reached (mapped to gRPC UNAVAILABLE). */
export class StoreUnavailableError extends Error {
  override readonly name = 'StoreUnavailableError';
}

/** The outbox holds experiment events only; throws a TypeError naming what is wrong. */
export function assertOutboxEvent(e: TrellisEvent): void {
  if (typeof e.experimentId !== 'string' || e.experimentId.length === 0) {
    throw new TypeError(`appendEvents: ${e.type} event has no experimentId (the outbox holds experiment events only)`);
  }
  if (!Number.isInteger(e.seq) || e.seq < 1) {
    throw new TypeError(`appendEvents: event seq is ${e.seq}, but must be an integer >= 1`);
  }
}
