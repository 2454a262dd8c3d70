/**
 * MongoStore: the distributed-mode system of record, on MongoDB or anything that speaks its
 * wire protocol well enough (FerretDB v1 is the test server).
 *
 * Only single-document atomic operations are used (findOneAndUpdate with the expected state in
 * the filter; inserts guarded by unique indexes): no transactions, no change streams, no partial
 * indexes — FerretDB v1 has none of them. Collections and indexes: docs/schema.md.
 *
 * Field names: MongoDB (before 5.0) and FerretDB v1 refuse keys containing '.' or starting with
 * '$', which free-form maps (params, metric values, payloads, labels) may well contain. Every key
 * is therefore escaped on the way in ('%' → %25, '.' → %2E, a leading '$' → %24) and unescaped on
 * the way out; ordinary keys are stored unchanged, so queries on them look as usual.
 * Non-finite numbers are tagged (see encodeKeys).
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

import {
  GridFSBucket,
  MongoBulkWriteError,
  MongoClient,
  MongoError,
  MongoNetworkError,
  MongoNotConnectedError,
  MongoOperationTimeoutError,
  MongoServerClosedError,
  MongoServerError,
  MongoServerSelectionError,
  type Collection,
  type Db,
  type Document,
  type Filter,
  type UpdateFilter,
  type W,
} from 'mongodb';

import type { TrellisEvent } from '../../shared/events.js';
import { eventId } from '../../shared/events.js';
import type { ExperimentStatus } from '../../shared/states.js';
import type { ArtifactMeta, ExperimentDoc, MetricDoc, TrialDoc, WorkerDoc } from '../../shared/types.js';
import type { ExperimentExpect, Store, TrialExpect } from './base.js';
import { StoreUnavailableError, assertOutboxEvent } from './base.js';

/** Version of the collections' layout, kept in `meta` ({ _id: 'schema', version }). */
export const SCHEMA_VERSION = 1;

export interface MongoStoreOptions {
  /** Connection string. Default: $MONGODB_URI. */
  uri?: string;
  /** Database name. Default: $TRELLIS_DB, else 'trellis'. */
  db?: string;
  /** Write concern `w`: 'majority' or a number of members. Default: $TRELLIS_WRITE_CONCERN, else 'majority'. */
  writeConcern?: W;
  /** How long an operation waits for a reachable server before StoreUnavailableError. Default 2000 ms. */
  serverSelectionTimeoutMS?: number;
  /** Socket connect timeout. Default 2000 ms. */
  connectTimeoutMS?: number;
  /**
   * How compare-and-set updates are made: 'native' (findOneAndUpdate, atomic on MongoDB),
   * 'claims' (revision claims, for servers whose findAndModify is not atomic: FerretDB v1), or
   * 'auto': claims on FerretDB, native otherwise. Default: $TRELLIS_MONGO_CAS, else 'auto'.
   */
  cas?: 'native' | 'claims' | 'auto';
  /** Claims mode: a claim older than this is taken to be left by a crashed writer. Default 10 s. */
  staleClaimMs?: number;
}

type Raw = Document & { _id: string };

interface IndexSpec {
  key: Record<string, 1 | -1>;
  name: string;
  unique?: boolean;
}

/** Every index the store needs, created at start (see docs/schema.md). */
export const INDEXES: Record<string, IndexSpec[]> = {
  experiments: [
    { key: { requestId: 1 }, name: 'requestId_unique', unique: true },
    { key: { status: 1, createdAt: -1 }, name: 'status_createdAt' },
    { key: { createdAt: -1, _id: -1 }, name: 'createdAt_id' },
  ],
  trials: [
    { key: { experimentId: 1, number: 1 }, name: 'experimentId_number_unique', unique: true },
    { key: { status: 1 }, name: 'status' },
  ],
  metrics: [
    { key: { trialId: 1, attempt: 1, step: 1 }, name: 'trialId_attempt_step_unique', unique: true },
    { key: { trialId: 1, step: 1 }, name: 'trialId_step' },
    { key: { experimentId: 1 }, name: 'experimentId' },
  ],
  events: [
    { key: { experimentId: 1, seq: 1 }, name: 'experimentId_seq_unique', unique: true },
    { key: { published: 1, experimentId: 1, seq: 1 }, name: 'published_experimentId_seq' },
  ],
  'artifacts.files': [{ key: { 'metadata.experimentId': 1 }, name: 'metadata_experimentId' }],
};

export class MongoStore implements Store {
  readonly kind = 'mongo';
  readonly uri: string;
  readonly dbName: string;
  private readonly writeConcern: W;
  private readonly serverSelectionTimeoutMS: number;
  private readonly connectTimeoutMS: number;

