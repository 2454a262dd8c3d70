/**
 * MongoStore: the distributed-mode system of record, on MongoDB or anything that speaks its
 * wire protocol well enough (the tests run it on FerretDB v1 and on mongo-java-server).
 *
 * Only single-document atomic operations are used (findOneAndUpdate with the expected state in
 * the filter; inserts guarded by unique indexes): no transactions, no change streams, no partial
 * indexes — FerretDB v1 has none of them. Collections and indexes: docs/schema.md.
 *
 * Next door: mongo-documents.ts (stored documents: escaped keys, tagged non-finite numbers),
 * mongo-cas.ts (the two compare-and-set modes), mongo-batch.ts (metric rows in shared bulk
 * inserts; events inserted skipping duplicates), mongo-errors.ts (duplicate keys, outages),
 * mongo-schema.ts (indexes, schema version), mongo-options.ts (options, defaults, checks),
 * mongo-outbox.ts (which stored events are published).
 */
import { MongoClient, type Collection, type Db, type Document, type Filter, type W } from 'mongodb';

import type { TrellisEvent } from '../../shared/events.js';
import { eventId } from '../../shared/events.js';
import type { ExperimentStatus } from '../../shared/states.js';
import type { ArtifactMeta, ExperimentDoc, MetricDoc, TrialDoc, WorkerDoc } from '../../shared/types.js';
import type {
  ExperimentExpect,
  ExperimentPageQuery,
  ExperimentSummary,
  ListedExperiment,
  Page,
  ReadCounter,
  Store,
  TrialCounts,
  TrialExpect,
} from './base.js';
import { assertOutboxEvent } from './base.js';
import { matchesStatus } from './documents.js';
import { ArtifactFiles } from './mongo-artifacts.js';
import type { ExpectedArtifact } from './artifact-stream.js';
import type { Readable } from 'node:stream';
import { InsertBatcher, insertIgnoringDuplicates } from './mongo-batch.js';
import { CompareAndSet } from './mongo-cas.js';
import { OutboxMarks } from './mongo-outbox.js';
import {
  addStatus,
  encodeKeys,
  eventFromRaw,
  fromRaw,
  optional,
  paramList,
  toRaw,
  type Raw,
} from './mongo-documents.js';
import { isDuplicateKey, mapError } from './mongo-errors.js';
import { experimentsPage, metricsPage, trialCounts, trialsPage } from './mongo-pages.js';
import { resolveOptions, type MongoStoreOptions } from './mongo-options.js';
import { checkSchemaVersion, createIndexes } from './mongo-schema.js';

export type { MongoStoreOptions } from './mongo-options.js';
export { INDEXES, SCHEMA_VERSION } from './mongo-schema.js';

/** Fields of a running trial's metric summary (TrialWriter), written without a claim. */
const SUMMARY_FIELDS = new Set(['metrics', 'lastStep', 'updatedAt']);

export class MongoStore implements Store {
  readonly kind = 'mongo';
  readonly uri: string;
  readonly dbName: string;
  private readonly writeConcern: W;
  private readonly serverSelectionTimeoutMS: number;
  private readonly connectTimeoutMS: number;
  private readonly tlsCAFile: string | undefined;

  private client: MongoClient | undefined;
  private db: Db | undefined;
  private artifacts: ArtifactFiles | undefined;
  private startPromise: Promise<void> | undefined;
  private closePromise: Promise<void> | undefined;
  private started = false;
  private readonly casOption: 'native' | 'claims' | 'auto';
  private readonly cas: CompareAndSet;
  /** Metric rows of concurrent appendMetrics calls go out in shared bulk inserts. */
  private readonly metricRows = new InsertBatcher(() => this.col('metrics'));
  /** Which stored events are published: one outbox document per experiment (mongo-outbox.ts). */
  private readonly outbox = new OutboxMarks(() => this.database());
  readonly reads: ReadCounter = { rows: 0 };
  private readonly pageCol = (name: 'experiments' | 'trials' | 'metrics'): Collection<Raw> => this.col(name);

  /** The compare-and-set mode in use (known after start; 'auto' resolves to one of these). */
  get casMode(): 'native' | 'claims' {
    return this.cas.mode;
  }

