/**
 * How MongoStore reads the driver's errors: a duplicate key (an insert that lost a race, which
 * is an answer, not a failure), and "cannot reach the server", which becomes
 * StoreUnavailableError so that callers wait for the store instead of failing.
 */
import {
  MongoBulkWriteError,
  MongoError,
  MongoNetworkError,
  MongoNotConnectedError,
  MongoOperationTimeoutError,
  MongoServerClosedError,
  MongoServerError,
  MongoServerSelectionError,
} from 'mongodb';
import { StoreUnavailableError } from './base.js';

export function isDuplicateKey(err: unknown): boolean {
  if (err instanceof MongoBulkWriteError) {
    const errors = [err.writeErrors].flat();
    return errors.length > 0 && errors.every((e) => e.code === 11000);
  }
  return err instanceof MongoError && (err.code === 11000 || err.code === 11001);
}

const UNAVAILABLE_CODES = new Set([6, 7, 89, 91, 189, 9001, 10107, 11600, 11602, 13435, 13436]);

export function isUnavailable(err: unknown): boolean {
  if (err instanceof StoreUnavailableError) return true;
  if (
    err instanceof MongoNetworkError ||
    err instanceof MongoServerSelectionError ||
    err instanceof MongoServerClosedError ||
    err instanceof MongoNotConnectedError ||
    err instanceof MongoOperationTimeoutError
  ) {
    return true;
  }
  if (err instanceof MongoServerError && typeof err.code === 'number' && UNAVAILABLE_CODES.has(err.code)) return true;
  if (
    err instanceof MongoBulkWriteError &&
    (!err.writeErrors || (Array.isArray(err.writeErrors) && err.writeErrors.length === 0))
  ) {
    // A bulk write cut off by the connection: no per-document errors, a pool-reset label.
    return (
      err.hasErrorLabel('ResetPool') ||
      err.hasErrorLabel('RetryableWriteError') ||
      /closed|timed out|ECONN/i.test(err.message)
    );
  }
  return (
    err instanceof MongoError &&
    (err.hasErrorLabel('RetryableWriteError') || err.hasErrorLabel('ResetPool')) &&
    !(err instanceof MongoServerError && err.code === 11000)
  );
}

export function mapError(err: unknown): unknown {
  if (err instanceof StoreUnavailableError || !isUnavailable(err)) return err;
  const msg = err instanceof Error ? err.message : String(err);
  return new StoreUnavailableError(`MongoDB is unreachable: ${msg}`, { cause: err });
}
