// Reading the authenticated peer of a server call. grpc-js's getAuthContext() returns the peer certificate
// only when the TLS socket is `authorized` (it chained to our roots at handshake time); anything else —
// no certificate, a foreign one, an expired one — yields nothing, which callers must treat identically.
import type { PeerCertificate } from 'node:tls';
import type * as grpc from '@grpc/grpc-js';

type AnyServerCall = { getAuthContext(): { sslPeerCertificate?: PeerCertificate }; getPeer(): string };

export function peerCertificateDer(call: AnyServerCall): Uint8Array | undefined {
  const cert = call.getAuthContext().sslPeerCertificate;
  return cert?.raw ? new Uint8Array(cert.raw) : undefined;
}

/** The caller's IP address without port (for rate limiting and logs). */
export function peerAddress(call: AnyServerCall): string {
  const peer = call.getPeer();
  const m = /^(?:ipv4:|ipv6:)?\[?([^\]]+?)\]?:\d+$/.exec(peer);
  return m?.[1] ?? peer;
}

export type { grpc };
