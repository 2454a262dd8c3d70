/**
 * What the services themselves can take, measured with their raw clients in the same run as
 * Trellis (suite `ingest`), so that Trellis's rates can be given as a fraction of them:
 *
 * - MongoDB-wire server: unordered bulk inserts (`insertMany`, ordered: false) of the very
 *   documents MongoStore writes for metric reports (same `_id`, keys, values, write concern
 *   and indexes), into a fresh database; the best of a few batch sizes and depths. Two
 *   volumes: the metric rows alone (`rows`), and the same write volume as a report costs
 *   MongoStore (`rows_and_events`: its metric row and its `trial.metric` outbox event, each
 *   into its own collection at once, as the store does), counted in reports (pairs) per second.
 * - NATS JetStream: async publishes (many in flight, each with a message id, as NatsBus sends
 *   them) of `trial.metric` events of the same size, to a file-backed stream of its own with
 *   the same settings, deleted afterwards.
 *
 * `againstCeilings` runs Trellis between two measurements of each ceiling (before and after,
 * the ratio against their mean: on this shared machine the load drifts within minutes).
 */
import { MongoClient, type Collection, type Document } from 'mongodb';
import { connect } from '@nats-io/transport-node';
import { AckedPublisher } from '../coordinator/bus/nats-publisher.js';
import {
  DeliverPolicy,
  DiscardPolicy,
  jetstream,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
} from '@nats-io/jetstream';
import { encodeKeys } from '../coordinator/store/mongo-documents.js';
import { eventId } from '../shared/events.js';
import { INDEXES } from '../coordinator/store/mongo.js';
import type { TrellisEvent } from '../shared/events.js';
import type { MetricDoc } from '../shared/types.js';
import { progress, ratio, round } from './common.js';

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

/** The `trial.metric` outbox events of the same reports, as MongoStore stores them. */
function eventsOf(count: number, trials: number): Document[] {
  const docs: Document[] = [];
  for (let i = 0; i < count; i++) {
    const trial = i % trials;
    const step = Math.floor(i / trials) + 1;
    const event: TrellisEvent = {
      type: 'trial.metric',
      experimentId: 'ceiling-experiment-0000000000',
      trialId: `ceiling-trial-${String(trial).padStart(6, '0')}`,
      trialNumber: trial,
      seq: i + 1,
      time: Date.now(),
      payload: { step, attempt: 1, values: { loss: 1 / step, accuracy: 1 - 1 / (step + 1) } },
    };
    docs.push({ ...(encodeKeys(event) as Document), _id: eventId(event), published: false });
  }
  return docs;
}

/**
 * Inserts each list into its collection (all at once, as MongoStore's metric rows and events go
 * out side by side), in batches of `batch`, `depth` batches in flight per collection; returns
 * the first list's documents per second (reports per second when the lists are paired).
 */
