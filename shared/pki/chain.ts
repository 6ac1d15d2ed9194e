// Chain validation. A CA must check validity, the CA flag and key usage besides signatures, and must say
// *why* a chain fails: verifyChain returns a typed reason instead of a boolean.
//
// Native throughout: this runs for every new peer certificate — the CA's renewals and watch streams, every
// peer connection on every agent — and the @peculiar/x509 version cost ~3 ms per chain. Roots and
// intermediates are the same on every call, so they are parsed once (node:crypto X509Certificate) and kept,
// bounded, with their public keys. The leaf is new each time: it is decoded from DER (cert-der.ts, ~20 µs
// instead of X509Certificate's ~280 µs) and its signature checked with crypto.verify over the signed bytes;
// certificates that decoder does not take go through X509Certificate as before.
import { X509Certificate, verify as verifySignature, type KeyObject } from 'node:crypto';
import { nativeCertInfo, type CertInfo } from './certs.js';
import { decodeCertificate, type DecodedCert } from './cert-der.js';
import { pemToDer } from './pem.js';
import { TAG, children, oid, readRoot, valueOf, equalBytes } from './der.js';

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
  /** Parsed lazily for decoded leaves (only needed when the fast decoder could not take the certificate). */
  x?: X509Certificate;
  /** The DER view, when cert-der.ts could decode it. */
  decoded?: DecodedCert;
  info: CertInfo;
  /** BasicConstraints CA and, when KeyUsage is present, keyCertSign. */
  canIssue: boolean;
  /** Each access to X509Certificate.publicKey decodes the key again (~150 µs): anchors keep theirs. */
  publicKey?: KeyObject;
}

const ANCHOR_CACHE_SIZE = 256;
const anchors = new Map<string, Parsed>();

function parse(input: Uint8Array | string): Parsed {
  const x = new X509Certificate(typeof input === 'string' ? input : Buffer.from(input));
  const info = nativeCertInfo(x);
  return { x, info, decoded: decodeCertificate(info.der), canIssue: x.ca && keyUsageAllowsCertSign(info.der) };
}

/** A leaf: decoded from DER when possible, else through X509Certificate. */
function parseLeaf(input: Uint8Array | string): Parsed {
  const decoded = decodeCertificate(typeof input === 'string' ? pemToDer(input) : input);
  if (!decoded) return parse(input);
  return { decoded, info: decoded.info, canIssue: decoded.info.isCa && keyUsageAllowsCertSign(decoded.info.der) };
}

/**
 * Issuer match: the Name DER byte for byte when both sides decoded; otherwise the names as node:crypto formats
 * them (issuers are always parsed through X509Certificate; a decoded-only child is parsed now).
 */
function namedIssuer(child: Parsed, issuer: Parsed): boolean {
  if (child.decoded && issuer.decoded) return equalBytes(child.decoded.issuerDer, issuer.decoded.subjectDer);
  const childInfo = child.x ? child.info : nativeCertInfo((child.x = new X509Certificate(Buffer.from(child.info.der))));
  return childInfo.issuerName === issuer.info.subjectName;
}

/** Whether `issuer`'s key signed `child`. */
function signedBy(child: Parsed, issuer: Parsed): boolean {
  const key = (issuer.publicKey ??= (issuer.x ??= new X509Certificate(Buffer.from(issuer.info.der))).publicKey);
  if (child.decoded && key.asymmetricKeyType === 'ec') {
    return verifySignature(child.decoded.digest, child.decoded.tbs, { key, dsaEncoding: 'der' }, child.decoded.signature);
  }
  return (child.x ??= new X509Certificate(Buffer.from(child.info.der))).verify(key);
}

/** Trust anchors and intermediates: parsed once per distinct certificate. */
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

const KEY_USAGE = oid('2.5.29.15');

/** RFC 5280 4.2.1.3: an issuer with a KeyUsage extension must assert keyCertSign (bit 5). */
function keyUsageAllowsCertSign(der: Uint8Array): boolean {
  const tbs = children(der, readRoot(der, TAG.SEQUENCE))[0]!;
  const exts = children(der, tbs).find((f) => f.tag === 0xa3);
  if (!exts) return true;
  for (const ext of children(der, children(der, exts)[0]!)) {
    const parts = children(der, ext);
    if (!equalBytes(der.subarray(parts[0]!.offset, parts[0]!.end), KEY_USAGE)) continue;
    const value = valueOf(der, parts[parts.length - 1]!);
    const bits = valueOf(value, readRoot(value, TAG.BIT_STRING));
    return bits.length > 1 && (bits[1]! & 0x04) !== 0;
  }
  return true;
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
    leaf = parseLeaf(input.leaf);
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
    if (!issuer.canIssue) return { ok: false, reason: 'ISSUER_NOT_CA', detail: `"${issuer.info.subjectName}" is not a CA` };
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
