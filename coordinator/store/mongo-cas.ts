/**
 * Compare-and-set on one MongoStore document, in one of two modes:
 *
 * - native: findOneAndUpdate with the expectation in the filter, atomic on MongoDB;
 * - claims: for servers whose findAndModify is not atomic (FerretDB v1), revision claims
 *   (see claimUpdate).
 *
 * MongoStore picks the mode at start ('auto': claims on FerretDB, native otherwise).
 */
import type { Collection, Db, Document, Filter, UpdateFilter } from 'mongodb';
import { fromRaw, optional, toUpdate, type Raw } from './mongo-documents.js';
import { isDuplicateKey } from './mongo-errors.js';

export type CasMode = 'native' | 'claims';

export class CompareAndSet {
  /** Claims whose release failed (server unreachable); released before the next claim. */
  private readonly orphanClaims = new Set<string>();

  constructor(
    private readonly db: () => Db,
    /** Claims mode: a claim older than this is taken to be left by a crashed writer. */
    private readonly staleClaimMs: number,
    public mode: CasMode = 'native',
  ) {}

  /**
   * A compare-and-set update of one document: `filter` and `test` state the same expectation,
   * as a query (native mode) and as a predicate on the stored document (claims mode).
   */
  async update<T>(
    name: 'experiments' | 'trials',
    id: string,
    filter: Document,
    test: (doc: Document) => boolean,
    patch: object,
    /** False for an update that changes no state (a running trial's metric summary): no claim. */
    transition = true,
  ): Promise<T | undefined> {
    const update = toUpdate(patch);
    const col = this.db().collection<Raw>(name);
    if (!update) {
      const doc = await col.findOne({ _id: id });
      return doc && test(doc) ? fromRaw<T>(doc) : undefined;
    }
    // Without a claim, still `_rev + 1`: a claims writer that read the revision before fails
    // its `{ _id, _rev }` write and reads again, so it never overwrites this update.
    if (this.mode === 'native' || !transition) {
      // findAndModify without `fields`: FerretDB v1 does not implement its projection.
      const doc = await col.findOneAndUpdate(
        { ...filter, _id: id } as Filter<Raw>,
        { ...update, $inc: { _rev: 1 } },
        { returnDocument: 'after' },
      );
      return optional(doc, fromRaw<T>);
    }
    return optional((await this.claimUpdate(name, id, test, update)) ?? null, fromRaw<T>);
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
    const col = this.db().collection<Raw>(name);
    const claims = this.db().collection<{ _id: string; at: number }>('cas');
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
}
