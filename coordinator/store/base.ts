import type { TrellisEvent } from '../../shared/events.js';
import type { ExperimentStatus, TrialStatus } from '../../shared/states.js';
import type { Readable } from 'node:stream';
import type { ExpectedArtifact } from './artifact-stream.js';
import type { ArtifactMeta, ExperimentDoc, MetricDoc, TrialDoc, WorkerDoc } from '../../shared/types.js';

/** An experiment without its spec (lists). */
export type ExperimentSummary = Omit<ExperimentDoc, 'spec'>;

/**
 * One keyset page (the `list*Page` calls): at most `limit` items that sort after the `after` key,
 * in the list's order, and whether any item follows them. A page's cost depends on `limit`, not on
 * how many items are stored; rows added between two pages are neither repeated nor skipped when
 * they sort after the key (new trials, new steps), and the key of the last item is the next `after`.
 */
export interface Page<T> {
  items: T[];
  more: boolean;
}

/** Where a page of experiments starts: after this one, in the newest-first order. */
export interface ExperimentKey {
  createdAt: number;
  id: string;
}

export interface ExperimentPageQuery {
  status?: ExperimentStatus[];
  after?: ExperimentKey;
  limit: number;
  /**
   * How much of the spec comes along: 'none' (default: neither read nor copied), 'budget' (only its
   * `budget` key, for progress) or 'full'.
   */
  spec?: 'none' | 'budget' | 'full';
}

/** An experiment in a page: the summary, and the spec or its budget when asked for. */
export type ListedExperiment = ExperimentSummary & { spec?: Partial<ExperimentDoc['spec']> };

/** Trials of one experiment by status (only statuses that have trials appear). */
export type TrialCounts = Partial<Record<TrialStatus, number>>;

/**
 * How many stored rows the list and page calls read (documents returned by the database's
 * cursors; entries visited in LocalStore's indexes): work counted, so a test can show that a page
 * costs the same at 100 rows as at 20,000 without timing anything.
 */
export interface ReadCounter {
  rows: number;
}

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
  /** Rows read by the list and page calls so far. */
  readonly reads: ReadCounter;
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
  /** A page of the same list (newest first), without the specs unless asked for. */
  listExperimentsPage(query: ExperimentPageQuery): Promise<Page<ListedExperiment>>;
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
  /** A page of the same list: trials numbered above `afterNumber`, by number. */
  listTrialsPage(experimentId: string, query: { afterNumber?: number; limit: number }): Promise<Page<TrialDoc>>;
  /** How many trials of each experiment are in each status (counted, no trial read whole). */
  trialCounts(experimentIds: string[]): Promise<Map<string, TrialCounts>>;
  updateTrial(id: string, expect: TrialExpect, patch: Partial<TrialDoc>): Promise<TrialDoc | undefined>;

  /** Idempotent on (trialId, attempt, step): the first report wins; returns how many were new. */
  appendMetrics(docs: MetricDoc[]): Promise<number>;
  /** Sorted by (attempt, step). */
  listMetrics(trialId: string): Promise<MetricDoc[]>;
  /**
   * A page of a trial's rows with step above `afterStep`, by step, the latest attempt first within
   * a step (so the first row of each step is the one an export keeps).
   */
  listMetricsPage(trialId: string, query: { afterStep?: number; limit: number }): Promise<Page<MetricDoc>>;

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

/** Largest `limit` of one page. */
export const MAX_PAGE_LIMIT = 1_000_000;

/** Throws a TypeError naming the limit unless it is a whole number from 1 to MAX_PAGE_LIMIT. */
export function checkPageLimit(limit: number): void {
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_LIMIT) {
    throw new TypeError(`page limit is ${limit}, but must be a whole number from 1 to ${MAX_PAGE_LIMIT}`);
  }
}

/** A spec reduced to its `budget` key (what progress needs), or an empty object without one. */
export function budgetOnly(spec: object): Partial<ExperimentDoc['spec']> {
  const budget = (spec as { budget?: unknown }).budget;
  return (budget === undefined ? {} : { budget: structuredClone(budget) }) as Partial<ExperimentDoc['spec']>;
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
