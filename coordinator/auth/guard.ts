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
import { UnauthenticatedError } from '../../shared/errors.js';

/** Metadata key of the token: `authorization: Bearer <token>`. */
export const AUTH_METADATA_KEY = 'authorization';

export function tokenOf(metadata: grpc.Metadata): string | undefined {
  const value = metadata.get(AUTH_METADATA_KEY)[0];
  if (typeof value !== 'string') return undefined;
  const match = /^Bearer\s+(\S+)$/i.exec(value.trim());
  return match?.[1];
}

/** What the transport says about the caller (coordinator/auth/tls.ts). */
export interface TransportPeer {
  /** Subject CN of a client certificate the coordinator's --tls-client-ca verified. */
  certificateName?: string;
  /** The coordinator has --tls-client-ca: WorkerService callers must present a certificate. */
  workerCertificates?: boolean;
}

/**
 * The caller of `method` ("Service.Method"), or UnauthenticatedError / PermissionDeniedError.
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
  peer: TransportPeer = {},
): Identity {
  let who: Identity;
  if (peer.workerCertificates && method.startsWith('WorkerService.')) {
    if (!peer.certificateName) {
      throw new UnauthenticatedError(
        `${method}: this coordinator identifies workers by client certificate (--tls-client-ca); ` +
          'start the worker with --tls-cert/--tls-key signed by that CA',
      );
    }
    who = { name: peer.certificateName, role: 'worker' };
  } else {
    who = auth ? auth.authenticate(tokenOf(metadata)) : ANONYMOUS;
  }
  authorize(who, method);
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
