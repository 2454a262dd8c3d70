/**
 * The error hierarchy of Trellis, and the one place that maps it onto gRPC status codes.
 * Servers throw these; `toGrpcError` turns any error into a ServiceError; clients turn a
 * ServiceError back with `fromGrpcError`, so a CLI can choose its exit code.
 */
import * as grpc from '@grpc/grpc-js';

export class TrellisError extends Error {
  readonly code: grpc.status = grpc.status.INTERNAL;
}

/** Bad input: a spec or request field. The message names the field and the rule. */
export class InvalidArgumentError extends TrellisError {
  override readonly name = 'InvalidArgumentError';
  override readonly code = grpc.status.INVALID_ARGUMENT;
  constructor(readonly issues: string[]) {
    super(issues.join('\n'));
  }
}

export class NotFoundError extends TrellisError {
  override readonly name = 'NotFoundError';
  override readonly code = grpc.status.NOT_FOUND;
}

/** The request is valid but the state does not allow it (cancel a finished experiment). */
export class FailedPreconditionError extends TrellisError {
  override readonly name = 'FailedPreconditionError';
  override readonly code = grpc.status.FAILED_PRECONDITION;
}

export class UnavailableError extends TrellisError {
  override readonly name = 'UnavailableError';
  override readonly code = grpc.status.UNAVAILABLE;
}

/**
 * The connection failed on transport security (TLS on one side only, an untrusted certificate):
 * a configuration mistake that retrying does not fix (shared/tls.ts words the message).
 */
export class TransportSecurityError extends UnavailableError {
  override readonly name = 'TransportSecurityError' as 'UnavailableError';
}

/** No credentials, or credentials the coordinator does not know. */
export class UnauthenticatedError extends TrellisError {
  override readonly name = 'UnauthenticatedError';
  override readonly code = grpc.status.UNAUTHENTICATED;
}

/** Known caller, but its role (or ownership) does not allow the request. */
export class PermissionDeniedError extends TrellisError {
  override readonly name = 'PermissionDeniedError';
  override readonly code = grpc.status.PERMISSION_DENIED;
}

/** A wait or call ran past its deadline; the message names what was awaited. */
export class DeadlineExceededError extends TrellisError {
  override readonly name = 'DeadlineExceededError';
  override readonly code = grpc.status.DEADLINE_EXCEEDED;
}

/**
 * A bound was reached (a rate, a buffer, a number of streams or bytes). The message names the
 * limit and what to do; `resumeFromSeq`, when set, is where a disconnected watcher resumes
 * (sent as the `trellis-resume-from-seq` trailer too).
 */
export class ResourceExhaustedError extends TrellisError {
  override readonly name = 'ResourceExhaustedError';
  override readonly code = grpc.status.RESOURCE_EXHAUSTED;
  constructor(
    message: string,
    readonly resumeFromSeq?: number,
  ) {
    super(message);
  }
}

/** Bytes are not what was announced (a streamed artifact's size or sha256): nothing was published. */
export class DataLossError extends TrellisError {
  override readonly name = 'DataLossError';
  override readonly code = grpc.status.DATA_LOSS;
}

/** A concurrent call holds what this one needs (a second call on an upload in progress); retry later. */
export class AbortedError extends TrellisError {
  override readonly name = 'AbortedError';
  override readonly code = grpc.status.ABORTED;
}

/** Trailer of a watch stream ended for reading too slowly: the from_seq to resume with. */
export const RESUME_FROM_SEQ_KEY = 'trellis-resume-from-seq';

const BY_CODE = new Map<grpc.status, (message: string) => TrellisError>([
  [grpc.status.INVALID_ARGUMENT, (m) => new InvalidArgumentError(m.split('\n'))],
  [grpc.status.NOT_FOUND, (m) => new NotFoundError(m)],
  [grpc.status.FAILED_PRECONDITION, (m) => new FailedPreconditionError(m)],
  [grpc.status.UNAVAILABLE, (m) => new UnavailableError(m)],
  [grpc.status.UNAUTHENTICATED, (m) => new UnauthenticatedError(m)],
  [grpc.status.PERMISSION_DENIED, (m) => new PermissionDeniedError(m)],
  [grpc.status.DEADLINE_EXCEEDED, (m) => new DeadlineExceededError(m)],
  [grpc.status.RESOURCE_EXHAUSTED, (m) => new ResourceExhaustedError(m)],
  [grpc.status.DATA_LOSS, (m) => new DataLossError(m)],
  [grpc.status.ABORTED, (m) => new AbortedError(m)],
]);

function isServiceError(err: unknown): err is grpc.ServiceError {
  return typeof err === 'object' && err !== null && 'code' in err && 'details' in err;
}

export function toGrpcError(err: unknown): Partial<grpc.ServiceError> {
  if (err instanceof ResourceExhaustedError && err.resumeFromSeq !== undefined) {
    const metadata = new grpc.Metadata();
    metadata.set(RESUME_FROM_SEQ_KEY, String(err.resumeFromSeq));
    return { code: err.code, details: err.message, message: err.message, metadata };
  }
  if (err instanceof TrellisError) return { code: err.code, details: err.message, message: err.message };
  const name = (err as Error | undefined)?.name;
  if (name === 'StoreUnavailableError' || name === 'MongoServerSelectionError' || name === 'MongoNetworkError') {
    return { code: grpc.status.UNAVAILABLE, details: `store unavailable: ${(err as Error).message}` };
  }
  if (name === 'IllegalTransitionError') {
    return { code: grpc.status.FAILED_PRECONDITION, details: (err as Error).message };
  }
  const message = err instanceof Error ? err.message : String(err);
  return { code: grpc.status.INTERNAL, details: message, message };
}

/** A client-side view of a failed call: the matching TrellisError subclass, or the error as is. */
export function fromGrpcError(err: unknown): Error {
  if (!isServiceError(err)) return err instanceof Error ? err : new Error(String(err));
  if (err.code === grpc.status.RESOURCE_EXHAUSTED) {
    const resume = Number(err.metadata?.get(RESUME_FROM_SEQ_KEY)[0] ?? NaN);
    return new ResourceExhaustedError(err.details, Number.isSafeInteger(resume) && resume > 0 ? resume : undefined);
  }
  const make = BY_CODE.get(err.code);
  return make ? make(err.details) : new TrellisError(`${grpc.status[err.code]}: ${err.details}`);
}
