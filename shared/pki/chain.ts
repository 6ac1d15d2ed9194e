// Chain validation. A CA must check validity, the CA flag and key usage besides signatures, and must say
// *why* a chain fails: verifyChain returns a typed reason instead of a boolean.
//
// Native throughout: this runs for every new peer certificate — the CA's renewals and watch streams, every
// peer connection on every agent. Every certificate is read by the one decoder (certs.ts, ~20 µs instead of
// X509Certificate's ~280 µs) and its signature checked with crypto.verify over the signed bytes. Roots and
// intermediates are the same on every call, so they are decoded once and kept, bounded, with their public
// keys. A signature that is not ECDSA (an operator's root, say) is left to OpenSSL's X509Certificate.verify.
import { X509Certificate, createPublicKey, verify as verifySignature, type KeyObject } from 'node:crypto';
import { decodeCertificate, type CertInfo, type DecodedCert } from './certs.js';
import { pemToDer } from './pem.js';
import { equalBytes } from './der.js';

export type ChainFailure =
  | 'EXPIRED'
  | 'NOT_YET_VALID'
  | 'UNKNOWN_ISSUER'
  | 'BAD_SIGNATURE'
  | 'ISSUER_NOT_CA'
  | 'TOO_LONG'
  | 'MALFORMED';

export type ChainResult =
  | { ok: true; leaf: CertInfo; root: CertInfo; path: CertInfo[] }
  | { ok: false; reason: ChainFailure; detail: string };

const MAX_DEPTH = 4;

export interface ChainInput {
  leaf: Uint8Array | string;
  /** Certificates that may sit between leaf and root (cross-signed roots during a rotation). */
  intermediates?: readonly (Uint8Array | string)[];
  roots: readonly (Uint8Array | string)[];
  at: Date;
}

interface Parsed {
  decoded: DecodedCert;
  info: CertInfo;
  /** Decoding a public key costs ~100 µs: anchors keep theirs. */
  publicKey?: KeyObject;
}

const ANCHOR_CACHE_SIZE = 256;
const anchors = new Map<string, Parsed>();

function parse(input: Uint8Array | string): Parsed {
  const decoded = decodeCertificate(typeof input === 'string' ? pemToDer(input) : input);
  return { decoded, info: decoded.info };
}

/** Issuer match: the Name DER byte for byte (RFC 5280 7.1 allows more lenient matching; we issue exact copies). */
function namedIssuer(child: Parsed, issuer: Parsed): boolean {
  return equalBytes(child.decoded.issuerDer, issuer.decoded.subjectDer);
}

/** Whether `issuer`'s key signed `child`. */
function signedBy(child: Parsed, issuer: Parsed): boolean {
  const key = (issuer.publicKey ??= createPublicKey({ key: Buffer.from(issuer.decoded.spki), format: 'der', type: 'spki' }));
  if (child.decoded.digest && key.asymmetricKeyType === 'ec') {
    return verifySignature(child.decoded.digest, child.decoded.tbs, { key, dsaEncoding: 'der' }, child.decoded.signature);
  }
  return new X509Certificate(Buffer.from(child.info.der)).verify(key);
}

/** Trust anchors and intermediates: decoded once per distinct certificate. */
function anchor(input: Uint8Array | string): Parsed {
  const key = typeof input === 'string' ? input : Buffer.from(input).toString('base64');
  let p = anchors.get(key);
  if (!p) {
    p = parse(input);
    if (anchors.size >= ANCHOR_CACHE_SIZE) anchors.delete(anchors.keys().next().value!);
    anchors.set(key, p);
  }
  return p;
}

function checkValidity(info: CertInfo, at: Date, what: string): ChainResult | undefined {
  if (at.getTime() < info.notBefore.getTime()) {
    return { ok: false, reason: 'NOT_YET_VALID', detail: `${what} is not valid before ${info.notBefore.toISOString()}` };
  }
  if (at.getTime() > info.notAfter.getTime()) {
    return { ok: false, reason: 'EXPIRED', detail: `${what} expired at ${info.notAfter.toISOString()}` };
  }
  return undefined;
}

/** Verifies leaf → (intermediates) → one of `roots` at `at`. Roots are trust anchors (their validity counts too). */
export async function verifyChain(input: ChainInput): Promise<ChainResult> {
  let leaf: Parsed;
  try {
    leaf = parse(input.leaf);
  } catch (cause) {
    return { ok: false, reason: 'MALFORMED', detail: `not a certificate: ${(cause as Error).message}` };
  }
  const roots = input.roots.map(anchor);
  const intermediates = (input.intermediates ?? []).map(anchor);
  const rootPrints = new Set(roots.map((r) => r.info.fingerprint));

  const invalid = checkValidity(leaf.info, input.at, 'certificate');
  if (invalid) return invalid;

  const path: Parsed[] = [leaf];
  let current = leaf;
  for (let depth = 0; depth < MAX_DEPTH; depth++) {
    const candidates = [...roots, ...intermediates].filter(
      (c) => namedIssuer(current, c) && !path.some((p) => p.info.fingerprint === c.info.fingerprint),
    );
    if (candidates.length === 0) {
      return { ok: false, reason: 'UNKNOWN_ISSUER', detail: `no trusted issuer named "${current.info.issuerName}"` };
    }
    const issuer = candidates.find((c) => signedBy(current, c));
    if (!issuer) return { ok: false, reason: 'BAD_SIGNATURE', detail: `signature does not verify under "${current.info.issuerName}"` };
    if (!issuer.decoded.canIssue) return { ok: false, reason: 'ISSUER_NOT_CA', detail: `"${issuer.info.subjectName}" is not a CA` };
    const issuerInvalid = checkValidity(issuer.info, input.at, `issuer "${issuer.info.subjectName}"`);
    if (issuerInvalid) return issuerInvalid;
    path.push(issuer);
    if (rootPrints.has(issuer.info.fingerprint)) {
      return { ok: true, leaf: leaf.info, root: issuer.info, path: path.map((p) => p.info) };
    }
    current = issuer;
  }
  return { ok: false, reason: 'TOO_LONG', detail: `chain longer than ${MAX_DEPTH}` };
}

/**
 * The fingerprint of the root among `roots` whose key directly signed `cert`, or undefined when none did.
 * Validity is not checked: this names where a certificate comes from (rotation evidence), it grants no trust.
 */
export function issuingRoot(cert: Uint8Array | string, roots: readonly (Uint8Array | string)[]): string | undefined {
  let child: Parsed;
  try {
    child = parse(cert);
  } catch {
    return undefined;
  }
  for (const r of roots.map(anchor)) {
    if (namedIssuer(child, r) && signedBy(child, r)) return r.info.fingerprint;
  }
  return undefined;
}
