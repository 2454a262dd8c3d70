/**
 * MongoStore's options: each documented with its default, checked once with messages that name
 * the value and the rule (`resolveOptions`), so a MongoStore never holds an invalid setting.
 */
import type { W } from 'mongodb';

export interface MongoStoreOptions {
  /** Connection string. Required (createStore passes $MONGODB_URI). */
  uri?: string;
  /** Database name. Default: 'trellis'. */
  db?: string;
  /** Write concern `w`: 'majority' or a number of members. Default: 'majority'. */
  writeConcern?: W;
  /** How long an operation waits for a reachable server before StoreUnavailableError. Default 2000 ms. */
  serverSelectionTimeoutMS?: number;
  /** Socket connect timeout. Default 2000 ms. */
  connectTimeoutMS?: number;
  /**
   * How compare-and-set updates are made: 'native' (findOneAndUpdate, atomic on MongoDB),
   * 'claims' (revision claims, for servers whose findAndModify is not atomic: FerretDB v1), or
   * 'auto': claims on FerretDB, native otherwise. Default: 'auto'.
   */
  cas?: 'native' | 'claims' | 'auto';
  /**
   * CA bundle (PEM) for a server over TLS (MONGODB_TLS_CA_FILE); turns TLS on. Credentials and
   * other TLS settings go in the connection string (`mongodb://user:pass@host/?tls=true`).
   */
  tlsCAFile?: string;
  /** Claims mode: a claim older than this is taken to be left by a crashed writer. Default 10 s. */
  staleClaimMs?: number;
}

/** The options with their defaults, checked. */
export interface ResolvedMongoOptions {
  uri: string;
  dbName: string;
  writeConcern: W;
  serverSelectionTimeoutMS: number;
  connectTimeoutMS: number;
  tlsCAFile: string | undefined;
  cas: 'native' | 'claims' | 'auto';
  staleClaimMs: number;
}

/** Applies the defaults and checks every value (TypeError naming the value and the rule). */
export function resolveOptions(options: MongoStoreOptions): ResolvedMongoOptions {
  const uri = options.uri;
  if (!uri) throw new TypeError('MongoStore: no connection string (pass uri, e.g. from MONGODB_URI)');
  const dbName = options.db ?? 'trellis';
  if (!/^[^/\\. "$*<>:|?]{1,63}$/.test(dbName)) {
    throw new TypeError(
      `MongoStore: database name ${JSON.stringify(dbName)} is not valid (1-63 characters, none of /\\. "$*<>:|?)`,
    );
  }
  const writeConcern = options.writeConcern ?? 'majority';
  const serverSelectionTimeoutMS = options.serverSelectionTimeoutMS ?? 2000;
  const connectTimeoutMS = options.connectTimeoutMS ?? 2000;
  const tlsCAFile = options.tlsCAFile;
  const cas = options.cas ?? 'auto';
  if (cas !== 'native' && cas !== 'claims' && cas !== 'auto')
    throw new TypeError(`MongoStore: cas is ${JSON.stringify(cas)}, but must be native, claims or auto`);
  const staleClaimMs = options.staleClaimMs ?? 10_000;
  if (!(staleClaimMs > 0)) throw new TypeError(`MongoStore: staleClaimMs is ${options.staleClaimMs}, but must be > 0`);
  if (!(serverSelectionTimeoutMS > 0)) {
    throw new TypeError(`MongoStore: serverSelectionTimeoutMS is ${options.serverSelectionTimeoutMS}, but must be > 0`);
  }
  return { uri, dbName, writeConcern, serverSelectionTimeoutMS, connectTimeoutMS, tlsCAFile, cas, staleClaimMs };
}
