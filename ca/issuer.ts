// Certificate issuance: CSR checks and the node certificate. Only the CSR's public key is used; the CA decides
// subject, SANs, usages, serial and validity. This is the CA's hot path, so node certificates take the fast
// path (ca/leaf-encoder.ts: DER template + native signing) and CSRs are checked by native crypto; the
// @peculiar/x509 builder remains for the CA's own server certificate and as the reference the fast path is
// proven byte-identical against (issueLeafWithX509, test/unit/leaf-encoder.test.ts).
import { createHash, createPublicKey, verify, type KeyObject } from 'node:crypto';
import { x509, webcrypto } from '../shared/pki/crypto-provider.js';
import { invalidCsr } from '../shared/errors.js';
import { SIGNING_ALGORITHM, importKeyPair } from '../shared/pki/keys.js';
import { randomSerialHex, parseCertificate, normalizeSerial, type CertInfo } from '../shared/pki/certs.js';
import { toPem } from '../shared/pki/pem.js';
import { TAG, DerError, bytesOf, children, readRoot, valueOf, equalBytes, oid } from '../shared/pki/der.js';
import { CA_SERVER_NAME, CA_SERVER_OU } from '../shared/identity.js';
import { createLeafEncoder, encodeLeafTbs, serialOfTbs, signTbs, type LeafEncoder, type LeafFields } from './leaf-encoder.js';

/** A CSR is ~200-300 bytes for P-256; anything past this is not a CSR we could accept. */
export const MAX_CSR_BYTES = 4096;

/** The key that signs, with its certificate and the chain tail appended to every leaf it issues. */
export interface Signer {
  certPem: string;
  keyPem: string;
  keys: CryptoKeyPair;
  info: CertInfo;
  /** Certificates sent after the leaf (the cross-signed root during a rotation). */
  chainTailPem: string[];
  /** SHA-256 of the root certificate this signer is (or chains to, as a root). */
  rootFingerprint: string;
  subjectName: x509.Name;
  authorityKeyId: x509.AuthorityKeyIdentifierExtension;
  /** The fast path's per-signer constants. */
  encoder: LeafEncoder;
}

/** Extensions every node certificate carries, in order, before the SAN (the same objects for both paths). */
const NODE_LEADING_EXTENSIONS = [
  new x509.BasicConstraintsExtension(false, undefined, true),
  new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
  new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
];

export async function createSigner(certPem: string, keyPem: string, chainTailPem: string[] = []): Promise<Signer> {
  const keys = await importKeyPair(keyPem);
  const info = parseCertificate(certPem);
  const authorityKeyId = await x509.AuthorityKeyIdentifierExtension.create(keys.publicKey, false, webcrypto);
  return {
    certPem,
    keyPem,
    keys,
    info,
    chainTailPem,
    rootFingerprint: info.fingerprint,
    subjectName: new x509.X509Certificate(certPem).subjectName,
    authorityKeyId,
    encoder: createLeafEncoder(info.der, keyPem, { leading: NODE_LEADING_EXTENSIONS, authorityKeyId }),
  };
}

/** The public key of an accepted CSR: canonical SPKI DER (uncompressed point) and the native key. */
export interface CsrKey {
  spkiDer: Uint8Array;
  key: KeyObject;
}

const CSR_SIGNATURE_HASH = new Map<string, string>([
  [Buffer.from(oid('1.2.840.10045.4.3.2')).toString('hex'), 'sha256'],
  [Buffer.from(oid('1.2.840.10045.4.3.3')).toString('hex'), 'sha384'],
  [Buffer.from(oid('1.2.840.10045.4.3.4')).toString('hex'), 'sha512'],
]);
const CURVE_NAMES: Record<string, string> = { prime256v1: 'P-256', secp384r1: 'P-384', secp521r1: 'P-521' };

function describeKey(key: KeyObject): string {
  const d = key.asymmetricKeyDetails ?? {};
  switch (key.asymmetricKeyType) {
    case 'ec':
      return `ECDSA ${CURVE_NAMES[d.namedCurve ?? ''] ?? d.namedCurve ?? 'unknown curve'}`;
    case 'rsa':
    case 'rsa-pss':
      return `${key.asymmetricKeyType.toUpperCase()} ${d.modulusLength ?? '?'}-bit`;
    default:
      return key.asymmetricKeyType ?? 'unknown';
  }
}

/**
 * Parses and checks a CSR: size, strict DER, key type (ECDSA P-256 only) and proof of possession (the
 * request's signature verifies under the key it carries). Native crypto throughout: this runs per issuance.
 */
export function validateCsr(der: Uint8Array): Promise<CsrKey> {
  return Promise.resolve().then(() => checkCsr(der));
}

