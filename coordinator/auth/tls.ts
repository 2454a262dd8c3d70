/**
 * The coordinator's side of TLS: `--tls-cert/--tls-key` serve gRPC over TLS; `--tls-client-ca`
 * also asks every client for a certificate (optional for clients, which authenticate with
 * tokens; verified against that CA when presented). A verified certificate's subject CN is a
 * worker identity (guard.ts): with `--tls-client-ca`, WorkerService calls need one.
 *
 * Optional client certificates need grpc-js's certificate-provider credentials (its `createSsl`
 * either ignores client certificates or demands them from everyone); the files are read once,
 * at start: a certificate change needs a restart.
 */
import * as grpc from '@grpc/grpc-js';
import { readPem } from '../../shared/tls.js';

export interface ServerTls {
  cert: string;
  key: string;
  /** CA whose client certificates identify workers (mTLS); absent: no client certificates. */
  clientCa?: string;
}

type CaListener = (update: { caCertificate: Buffer } | null) => void;
type IdentityListener = (update: { certificate: Buffer; privateKey: Buffer } | null) => void;

/**
 * grpc-js's CertificateProvider over fixed contents. Listeners hear them on the next microtask,
 * not synchronously: grpc-js registers the server's watcher only after adding these listeners,
 * and a synchronous answer would reach no watcher (the server then drops every connection).
 */
class StaticCertificates {
  constructor(
    private readonly certificate: Buffer,
    private readonly privateKey: Buffer,
    private readonly caCertificate: Buffer,
  ) {}
  addCaCertificateListener(listener: CaListener): void {
    queueMicrotask(() => listener({ caCertificate: this.caCertificate }));
  }
  removeCaCertificateListener(): void {}
  addIdentityCertificateListener(listener: IdentityListener): void {
    queueMicrotask(() => listener({ certificate: this.certificate, privateKey: this.privateKey }));
  }
  removeIdentityCertificateListener(): void {}
}

/** Credentials to bind with: plaintext without `tls`. Unreadable or non-PEM files: InvalidArgumentError. */
export function serverCredentials(tls: ServerTls | undefined): grpc.ServerCredentials {
  if (!tls) return grpc.ServerCredentials.createInsecure();
  const cert = readPem(tls.cert, '--tls-cert');
  const key = readPem(tls.key, '--tls-key');
  if (!tls.clientCa) return grpc.ServerCredentials.createSsl(null, [{ cert_chain: cert, private_key: key }], false);
  const provider = new StaticCertificates(cert, key, readPem(tls.clientCa, '--tls-client-ca'));
  // The same provider answers both questions (this grpc-js names the two parameters the other way
  // round in its typings than in its code); `false`: a client without a certificate may connect.
  return grpc.experimental.createCertificateProviderServerCredentials(provider, provider, false);
}

/**
 * The subject CN of the caller's client certificate, when it presented one that the
 * `--tls-client-ca` verified (grpc-js reports only verified ones); else undefined.
 */
export function certificateName(call: {
  getAuthContext?: () => { sslPeerCertificate?: { subject?: Record<string, unknown> } };
}): string | undefined {
  const certificate = call.getAuthContext?.().sslPeerCertificate;
  const cn: unknown = certificate?.subject?.CN;
  const name = Array.isArray(cn) ? (cn[0] as unknown) : cn;
  return typeof name === 'string' && name.trim() !== '' ? name.trim() : undefined;
}
