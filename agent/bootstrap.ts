// First join: fetch the trust bundle over unverified TLS, pin it to the token's root digest, generate the key
// on this node, send a CSR with the token over TLS verified against the pinned roots, and return the identity.
import type { Clock } from '../shared/clock.js';
import type { Logger } from '../shared/log.js';
import { HitlessError } from '../shared/errors.js';
import { parseJoinToken } from '../shared/join-token.js';
import { generateKeyPairPem } from '../shared/pki/keys.js';
import { createCsrDer } from '../shared/pki/csr.js';
import { CaClient, bootstrapConnection, staticConnection } from './ca-client.js';
import { pinTrustBundle } from './trust-pin.js';
import { identityFromIssued } from './issued.js';
import type { StoredIdentity } from './identity-store.js';

export async function joinCluster(caAddress: string, token: string, deps: { clock: Clock; log: Logger }): Promise<StoredIdentity> {
  const parsed = parseJoinToken(token);
  const insecure = new CaClient(caAddress, bootstrapConnection());
  let offered;
  try {
    offered = await insecure.getTrustBundle();
  } catch (cause) {
    throw new HitlessError('UNAVAILABLE', `cannot reach the CA at ${caAddress}: ${(cause as Error).message}`, {
      cause,
      hint: 'check --ca (host:port of ca serve) and that the CA is running',
    });
  } finally {
    insecure.close();
  }
  const b = offered.bundle!;
  const pinned = await pinTrustBundle(
    { rootsPem: b.roots_pem, crossSignedPem: b.cross_signed_pem, version: Number(b.version) },
    parsed.rootDigest,
    deps.clock.now(),
  );
  const { privateKeyPem } = generateKeyPairPem();
  const client = new CaClient(caAddress, staticConnection(pinned.rootsPem));
  try {
    const issued = await client.issue(token, await createCsrDer(privateKeyPem));
    const identity = await identityFromIssued(issued, privateKeyPem, pinned, deps.clock.now());
    deps.log.info('identity.joined', { nodeId: identity.nodeId, role: identity.role, serial: identity.serial, notAfter: identity.notAfter });
    return identity;
  } finally {
    client.close();
  }
}
