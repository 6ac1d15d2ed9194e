// What a consumer of `agent run --cert-out DIR` must be able to rely on, checked with node:crypto only: the key
// matches the certificate, and the certificate chain ends at a root of the bundle read with it.
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';

export interface CertOutSet {
  generation: string;
  keyPem: string;
  certPem: string;
  bundlePem: string;
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** The reader protocol the README recommends: resolve `..data` once, read the three files beside each other. */
export function readCertOutSet(dir: string): CertOutSet {
  const generation = readlinkSync(join(dir, '..data'));
  const base = join(dir, generation);
  return {
    generation,
    keyPem: readFileSync(join(base, 'node.key'), 'utf8'),
    certPem: readFileSync(join(base, 'node.crt'), 'utf8'),
    bundlePem: readFileSync(join(base, 'ca-bundle.crt'), 'utf8'),
  };
}

/** Undefined when the set is usable; otherwise what is wrong with it. */
export function certOutSetProblem(set: CertOutSet): string | undefined {
  const chain = (set.certPem.match(PEM_CERT) ?? []).map((p) => new X509Certificate(p));
  const roots = (set.bundlePem.match(PEM_CERT) ?? []).map((p) => new X509Certificate(p));
  const leaf = chain[0];
  if (!leaf) return 'node.crt holds no certificate';
  if (roots.length === 0) return 'ca-bundle.crt holds no certificate';
  if (!leaf.checkPrivateKey(createPrivateKey(set.keyPem))) return `node.key does not match node.crt (serial ${leaf.serialNumber})`;
  for (let i = 0; i + 1 < chain.length; i++) {
    if (!chain[i]!.verify(chain[i + 1]!.publicKey)) return `chain link ${i} is not signed by the next certificate`;
  }
  const last = chain[chain.length - 1]!;
  if (!roots.some((r) => last.checkIssued(r) && last.verify(r.publicKey))) return `node.crt (serial ${leaf.serialNumber}) does not chain to ca-bundle.crt`;
  return undefined;
}