async function insertRate(
  client: MongoClient,
  db: string,
  lists: { collection: 'metrics' | 'events'; docs: Document[] }[],
  batch: number,
  depth: number,
): Promise<number> {
  const cols: Collection<Document>[] = [];
  for (const { collection } of lists) {
    const col = client.db(db).collection(collection);
    for (const { key, ...options } of INDEXES[collection]!) await col.createIndex(key, options);
    cols.push(col);
  }
  const t0 = performance.now();
  await Promise.all(
    lists.map(async ({ docs }, c) => {
      let next = 0;
      await Promise.all(
        Array.from({ length: depth }, async () => {
          while (next < docs.length) {
            const slice = docs.slice(next, next + batch);
            next += batch;
            await cols[c]!.insertMany(slice, { ordered: false });
          }
        }),
      );
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  // The collections, not the database: FerretDB v1 on SQLite was seen to crash (SIGBUS in its
  // WAL recovery) on database drops under load.
  for (const col of cols) await col.drop();
  return lists[0]!.docs.length / seconds;
}

/**
 * The raw driver's insert rate of `docs` metric rows (`rows`) and of `docs` rows with their
 * outbox events (`rows_and_events`, reports per second), best of batch 100 × 1 and 500 × 2 in
 * flight (1000 × 2 was never the best in earlier runs).
 */
export async function mongoCeiling(uri: string, docs: number, trials: number): Promise<Record<string, unknown>> {
  const client = new MongoClient(uri, {
    serverSelectionTimeoutMS: 2000,
    writeConcern: { w: 'majority' },
    ignoreUndefined: true,
  });
  await client.connect();
  try {
    const db = `trellis_ceiling_${process.pid}`;
    const rows: Record<string, number> = {};
    const paired: Record<string, number> = {};
    for (const [batch, depth] of [
      [100, 1],
      [500, 2],
    ] as const) {
      const name = `batch_${batch}_depth_${depth}`;
      const metrics = { collection: 'metrics' as const, docs: rowsOf(docs, trials) };
      rows[name] = round(await insertRate(client, db, [metrics], batch, depth));
      progress(`ingest: raw driver, rows, insertMany of ${batch} × ${depth} in flight: ${rows[name]} docs/s`);
      const events = { collection: 'events' as const, docs: eventsOf(docs, trials) };
      paired[name] = round(await insertRate(client, db, [metrics, events], batch, depth));
      progress(`ingest: raw driver, rows + events, ${batch} × ${depth} in flight each: ${paired[name]} reports/s`);
    }
    return {
      docs,
      docs_per_second: Math.max(...Object.values(rows)),
      rows_and_events_per_second: Math.max(...Object.values(paired)),
      runs: { rows, rows_and_events: paired },
    };
  } finally {
    await client.close();
  }
}

export async function natsCeiling(servers: string, messages: number): Promise<Record<string, unknown>> {
  // The same client setting as NatsBus (no stack trace built per publish): the raw ceiling stays the best case.
  const nc = await connect({ servers, noAsyncTraces: true });
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
    const subscribed: Record<string, number> = {};
    // NatsBus's own publisher (the same acknowledged publishes on core NATS, without js.publish's
    // per-message costs): what the server takes when the client is not the limit.
    const acked = new AckedPublisher(nc);
    const lean: Record<string, number> = {};
    /** Publishes `messages` events, `window` in flight; with `consumer`, until it has them all. */
    const publishRate = async (
      name: string,
      window: number,
      consumer: boolean,
      sliding = false,
      viaAcked = false,
    ): Promise<number> => {
      const target = `${subject}.${name}`;
      const publish = (payload: string, msgID: string): Promise<unknown> =>
        viaAcked ? acked.publish(target, payload, msgID, 5000) : js.publish(target, payload, { msgID });
      let delivered: Promise<void> = Promise.resolve();
      let stop: (() => void) | undefined;
      if (consumer) {
        // A live ordered consumer in the same process, as the ingest suite's subscriber is.
        const sub = await (
          await js.consumers.get(stream, { filter_subjects: target, deliver_policy: DeliverPolicy.All })
        ).consume({ max_messages: 256 });
        stop = () => void sub.stop();
        delivered = (async () => {
          let got = 0;
          for await (const m of sub) {
            JSON.parse(m.string());
            if (++got >= messages) return;
          }
        })();
      }
      const t0 = performance.now();
      if (sliding) {
        // Each acknowledgement lets the next message go, `window` unacknowledged at most (as NatsBus's event log sends).
        let next = 0;
        const lane = async (): Promise<void> => {
          for (let k = next++; k < messages; k = next++) {
            await publish(JSON.stringify(event(k)), `${name}-${k}`);
          }
        };
        await Promise.all(Array.from({ length: window }, lane));
      } else {
        for (let i = 0; i < messages; i += window) {
          const sends: Promise<unknown>[] = [];
          for (let k = i; k < Math.min(messages, i + window); k++) {
            sends.push(publish(JSON.stringify(event(k)), `${name}-${k}`));
          }
          await Promise.all(sends);
        }
      }
      await delivered;
      stop?.();
      return messages / ((performance.now() - t0) / 1000);
    };
    // The ceiling is the best of batches of `window` (each waiting for its slowest) and a
    // sliding window of the same size.
    for (const window of [256, 1024]) {
      runs[`window_${window}`] = round(await publishRate(`w${window}`, window, false));
      progress(`ingest: raw NATS JetStream publish, ${window} in flight: ${runs[`window_${window}`]} msgs/s`);
    }
    runs.sliding_256 = round(await publishRate('x256', 256, false, true));
    progress(`ingest: raw NATS JetStream publish, sliding window of 256: ${runs.sliding_256} msgs/s`);
    subscribed.window_256 = round(await publishRate('s256', 256, true));
    subscribed.sliding_256 = round(await publishRate('y256', 256, true, true));
    progress(
      `ingest: raw NATS JetStream publish, 256 in flight, with a live consumer: ${subscribed.window_256} msgs/s (sliding: ${subscribed.sliding_256})`,
    );
    lean.sliding_256 = round(await publishRate('a256', 256, false, true, true));
    lean.with_live_consumer_sliding_256 = round(await publishRate('b256', 256, true, true, true));
    progress(
      `ingest: NATS JetStream publish through NatsBus's publisher, sliding window of 256: ${lean.sliding_256} msgs/s (with a live consumer: ${lean.with_live_consumer_sliding_256})`,
    );
    acked.close();
    await jsm.streams.delete(stream);
    return {
      messages,
      messages_per_second: Math.max(...Object.values(runs)),
      with_live_consumer_per_second: Math.max(...Object.values(subscribed)),
      acked_publisher_per_second: lean.sliding_256,
      acked_publisher_with_live_consumer_per_second: lean.with_live_consumer_sliding_256,
      runs: { ...runs, with_live_consumer: subscribed, acked_publisher: lean },
    };
  } finally {
    await nc.close();
  }
}

// ------------------------------------------------------------------ Trellis against the ceilings

/** Open loop at this rate (reports/s) for OPEN_LOOP_SECONDS: the stored-latency goal's load. */
const OPEN_LOOP_RATE = 1000;
const OPEN_LOOP_SECONDS = 15;

type Run = Record<string, unknown>;

/** A ceiling measured right before and right after a Trellis run (the machine's load drifts). */
async function around(
  ceiling: () => Promise<Run>,
  trellis: () => Promise<Run>,
): Promise<{ before: Run; trellis: Run; after: Run }> {
  const safely = (): Promise<Run> => ceiling().catch((err: unknown) => ({ error: String(err) }));
  const before = await safely();
  const run = await trellis();
  const after = await safely();
  return { before, trellis: run, after };
}

/** The mean of a number field of two runs (undefined when either lacks it). */
function meanOf(a: Run, b: Run, key: string): number | undefined {
  const x = a[key];
  const y = b[key];
  return typeof x === 'number' && typeof y === 'number' ? round((x + y) / 2) : undefined;
}

/**
 * MongoStore alone (LocalBus) and NatsBus alone (LocalStore), closed loop, each between two
 * measurements of the raw clients' ceiling on the same servers (before and after: the ratio is
 * taken against their mean); then MongoStore + NatsBus in an open loop at OPEN_LOOP_RATE
 * reports/s for OPEN_LOOP_SECONDS, for the stored p99.
 */
export async function againstCeilings(
  env: { MONGODB_URI?: string; NATS_URL?: string },
  attempts: number,
  reports: number,
  /** A Trellis run of suite `ingest` (bench/ingest.ts); `window` undefined: the suite's. */
  trellis: (reports: number, parts: { mongo: boolean; nats: boolean }, window?: number, rate?: number) => Promise<Run>,
): Promise<{ runs: Record<string, unknown>; ceilings: Record<string, unknown>; goals: Record<string, unknown> }> {
  const mongo = await around(
    () => mongoCeiling(env.MONGODB_URI!, reports, attempts),
    () => trellis(reports, { mongo: true, nats: false }),
  );
  const nats = await around(
    () => natsCeiling(env.NATS_URL!, reports),
    () => trellis(reports, { mongo: false, nats: true }),
  );
  const openLoop = await trellis(OPEN_LOOP_RATE * OPEN_LOOP_SECONDS, { mongo: true, nats: true }, 1, OPEN_LOOP_RATE);
  const num = (r: Record<string, unknown>, key: string): number | undefined =>
    typeof r[key] === 'number' ? r[key] : undefined;
  const storeRate = num(mongo.trellis, 'reports_per_second');
  const rowsCeiling = meanOf(mongo.before, mongo.after, 'docs_per_second');
  const volumeCeiling = meanOf(mongo.before, mongo.after, 'rows_and_events_per_second');
  const natsCeilingRate = meanOf(nats.before, nats.after, 'messages_per_second');
  const storeFraction = ratio(storeRate, rowsCeiling);
  const volumeFraction = ratio(storeRate, volumeCeiling);
  const natsConsumedRate = meanOf(nats.before, nats.after, 'with_live_consumer_per_second');
  const busFraction = ratio(num(nats.trellis, 'reports_per_second'), natsCeilingRate);
  const busConsumedFraction = ratio(num(nats.trellis, 'reports_per_second'), natsConsumedRate);
  const natsAckedRate = meanOf(nats.before, nats.after, 'acked_publisher_per_second');
  const natsAckedConsumedRate = meanOf(nats.before, nats.after, 'acked_publisher_with_live_consumer_per_second');
  const openP99 = (openLoop.stored_latency_ms as { p99?: number } | undefined)?.p99;
  const sustained = num(openLoop, 'reports_per_second');
  const goal = (value: number | null, what: string): Record<string, unknown> => ({
    value,
    target: '>= 0.5',
    met: value === null ? null : value >= 0.5,
    what,
  });
  return {
    runs: {
      mongo_store_local_bus: mongo.trellis,
      local_store_nats_bus: nats.trellis,
      open_loop_mongo_nats: openLoop,
    },
    ceilings: {
      mongo_raw_insert_many: { before: mongo.before, after: mongo.after },
      nats_raw_async_publish: { before: nats.before, after: nats.after },
      means: {
        rows_docs_per_second: rowsCeiling,
        rows_and_events_reports_per_second: volumeCeiling,
        nats_messages_per_second: natsCeilingRate,
        nats_with_live_consumer_per_second: natsConsumedRate,
        nats_acked_publisher_per_second: natsAckedRate,
        nats_acked_publisher_with_live_consumer_per_second: natsAckedConsumedRate,
      },
    },
    goals: {
      store_half_of_ceiling: goal(
        storeFraction,
        'MongoStore reports/s (closed loop, LocalBus) ÷ raw insertMany of the metric rows alone, docs/s (mean of before and after), same server, same documents',
      ),
      store_half_of_same_write_volume: goal(
        volumeFraction,
        "MongoStore reports/s ÷ raw insertMany of the same write volume: each report's metric row and its outbox event, reports/s (mean of before and after)",
      ),
      bus_half_of_ceiling: goal(
        busFraction,
        'NatsBus reports/s (closed loop, LocalStore) ÷ raw async JetStream publishes/s (mean of before and after), same server',
      ),
      bus_half_of_ceiling_with_consumer: goal(
        busConsumedFraction,
        'NatsBus reports/s ÷ raw async JetStream publishes/s (256 in flight) delivered to a live consumer in the same process, as the suite counts Trellis (mean of before and after)',
      ),
      // Not the issue's ceiling (the client's own async publishing), but what the server takes
      // through NatsBus's leaner publisher: the fraction left for Trellis's own work per report.
      bus_of_acked_publisher_ceiling: {
        value: ratio(num(nats.trellis, 'reports_per_second'), natsAckedRate),
        with_live_consumer: ratio(num(nats.trellis, 'reports_per_second'), natsAckedConsumedRate),
        what: "NatsBus reports/s ÷ acknowledged publishes/s through NatsBus's own publisher (sliding window of 256), without and with a live consumer (means of before and after); reported, not a goal",
      },
      stored_p99_at_1000_per_s: {
        value: openP99 ?? null,
        target: '<= 250 ms',
        met:
          openP99 === undefined
            ? null
            : openP99 <= 250 && sustained !== undefined && sustained >= OPEN_LOOP_RATE * 0.95,
        what: `report → metric row stored, p99, MongoStore + NatsBus, open loop at ${OPEN_LOOP_RATE}/s for ${OPEN_LOOP_SECONDS} s (met only if the rate was sustained)`,
      },
    },
  };
}