function checkCsr(der: Uint8Array): CsrKey {
  if (der.byteLength === 0) throw invalidCsr('empty (send a DER-encoded PKCS#10 request in csr_der)');
  if (der.byteLength > MAX_CSR_BYTES) throw invalidCsr(`${der.byteLength} bytes exceeds the ${MAX_CSR_BYTES}-byte limit`);
  let info: Uint8Array, spki: Uint8Array, hash: string | undefined, signature: Uint8Array;
  try {
    const outer = readRoot(der, TAG.SEQUENCE);
    const parts = children(der, outer);
    const [cri, alg, sig] = parts;
    if (parts.length !== 3 || cri!.tag !== TAG.SEQUENCE || alg!.tag !== TAG.SEQUENCE || sig!.tag !== TAG.BIT_STRING) throw new DerError('not CertificationRequest');
    const fields = children(der, cri!);
    const version = fields[0];
    if (fields.length !== 4 || version!.tag !== TAG.INTEGER || !equalBytes(valueOf(der, version!), Uint8Array.of(0)) || fields[2]!.tag !== TAG.SEQUENCE || fields[3]!.tag !== 0xa0) {
      throw new DerError('not CertificationRequestInfo v1');
    }
    children(der, fields[1]!); // the subject must parse, even though the CA ignores it
    info = bytesOf(der, cri!);
    spki = bytesOf(der, fields[2]!);
    hash = CSR_SIGNATURE_HASH.get(Buffer.from(bytesOf(der, children(der, alg!)[0]!)).toString('hex'));
    const bits = valueOf(der, sig!);
    if (bits[0] !== 0) throw new DerError('signature has unused bits');
    signature = bits.subarray(1);
  } catch (cause) {
    throw invalidCsr('not a DER-encoded PKCS#10 certification request', cause);
  }
  const key = publicKeyOf(spki);
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw invalidCsr(`unsupported key type ${describeKey(key)}; node keys must be ECDSA P-256`);
  }
  if (!hash) throw invalidCsr('signature algorithm is not ECDSA with SHA-256/384/512');
  let ok = false;
  try {
    ok = verify(hash, info, { key, dsaEncoding: 'der' }, signature);
  } catch (cause) {
    throw invalidCsr('signature could not be checked', cause);
  }
  if (!ok) throw invalidCsr('signature does not verify (no proof of possession of the key)');
  return { spkiDer: isCanonicalP256(spki) ? Uint8Array.from(spki) : key.export({ format: 'der', type: 'spki' }), key };
}

/** SubjectPublicKeyInfo of every uncompressed P-256 key: SEQUENCE { ecPublicKey, prime256v1 } BIT STRING 04… */
const P256_SPKI_PREFIX = Buffer.from('3059301306072a8648ce3d020106082a8648ce3d030107034200', 'hex');
const P256_SPKI_LENGTH = P256_SPKI_PREFIX.length + 65;

function isCanonicalP256(spki: Uint8Array): boolean {
  return spki.length === P256_SPKI_LENGTH && spki[P256_SPKI_PREFIX.length] === 0x04 && P256_SPKI_PREFIX.equals(spki.subarray(0, P256_SPKI_PREFIX.length));
}

/**
 * The CSR's key as a native KeyObject. OpenSSL's DER decoder costs ~150 µs per key (and re-exporting ~130);
 * the usual case, an uncompressed P-256 point in the standard encoding, goes in as JWK coordinates (~85 µs,
 * the point is still checked to be on the curve) and its SPKI bytes are already canonical. Anything else
 * takes the general decoder, which also names unsupported key types.
 */
function publicKeyOf(spki: Uint8Array): KeyObject {
  try {
    if (isCanonicalP256(spki)) {
      const point = Buffer.from(spki.buffer, spki.byteOffset + P256_SPKI_PREFIX.length + 1, 64);
      return createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: point.subarray(0, 32).toString('base64url'), y: point.subarray(32).toString('base64url') }, format: 'jwk' });
    }
    return createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
  } catch (cause) {
    throw invalidCsr('its public key could not be read', cause);
  }
}

/** The reference CSR check through @peculiar/x509 (the fast one above must agree with it). */
export async function validateCsrWithX509(der: Uint8Array): Promise<x509.PublicKey> {
  const csr = new x509.Pkcs10CertificateRequest(Buffer.from(der));
  if (!(await csr.verify(webcrypto))) throw invalidCsr('signature does not verify (no proof of possession of the key)');
  return csr.publicKey;
}

/** What the CA decides for a node certificate; the SANs follow from node and cluster id. */
export type LeafRequest = Pick<LeafFields, 'spkiDer' | 'nodeId' | 'role' | 'clusterId' | 'notBefore' | 'notAfter'>;

