/**
 * The one place the HTTP API asks who is calling and whether they may do something.
 *
 * Today Trellis has no identities: every caller is the anonymous viewer, and the API only
 * reads (it has no cancel or submit endpoint — those stay on gRPC). When tokens arrive, the
 * coordinator passes an `authorize` that reads a bearer header or session cookie and throws an
 * error whose gRPC code is UNAUTHENTICATED (→ HTTP 401) or PERMISSION_DENIED (→ 403); every
 * route already goes through it with the action it performs, so a viewer can be refused a
 * write the day one exists without touching the routes.
 */
import type { IncomingMessage } from 'node:http';

/** What a route does. Only reads exist; a write action is added with its endpoint. */
export type HttpAction = 'read';

export interface Principal {
  name: string;
  roles: readonly string[];
}

export type Authorize = (request: IncomingMessage, action: HttpAction) => Principal | Promise<Principal>;

/** No tokens configured: everyone reads, as the anonymous viewer. */
export const openAccess: Authorize = () => ({ name: 'anonymous', roles: ['viewer'] });
