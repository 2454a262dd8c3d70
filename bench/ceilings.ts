/**
 * What the services themselves can take, measured with their raw clients in the same run as
 * Trellis (suite `ingest`), so that Trellis's rates can be given as a fraction of them:
 *
 * - MongoDB-wire server: unordered bulk inserts (`insertMany`, ordered: false) of the very
 *   documents MongoStore writes for metric reports (same `_id`, keys, values, write concern
 *   and indexes), into a fresh database; the best of a few batch sizes and depths.
 * - NATS JetStream: async publishes (many in flight, each with a message id, as NatsBus sends
 *   them) of `trial.metric` events of the same size, to a file-backed stream of its own with
 *   the same settings, deleted afterwards.
 */
import { MongoClient, type Document } from 'mongodb';
import { connect } from '@nats-io/transport-node';
import { DiscardPolicy, jetstream, jetstreamManager, RetentionPolicy, StorageType } from '@nats-io/jetstream';
import { encodeKeys } from '../coordinator/store/mongo-documents.js';
import { INDEXES } from '../coordinator/store/mongo.js';
import type { TrellisEvent } from '../shared/events.js';
import type { MetricDoc } from '../shared/types.js';
import { progress, round } from './common.js';

/** A metric row as the ingest suite's reports make it (two values). */
function metricDoc(trial: number, step: number): MetricDoc {
  return {
    experimentId: 'ceiling-experiment-0000000000',
    trialId: `ceiling-trial-${String(trial).padStart(6, '0')}`,
    attempt: 1,
    step,
    time: Date.now(),
    values: { loss: 1 / step, accuracy: 1 - 1 / (step + 1) },
  };
}

function rowsOf(count: number, trials: number): Document[] {
  const rows: Document[] = [];
  for (let i = 0; i < count; i++) {
    const d = metricDoc(i % trials, Math.floor(i / trials) + 1);
    rows.push({ ...(encodeKeys(d) as Document), _id: `${d.trialId}:${d.attempt}:${d.step}` });
  }
  return rows;
}

/** Inserts `rows` in batches of `batch`, `depth` batches in flight; documents per second. */
async function insertRate(
  client: MongoClient,
  db: string,
  rows: Document[],
  batch: number,
  depth: number,
): Promise<number> {
  const col = client.db(db).collection('metrics');
  for (const { key, ...options } of INDEXES.metrics!) await col.createIndex(key, options);
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: depth }, async () => {
      while (next < rows.length) {
        const slice = rows.slice(next, next + batch);
        next += batch;
        await col.insertMany(slice, { ordered: false });
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  // The collection, not the database: FerretDB v1 on SQLite was seen to crash (SIGBUS in its
  // WAL recovery) on database drops under load.
  await col.drop();
  return rows.length / seconds;
}

export async function mongoCeiling(uri: string, docs: number, trials: number): Promise<Record<string, unknown>> {
  const client = new MongoClient(uri, {
    serverSelectionTimeoutMS: 2000,
    writeConcern: { w: 'majority' },
    ignoreUndefined: true,
  });
  await client.connect();
  try {
    const runs: Record<string, number> = {};
    for (const [batch, depth] of [
      [100, 1],
      [500, 2],
      [1000, 2],
    ] as const) {
      const db = `trellis_ceiling_${process.pid}`;
      const rate = await insertRate(client, db, rowsOf(docs, trials), batch, depth);
      runs[`batch_${batch}_depth_${depth}`] = round(rate);
      progress(`ingest: raw driver, insertMany of ${batch} × ${depth} in flight: ${rate.toFixed(0)} docs/s`);
    }
    return { docs, docs_per_second: Math.max(...Object.values(runs)), runs };
  } finally {
    await client.close();
  }
}

export async function natsCeiling(servers: string, messages: number): Promise<Record<string, unknown>> {
  const nc = await connect({ servers });
  const stream = `TRELLIS_CEILING_${process.pid}`;
  const subject = `trellis-ceiling.${process.pid}`;
  try {
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({
      name: stream,
      subjects: [`${subject}.>`],
      storage: StorageType.File,
      retention: RetentionPolicy.Limits,
      discard: DiscardPolicy.Old,
      duplicate_window: 600_000 * 1_000_000,
      num_replicas: 1,
    });
    const js = jetstream(nc);
    const event = (i: number): TrellisEvent => ({
      type: 'trial.metric',
      experimentId: 'ceiling-experiment-0000000000',
      trialId: `ceiling-trial-${String(i % 32).padStart(6, '0')}`,
      trialNumber: i % 32,
      seq: i + 1,
      time: Date.now(),
      payload: { step: i, attempt: 1, values: { loss: 1 / (i + 1), accuracy: 1 - 1 / (i + 2) } },
    });
    const runs: Record<string, number> = {};
    for (const window of [256, 1024]) {
      const t0 = performance.now();
      for (let i = 0; i < messages; i += window) {
        const sends: Promise<unknown>[] = [];
        for (let k = i; k < Math.min(messages, i + window); k++) {
          sends.push(js.publish(`${subject}.w${window}`, JSON.stringify(event(k)), { msgID: `w${window}-${k}` }));
        }
        await Promise.all(sends);
      }
      const rate = messages / ((performance.now() - t0) / 1000);
      runs[`window_${window}`] = round(rate);
      progress(`ingest: raw NATS JetStream publish, ${window} in flight: ${rate.toFixed(0)} msgs/s`);
    }
    await jsm.streams.delete(stream);
    return { messages, messages_per_second: Math.max(...Object.values(runs)), runs };
  } finally {
    await nc.close();
  }
}