  constructor(options: MongoStoreOptions = {}) {
    const resolved = resolveOptions(options);
    this.uri = resolved.uri;
    this.dbName = resolved.dbName;
    this.writeConcern = resolved.writeConcern;
    this.serverSelectionTimeoutMS = resolved.serverSelectionTimeoutMS;
    this.connectTimeoutMS = resolved.connectTimeoutMS;
    this.tlsCAFile = resolved.tlsCAFile;
    this.casOption = resolved.cas;
    this.cas = new CompareAndSet(() => this.database(), resolved.staleClaimMs);
  }

  // ---------------------------------------------------------------- lifecycle

  /** Connects, creates the indexes and checks the schema version. Retry after a failure is allowed. */
  start(): Promise<void> {
    if (this.closePromise) return Promise.reject(new Error('MongoStore: already closed'));
    this.startPromise ??= this.doStart().catch(async (err: unknown) => {
      this.startPromise = undefined;
      const client = this.client;
      this.client = undefined;
      this.db = undefined;
      this.artifacts = undefined;
      await client?.close().catch(() => undefined);
      throw mapError(err);
    });
    return this.startPromise;
  }

  private async doStart(): Promise<void> {
    const client = new MongoClient(this.uri, {
      serverSelectionTimeoutMS: this.serverSelectionTimeoutMS,
      connectTimeoutMS: this.connectTimeoutMS,
      writeConcern: { w: this.writeConcern },
      ignoreUndefined: true,
      appName: 'trellis-coordinator',
      ...(this.tlsCAFile ? { tls: true, tlsCAFile: this.tlsCAFile } : {}),
    });
    this.client = client;
    await client.connect();
    const db = client.db(this.dbName);
    await createIndexes(db);
    if (this.casOption === 'auto') {
      const info = await db.admin().command({ buildInfo: 1 });
      this.cas.mode = typeof info.ferretdbVersion === 'string' ? 'claims' : 'native';
    } else {
      this.cas.mode = this.casOption;
    }
    // Claims older than an hour are debris of writers that died after writing.
    await db.collection<{ _id: string; at: number }>('cas').deleteMany({ at: { $lt: Date.now() - 3_600_000 } });
    await checkSchemaVersion(db, this.dbName);
    this.db = db;
    this.artifacts = new ArtifactFiles(db);
    this.started = true;
  }

  close(): Promise<void> {
    this.closePromise ??= (async () => {
      if (this.startPromise) await this.startPromise.catch(() => undefined);
      this.started = false;
      const client = this.client;
      this.client = undefined;
      this.db = undefined;
      this.artifacts = undefined;
      await client?.close().catch(() => undefined);
    })();
    return this.closePromise;
  }

  /** Drops the whole database (tests and `trellis` maintenance only). */
  async dropDatabase(): Promise<void> {
    await this.run(() => this.database().dropDatabase());
  }

  private database(): Db {
    if (this.closePromise) throw new Error('MongoStore: closed');
    if (!this.started || !this.db) throw new Error('MongoStore: not started');
    return this.db;
  }

  private artifactFiles(): ArtifactFiles {
    this.database(); // throws when not started or closed
    return this.artifacts!;
  }

  private col(name: 'experiments' | 'trials' | 'metrics' | 'events' | 'workers'): Collection<Raw> {
    return this.database().collection<Raw>(name);
  }

  /** Runs an operation, mapping "cannot reach the server" to StoreUnavailableError. */
  private async run<T>(op: () => Promise<T>): Promise<T> {
    try {
      return await op();
    } catch (err) {
      throw mapError(err);
    }
  }

  // ---------------------------------------------------------------- experiments

  async createExperiment(doc: ExperimentDoc): Promise<{ experiment: ExperimentDoc; created: boolean }> {
    return this.run(async () => {
      const col = this.col('experiments');
      const existing = await col.findOne({ requestId: doc.requestId });
      if (existing) return { experiment: fromRaw<ExperimentDoc>(existing), created: false };
      try {
        await col.insertOne({ ...toRaw(doc), _rev: 0 });
        return { experiment: fromRaw<ExperimentDoc>(toRaw(doc)), created: true };
      } catch (err) {
        if (!isDuplicateKey(err)) throw err;
        const raced = await col.findOne({ requestId: doc.requestId });
        if (raced) return { experiment: fromRaw<ExperimentDoc>(raced), created: false };
        throw new Error(`experiment id ${doc.id} already exists with another requestId`);
      }
    });
  }