export interface IssuedLeaf {
  chainPem: string[];
  info: CertInfo;
}

export function nodeSpiffeId(clusterId: string, nodeId: string): string {
  return `spiffe://${clusterId}/node/${nodeId}`;
}

interface Template {
  serialHex?: string;
  subject: x509.JsonName;
  sans: x509.JsonGeneralName[];
  leading: x509.Extension[];
  publicKey: x509.PublicKey;
  notBefore: Date;
  notAfter: Date;
}

async function sign(signer: Signer, t: Template): Promise<IssuedLeaf> {
  const cert = await x509.X509CertificateGenerator.create(
    {
      serialNumber: t.serialHex ?? randomSerialHex(),
      subject: new x509.Name(t.subject),
      issuer: signer.subjectName,
      notBefore: t.notBefore,
      notAfter: t.notAfter,
      publicKey: t.publicKey,
      signingKey: signer.keys.privateKey,
      signingAlgorithm: SIGNING_ALGORITHM,
      extensions: [
        ...t.leading,
        new x509.SubjectAlternativeNameExtension(t.sans),
        signer.authorityKeyId,
        await x509.SubjectKeyIdentifierExtension.create(t.publicKey, false, webcrypto),
      ],
    },
    webcrypto,
  );
  const pem = toPem(cert.rawData, 'CERTIFICATE');
  return { chainPem: [pem, ...signer.chainTailPem], info: parseCertificate(pem) };
}

/** Signs a node certificate (fast path): CN=node id, OU=role, O=cluster; serverAuth+clientAuth; CA:false. */
export function issueLeaf(signer: Signer, req: LeafRequest & { serialHex?: string }): Promise<IssuedLeaf> {
  return Promise.resolve().then(() => {
    const fields = { ...req, dnsName: req.nodeId, uri: nodeSpiffeId(req.clusterId, req.nodeId) };
    const tbs = encodeLeafTbs(signer.encoder, fields);
    const der = signTbs(signer.encoder, tbs);
    const pem = toPem(der, 'CERTIFICATE');
    const info: CertInfo = {
      der,
      serial: normalizeSerial(req.serialHex ?? serialOfTbs(tbs)),
      subject: { commonName: req.nodeId, organizationalUnits: [req.role], organization: req.clusterId },
      // Our ids and roles are [0-9a-z-]: no RFC 4514 escaping needed (the differential test checks the form).
      subjectName: `CN=${req.nodeId}, OU=${req.role}, O=${req.clusterId}`,
      issuerName: signer.info.subjectName,
      notBefore: wholeSeconds(req.notBefore),
      notAfter: wholeSeconds(req.notAfter),
      isCa: false,
      fingerprint: createHash('sha256').update(der).digest('hex'),
      spkiFingerprint: createHash('sha256').update(req.spkiDer).digest('hex'),
    };
    return { chainPem: [pem, ...signer.chainTailPem], info };
  });
}

/** X.509 times carry whole seconds; what we report must be what is encoded. */
const wholeSeconds = (d: Date) => new Date(Math.floor(d.getTime() / 1000) * 1000);

/** The same node certificate built by @peculiar/x509: the reference the fast path is tested against. */
export async function issueLeafWithX509(signer: Signer, req: LeafRequest & { serialHex: string }): Promise<IssuedLeaf> {
  return sign(signer, {
    serialHex: req.serialHex,
    subject: [{ CN: [req.nodeId] }, { OU: [req.role] }, { O: [req.clusterId] }],
    sans: [
      { type: 'dns', value: req.nodeId },
      { type: 'url', value: nodeSpiffeId(req.clusterId, req.nodeId) },
    ],
    leading: NODE_LEADING_EXTENSIONS,
    publicKey: new x509.PublicKey(Buffer.from(req.spkiDer)),
    notBefore: req.notBefore,
    notAfter: req.notAfter,
  });
}

/** The CA's own TLS server certificate: named `hitless-ca`, OU=ca, serverAuth only (rare: the x509 path). */
export function issueCaServerCert(signer: Signer, req: Omit<LeafRequest, 'role' | 'nodeId' | 'spkiDer'> & { publicKey: x509.PublicKey }): Promise<IssuedLeaf> {
  return sign(signer, {
    subject: [{ CN: [CA_SERVER_NAME] }, { OU: [CA_SERVER_OU] }, { O: [req.clusterId] }],
    sans: [{ type: 'dns', value: CA_SERVER_NAME }],
    leading: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
    ],
    publicKey: req.publicKey,
    notBefore: req.notBefore,
    notAfter: req.notAfter,
  });
}
