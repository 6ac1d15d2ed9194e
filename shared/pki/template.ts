// The certificate template: TBSCertificates for the leaves hitless issues (node certificates and the CA's own
// TLS certificate), encoded straight to DER and signed by Node's native crypto. The pieces every certificate
// shares (algorithm, version, names, extensions, key identifiers, signing) are exported for roots.ts too.
//
// Why: building a leaf through @peculiar/x509 costs ~3 ms (generic ASN.1 schema encoding, WebCrypto key
// import/export); the ECDSA math is a few percent of that. A leaf has a fixed shape, so the constant parts
// (version, algorithm, issuer name, usages, authority key id) are encoded once per signer and profile and only
// the variable fields are encoded per certificate: serial, validity, subject, public key, SANs and the subject
// key id. test/unit/leaf-encoder.test.ts proves, over many random inputs, that the TBSCertificate is
// byte-identical to the one @peculiar/x509 builds for the same inputs (test/helpers/x509-reference.ts).
import { createHash, createPrivateKey, sign, type KeyObject } from 'node:crypto';
import { TAG, TRUE, bitString, children, directoryString, explicit, ia5Bytes, implicit, positiveInteger, readRoot, time, tlv, valueOf } from './der.js';
import { decodeCertificate, formatName, normalizeSerial, randomSerial, sha256Hex, type CertInfo, type DecodedCert } from './certs.js';
import { OID } from './oids.js';

/** AlgorithmIdentifier ecdsa-with-SHA256 (no parameters): every signature hitless makes. */
export const ECDSA_WITH_SHA256 = tlv(TAG.SEQUENCE, OID.ecdsaWithSha256);
export const VERSION_3 = explicit(0, tlv(TAG.INTEGER, Uint8Array.of(2)));

/** A signed structure (Certificate or CertificationRequest: the same shape): ECDSA P-256 with SHA-256. */
export function signDer(toBeSigned: Uint8Array, key: KeyObject): Uint8Array {
  const signature = sign('sha256', toBeSigned, { key, dsaEncoding: 'der' });
  return tlv(TAG.SEQUENCE, toBeSigned, ECDSA_WITH_SHA256, bitString(signature));
}

/** A Name of single-valued RDNs, in order; values as directory strings. */
export function encodeName(rdns: readonly (readonly [type: Uint8Array, value: string])[]): Uint8Array {
  return tlv(TAG.SEQUENCE, ...rdns.map(([type, value]) => tlv(TAG.SET, tlv(TAG.SEQUENCE, type, directoryString(value)))));
}

/** One Extension; `critical` is encoded only when true (DER omits a DEFAULT FALSE). */
export function extension(id: Uint8Array, value: Uint8Array, critical = false): Uint8Array {
  return critical ? tlv(TAG.SEQUENCE, id, TRUE, tlv(TAG.OCTET_STRING, value)) : tlv(TAG.SEQUENCE, id, tlv(TAG.OCTET_STRING, value));
}

/** RFC 5280 4.2.1.2 method 1: SHA-1 of the subjectPublicKey BIT STRING's bits. */
export function keyIdentifier(spkiDer: Uint8Array): Buffer {
  const spki = readRoot(spkiDer, TAG.SEQUENCE);
  const bits = valueOf(spkiDer, children(spkiDer, spki)[1]!).subarray(1);
  return createHash('sha1').update(bits).digest();
}

/** What a leaf profile fixes: the extended key usages, after BasicConstraints CA:false and KeyUsage. */
export interface LeafProfile {
  /** BasicConstraints, KeyUsage and ExtendedKeyUsage, encoded once. */
  leadingExtensions: Uint8Array;
}

function leafProfile(extendedKeyUsages: Uint8Array[]): LeafProfile {
  return {
    leadingExtensions: Buffer.concat([
      extension(OID.basicConstraints, tlv(TAG.SEQUENCE), true),
      extension(OID.keyUsage, Uint8Array.of(TAG.BIT_STRING, 2, 7, 0x80), true), // digitalSignature only
      extension(OID.extKeyUsage, tlv(TAG.SEQUENCE, ...extendedKeyUsages)),
    ]),
  };
}