  async getExperiment(id: string): Promise<ExperimentDoc | undefined> {
    return this.run(async () => optional(await this.col('experiments').findOne({ _id: id }), fromRaw<ExperimentDoc>));
  }

  async listExperiments(filter: { status?: ExperimentStatus[] } = {}): Promise<ExperimentDoc[]> {
    return this.run(async () => {
      const query: Filter<Raw> = filter.status ? { status: { $in: filter.status } } : {};
      const docs = await this.col('experiments').find(query).sort({ createdAt: -1, _id: -1 }).toArray();
      return docs.map(fromRaw<ExperimentDoc>);
    });
  }

  async listExperimentsPage(query: ExperimentPageQuery): Promise<Page<ListedExperiment>> {
    return this.run(() => experimentsPage(this.pageCol, this.reads, query));
  }

  async listExperimentSummaries(filter: { status?: ExperimentStatus[] } = {}): Promise<ExperimentSummary[]> {
    return this.run(async () => {
      const query: Filter<Raw> = filter.status ? { status: { $in: filter.status } } : {};
      const docs = await this.col('experiments')
        .find(query, { projection: { spec: 0 } })
        .sort({ createdAt: -1, _id: -1 })
        .toArray();
      return docs.map(fromRaw<ExperimentSummary>);
    });
  }

  async updateExperiment(
    id: string,
    expect: ExperimentExpect,
    patch: Partial<ExperimentDoc>,
  ): Promise<ExperimentDoc | undefined> {
    const filter: Document = {};
    addStatus(filter, expect.status);
    if (expect.trialsCreated !== undefined) filter.trialsCreated = expect.trialsCreated;
    const test = (doc: Document): boolean =>
      matchesStatus(doc.status, expect.status) &&
      (expect.trialsCreated === undefined || doc.trialsCreated === expect.trialsCreated);
    return this.run(() => this.cas.update<ExperimentDoc>('experiments', id, filter, test, patch));
  }

  // ---------------------------------------------------------------- trials

  async insertTrial(doc: TrialDoc): Promise<boolean> {
    return this.run(async () => {
      try {
        await this.col('trials').insertOne({ ...toRaw(doc), paramList: paramList(doc.params), _rev: 0 });
        return true;
      } catch (err) {
        if (isDuplicateKey(err)) return false;
        throw err;
      }
    });
  }

  async getTrial(id: string): Promise<TrialDoc | undefined> {
    return this.run(async () => optional(await this.col('trials').findOne({ _id: id }), fromRaw<TrialDoc>));
  }

  async listTrials(experimentId: string): Promise<TrialDoc[]> {
    return this.run(async () => {
      const docs = await this.col('trials').find({ experimentId }).sort({ number: 1 }).toArray();
      this.reads.rows += docs.length;
      return docs.map(fromRaw<TrialDoc>);
    });
  }

  async listTrialsPage(experimentId: string, query: { afterNumber?: number; limit: number }): Promise<Page<TrialDoc>> {
    return this.run(() => trialsPage(this.pageCol, this.reads, experimentId, query));
  }

  async trialCounts(experimentIds: string[]): Promise<Map<string, TrialCounts>> {
    return this.run(() => trialCounts(this.pageCol, this.reads, experimentIds));
  }

  async updateTrial(id: string, expect: TrialExpect, patch: Partial<TrialDoc>): Promise<TrialDoc | undefined> {
    const filter: Document = {};
    addStatus(filter, expect.status);
    if (expect.attemptCount !== undefined) filter.attempts = { $size: expect.attemptCount };
    // experimentId and number are the trial's identity: a patch may repeat them, not change them.
    if (patch.experimentId !== undefined) filter.experimentId = patch.experimentId;
    if (patch.number !== undefined) filter.number = patch.number;
    const test = (doc: Document): boolean =>
      matchesStatus(doc.status, expect.status) &&
      (expect.attemptCount === undefined ||
        (Array.isArray(doc.attempts) && doc.attempts.length === expect.attemptCount)) &&
      (patch.experimentId === undefined || doc.experimentId === patch.experimentId) &&
      (patch.number === undefined || doc.number === patch.number);
    const withList = patch.params ? { ...patch, paramList: paramList(patch.params) } : patch;
    // A running trial's metric summary is no state transition: compare-and-set without a claim.
    const transition = !(expect.status === 'running' && Object.keys(patch).every((key) => SUMMARY_FIELDS.has(key)));
    return this.run(() => this.cas.update<TrialDoc>('trials', id, filter, test, withList, transition));
  }

