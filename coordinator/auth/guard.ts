/**
 * The one gate every ExperimentService and WorkerService call passes (server.ts wraps each
 * handler with it once): read the bearer token from the call metadata, authenticate it, check
 * the method table. Without an authenticator (no tokens configured: loopback, or --insecure)
 * every caller is ANONYMOUS with the admin role. Health is not behind it.
 */
import type * as grpc from '@grpc/grpc-js';
import { ANONYMOUS, authorize, type Identity } from './policy.js';
import type { Authenticator } from './tokens.js';
import type { Audit } from './audit.js';
import { UnauthenticatedError } from '../../shared/errors.js';

/** Metadata key of the token: `authorization: Bearer <token>`. */
export const AUTH_METADATA_KEY = 'authorization';

export function tokenOf(metadata: grpc.Metadata): string | undefined {
  const value = metadata.get(AUTH_METADATA_KEY)[0];
  if (typeof value !== 'string') return undefined;
  const match = /^Bearer\s+(\S+)$/i.exec(value.trim());
  return match?.[1];
}

/** Methods whose every call is audited on its own (submit, cancel), not as a token use. */
const AUDITED_ON_THEIR_OWN = new Set(['ExperimentService.SubmitExperiment', 'ExperimentService.CancelExperiment']);

/**
 * The caller of `method` ("Service.Method"), or UnauthenticatedError / PermissionDeniedError.
 * With `audit`: the refusal, or (tokens configured) the token's use, is recorded there.
 */
export function admit(
  auth: Authenticator | undefined,
  metadata: grpc.Metadata,
  method: string,
  audit?: Audit,
  peer?: string,
): Identity {
  let who: Identity | undefined;
  try {
    who = auth ? auth.authenticate(tokenOf(metadata)) : ANONYMOUS;
    authorize(who, method);
  } catch (err) {
    const unauthenticated = err instanceof UnauthenticatedError;
    audit?.record({
      kind: unauthenticated ? 'unauthenticated' : 'denied',
      identity: who?.name ?? 'unknown',
      ...(who ? { role: who.role } : {}),
      method,
      outcome: unauthenticated ? 'UNAUTHENTICATED' : 'PERMISSION_DENIED',
      reason: (err as Error).message,
      ...(peer ? { peer } : {}),
    });
    throw err;
  }
  if (auth && !AUDITED_ON_THEIR_OWN.has(method)) {
    audit?.record({
      kind: 'token',
      identity: who.name,
      role: who.role,
      method,
      outcome: 'ok',
      ...(peer ? { peer } : {}),
    });
  }
  return who;
}

/**
 * The same gate for the dashboard's HTTP API (coordinator/http/auth.ts's `Authorize`): a bearer
 * `Authorization` header, authenticated by the same tokens; its routes only read, so a caller
 * needs a role that may list experiments.
 */
export function httpAuthorizer(auth: Authenticator) {
  return (request: { headers: { authorization?: string | undefined } }): { name: string; roles: string[] } => {
    const match = /^Bearer\s+(\S+)$/i.exec((request.headers.authorization ?? '').trim());
    const who = auth.authenticate(match?.[1]);
    authorize(who, 'ExperimentService.ListExperiments');
    return { name: who.name, roles: [who.role] };
  };
}
