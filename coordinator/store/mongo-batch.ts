/**
 * Group commit for insert-only collections (metric rows): documents of calls that arrive
 * while earlier inserts are in flight go to the server together, in one unordered bulk insert
 * (up to `maxDocs`), instead of one round trip per call. Inserts are idempotent on `_id`: a
 * document whose `_id` exists is refused by the unique index and counted as not new, so a
 * call's result is the number of its documents that were new, as if it had been alone.
 * `insertIgnoringDuplicates` is the same insert for one call, without batching (events).
 */
import { MongoBulkWriteError, type Collection } from 'mongodb';
import type { Raw } from './mongo-documents.js';
import { isDuplicateKey } from './mongo-errors.js';

interface Call {
  docs: Raw[];
  resolve: (fresh: number) => void;
  reject: (err: unknown) => void;
}

export class InsertBatcher {
  private queue: Call[] = [];
  private inFlight = 0;

  constructor(
    private readonly collection: () => Collection<Raw>,
    /** Documents per bulk insert at most. */
    private readonly maxDocs = 1000,
    /** Bulk inserts in flight at once. */
    private readonly maxInFlight = 1,
  ) {}

  /** Inserts `docs` (distinct `_id`s); resolves with how many were new. */
  insert(docs: Raw[]): Promise<number> {
    return new Promise((resolve, reject) => {
      this.queue.push({ docs, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    while (this.inFlight < this.maxInFlight && this.queue.length > 0) {
      const calls: Call[] = [];
      let size = 0;
      while (this.queue.length > 0 && (calls.length === 0 || size + this.queue[0]!.docs.length <= this.maxDocs)) {
        const call = this.queue.shift()!;
        calls.push(call);
        size += call.docs.length;
      }
      this.inFlight++;
      void this.write(calls).finally(() => {
        this.inFlight--;
        this.pump();
      });
    }
  }

  private async write(calls: Call[]): Promise<void> {
    // The first call to name an _id owns it; a later one in the same batch sees it as not new.
    const docs: Raw[] = [];
    const owner: number[] = [];
    const seen = new Set<unknown>();
    const fresh = calls.map(() => 0);
    calls.forEach((call, c) => {
      for (const doc of call.docs) {
        if (seen.has(doc._id)) continue;
        seen.add(doc._id);
        docs.push(doc);
        owner.push(c);
        fresh[c]!++;
      }
    });
    try {
      try {
        await this.collection().insertMany(docs, { ordered: false });
      } catch (err) {
        // An unordered insert tries every document and reports one write error per refused one.
        // The server's `n` is not used: mongo-java-server counts refused documents in it too.
        if (err instanceof MongoBulkWriteError && isDuplicateKey(err)) {
          for (const e of [err.writeErrors].flat()) fresh[owner[e.index]!]!--;
        } else if (docs.length === 1 && isDuplicateKey(err)) {
          fresh[owner[0]!]!--;
        } else {
          throw err;
        }
      }
      calls.forEach((call, c) => call.resolve(fresh[c]!));
    } catch (err) {
      for (const call of calls) call.reject(err);
    }
  }
}

/**
 * Inserts `docs` unordered, skipping those whose `_id` exists; returns how many were new.
 * An unordered insert attempts every document and reports one write error per document it
 * refused, so the count is `docs - errors`. The server's `n` (the driver's insertedCount) is not
 * used: mongo-java-server counts refused documents in it as well (docs/testing.md).
 */
export async function insertIgnoringDuplicates(col: Collection<Raw>, docs: Raw[]): Promise<number> {
  try {
    const res = await col.insertMany(docs, { ordered: false });
    return res.insertedCount;
  } catch (err) {
    if (err instanceof MongoBulkWriteError && isDuplicateKey(err)) {
      const refused = Array.isArray(err.writeErrors) ? err.writeErrors.length : 1;
      return docs.length - refused;
    }
    if (docs.length === 1 && isDuplicateKey(err)) return 0;
    throw err;
  }
}
