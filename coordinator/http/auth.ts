/**
 * The one place the HTTP API asks who is calling and whether they may do something.
 *
 * Without tokens every caller is the anonymous viewer: the dashboard reads, and cancelling from it
 * needs tokens (a loopback coordinator without tokens and `trellis run --ui` stay read-only in the
 * browser). With tokens, the coordinator passes an `authorize` (coordinator/auth/guard.ts) that
 * reads a bearer header or the session cookie set by `POST /api/session` and throws an error whose
 * gRPC code is UNAUTHENTICATED (→ HTTP 401) or PERMISSION_DENIED (→ 403).
 */
import type { IncomingHttpHeaders } from 'node:http';

/** What a route does: read, or cancel an experiment (the caller must also own it, or be admin). */
export type HttpAction = 'read' | 'cancel';

export interface Principal {
  name: string;
  role: string;
}

export type Authorize = (request: { headers: IncomingHttpHeaders }, action: HttpAction) => Principal;

/** No tokens configured: everyone reads, as the anonymous viewer; nobody cancels. */
export const openAccess: Authorize = (_request, action) => {
  if (action !== 'read') throw new ReadOnlyError();
  return { name: 'anonymous', role: 'viewer' };
};

export class ReadOnlyError extends Error {
  constructor() {
    super('this dashboard is read-only: start the coordinator with --tokens and sign in to cancel from it');
  }
}

/** The cookie `POST /api/session` sets: the token itself, HttpOnly and SameSite=Strict. */
export const SESSION_COOKIE = 'trellis_token';

/** The token a request carries: `Authorization: Bearer …`, else the session cookie. */
export function requestToken(headers: IncomingHttpHeaders): string | undefined {
  const bearer = /^Bearer\s+(\S+)$/i.exec((headers.authorization ?? '').trim());
  if (bearer) return bearer[1];
  for (const part of (headers.cookie ?? '').split(';')) {
    const [name, ...value] = part.trim().split('=');
    if (name === SESSION_COOKIE && value.length > 0) return decodeURIComponent(value.join('='));
  }
  return undefined;
}
