// Turning a CA response into a stored identity, after checking it: the chain must verify against the roots we
// trust, right now, and carry the key we generated. A CA (or anyone posing as one) cannot hand us a
// certificate we would then fail to use.
import { HitlessError } from '../shared/errors.js';
import { verifyChain } from '../shared/pki/chain.js';
import { keyMatchesCertificate } from '../shared/pki/keys.js';
import type { IssuedCertificate__Output } from '../proto/load.js';
import type { Role, StoredIdentity } from './identity-store.js';

const ROLES: Record<string, Role> = { NODE_ROLE_WORKER: 'worker', NODE_ROLE_MANAGER: 'manager' };

export async function identityFromIssued(
  issued: IssuedCertificate__Output,
  keyPem: string,
  trust: { rootsPem: string[]; crossSignedPem: string[]; version: number },
  now: Date,
  previous?: StoredIdentity,
): Promise<StoredIdentity> {
  const [leafPem, ...tail] = issued.chain_pem;
  if (!leafPem) throw new HitlessError('INVALID_ARGUMENT', 'the CA returned an empty certificate chain');
  if (!keyMatchesCertificate(keyPem, leafPem)) {
    throw new HitlessError('INVALID_ARGUMENT', 'the CA returned a certificate for another key');
  }
  const verdict = await verifyChain({ leaf: leafPem, intermediates: [...tail, ...trust.crossSignedPem], roots: trust.rootsPem, at: now });
  if (!verdict.ok) throw new HitlessError('UNTRUSTED_PEER', `the CA returned a certificate we cannot verify: ${verdict.detail}`);
  const role = ROLES[issued.role];
  if (!role) throw new HitlessError('INVALID_ARGUMENT', `the CA returned unknown role ${issued.role}`);
  return {
    version: 1,
    nodeId: issued.node_id,
    role,
    clusterId: issued.cluster_id,
    serial: verdict.leaf.serial,
    issuedAt: issued.issued_at,
    receivedAt: now.toISOString(),
    notAfter: verdict.leaf.notAfter.toISOString(),
    keyPem,
    chainPem: issued.chain_pem,
    bundle: { rootsPem: trust.rootsPem, crossSignedPem: trust.crossSignedPem, version: trust.version },
    removedNodeIds: previous?.removedNodeIds ?? [],
  };
}
