/**
 * The stores the Store contract runs on (test/contract/store*.contract.test.ts): LocalStore in a
 * fresh directory, and MongoStore on FerretDB (the claims compare-and-set path) and on
 * mongo-java-server (the native path), each test in a fresh database.
 */
import assert from 'node:assert/strict';

import type { Store } from '../../coordinator/store/base.js';
import { LocalStore } from '../../coordinator/store/local.js';
import { MongoStore } from '../../coordinator/store/mongo.js';
import { mongoNativeUri, mongoUri, tempDir, uniqueName } from './services.js';

export interface Harness {
  store: Store;
  /** Closes the store and opens a new instance on the same data. */
  reopen(): Promise<Store>;
  /**
   * A second instance open on the same data at the same time, as a second coordinator process
   * has it (MongoStore only; a LocalStore directory has one writer). Closed by dispose.
   */
  peer?(): Promise<Store>;
  dispose(): Promise<void>;
}

export interface Backend {
  name: string;
  open(): Promise<Harness>;
}

export const localBackend: Backend = {
  name: 'LocalStore',
  async open() {
    const tmp = tempDir('trellis-store-');
    const h: Harness = {
      store: new LocalStore(tmp.dir),
      async reopen() {
        await h.store.close();
        h.store = new LocalStore(tmp.dir);
        await h.store.start();
        return h.store;
      },
      async dispose() {
        await h.store.close();
        tmp.remove();
      },
    };
    await h.store.start();
    return h;
  },
};

/**
 * MongoStore on one of the two MongoDB-wire test servers, with `cas: 'auto'` as in production.
 * The compare-and-set mode `auto` picked is asserted at every open, so a run that silently took
 * the other path fails instead of passing for the wrong reason:
 * - FerretDB v1 (findAndModify not atomic) → 'claims';
 * - mongo-java-server (reports MongoDB 6.0, not FerretDB) → 'native', the findOneAndUpdate path
 *   every real MongoDB deployment uses. Where that server diverges from MongoDB, and why the
 *   tests still prove our code: docs/testing.md.
 */
export function mongoBackend(server: 'FerretDB' | 'mongo-java-server', casMode: 'claims' | 'native'): Backend {
  const uriOf = server === 'FerretDB' ? mongoUri : mongoNativeUri;
  const started = async (uri: string, db: string): Promise<MongoStore> => {
    const store = new MongoStore({ uri, db, cas: 'auto' });
    await store.start();
    assert.equal(store.casMode, casMode, `MongoStore on ${server} must take the ${casMode} compare-and-set path`);
    return store;
  };
  return {
    name: `MongoStore on ${server} (${casMode} compare-and-set)`,
    async open() {
      const uri = uriOf();
      const db = uniqueName('trellis_test');
      const peers: MongoStore[] = [];
      const h: Harness = {
        store: await started(uri, db),
        async reopen() {
          await h.store.close();
          h.store = await started(uri, db);
          return h.store;
        },
        async peer() {
          const store = await started(uri, db);
          peers.push(store);
          return store;
        },
        async dispose() {
          for (const peer of peers) await peer.close();
          await h.store.close();
          const cleaner = new MongoStore({ uri, db });
          await cleaner.start();
          await cleaner.dropDatabase();
          await cleaner.close();
        },
      };
      return h;
    },
  };
}
