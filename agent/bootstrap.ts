// First join: fetch the trust bundle over unverified TLS, pin it to the token's root digest, generate the key
// on this node, send a CSR with the token over TLS verified against the pinned roots, and return the identity.
// Both calls go through the agent's CaFailover: with several --ca addresses an unreachable one is skipped. Any
// address will do for either step: the bundle is checked against the token's digest, not against who sent it,
// and every connection names the CA as `hitless-ca` (agent/ca-client.ts), whatever address it dials.
import type { Clock } from '../shared/clock.js';
import type { Logger } from '../shared/log.js';
import { HitlessError } from '../shared/errors.js';
import { parseJoinToken } from '../shared/join-token.js';
import { generateKeyPairPem } from '../shared/pki/keys.js';
import { createCsrDer } from '../shared/pki/csr.js';
import { CaClient, bootstrapConnection, staticConnection } from './ca-client.js';
import { pinTrustBundle } from './trust-pin.js';
import { identityFromIssued } from './issued.js';
import type { CaFailover } from './ca-failover.js';
import type { StoredIdentity } from './identity-store.js';

export async function joinCluster(ca: CaFailover, token: string, deps: { clock: Clock; log: Logger }): Promise<StoredIdentity> {
  const parsed = parseJoinToken(token);
  let offered;
  try {
    offered = await ca.call('bundle', async (address) => {
      const insecure = new CaClient(address, bootstrapConnection());
      try {
        return await insecure.getTrustBundle();
      } finally {
        insecure.close();
      }
    });
  } catch (cause) {
    throw new HitlessError('UNAVAILABLE', `cannot reach the CA at ${ca.addresses.join(', ')}: ${(cause as Error).message}`, {
      cause,
      hint: 'check --ca (host:port of ca serve; several: comma-separated) and that the CA is running',
    });
  }
  const b = offered.bundle!;
  const pinned = await pinTrustBundle(
    { rootsPem: b.roots_pem, crossSignedPem: b.cross_signed_pem, version: Number(b.version) },
    parsed.rootDigest,
    deps.clock.now(),
  );
  // A fresh key for each address tried: if a replica recorded the join and then failed to answer (deadline,
  // reset), the same key sent to the next one would be refused as backing another node (ALREADY_EXISTS) and
  // the join would fail; with a new key it succeeds (the first record stays behind, unused, until pruned).
  const { issued, privateKeyPem } = await ca.call('join', async (address) => {
    const { privateKeyPem } = generateKeyPairPem();
    const csrDer = await createCsrDer(privateKeyPem);
    const client = new CaClient(address, staticConnection(pinned.rootsPem));
    try {
      return { issued: await client.issue(token, csrDer), privateKeyPem };
    } finally {
      client.close();
    }
  });
  const identity = await identityFromIssued(issued, privateKeyPem, pinned, deps.clock.now());
  deps.log.info('identity.joined', { nodeId: identity.nodeId, role: identity.role, serial: identity.serial, notAfter: identity.notAfter, ca: ca.current });
  return identity;
}