/** Node certificates: mTLS both ways. */
export const NODE_PROFILE = leafProfile([OID.serverAuth, OID.clientAuth]);
/** The CA's own TLS certificate: server only. */
export const CA_SERVER_PROFILE = leafProfile([OID.serverAuth]);
/** Operator credentials (ca/operators.ts): client only. */
export const CLIENT_PROFILE = leafProfile([OID.clientAuth]);

/** What a signer contributes to every leaf, encoded once. */
export interface LeafEncoder {
  key: KeyObject;
  /** The signer's certificate, decoded. */
  cert: DecodedCert;
  /** AuthorityKeyIdentifier extension of the signer (its key identifier). */
  authorityKeyId: Uint8Array;
}

export function createLeafEncoder(certDer: Uint8Array, keyPem: string): LeafEncoder {
  const cert = decodeCertificate(certDer);
  return {
    key: createPrivateKey(keyPem),
    cert,
    authorityKeyId: extension(OID.authorityKeyIdentifier, tlv(TAG.SEQUENCE, implicit(0, keyIdentifier(cert.spki)))),
  };
}

export interface LeafFields {
  /** Canonical SubjectPublicKeyInfo (uncompressed P-256 point), as checkCsr returns it. */
  spkiDer: Uint8Array;
  /** Subject: CN, OU, O in this order. */
  commonName: string;
  organizationalUnit: string;
  organization: string;
  dnsNames: readonly string[];
  uris: readonly string[];
  notBefore: Date;
  notAfter: Date;
  /** Serial magnitude (big-endian); randomSerial() when omitted. */
  serial?: Uint8Array;
}

/** The TBSCertificate of a leaf. */
function encodeLeafTbs(enc: LeafEncoder, profile: LeafProfile, f: LeafFields): Uint8Array {
  const san = tlv(TAG.SEQUENCE, ...f.dnsNames.map((d) => implicit(2, ia5Bytes(d))), ...f.uris.map((u) => implicit(6, ia5Bytes(u))));
  return tlv(
    TAG.SEQUENCE,
    VERSION_3,
    positiveInteger(f.serial ?? randomSerial()),
    ECDSA_WITH_SHA256,
    enc.cert.subjectDer,
    tlv(TAG.SEQUENCE, time(f.notBefore), time(f.notAfter)),
    encodeName([[OID.commonName, f.commonName], [OID.organizationalUnit, f.organizationalUnit], [OID.organization, f.organization]]),
    f.spkiDer,
    explicit(
      3,
      tlv(TAG.SEQUENCE, profile.leadingExtensions, extension(OID.subjectAltName, san), enc.authorityKeyId, extension(OID.subjectKeyIdentifier, tlv(TAG.OCTET_STRING, keyIdentifier(f.spkiDer)))),
    ),
  );
}

/** X.509 times carry whole seconds: what a leaf reports must be what is encoded. */
const wholeSeconds = (d: Date) => new Date(Math.floor(d.getTime() / 1000) * 1000);

/**
 * A signed leaf certificate, and its CertInfo. The info is built from the fields just encoded rather than by
 * decoding the bytes again (certs.ts would add 10-20 % to an issuance, the CA's hot path);
 * test/unit/leaf-encoder.test.ts proves it equal to what decodeCertificate and @peculiar/x509 read back.
 */
export function signLeaf(enc: LeafEncoder, profile: LeafProfile, f: LeafFields): { der: Uint8Array; info: CertInfo } {
  const serial = f.serial ?? randomSerial();
  const der = signDer(encodeLeafTbs(enc, profile, { ...f, serial }), enc.key);
  const info: CertInfo = {
    der,
    serial: normalizeSerial(Buffer.from(serial).toString('hex')),
    subject: { commonName: f.commonName, organizationalUnits: [f.organizationalUnit], organization: f.organization },
    subjectName: formatName([['CN', f.commonName], ['OU', f.organizationalUnit], ['O', f.organization]]),
    issuerName: enc.cert.info.subjectName,
    notBefore: wholeSeconds(f.notBefore),
    notAfter: wholeSeconds(f.notAfter),
    isCa: false,
    fingerprint: sha256Hex(der),
    spkiFingerprint: sha256Hex(f.spkiDer),
  };
  return { der, info };
}
