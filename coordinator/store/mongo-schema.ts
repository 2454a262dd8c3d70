/**
 * The MongoStore's collections on disk: every index it needs (created at start, one per
 * command) and the layout version kept in `meta` ({ _id: 'schema', version }), which a store
 * refuses to start on when it is newer than this build. Collections and indexes: docs/schema.md.
 */
import type { Db } from 'mongodb';
import { isDuplicateKey } from './mongo-errors.js';

/** Version of the collections' layout, kept in `meta` ({ _id: 'schema', version }). */
export const SCHEMA_VERSION = 1;

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
    { key: { experimentId: 1, status: 1 }, name: 'experimentId_status' },
  ],
  metrics: [
    { key: { trialId: 1, attempt: 1, step: 1 }, name: 'trialId_attempt_step_unique', unique: true },
    { key: { trialId: 1, step: 1 }, name: 'trialId_step' },
    { key: { trialId: 1, step: 1, attempt: -1 }, name: 'trialId_step_attempt' },
    { key: { experimentId: 1 }, name: 'experimentId' },
  ],
  events: [
    { key: { experimentId: 1, seq: 1 }, name: 'experimentId_seq_unique', unique: true },
    { key: { published: 1, experimentId: 1, seq: 1 }, name: 'published_experimentId_seq' },
  ],
  'artifacts.files': [{ key: { 'metadata.experimentId': 1 }, name: 'metadata_experimentId' }],
  // GridFS's own index (the driver's name): MongoStore writes its chunks itself (mongo-artifacts.ts).
  'artifacts.chunks': [{ key: { files_id: 1, n: 1 }, name: 'files_id_1_n_1', unique: true }],
};

/** Creates every index in INDEXES (existing ones are left as they are). */
export async function createIndexes(db: Db): Promise<void> {
  await Promise.all(
    Object.entries(INDEXES).map(async ([collection, specs]) => {
      // One index per command: FerretDB v1.24 drops the connection (a server-side panic) on a
      // createIndexes with several indexes that all exist already, i.e. on every restart.
      for (const { key, ...options } of specs) await db.collection(collection).createIndex(key, options);
    }),
  );
}

/** Records the schema version in a new database; throws when the database's is newer than this build's. */
export async function checkSchemaVersion(db: Db, dbName: string): Promise<void> {
  const meta = db.collection<{ _id: string; version: number; createdAt: number }>('meta');
  try {
    await meta.insertOne({ _id: 'schema', version: SCHEMA_VERSION, createdAt: Date.now() });
  } catch (err) {
    if (!isDuplicateKey(err)) throw err;
  }
  const schema = await meta.findOne({ _id: 'schema' });
  if (schema && schema.version > SCHEMA_VERSION) {
    throw new Error(
      `MongoStore: database ${dbName} has schema version ${schema.version}; this build knows up to ${SCHEMA_VERSION} (upgrade trellis)`,
    );
  }
}
