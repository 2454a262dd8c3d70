/**
 * Picks the store: MongoStore when MONGODB_URI is set (distributed mode), else LocalStore in
 * `dir` (embedded mode).
 */
import type { Store } from './base.js';
import { LocalStore } from './local.js';
import { MongoStore } from './mongo.js';

export interface StoreEnv {
  MONGODB_URI?: string;
  /** Database name for MongoStore (default 'trellis'). */
  TRELLIS_DB?: string;
  /** 'majority' (default) or a number of members. */
  TRELLIS_WRITE_CONCERN?: string;
  /** Set to '1' to fsync every LocalStore journal write. */
  TRELLIS_DURABLE?: string;
  /** LocalStore directory (used when MONGODB_URI is not set). */
  dir: string;
}

export function createStore(env: StoreEnv): Store {
  if (env.MONGODB_URI) {
    return new MongoStore({
      uri: env.MONGODB_URI,
      db: env.TRELLIS_DB || 'trellis',
      ...(env.TRELLIS_WRITE_CONCERN ? { writeConcern: parseW(env.TRELLIS_WRITE_CONCERN) } : {}),
    });
  }
  if (!env.dir)
    throw new TypeError('createStore: MONGODB_URI is not set, so a local store directory (dir) is required');
  return new LocalStore(env.dir, { durable: env.TRELLIS_DURABLE === '1' || env.TRELLIS_DURABLE === 'true' });
}

function parseW(value: string): 'majority' | number {
  if (value === 'majority') return value;
  if (/^\d+$/.test(value)) return Number(value);
  throw new TypeError(
    `TRELLIS_WRITE_CONCERN is ${JSON.stringify(value)}, but must be 'majority' or a number of members`,
  );
}