  // ---------------------------------------------------------------- metrics

  async appendMetrics(docs: MetricDoc[]): Promise<number> {
    const byKey = new Map<string, Raw>();
    for (const d of docs) {
      const key = `${d.trialId}:${d.attempt}:${d.step}`;
      if (!byKey.has(key)) byKey.set(key, { ...(encodeKeys(d) as Document), _id: key });
    }
    if (byKey.size === 0) return 0;
    return this.run(() => this.metricRows.insert([...byKey.values()]));
  }

  async listMetrics(trialId: string): Promise<MetricDoc[]> {
    return this.run(async () => {
      const docs = await this.col('metrics').find({ trialId }).sort({ attempt: 1, step: 1 }).toArray();
      this.reads.rows += docs.length;
      return docs.map(fromRaw<MetricDoc>);
    });
  }

  async listMetricsPage(trialId: string, query: { afterStep?: number; limit: number }): Promise<Page<MetricDoc>> {
    return this.run(() => metricsPage(this.pageCol, this.reads, trialId, query));
  }

  // ---------------------------------------------------------------- events

  async appendEvents(events: TrellisEvent[]): Promise<void> {
    for (const e of events) assertOutboxEvent(e);
    const byId = new Map<string, Raw>();
    for (const e of events) {
      const id = eventId(e);
      if (!byId.has(id)) byId.set(id, { ...(encodeKeys(e) as Document), _id: id, published: false });
    }
    if (byId.size === 0) return;
    await this.run(() => insertIgnoringDuplicates(this.col('events'), [...byId.values()]));
  }

  async listEvents(experimentId: string, fromSeq = 1): Promise<TrellisEvent[]> {
    return this.run(async () => {
      const docs = await this.col('events')
        .find({ experimentId, seq: { $gte: fromSeq } })
        .sort({ seq: 1 })
        .toArray();
      return docs.map(eventFromRaw);
    });
  }

  async lastEventSeq(experimentId: string): Promise<number> {
    return this.run(async () => {
      const [last] = await this.col('events').find({ experimentId }).sort({ seq: -1 }).limit(1).toArray();
      return typeof last?.seq === 'number' ? last.seq : 0;
    });
  }

  async unpublishedEvents(limit = 1000): Promise<TrellisEvent[]> {
    if (limit <= 0) return [];
    return this.run(async () => (await this.outbox.unpublished(limit)).map(eventFromRaw));
  }

  async markPublished(experimentId: string, seqs: number[]): Promise<void> {
    if (seqs.length === 0) return;
    await this.run(() => this.outbox.markPublished(experimentId, seqs));
  }

  // ---------------------------------------------------------------- workers

  async upsertWorker(doc: WorkerDoc): Promise<void> {
    await this.run(() => this.col('workers').replaceOne({ _id: doc.id }, toRaw(doc), { upsert: true }));
  }

  async listWorkers(): Promise<WorkerDoc[]> {
    return this.run(async () =>
      (await this.col('workers').find({}).sort({ _id: 1 }).toArray()).map(fromRaw<WorkerDoc>),
    );
  }

  // ---------------------------------------------------------------- artifacts

  async putArtifact(meta: Omit<ArtifactMeta, 'size' | 'sha256' | 'createdAt'>, data: Buffer): Promise<ArtifactMeta> {
    if (!meta.id) throw new TypeError('putArtifact: id must be a non-empty string');
    return this.run(() => this.artifactFiles().put(meta, data));
  }

  async putArtifactFrom(
    meta: Omit<ArtifactMeta, 'size' | 'sha256' | 'createdAt'>,
    open: () => Readable,
    expected: ExpectedArtifact,
  ): Promise<ArtifactMeta> {
    if (!meta.id) throw new TypeError('putArtifactFrom: id must be a non-empty string');
    return this.run(() => this.artifactFiles().putFrom(meta, open(), expected));
  }

  async openArtifact(id: string, offset = 0): Promise<{ meta: ArtifactMeta; stream: Readable } | undefined> {
    return this.run(() => this.artifactFiles().open(id, offset));
  }

  async getArtifact(id: string): Promise<{ meta: ArtifactMeta; data: Buffer } | undefined> {
    return this.run(() => this.artifactFiles().get(id));
  }
}
