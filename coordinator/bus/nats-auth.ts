/**
 * How Trellis authenticates to NATS and secures the connection, from NATS_URL, NATS_CREDS and
 * NATS_TLS_CA:
 *
 * - `nats://user:password@host:4222`: user and password; `nats://TOKEN@host:4222`: a token
 *   (nats.js itself does not read credentials from URLs, so they are taken out here and passed
 *   as options; the servers it sees carry none, and neither does any message or log line);
 * - NATS_CREDS: a credentials file (JWT + nkey seed, as `nsc` writes it);
 * - TLS: `tls://` URLs, or NATS_TLS_CA (the CA bundle that signed the server's certificate),
 *   require TLS; a server that asks for TLS gets it anyway.
 */
import { readFileSync } from 'node:fs';
import { credsAuthenticator, type NodeConnectionOptions } from '@nats-io/transport-node';

export interface NatsSecurity {
  /** Path of a credentials file (NATS_CREDS). */
  creds?: string;
  /** Path of a CA bundle (NATS_TLS_CA). */
  tlsCa?: string;
}

/** The parts of nats.js's connect options this module decides. */
export type NatsAuthOptions = Pick<
  NodeConnectionOptions,
  'servers' | 'user' | 'pass' | 'token' | 'authenticator' | 'tls'
>;

/** `nats://user:secret@host` → `nats://user:***@host`: a server list safe to log or show. */
export function redactNatsUrl(url: string): string {
  return url.replace(/^([a-z]+:\/\/)([^@/]*)@/i, (_, scheme: string, info: string) =>
    info.includes(':') ? `${scheme}${info.slice(0, info.indexOf(':'))}:***@` : `${scheme}***@`,
  );
}

/** Connect options for `servers` (credentials removed from the URLs) and the security settings. */
export function natsAuthOptions(servers: readonly string[], security: NatsSecurity = {}): NatsAuthOptions {
  let user: string | undefined;
  let pass: string | undefined;
  let token: string | undefined;
  let tlsScheme = false;
  const plain = servers.map((server) => {
    const match = /^([a-z]+):\/\/(?:([^@/]*)@)?(.*)$/i.exec(server);
    if (!match) return server;
    const [, scheme, info, rest] = match as unknown as [string, string, string | undefined, string];
    if (scheme.toLowerCase() === 'tls') tlsScheme = true;
    if (info !== undefined) {
      const colon = info.indexOf(':');
      if (colon >= 0) {
        user = decodeURIComponent(info.slice(0, colon));
        pass = decodeURIComponent(info.slice(colon + 1));
      } else {
        token = decodeURIComponent(info);
      }
    }
    return `nats://${rest}`;
  });
  let authenticator: NatsAuthOptions['authenticator'];
  if (security.creds) {
    let contents: Uint8Array;
    try {
      contents = readFileSync(security.creds);
    } catch (err) {
      throw new TypeError(
        `NATS_CREDS: cannot read ${security.creds} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
      );
    }
    authenticator = credsAuthenticator(contents);
  }
  if (security.tlsCa) {
    try {
      readFileSync(security.tlsCa);
    } catch (err) {
      throw new TypeError(
        `NATS_TLS_CA: cannot read ${security.tlsCa} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
      );
    }
  }
  const tls = security.tlsCa ? { caFile: security.tlsCa } : tlsScheme ? {} : undefined;
  return {
    servers: plain,
    ...(user !== undefined ? { user } : {}),
    ...(pass !== undefined ? { pass } : {}),
    ...(token !== undefined ? { token } : {}),
    ...(authenticator ? { authenticator } : {}),
    ...(tls ? { tls } : {}),
  };
}

/**
 * A connection refused for credentials or TLS, as an error that says which setting to fix;
 * undefined for any other failure. `servers` are already redacted.
 */
export function natsSecurityProblem(err: unknown, servers: readonly string[]): Error | undefined {
  if (!(err instanceof Error)) return undefined;
  const at = servers.join(',');
  if (err.name === 'AuthorizationError' || /authorization violation|authentication/i.test(err.message)) {
    return new Error(
      `NATS at ${at} refused the credentials (${err.message}): give them in NATS_URL ` +
        '(nats://user:password@host:4222 or nats://TOKEN@host:4222) or as a credentials file in NATS_CREDS',
      { cause: err },
    );
  }
  if (/certificate|self.signed|unable to (get|verify)|altnames|wrong version number/i.test(err.message)) {
    return new Error(
      `NATS at ${at}: TLS failed (${err.message}); set NATS_TLS_CA to the CA that signed the server's certificate`,
      { cause: err },
    );
  }
  if (/tls/i.test(err.message) && /required|available/i.test(err.message)) {
    return new Error(`NATS at ${at}: ${err.message} (use a tls:// URL or set NATS_TLS_CA)`, { cause: err });
  }
  return undefined;
}
