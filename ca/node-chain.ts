// Which node certificate a caller presented, checked against the CA's *current* trust (connections outlive
// certificates and root changes, so what TLS accepted at the handshake is verified again on every call). The
// node's records (does it exist, was it removed, is the serial its own) are ca/authority.ts's to check.
import { HitlessError } from '../shared/errors.js';
import { CA_SERVER_OU, OPERATOR_OU } from '../shared/identity.js';
import { verifyChain } from '../shared/pki/chain.js';
import { parseCertificate, type CertInfo } from '../shared/pki/certs.js';
import type { ChainCache } from './chain-cache.js';
import type { TrustState } from './authority.js';

export const REJOIN_HINT = "re-join the node with a current join token ('ca join-token worker' on the CA host)";

/**
 * The leaf of `peerDer` (and the node id it names) once it chains to a current root (or, with `allowRetired`, to a retired root still in
 * its grace period) and names a node of this cluster; fails closed with UNTRUSTED_PEER or CERT_EXPIRED.
 * Chains through current roots are cached (ca/chain-cache.ts); those through a retired root are not.
 */
export async function verifyNodeChain(
  peerDer: Uint8Array | undefined,
  ctx: { trust: TrustState; chains: ChainCache; clusterId: string; now: Date; allowRetired?: boolean },
): Promise<{ leaf: CertInfo; nodeId: string }> {
  if (!peerDer) {
    throw new HitlessError(
      'UNTRUSTED_PEER',
      'this call needs the node certificate over mTLS; none was presented, or it is expired or not issued by this cluster',
      { hint: REJOIN_HINT },
    );
  }
  const { trust, now, clusterId } = ctx;
  let leaf = ctx.chains.get(peerDer, trust, now);
  if (!leaf) {
    const live = trust.retired.filter((r) => ctx.allowRetired && Date.parse(r.until) > now.getTime());
    const chain = await verifyChain({
      leaf: peerDer,
      intermediates: [...trust.crossSignedPem, ...live.map((r) => r.crossSignedPem)],
      roots: [...trust.rootsPem, ...live.map((r) => r.rootPem)],
      at: now,
    });
    if (!chain.ok) {
      const code = chain.reason === 'EXPIRED' ? 'CERT_EXPIRED' : 'UNTRUSTED_PEER';
      throw new HitlessError(code, `client certificate rejected: ${chain.detail}`, { hint: REJOIN_HINT });
    }
    leaf = chain.leaf;
    const throughRetired = live.some((r) => parseCertificate(r.rootPem).fingerprint === chain.root.fingerprint);
    // A leaf a current root signed itself (path leaf → root) may outlive a trust change that keeps that root.
    if (!throughRetired) ctx.chains.set(peerDer, trust, leaf, chain.path.length === 2 ? chain.root.fingerprint : undefined);
  }
  const nodeId = leaf.subject.commonName;
  const ous = leaf.subject.organizationalUnits;
  if (leaf.subject.organization !== clusterId || !nodeId || ous.includes(CA_SERVER_OU) || ous.includes(OPERATOR_OU)) {
    throw new HitlessError('UNTRUSTED_PEER', `client certificate "${leaf.subjectName}" is not a node certificate of cluster ${clusterId}`);
  }
  return { leaf, nodeId };
}
