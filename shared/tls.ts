/**
 * TLS for the gRPC channels of clients and workers, and the one place that turns a transport
 * failure into a message an operator can act on.
 *
 * A client trusts the coordinator's certificate through `--tls-ca FILE` / TRELLIS_TLS_CA (a CA
 * bundle, PEM); a worker may also present its own certificate (`--tls-cert/--tls-key`) for mTLS.
 * No CA: plaintext, as before. A plaintext client against a TLS coordinator, or the reverse,
 * fails the first call at once (calls do not wait for ready, and the handshake fails on the
 * first bytes): `transportHint` says which side is which.
 */
import * as grpc from '@grpc/grpc-js';
import { readFileSync } from 'node:fs';
import { InvalidArgumentError } from './errors.js';

/** PEM files a client or worker uses; all absent = plaintext. */
export interface ClientTls {
  /** CA bundle that signed the coordinator's certificate (`--tls-ca`). */
  ca?: string;
  /** This client's certificate and key, for a coordinator with `--tls-client-ca` (mTLS). */
  cert?: string;
  key?: string;
}

/** Reads a PEM file for `flag`; a clear InvalidArgumentError when it is missing or not PEM. */
export function readPem(path: string, flag: string): Buffer {
  let data: Buffer;
  try {
    data = readFileSync(path);
  } catch (err) {
    throw new InvalidArgumentError([
      `${flag}: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
    ]);
  }
  // Only the marker is looked for: the file's bytes (a key!) never go into a message.
  if (!data.includes('-----BEGIN ')) {
    throw new InvalidArgumentError([`${flag}: ${path} is not a PEM file (no "-----BEGIN" line)`]);
  }
  return data;
}

/** Whether any TLS setting is present. */
export function usesTls(tls: ClientTls | undefined): boolean {
  return !!(tls?.ca || tls?.cert || tls?.key);
}

/** The channel credentials for these settings: TLS when a CA (or a client certificate) is given. */
export function channelCredentials(tls: ClientTls | undefined): grpc.ChannelCredentials {
  if (!usesTls(tls)) return grpc.credentials.createInsecure();
  if (!!tls!.cert !== !!tls!.key) {
    throw new InvalidArgumentError([
      '--tls-cert, --tls-key: give both (the client certificate and its key) or neither',
    ]);
  }
  const ca = tls!.ca ? readPem(tls!.ca, '--tls-ca') : null;
  const key = tls!.key ? readPem(tls!.key, '--tls-key') : null;
  const cert = tls!.cert ? readPem(tls!.cert, '--tls-cert') : null;
  return grpc.credentials.createSsl(ca, key, cert);
}

/**
 * A clearer message for a call that failed before reaching the coordinator (UNAVAILABLE), or
 * undefined when the failure says nothing about TLS. `details` is grpc-js's text.
 */
export function transportHint(details: string, address: string, tls: boolean): string | undefined {
  if (/ECONNREFUSED|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH/.test(details)) return undefined;
  if (tls) {
    if (
      /wrong version number|packet length too long|before secure TLS connection|unexpected eof|record layer/i.test(
        details,
      )
    ) {
      return (
        `TLS handshake with the coordinator at ${address} failed: it does not answer in TLS ` +
        '(is it started without --tls-cert/--tls-key? then drop --tls-ca / TRELLIS_TLS_CA)'
      );
    }
    if (/certificate|self.signed|unable to (get|verify)|altnames|Hostname\/IP/i.test(details)) {
      const reason = /Error: ([^\n]*)/.exec(details)?.[1] ?? details;
      return (
        `the coordinator at ${address} presented a certificate that --tls-ca does not verify ` +
        `(${reason.trim()}); pass the CA that signed it, and connect by a name the certificate holds`
      );
    }
    if (/alert (certificate required|bad certificate|handshake failure)|tlsv13 alert|sslv3 alert/i.test(details)) {
      return (
        `the coordinator at ${address} refused this client's certificate: it requires one signed by its ` +
        '--tls-client-ca (give --tls-cert/--tls-key)'
      );
    }
    return undefined;
  }
  // Only what a TLS listener does to a plaintext hello (closes before HTTP/2 settings): not
  // "Connection dropped" and the like, which a coordinator that restarts also causes.
  if (/Failed to connect|Protocol error/i.test(details)) {
    return (
      `the coordinator at ${address} closed the connection before gRPC started: it probably serves TLS; ` +
      'pass --tls-ca FILE (or set TRELLIS_TLS_CA) with the CA that signed its certificate'
    );
  }
  return undefined;
}
