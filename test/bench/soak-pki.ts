// Certificates of the hitless soak (figure 5): the CA's half of issuance (roots, CSR check, leaf), the agent's
// half (fresh key + CSR, made in the agent's own process as a real agent makes it), and the checks the soak's
// sampler applies to every live stream leg (expired, or issued by a root the checking end no longer trusts).
import type { PeerCertificate } from 'node:tls';
import { issuingRoot } from '../../shared/pki/chain.js';
import { normalizeSerial, parseCertificate } from '../../shared/pki/certs.js';
import { pemToDer } from '../../shared/pki/pem.js';
import { generateKeyPairPem } from '../../shared/pki/keys.js';
import { createCsrDer, validateCsr } from '../../shared/pki/csr.js';
import { createRootCertificate } from '../../shared/pki/roots.js';
import { issueLeaf, type Signer } from '../../ca/issuer.js';

export const CLUSTER = 'soak-cluster';
export const HOUR_MS = 3_600_000;
/**
 * Lifetime of the leaves the rotations issue: 10 rotation steps (3 s apart), so a stream left behind on the
 * leaf of an early rotation would run on an expired certificate before the soak ends, while a step that runs
 * late on a busy machine does not let an agent's current leaf expire. The first leaves live an hour: the
 * streams may take a while to come up on a busy machine.
 */
export const LEAF_TTL_MS = 30_000;

/** What the CA sends back for a CSR: the chain, its serial and validity (wall-clock ms). */
export interface Issued {
  chainPem: string[];
  serial: string;
  issuedAt: number;
  notAfter: number;
}

/** The agent's half of a renewal: a fresh key (kept by the caller) and its CSR. */
export async function newKeyAndCsr(): Promise<{ keyPem: string; csrDer: Uint8Array }> {
  const { privateKeyPem } = generateKeyPairPem();
  return { keyPem: privateKeyPem, csrDer: await createCsrDer(privateKeyPem) };
}

/** The CA's half: the CSR checked (proof of possession), a leaf for `nodeId` signed by `signer`. */
export async function issueFromCsr(signer: Signer, nodeId: string, csrDer: Uint8Array, ttlMs = LEAF_TTL_MS): Promise<Issued> {
  const { spkiDer } = await validateCsr(csrDer);
  const now = Date.now();
  const leaf = await issueLeaf(signer, { spkiDer, nodeId, role: 'worker', clusterId: CLUSTER, notBefore: new Date(now - 60_000), notAfter: new Date(now + ttlMs) });
  return { chainPem: leaf.chainPem, serial: leaf.info.serial, issuedAt: now, notAfter: now + ttlMs };
}

export async function newRoot(subject: string): Promise<{ certPem: string; keyPem: string }> {
  const keyPem = generateKeyPairPem().privateKeyPem;
  const now = Date.now();
  return { keyPem, certPem: await createRootCertificate({ privateKeyPem: keyPem, subject, notBefore: new Date(now - HOUR_MS), notAfter: new Date(now + 24 * HOUR_MS) }) };
}

// As PeerLink: nodes are checked by cluster (O=) and chain, not by hostname.
export const checkServerIdentity = (_host: string, cert: PeerCertificate): Error | undefined =>
  ([] as string[]).concat(cert.subject?.O ?? []).includes(CLUSTER) ? undefined : new Error(`peer is not a node of cluster ${CLUSTER}`);
export const serialOf = (cert: PeerCertificate | undefined) => (cert?.serialNumber ? normalizeSerial(cert.serialNumber) : undefined);

/** Per certificate (by its PEM text, or DER in base64): notAfter and the fingerprint of the root that issued it, among all roots of the soak. */
const certCache = new Map<string, { notAfter: number; root: string | undefined; rootsSeen: number }>();
const fingerprintOf = new Map<string, string>();
export const fingerprint = (rootPem: string) => {
  let f = fingerprintOf.get(rootPem);
  if (f === undefined) fingerprintOf.set(rootPem, (f = parseCertificate(rootPem).fingerprint));
  return f;
};

export function certInfo(cert: string | Uint8Array, allRootsPem: readonly string[]): { notAfter: number; root: string | undefined } {
  // Cached: the sample and the finish's evidence look at every live leg (~500 in one process) every time.
  const key = typeof cert === 'string' ? cert : Buffer.from(cert).toString('base64');
  let c = certCache.get(key);
  if (!c || (c.root === undefined && c.rootsSeen < allRootsPem.length)) {
    const der = typeof cert === 'string' ? pemToDer(cert) : cert;
    c = { notAfter: parseCertificate(der).notAfter.getTime(), root: issuingRoot(der, allRootsPem), rootsSeen: allRootsPem.length };
    certCache.set(key, c);
  }
  return c;
}

/** Undefined when `cert` is unexpired at `now` and issued by a root of `trustedPem` (the checking end's bundle now). */
export function certificateProblem(cert: string | Uint8Array, trustedPem: readonly string[], allRootsPem: readonly string[], now: number): 'expired' | 'untrusted' | undefined {
  const c = certInfo(cert, allRootsPem);
  if (now > c.notAfter) return 'expired';
  return c.root !== undefined && trustedPem.some((r) => fingerprint(r) === c.root) ? undefined : 'untrusted';
}