  private client: MongoClient | undefined;
  private db: Db | undefined;
  private bucket: GridFSBucket | undefined;
  private startPromise: Promise<void> | undefined;
  private closePromise: Promise<void> | undefined;
  private started = false;
  private readonly casOption: 'native' | 'claims' | 'auto';
  /** How compare-and-set updates are done (decided at start when 'auto'). */
  casMode: 'native' | 'claims' = 'native';
  private readonly staleClaimMs: number;
  /** Claims whose release failed (server unreachable); released before the next claim. */
  private readonly orphanClaims = new Set<string>();

  constructor(options: MongoStoreOptions = {}) {
    const uri = options.uri ?? process.env.MONGODB_URI;
    if (!uri) throw new TypeError('MongoStore: no connection string (set MONGODB_URI or pass uri)');
    this.uri = uri;
    this.dbName = options.db ?? (process.env.TRELLIS_DB || 'trellis');
    if (!/^[^/\\. "$*<>:|?]{1,63}$/.test(this.dbName)) {
      throw new TypeError(
        `MongoStore: database name ${JSON.stringify(this.dbName)} is not valid (1-63 characters, none of /\\. "$*<>:|?)`,
      );
    }
    this.writeConcern = options.writeConcern ?? parseWriteConcern(process.env.TRELLIS_WRITE_CONCERN);
    this.serverSelectionTimeoutMS = options.serverSelectionTimeoutMS ?? 2000;
    this.connectTimeoutMS = options.connectTimeoutMS ?? 2000;
    const cas = options.cas ?? (process.env.TRELLIS_MONGO_CAS || 'auto');
    if (cas !== 'native' && cas !== 'claims' && cas !== 'auto')
      throw new TypeError(`MongoStore: cas is ${JSON.stringify(cas)}, but must be native, claims or auto`);
    this.casOption = cas;
    this.staleClaimMs = options.staleClaimMs ?? 10_000;
    if (!(this.staleClaimMs > 0))
      throw new TypeError(`MongoStore: staleClaimMs is ${options.staleClaimMs}, but must be > 0`);
    if (!(this.serverSelectionTimeoutMS > 0)) {
      throw new TypeError(
        `MongoStore: serverSelectionTimeoutMS is ${options.serverSelectionTimeoutMS}, but must be > 0`,
      );
    }
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
      this.bucket = undefined;
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
    });
    this.client = client;
    await client.connect();
    const db = client.db(this.dbName);
    await Promise.all(
      Object.entries(INDEXES).map(async ([collection, specs]) => {
        // One index per command: FerretDB v1.24 drops the connection (a server-side panic) on a
        // createIndexes with several indexes that all exist already, i.e. on every restart.
        for (const { key, ...options } of specs) await db.collection(collection).createIndex(key, options);
      }),
    );
    if (this.casOption === 'auto') {
      const info = await db.admin().command({ buildInfo: 1 });
      this.casMode = typeof info.ferretdbVersion === 'string' ? 'claims' : 'native';
    } else {
      this.casMode = this.casOption;
    }
    // Claims older than an hour are debris of writers that died after writing.
    await db.collection<{ _id: string; at: number }>('cas').deleteMany({ at: { $lt: Date.now() - 3_600_000 } });
    const meta = db.collection<{ _id: string; version: number; createdAt: number }>('meta');
    try {
      await meta.insertOne({ _id: 'schema', version: SCHEMA_VERSION, createdAt: Date.now() });
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
    }
    const schema = await meta.findOne({ _id: 'schema' });
    if (schema && schema.version > SCHEMA_VERSION) {
      throw new Error(
        `MongoStore: database ${this.dbName} has schema version ${schema.version}; this build knows up to ${SCHEMA_VERSION} (upgrade trellis)`,
      );
    }
    this.db = db;
    this.bucket = new GridFSBucket(db, { bucketName: 'artifacts' });
    this.started = true;
  }

  close(): Promise<void> {
    this.closePromise ??= (async () => {
      if (this.startPromise) await this.startPromise.catch(() => undefined);
      this.started = false;
      const client = this.client;
      this.client = undefined;
      this.db = undefined;
      this.bucket = undefined;
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
    return this.casUpdate<ExperimentDoc>('experiments', id, filter, test, patch);
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
      return docs.map(fromRaw<TrialDoc>);
    });
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
    return this.casUpdate<TrialDoc>('trials', id, filter, test, withList);
  }

  /**
   * A compare-and-set update of one document: `filter` and `test` state the same expectation,
   * as a query (native mode) and as a predicate on the stored document (claims mode).
   */
  private async casUpdate<T>(
    name: 'experiments' | 'trials',
    id: string,
    filter: Document,
    test: (doc: Document) => boolean,
    patch: object,
  ): Promise<T | undefined> {
    const update = toUpdate(patch);
    return this.run(async () => {
      const col = this.col(name);
      if (!update) {
        const doc = await col.findOne({ _id: id });
        return doc && test(doc) ? fromRaw<T>(doc) : undefined;
      }
      if (this.casMode === 'native') {
        // findAndModify without `fields`: FerretDB v1 does not implement its projection.
        const doc = await col.findOneAndUpdate(
          { ...filter, _id: id } as Filter<Raw>,
          { ...update, $inc: { _rev: 1 } },
          { returnDocument: 'after' },
        );
        return optional(doc, fromRaw<T>);
      }
      return optional((await this.claimUpdate(name, id, test, update)) ?? null, fromRaw<T>);
    });
  }

  /**
   * Claims mode (FerretDB v1): its findAndModify and update read the document and then write it
   * back by _id, so two concurrent compare-and-sets can both apply. What it does enforce is a
   * unique _id on insert. So each document carries a revision `_rev`, and a writer that read
   * revision r must first insert the claim `<collection>/<id>/<r>` into `cas`: one writer per
   * revision wins. The winner writes revision r + 1 (filtered on `_rev: r`, which fences off a
   * writer that read r after the claim was released) and releases the claim. A claim left by a
   * crashed writer is broken after `staleClaimMs`.
   */
  private async claimUpdate(
    name: 'experiments' | 'trials',
    id: string,
    test: (doc: Document) => boolean,
    update: UpdateFilter<Raw>,
  ): Promise<Raw | undefined> {
    const col = this.col(name);
    const claims = this.database().collection<{ _id: string; at: number }>('cas');
    await this.releaseOrphanClaims(claims);
    const started = Date.now();
    for (let round = 0; ; round++) {
      const doc = await col.findOne({ _id: id });
      if (!doc || !test(doc)) return undefined;
      const rev = typeof doc._rev === 'number' ? doc._rev : 0;
      const claimId = `${name}/${id}/${rev}`;
      try {
        await claims.insertOne({ _id: claimId, at: Date.now() });
      } catch (err) {
        if (!isDuplicateKey(err)) throw err;
        const held = await claims.findOne({ _id: claimId });
        if (held && Date.now() - held.at > this.staleClaimMs) {
          await claims.deleteOne({ _id: claimId, at: held.at });
        } else if (Date.now() - started > 2 * this.staleClaimMs + 5_000) {
          throw new Error(`MongoStore: could not update ${name} ${id}: revision ${rev} stays claimed`);
        } else {
          await new Promise((r) => setTimeout(r, Math.min(50, 1 + round)));
        }
        continue;
      }
      let matched = 0;
      try {
        const $set = { ...(update.$set as Document | undefined), _rev: rev + 1 };
        const res = await col.updateOne(
          { _id: id, _rev: rev } as Filter<Raw>,
          { ...update, $set } as UpdateFilter<Raw>,
        );
        matched = res.matchedCount;
      } finally {
        await claims.deleteOne({ _id: claimId }).catch(() => {
          this.orphanClaims.add(claimId);
        });
      }
      if (matched === 1) {
        const next: Document = { ...doc, ...(update.$set as Document | undefined), _rev: rev + 1 };
        for (const key of Object.keys((update.$unset as Document | undefined) ?? {})) delete next[key];
        return next as Raw;
      }
      // The revision moved on between our read and our claim: read again.
    }
  }

  private async releaseOrphanClaims(claims: Collection<{ _id: string; at: number }>): Promise<void> {
    if (this.orphanClaims.size === 0) return;
    const ids = [...this.orphanClaims];
    await claims.deleteMany({ _id: { $in: ids } });
    for (const claimId of ids) this.orphanClaims.delete(claimId);
  }

  // ---------------------------------------------------------------- metrics

  async appendMetrics(docs: MetricDoc[]): Promise<number> {
    const byKey = new Map<string, Raw>();
    for (const d of docs) {
      const key = `${d.trialId}:${d.attempt}:${d.step}`;
      if (!byKey.has(key)) byKey.set(key, { ...(encodeKeys(d) as Document), _id: key });
    }
    if (byKey.size === 0) return 0;
    return this.run(() => insertIgnoringDuplicates(this.col('metrics'), [...byKey.values()]));
  }

  async listMetrics(trialId: string): Promise<MetricDoc[]> {
    return this.run(async () => {
      const docs = await this.col('metrics').find({ trialId }).sort({ attempt: 1, step: 1 }).toArray();
      return docs.map(fromRaw<MetricDoc>);
    });
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
    return this.run(async () => {
      const docs = await this.col('events')
        .find({ published: false })
        .sort({ experimentId: 1, seq: 1 })
        .limit(limit)
        .toArray();
      return docs.map(eventFromRaw);
    });
  }

  async markPublished(experimentId: string, seqs: number[]): Promise<void> {
    if (seqs.length === 0) return;
    await this.run(() =>
      this.col('events').updateMany(
        { experimentId, seq: { $in: seqs }, published: false },
        { $set: { published: true } },
      ),
    );
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
    const sha256 = createHash('sha256').update(data).digest('hex');
    return this.run(async () => {
      const files = this.database().collection<Raw>('artifacts.files');
      const existing = await files.findOne({ _id: meta.id });
      if (existing) return sameArtifact(existing, sha256);
      // Chunks of an upload that died before its files document was written.
      await this.database().collection('artifacts.chunks').deleteMany({ files_id: meta.id });
      const stored: ArtifactMeta = { ...structuredClone(meta), size: data.length, sha256, createdAt: Date.now() };
      const { id: _id, size: _size, ...rest } = stored;
      const upload = this.bucket!.openUploadStream(meta.id, {
        id: meta.id as never,
        metadata: encodeKeys(rest) as Document,
      });
      try {
        await pipeline(Readable.from([data]), upload);
      } catch (err) {
        if (!isDuplicateKey(err)) throw err;
        const raced = await files.findOne({ _id: meta.id });
        if (!raced) throw err;
        return sameArtifact(raced, sha256);
      }
      return artifactFromRaw({ _id: meta.id, length: data.length, metadata: encodeKeys(rest) });
    });
  }

  async getArtifact(id: string): Promise<{ meta: ArtifactMeta; data: Buffer } | undefined> {
    return this.run(async () => {
      const file = await this.database().collection<Raw>('artifacts.files').findOne({ _id: id });
      if (!file) return undefined;
      const chunks: Buffer[] = [];
      for await (const chunk of this.bucket!.openDownloadStream(id as never)) chunks.push(chunk as Buffer);
      return { meta: artifactFromRaw(file), data: Buffer.concat(chunks) };
    });
  }
}

