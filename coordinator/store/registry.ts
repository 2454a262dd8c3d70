/**
 * Picks the store: MongoStore when MONGODB_URI is set (distributed mode), else LocalStore in
 * `dir` (embedded mode). The values come parsed and checked from shared/env.ts.
 */
import type { Store } from './base.js';
import { LocalStore } from './local.js';
import { MongoStore } from './mongo.js';
import type { TrellisEnv } from '../../shared/env.js';

export type StoreEnv = Partial<
  Pick<
    TrellisEnv,
    | 'MONGODB_URI'
    | 'MONGODB_TLS_CA_FILE'
    | 'TRELLIS_DB'
    | 'TRELLIS_WRITE_CONCERN'
    | 'TRELLIS_MONGO_CAS'
    | 'TRELLIS_DURABLE'
  >
> & {
  /** LocalStore directory (used when MONGODB_URI is not set). */
  dir: string;
};

export function createStore(env: StoreEnv): Store {
  if (env.MONGODB_URI) {
    return new MongoStore({
      uri: env.MONGODB_URI,
      ...(env.TRELLIS_DB ? { db: env.TRELLIS_DB } : {}),
      ...(env.TRELLIS_WRITE_CONCERN !== undefined ? { writeConcern: env.TRELLIS_WRITE_CONCERN } : {}),
      ...(env.TRELLIS_MONGO_CAS ? { cas: env.TRELLIS_MONGO_CAS } : {}),
      ...(env.MONGODB_TLS_CA_FILE ? { tlsCAFile: env.MONGODB_TLS_CA_FILE } : {}),
    });
  }
  if (!env.dir)
    throw new TypeError('createStore: MONGODB_URI is not set, so a local store directory (dir) is required');
  return new LocalStore(env.dir, { durable: env.TRELLIS_DURABLE ?? false });
}
