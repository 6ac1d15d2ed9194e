// Pinning a trust bundle fetched over an unauthenticated connection to the digest in a join token.
// The pinned root is the one whose SHA-256 is the token's digest. Any other root in the bundle is accepted
// only when the bundle also carries a cross-signature of it by the pinned root (a root rotation in progress):
// a man in the middle can neither swap the root nor slip an extra one in beside it.
import { HitlessError } from '../shared/errors.js';
import { rootDigest } from '../shared/join-token.js';
import { pemToDer } from '../shared/pki/pem.js';
import { verifyChain } from '../shared/pki/chain.js';
import { parseCertificate } from '../shared/pki/certs.js';

export interface PinnedBundle {
  rootsPem: string[];
  crossSignedPem: string[];
  version: number;
}

export async function pinTrustBundle(
  bundle: { rootsPem: string[]; crossSignedPem: string[]; version: number },
  expectedDigest: string,
  now: Date,
): Promise<PinnedBundle> {
  const pinned = bundle.rootsPem.find((pem) => rootDigest(pemToDer(pem)) === expectedDigest);
  if (!pinned) {
    throw new HitlessError(
      'UNTRUSTED_PEER',
      "the CA's trust bundle does not contain the root named by the join token's digest: refusing it (wrong CA address, a stale token, or a man in the middle)",
      { hint: "check --ca, and get a current token with 'ca join-token worker' on the CA host" },
    );
  }
  const roots = [pinned];
  const crossSigned: string[] = [];
  for (const other of bundle.rootsPem) {
    if (other === pinned) continue;
    const otherInfo = parseCertificate(other);
    // A cross-sign of `other`: same subject and key, issued by the pinned root.
    const link = bundle.crossSignedPem.find((x) => {
      const xi = parseCertificate(x);
      return xi.subjectName === otherInfo.subjectName && xi.spkiFingerprint === otherInfo.spkiFingerprint;
    });
    if (!link) {
      throw new HitlessError('UNTRUSTED_PEER', `the CA's trust bundle holds root "${otherInfo.subjectName}" that the pinned root has not cross-signed: refusing it`);
    }
    const verdict = await verifyChain({ leaf: link, roots: [pinned], at: now });
    if (!verdict.ok) {
      throw new HitlessError('UNTRUSTED_PEER', `cross-signature of "${otherInfo.subjectName}" does not verify under the pinned root: ${verdict.detail}`);
    }
    roots.push(other);
    crossSigned.push(link);
  }
  return { rootsPem: roots, crossSignedPem: crossSigned, version: bundle.version };
}