// ------------------------------------------------------------------ helpers

function parseWriteConcern(value: string | undefined): W {
  if (!value) return 'majority';
  if (value === 'majority') return value;
  if (/^\d+$/.test(value)) return Number(value);
  throw new TypeError(
    `TRELLIS_WRITE_CONCERN is ${JSON.stringify(value)}, but must be 'majority' or a number of members`,
  );
}

export function isDuplicateKey(err: unknown): boolean {
  if (err instanceof MongoBulkWriteError) {
    const errors = [err.writeErrors].flat();
    return errors.length > 0 && errors.every((e) => e.code === 11000);
  }
  return err instanceof MongoError && (err.code === 11000 || err.code === 11001);
}

const UNAVAILABLE_CODES = new Set([6, 7, 89, 91, 189, 9001, 10107, 11600, 11602, 13435, 13436]);

export function isUnavailable(err: unknown): boolean {
  if (err instanceof StoreUnavailableError) return true;
  if (
    err instanceof MongoNetworkError ||
    err instanceof MongoServerSelectionError ||
    err instanceof MongoServerClosedError ||
    err instanceof MongoNotConnectedError ||
    err instanceof MongoOperationTimeoutError
  ) {
    return true;
  }
  if (err instanceof MongoServerError && typeof err.code === 'number' && UNAVAILABLE_CODES.has(err.code)) return true;
  if (
    err instanceof MongoBulkWriteError &&
    (!err.writeErrors || (Array.isArray(err.writeErrors) && err.writeErrors.length === 0))
  ) {
    // A bulk write cut off by the connection: no per-document errors, a pool-reset label.
    return (
      err.hasErrorLabel('ResetPool') ||
      err.hasErrorLabel('RetryableWriteError') ||
      /closed|timed out|ECONN/i.test(err.message)
    );
  }
  return (
    err instanceof MongoError &&
    (err.hasErrorLabel('RetryableWriteError') || err.hasErrorLabel('ResetPool')) &&
    !(err instanceof MongoServerError && err.code === 11000)
  );
}

