// One in-memory certificate provider per process feeds every gRPC server and channel of that process, so a
// renewal or a trust-bundle change reaches every *new* handshake at once while open connections carry on.
//
// grpc-js facts this relies on (../shared/reference/node-runtime.md §1):
//  - listeners must be called asynchronously: the server samples its options before it adds the watcher;
//  - a bad cert/key pushed to a server makes it refuse *all* new connections, so every update is validated
//    with tls.createSecureContext before it is published, and a rejected update changes nothing;
//  - the server factory's first two parameters are swapped in the implementation: we pass this one object
//    as both, which is correct whichever way round they are.
import { createSecureContext } from 'node:tls';
import { EventEmitter } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import { HitlessError } from '../errors.js';
import { joinPem } from '../pki/pem.js';
import { parseCertificate } from '../pki/certs.js';
import { NoResumptionServerCredentials } from './no-resumption.js';

type CaListener = grpc.experimental.CaCertificateUpdateListener;
type IdListener = grpc.experimental.IdentityCertificateUpdateListener;

export interface Credentials {
  /** [leaf, intermediates...] */
  chainPem: readonly string[];
  keyPem: string;
  /** Roots this process trusts for its peers. */
  trustPem: readonly string[];
}

export class MemoryCertificateProvider extends EventEmitter implements grpc.experimental.CertificateProvider {
  #ca: grpc.experimental.CaCertificateUpdate | undefined;
  #identity: grpc.experimental.IdentityCertificateUpdate | undefined;
  #current: Credentials | undefined;
  readonly #caListeners = new Set<CaListener>();
  readonly #idListeners = new Set<IdListener>();

  get current(): Credentials | undefined {
    return this.#current;
  }

  #leafNotAfter: { pem: string; notAfter: Date } | undefined;
  /**
   * The current leaf's notAfter, parsed once per leaf. Every refreshing stream asks at each of its moves and
   * confirmations (to spread them and to schedule its expiry refresh): parsing the PEM each time cost the soak's
   * agents ~5 % of their CPU, all of it inside the burst that follows a renewal.
   */
  leafNotAfter(): Date | undefined {
    const pem = this.#current?.chainPem[0];
    if (pem === undefined) return undefined;
    if (this.#leafNotAfter?.pem !== pem) this.#leafNotAfter = { pem, notAfter: parseCertificate(pem).notAfter };
    return this.#leafNotAfter.notAfter;
  }

  /**
   * Publishes new credentials. Throws (and publishes nothing) when key and certificate do not match or any
   * PEM does not parse: a bad update must never reach the listeners.
   */
  update(creds: Credentials): void {
    this.validate(creds);
    const cert = joinPem(creds.chainPem);
    const ca = joinPem(creds.trustPem);
    this.#current = { chainPem: [...creds.chainPem], keyPem: creds.keyPem, trustPem: [...creds.trustPem] };
    this.#ca = { caCertificate: Buffer.from(ca) };
    this.#identity = { certificate: Buffer.from(cert), privateKey: Buffer.from(creds.keyPem) };
    for (const l of this.#caListeners) l(this.#ca);
    for (const l of this.#idListeners) l(this.#identity);
    this.emit('update', this.#current);
  }

  /** Throws INVALID_ARGUMENT unless key, chain and roots form a usable TLS context (mismatched key, bad PEM...). */
  validate(creds: Credentials): void {
    if (creds.chainPem.length === 0 || creds.trustPem.length === 0) {
      throw new HitlessError('INVALID_ARGUMENT', 'refusing credentials update: empty certificate chain or trust bundle');
    }
    try {
      createSecureContext({ cert: joinPem(creds.chainPem), key: creds.keyPem, ca: joinPem(creds.trustPem) });
    } catch (cause) {
      throw new HitlessError('INVALID_ARGUMENT', `refusing credentials update: ${(cause as Error).message}`, { cause });
    }
  }

  /** Replaces only the trusted roots, keeping the identity. */
  updateTrust(trustPem: readonly string[]): void {
    if (!this.#current) throw new TypeError('updateTrust before the first update');
    this.update({ ...this.#current, trustPem });
  }

  addCaCertificateListener(listener: CaListener): void {
    this.#caListeners.add(listener);
    // Asynchronously, with the latest value at delivery time.
    process.nextTick(() => {
      if (this.#ca && this.#caListeners.has(listener)) listener(this.#ca);
    });
  }
  removeCaCertificateListener(listener: CaListener): void {
    this.#caListeners.delete(listener);
  }
  addIdentityCertificateListener(listener: IdListener): void {
    this.#idListeners.add(listener);
    process.nextTick(() => {
      if (this.#identity && this.#idListeners.has(listener)) listener(this.#identity);
    });
  }
  removeIdentityCertificateListener(listener: IdListener): void {
    this.#idListeners.delete(listener);
  }

  /**
   * Server credentials that follow this provider. `requireClientCert=false` lets one port serve joins too.
   * Sessions are never resumed: every connection makes a full handshake (no-resumption.ts says why).
   */
  serverCredentials(requireClientCert: boolean): grpc.ServerCredentials {
    return new NoResumptionServerCredentials(grpc.experimental.createCertificateProviderServerCredentials(this, this, requireClientCert));
  }

  /**
   * Channel credentials that follow this provider: every new connection of the channel presents the latest
   * identity and trusts the latest roots. `checkServerIdentity` replaces hostname checks: nodes are named by
   * id, not by address.
   */
  channelCredentials(checkServerIdentity: (host: string, cert: import('node:tls').PeerCertificate) => Error | undefined): grpc.ChannelCredentials {
    return grpc.experimental.createCertificateProviderChannelCredentials(this, this, { checkServerIdentity });
  }
}
