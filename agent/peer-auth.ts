// Authorizing peers on the node service. TLS already required a certificate chaining to our roots at
// handshake time; connections outlive certificates and trust changes, so every call (and every stream when
// it starts) is checked again against the *current* trust, the cluster, and the CA's removed-node list.
// Streams already running are re-checked whenever the removed list changes (see NodeServiceRegistry).
import { HitlessError } from '../shared/errors.js';
import { verifyChain } from '../shared/pki/chain.js';
import { CA_SERVER_OU } from '../shared/identity.js';
import type { Clock } from '../shared/clock.js';

export interface PeerIdentity {
  nodeId: string;
  role: string;
  serial: string;
  notAfter: Date;
}

export interface TrustView {
  clusterId: string;
  rootsPem: readonly string[];
  crossSignedPem: readonly string[];
  removedNodeIds: ReadonlySet<string>;
}

export async function authorizePeer(peerDer: Uint8Array | undefined, trust: TrustView, clock: Clock): Promise<PeerIdentity> {
  if (!peerDer) throw new HitlessError('UNTRUSTED_PEER', 'node service calls need a node certificate of this cluster');
  const chain = await verifyChain({ leaf: peerDer, intermediates: trust.crossSignedPem, roots: trust.rootsPem, at: clock.now() });
  if (!chain.ok) {
    throw new HitlessError(chain.reason === 'EXPIRED' ? 'CERT_EXPIRED' : 'UNTRUSTED_PEER', `peer certificate rejected: ${chain.detail}`);
  }
  const { subject, serial, notAfter } = chain.leaf;
  const nodeId = subject.commonName;
  if (!nodeId || subject.organization !== trust.clusterId || subject.organizationalUnits.includes(CA_SERVER_OU)) {
    throw new HitlessError('UNTRUSTED_PEER', `peer "${chain.leaf.subjectName}" is not a node of cluster ${trust.clusterId}`);
  }
  if (trust.removedNodeIds.has(nodeId)) {
    throw new HitlessError('NODE_REMOVED', `node ${nodeId} was removed from the cluster`);
  }
  return { nodeId, role: subject.organizationalUnits[0] ?? '', serial, notAfter };
}