function mapError(err: unknown): unknown {
  if (err instanceof StoreUnavailableError || !isUnavailable(err)) return err;
  const msg = err instanceof Error ? err.message : String(err);
  return new StoreUnavailableError(`MongoDB is unreachable: ${msg}`, { cause: err });
}

async function insertIgnoringDuplicates(col: Collection<Raw>, docs: Raw[]): Promise<number> {
  try {
    const res = await col.insertMany(docs, { ordered: false });
    return res.insertedCount;
  } catch (err) {
    if (err instanceof MongoBulkWriteError && isDuplicateKey(err)) return err.insertedCount;
    if (docs.length === 1 && isDuplicateKey(err)) return 0;
    throw err;
  }
}

function matchesStatus(status: unknown, expected: string | string[] | undefined): boolean {
  if (expected === undefined) return true;
  return Array.isArray(expected) ? expected.includes(status as string) : status === expected;
}

function addStatus(filter: Document, status: string | string[] | undefined): void {
  if (status === undefined) return;
  filter.status = Array.isArray(status) ? { $in: status } : status;
}

/** $set for defined keys, $unset for keys given as undefined; `id`/`_id` are never changed. */
function toUpdate(patch: object): UpdateFilter<Raw> | undefined {
  const $set: Document = {};
  const $unset: Document = {};
  for (const [key, value] of Object.entries(patch)) {
    if (key === 'id' || key === '_id') continue;
    if (value === undefined) $unset[encodeKey(key)] = '';
    else $set[encodeKey(key)] = encodeKeys(value);
  }
  const update: Document = {};
  if (Object.keys($set).length > 0) update.$set = $set;
  if (Object.keys($unset).length > 0) update.$unset = $unset;
  return Object.keys(update).length > 0 ? (update as UpdateFilter<Raw>) : undefined;
}

