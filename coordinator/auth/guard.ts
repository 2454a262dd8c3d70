/**
 * The one gate every ExperimentService and WorkerService call passes (server.ts wraps each
 * handler with it once): read the bearer token from the call metadata, authenticate it, check
 * the method table. Without an authenticator (no tokens configured: loopback, or --insecure)
 * every caller is ANONYMOUS with the admin role. Health is not behind it. With mTLS, a worker's
 * certificate is its identity (see `admit`).
 */
import type * as grpc from '@grpc/grpc-js';
import { ANONYMOUS, authorize, type Identity } from './policy.js';
import type { Authenticator } from './tokens.js';
import type { Audit } from './audit.js';
import { UnauthenticatedError } from '../../shared/errors.js';
import { requestToken, type Authorize, type HttpAction } from '../http/auth.js';

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

/** What the transport says about the caller (coordinator/auth/tls.ts). */
export interface TransportPeer {
  /** Subject CN of a client certificate the coordinator's --tls-client-ca verified. */
  certificateName?: string;
  /** The coordinator has --tls-client-ca: WorkerService callers must present a certificate. */
  workerCertificates?: boolean;
}

/**
 * The caller of `method` ("Service.Method"), or UnauthenticatedError / PermissionDeniedError.
 * With `audit`: the refusal, or (tokens configured) the token's use, is recorded there.
 *
 * Two sources of identity. A token (metadata) gives a name and a role. With mTLS
 * (`--tls-client-ca`), a WorkerService caller is instead the subject CN of its verified client
 * certificate, with the worker role: the certificate is the identity, so a worker token without
 * a certificate is refused there, and a token sent beside a certificate is not consulted. Other
 * services ignore certificates (clients authenticate with tokens).
 */
export function admit(
  auth: Authenticator | undefined,
  metadata: grpc.Metadata,
  method: string,
  audit?: Audit,
  peer?: string,
  transport: TransportPeer = {},
): Identity {
  let who: Identity | undefined;
  try {
    if (transport.workerCertificates && method.startsWith('WorkerService.')) {
      if (!transport.certificateName) {
        throw new UnauthenticatedError(
          `${method}: this coordinator identifies workers by client certificate (--tls-client-ca); ` +
            'start the worker with --tls-cert/--tls-key signed by that CA',
        );
      }
      who = { name: transport.certificateName, role: 'worker' };
    } else {
      who = auth ? auth.authenticate(tokenOf(metadata)) : ANONYMOUS;
    }
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
