// The node's client of NodeCaService. Three kinds of connection:
//  - bootstrap: TLS without verification, only to fetch the bundle that is then pinned to the token digest;
//  - join: TLS verified against the pinned roots, no client certificate;
//  - node: mTLS from the process's certificate provider, so reconnects present the newest certificate.
// In every verified case the CA must present the name `hitless-ca`, a SAN only CA certificates carry: a
// node certificate of the same cluster cannot pose as the CA.
import { checkServerIdentity, type PeerCertificate } from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import { unaryCall } from '../shared/grpc/call.js';
import { CA_SERVER_NAME } from '../shared/identity.js';
import { joinPem } from '../shared/pki/pem.js';
import { protos, type NodeCaServiceClient, type IssuedCertificate__Output, type TrustBundle__Output } from '../proto/load.js';
import type { MemoryCertificateProvider } from '../shared/grpc/certificate-provider.js';
import type { GetTrustBundleResponse__Output } from '../proto/generated/hitless/v1/GetTrustBundleResponse.js';
import { clientKeepaliveOptions } from '../shared/grpc/keepalive.js';


/**
 * grpc-js backs reconnects off up to 120 s by default: after a long CA outage the next attempt could come after
 * the certificate has expired. Short certificates need a CA that is retried within seconds of coming back.
 */
export const RECONNECT_OPTIONS = {
  'grpc.initial_reconnect_backoff_ms': 250,
  'grpc.max_reconnect_backoff_ms': 2_000,
} as const;

export const caServerIdentityCheck = (_host: string, cert: PeerCertificate): Error | undefined =>
  checkServerIdentity(CA_SERVER_NAME, cert);

export interface CaConnection {
  credentials: grpc.ChannelCredentials;
  options?: grpc.ChannelOptions;
}

/**
 * Unverified TLS: only for fetching the bundle that pinTrustBundle then checks. It names the CA like every other
 * CA connection: without a name grpc-js sends the dialed address as the TLS server name, and an IP address
 * there is an error since Node 26 (DEP0123).
 */
export function bootstrapConnection(): CaConnection {
  return {
    credentials: grpc.credentials.createSsl(null, null, null, { rejectUnauthorized: false }),
    options: { 'grpc.ssl_target_name_override': CA_SERVER_NAME },
  };
}

/** TLS verified against `rootsPem`, optionally with a static client identity (tests, tools). */
export function staticConnection(rootsPem: readonly string[], identity?: { keyPem: string; chainPem: readonly string[] }): CaConnection {
  return {
    credentials: grpc.credentials.createSsl(
      Buffer.from(joinPem(rootsPem)),
      identity ? Buffer.from(identity.keyPem) : null,
      identity ? Buffer.from(joinPem(identity.chainPem)) : null,
      { checkServerIdentity: caServerIdentityCheck },
    ),
    options: { 'grpc.ssl_target_name_override': CA_SERVER_NAME },
  };
}

/** mTLS that follows the process's certificate provider. */
export function providerConnection(provider: MemoryCertificateProvider): CaConnection {
  return {
    credentials: provider.channelCredentials(caServerIdentityCheck),
    options: { 'grpc.ssl_target_name_override': CA_SERVER_NAME },
  };
}

export class CaClient {
  readonly raw: NodeCaServiceClient;

  constructor(address: string, connection: CaConnection) {
    const { NodeCaService } = protos().nodeCa.hitless.v1;
    this.raw = new NodeCaService(address, connection.credentials, {
      // Our own pool: a client built for a new identity must not ride an old client's connection.
      'grpc.use_local_subchannel_pool': 1,
      ...RECONNECT_OPTIONS,
      // A blackholed CA path ends the watch stream within the keepalive bound (shared/grpc/keepalive.ts).
      ...clientKeepaliveOptions(),
      ...connection.options,
    });
  }

  getTrustBundle(): Promise<GetTrustBundleResponse__Output> {
    return unaryCall((o, cb) => this.raw.GetTrustBundle({}, o, cb));
  }

  async issue(joinToken: string, csrDer: Uint8Array): Promise<IssuedCertificate__Output> {
    const res = await unaryCall<{ certificate: IssuedCertificate__Output | null }>((o, cb) =>
      this.raw.IssueNodeCertificate({ join_token: joinToken, csr_der: Buffer.from(csrDer) }, o, cb),
    );
    return res.certificate!;
  }

  async renew(csrDer: Uint8Array, bundleVersion = 0): Promise<IssuedCertificate__Output> {
    const res = await unaryCall<{ certificate: IssuedCertificate__Output | null }>((o, cb) =>
      this.raw.RenewNodeCertificate({ csr_der: Buffer.from(csrDer), bundle_version: String(bundleVersion) }, o, cb),
    );
    return res.certificate!;
  }

  close(): void {
    this.raw.close();
  }
}

export type { TrustBundle__Output };