function toRaw(doc: { id: string }): Raw {
  return { ...(encodeKeys(doc) as Document), _id: doc.id };
}

/**
 * Trials also store their params as `paramList: [{ name, value }]`, names exactly as written:
 * `params` keys are escaped (`opt.lr` is `opt%2Elr`), so a query by a dotted name goes through
 * the list: `{ paramList: { name: "opt.lr", value: 0.01 } }`, or with $elemMatch on MongoDB.
 */
function paramList(params: Record<string, unknown>): Document[] {
  return Object.entries(params).map(([name, value]) => ({ name, value: encodeKeys(value) }));
}

function fromRaw<T>(raw: Document): T {
  const { _id, _rev, paramList: _paramList, ...rest } = raw;
  return decodeKeys(rest) as T;
}

function eventFromRaw(raw: Document): TrellisEvent {
  const { _id, published: _published, ...rest } = raw;
  return decodeKeys(rest) as TrellisEvent;
}

function artifactFromRaw(file: Document): ArtifactMeta {
  const metadata = decodeKeys(file.metadata ?? {}) as Omit<ArtifactMeta, 'id' | 'size'>;
  return { id: String(file._id), ...metadata, size: Number(file.length) } as ArtifactMeta;
}

function sameArtifact(file: Document, sha256: string): ArtifactMeta {
  const meta = artifactFromRaw(file);
  if (meta.sha256 !== sha256) throw new Error(`artifact ${meta.id} already exists with other content`);
  return meta;
}

function optional<T>(doc: Document | null, map: (d: Document) => T): T | undefined {
  return doc ? map(doc) : undefined;
}

function encodeKey(key: string): string {
  if (!/[.%$]/.test(key)) return key;
  let out = key.replace(/%/g, '%25').replace(/\./g, '%2E');
  if (out.startsWith('$')) out = '%24' + out.slice(1);
  return out;
}

function decodeKey(key: string): string {
  if (!key.includes('%')) return key;
  return key.replace(/%(2E|24|25)/g, (_m, code: string) => (code === '2E' ? '.' : code === '24' ? '$' : '%'));
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== 'object') return false;
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/**
 * FerretDB v1 drops the connection on a NaN or ±Infinity (its SQLite backend stores JSON), so
 * non-finite numbers are stored as { "trellis:num": "NaN" | "Infinity" | "-Infinity" }.
 */
const NUM_TAG = 'trellis:num';

/** Escapes keys of plain objects and tags non-finite numbers, recursively; drops undefined values. */
export function encodeKeys(value: unknown): unknown {
  if (typeof value === 'number') return Number.isFinite(value) ? value : { [NUM_TAG]: String(value) };
  if (Array.isArray(value)) return value.map(encodeKeys);
  if (!isPlainObject(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) if (v !== undefined) out[encodeKey(k)] = encodeKeys(v);
  return out;
}

export function decodeKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(decodeKeys);
  if (!isPlainObject(value)) return value;
  const tagged = value[NUM_TAG];
  if (typeof tagged === 'string' && Object.keys(value).length === 1) return Number(tagged);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[decodeKey(k)] = decodeKeys(v);
  return out;
}
