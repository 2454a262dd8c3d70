/**
 * The one gate every ExperimentService and WorkerService call passes (server.ts wraps each
 * handler with it once): read the bearer token from the call metadata, authenticate it, check
 * the method table. Without an authenticator (no tokens configured: loopback, or --insecure)
 * every caller is ANONYMOUS with the admin role. Health is not behind it.
 */
import type * as grpc from '@grpc/grpc-js';
import { ANONYMOUS, authorize, type Identity } from './policy.js';
import type { Authenticator } from './tokens.js';
import { requestToken, type Authorize, type HttpAction } from '../http/auth.js';

/** Metadata key of the token: `authorization: Bearer <token>`. */
export const AUTH_METADATA_KEY = 'authorization';

export function tokenOf(metadata: grpc.Metadata): string | undefined {
  const value = metadata.get(AUTH_METADATA_KEY)[0];
  if (typeof value !== 'string') return undefined;
  const match = /^Bearer\s+(\S+)$/i.exec(value.trim());
  return match?.[1];
}

/** The caller of `method` ("Service.Method"), or UnauthenticatedError / PermissionDeniedError. */
export function admit(auth: Authenticator | undefined, metadata: grpc.Metadata, method: string): Identity {
  const who = auth ? auth.authenticate(tokenOf(metadata)) : ANONYMOUS;
  authorize(who, method);
  return who;
}

/** What each dashboard action needs: the role table of the gRPC method that does the same. */
const HTTP_METHODS: Record<HttpAction, string> = {
  read: 'ExperimentService.ListExperiments',
  cancel: 'ExperimentService.CancelExperiment',
};

/**
 * The same gate for the dashboard's HTTP API (coordinator/http/auth.ts's `Authorize`): a bearer
 * `Authorization` header or the session cookie, authenticated by the same tokens and checked
 * against the same role table (ownership is checked by the route, as by the gRPC handler).
 */
export function httpAuthorizer(auth: Authenticator): Authorize {
  return (request, action) => {
    const who = auth.authenticate(requestToken(request.headers));
    authorize(who, HTTP_METHODS[action]);
    return who;
  };
}
