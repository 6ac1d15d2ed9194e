// Small PKI builders shared by unit tests: roots with their keys and signers, node keys, CSRs, leaves.
import { createPublicKey } from 'node:crypto';
import { generateKeyPairPem, type KeyPairPem } from '../../shared/pki/keys.js';
import { createRootCertificate } from '../../shared/pki/roots.js';
import { createSigner, issueLeaf, type IssuedLeaf, type Signer } from '../../ca/issuer.js';

export const HOUR_MS = 3_600_000;

export interface TestRoot {
  certPem: string;
  keyPem: string;
  signer: Signer;
}

/** A self-signed root valid from `at - 1h` to `at + 24h` (override with validity). */
export async function makeRoot(
  at: Date,
  opts: { subject?: string; notBefore?: Date; notAfter?: Date } = {},
): Promise<TestRoot> {
  const { privateKeyPem } = generateKeyPairPem();
  const certPem = await createRootCertificate({
    privateKeyPem,
    subject: opts.subject ?? 'CN=hitless root CA',
    notBefore: opts.notBefore ?? new Date(at.getTime() - HOUR_MS),
    notAfter: opts.notAfter ?? new Date(at.getTime() + 24 * HOUR_MS),
  });
  return { certPem, keyPem: privateKeyPem, signer: await createSigner(certPem, privateKeyPem) };
}

export function spkiOf(key: KeyPairPem): Uint8Array {
  return createPublicKey(key.publicKeyPem).export({ format: 'der', type: 'spki' });
}

/** A node certificate from `root` for a fresh key, valid `at - 1m` .. `at + 1h` unless told otherwise. */
export async function makeLeaf(
  root: TestRoot,
  at: Date,
  opts: { nodeId?: string; role?: string; clusterId?: string; notBefore?: Date; notAfter?: Date } = {},
): Promise<IssuedLeaf & { key: KeyPairPem }> {
  const key = generateKeyPairPem();
  const leaf = await issueLeaf(root.signer, {
    spkiDer: spkiOf(key),
    nodeId: opts.nodeId ?? 'node-1',
    role: opts.role ?? 'worker',
    clusterId: opts.clusterId ?? 'cluster-1',
    notBefore: opts.notBefore ?? new Date(at.getTime() - 60_000),
    notAfter: opts.notAfter ?? new Date(at.getTime() + HOUR_MS),
  });
  return { ...leaf, key };
}
