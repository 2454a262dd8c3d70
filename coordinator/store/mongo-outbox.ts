/**
 * The event outbox's "published" marks on MongoStore, kept out of the events collection: one
 * small `outbox` document per experiment, `{ _id: experimentId, through, above }`. An event is
 * published when its experiment's document covers its seq (seq ≤ `through`, or seq in `above`)
 * or, for events marked by builds before this one, when its own `published` flag is true (new
 * events are still stored with `published: false`, so both kinds are found by one index).
 *
 * Why: marking the events themselves (`updateMany` over `{ experimentId, seq: { $in } }`) makes
 * FerretDB v1 (SQLite) scan the whole events collection per call, and the event log marks after
 * every batch it publishes: 4.7 s for 50 marks among 5,000 events on this machine, growing with
 * the collection. Updating one document of a small collection costs the same at any size.
 *
 * Concurrency: the event log marks one experiment's batches one after another, in seq order,
 * so `above` stays empty and `through` moves up. Should two writers race anyway, `through`
 * only grows (`$max`) over seqs that some caller said were published, and the worst a lost
 * `above` can do is leave an event unpublished: it is published again after a restart and the
 * bus drops the duplicate (at least once, never lost).
 */
import type { Collection, Db, Filter } from 'mongodb';
import type { Raw } from './mongo-documents.js';

export interface OutboxDoc {
  _id: string;
  /** Every seq up to this one is published. */
  through: number;
  /** Seqs above `through` published out of order (at most MAX_ABOVE). */
  above: number[];
}

/** Out-of-order marks kept in an outbox document; more are set on the events themselves. */
export const MAX_ABOVE = 1000;

/** Outbox documents per `$or` query when listing unpublished events. */
const EXPERIMENTS_PER_QUERY = 100;

/** Experiments whose `through` this instance remembers (the oldest is forgotten first). */
const REMEMBERED = 10_000;

export class OutboxMarks {
  /**
   * `through` of experiments as this instance last read or wrote it. It can only be behind the
   * stored one (`through` only grows), so a run of seqs that starts at or below it + 1 and has
   * no hole can move `through` up with one `$max`, without reading the document first: every
   * seq between the stored `through` and the run's end is then published. The event log's
   * marks are such runs, so each costs one round trip.
   */
  private readonly known = new Map<string, number>();

  constructor(private readonly db: () => Db) {}

  private remember(experimentId: string, through: number): void {
    this.known.delete(experimentId);
    this.known.set(experimentId, through);
    if (this.known.size > REMEMBERED) this.known.delete(this.known.keys().next().value!);
  }

  private outbox(): Collection<OutboxDoc> {
    return this.db().collection<OutboxDoc>('outbox');
  }

  async markPublished(experimentId: string, seqs: number[]): Promise<void> {
    const col = this.outbox();
    const known = this.known.get(experimentId);
    const run = holeless(seqs);
    if (known !== undefined && run && run.from <= known + 1) {
      if (run.to <= known) return;
      const res = await col.updateOne({ _id: experimentId }, { $max: { through: run.to } });
      if (res.matchedCount === 1) {
        this.remember(experimentId, run.to);
        return;
      }
      // The document is gone (the database was dropped): the full path below.
    }
    const doc = await col.findOne({ _id: experimentId });
    let through = doc?.through ?? 0;
    const above = new Set((doc?.above ?? []).filter((s) => s > through));
    for (const seq of seqs) if (Number.isSafeInteger(seq) && seq > through) above.add(seq);
    while (above.delete(through + 1)) through++;
    const sorted = [...above].sort((a, b) => a - b);
    const kept = sorted.slice(0, MAX_ABOVE);
    const overflow = sorted.slice(MAX_ABOVE);
    if (overflow.length > 0) {
      // A gap that never closes would grow `above` without bound: the highest marks go on the
      // events themselves (slow on FerretDB, but only in that unusual case).
      await this.db()
        .collection<Raw>('events')
        .updateMany({ experimentId, seq: { $in: overflow }, published: false }, { $set: { published: true } });
    }
    if (!(doc && through === doc.through && sameList(kept, doc.above))) {
      await col.updateOne({ _id: experimentId }, { $max: { through }, $set: { above: kept } }, { upsert: true });
    }
    this.remember(experimentId, through);
  }

  /**
   * The first `limit` unpublished events' documents, by (experimentId, seq): events of
   * experiments without an outbox document, and per outbox document those it does not cover
   * (one query per EXPERIMENTS_PER_QUERY experiments; this runs when a coordinator starts).
   */
  async unpublished(limit: number): Promise<Raw[]> {
    const events = this.db().collection<Raw>('events');
    const docs = await this.outbox().find({}).toArray();
    const queries: Filter<Raw>[] = [{ published: false, experimentId: { $nin: docs.map((d) => d._id) } }];
    for (let i = 0; i < docs.length; i += EXPERIMENTS_PER_QUERY) {
      const clauses = docs.slice(i, i + EXPERIMENTS_PER_QUERY).map((d) => ({
        experimentId: d._id,
        seq: d.above.length > 0 ? { $gt: d.through, $nin: d.above } : { $gt: d.through },
      }));
      queries.push({ published: false, $or: clauses });
    }
    const found: Raw[] = [];
    for (const query of queries) {
      found.push(...(await events.find(query).sort({ experimentId: 1, seq: 1 }).limit(limit).toArray()));
    }
    found.sort((a, b) =>
      a.experimentId === b.experimentId
        ? (a.seq as number) - (b.seq as number)
        : String(a.experimentId) < String(b.experimentId)
          ? -1
          : 1,
    );
    return found.slice(0, limit);
  }
}

/** `seqs` as the run from..to when they are whole numbers without a hole (any order, repeats allowed). */
function holeless(seqs: number[]): { from: number; to: number } | undefined {
  let from = Infinity;
  let to = -Infinity;
  for (const s of seqs) {
    if (!Number.isSafeInteger(s)) return undefined;
    from = Math.min(from, s);
    to = Math.max(to, s);
  }
  return seqs.length > 0 && new Set(seqs).size === to - from + 1 ? { from, to } : undefined;
}

function sameList(a: number[], b: number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}
