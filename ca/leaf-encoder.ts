// The fast issuance path: node certificates encoded straight to DER and signed by Node's native crypto.
//
// Why: building a leaf through @peculiar/x509 costs ~3 ms (generic ASN.1 schema encoding, WebCrypto key
// import/export); the ECDSA math is a few percent of that. A node certificate has a fixed shape, so the
// constant parts (version, algorithm, issuer name, usages, authority key id) are encoded once per signer and
// only the variable fields are encoded per certificate: serial, validity, subject, public key, SANs and the
// subject key id. test/unit/leaf-encoder.test.ts proves, over many random inputs, that the TBSCertificate is
// byte-identical to the one @peculiar/x509 builds for the same inputs (ca/issuer.ts issueLeafWithX509).
import { createHash, createPrivateKey, randomBytes, sign, type KeyObject } from 'node:crypto';
import { x509 } from '../shared/pki/crypto-provider.js';
import {
  TAG, bitString, bytesOf, children, directoryString, explicit, ia5Bytes, implicit, oid, positiveInteger,
  readRoot, time, tlv, valueOf,
} from '../shared/pki/der.js';

const ECDSA_WITH_SHA256 = tlv(TAG.SEQUENCE, oid('1.2.840.10045.4.3.2'));
const VERSION_3 = explicit(0, tlv(TAG.INTEGER, Uint8Array.of(2)));
const ATTR = { CN: oid('2.5.4.3'), OU: oid('2.5.4.11'), O: oid('2.5.4.10') };
const EXT_SAN = oid('2.5.29.17');
const EXT_SKI = oid('2.5.29.14');

/** What a signer contributes to every leaf, encoded once. */
export interface LeafEncoder {
  key: KeyObject;
  /** The issuer Name exactly as encoded in the signer's certificate (its subject). */
  issuerName: Uint8Array;
  /** BasicConstraints, KeyUsage and ExtendedKeyUsage: the same for every node certificate. */
  leadingExtensions: Uint8Array;
  /** AuthorityKeyIdentifier of the signer. */
  authorityKeyId: Uint8Array;
}

/** The subject Name field of a certificate (DER), for use as the issuer of what it signs. */
export function subjectNameOf(certDer: Uint8Array): Uint8Array {
  const cert = readRoot(certDer, TAG.SEQUENCE);
  const tbs = children(certDer, cert)[0]!;
  const fields = children(certDer, tbs);
  const hasVersion = fields[0]!.tag === 0xa0;
  return bytesOf(certDer, fields[hasVersion ? 5 : 4]!);
}

/** `extensions` are the constant ones as x509 encodes them (ca/issuer.ts builds them, so both paths agree). */
export function createLeafEncoder(certDer: Uint8Array, keyPem: string, extensions: { leading: x509.Extension[]; authorityKeyId: x509.Extension }): LeafEncoder {
  return {
    key: createPrivateKey(keyPem),
    issuerName: subjectNameOf(certDer),
    leadingExtensions: Buffer.concat(extensions.leading.map((e) => new Uint8Array(e.rawData))),
    authorityKeyId: new Uint8Array(extensions.authorityKeyId.rawData),
  };
}

export interface LeafFields {
  /** Canonical SubjectPublicKeyInfo (uncompressed P-256 point), as validateCsr returns it. */
  spkiDer: Uint8Array;
  nodeId: string;
  role: string;
  clusterId: string;
  notBefore: Date;
  notAfter: Date;
  dnsName: string;
  uri: string;
  /** Lowercase hex, 16 bytes, top bit clear; random when omitted. */
  serialHex?: string;
}

/** 16 random bytes, top bit cleared and never a leading zero byte: a fixed-length positive INTEGER. */
export function randomSerial(): Buffer {
  const b = randomBytes(16);
  b[0] = b[0]! & 0x7f || 0x01;
  return b;
}

/** RFC 5280 method 1: SHA-1 of the subjectPublicKey BIT STRING's bits. */
export function keyIdentifier(spkiDer: Uint8Array): Buffer {
  const spki = readRoot(spkiDer, TAG.SEQUENCE);
  const bits = valueOf(spkiDer, children(spkiDer, spki)[1]!).subarray(1);
  return createHash('sha1').update(bits).digest();
}

export function subjectName(f: Pick<LeafFields, 'nodeId' | 'role' | 'clusterId'>): Uint8Array {
  const rdn = (type: Uint8Array, value: string) => tlv(TAG.SET, tlv(TAG.SEQUENCE, type, directoryString(value)));
  return tlv(TAG.SEQUENCE, rdn(ATTR.CN, f.nodeId), rdn(ATTR.OU, f.role), rdn(ATTR.O, f.clusterId));
}

const extension = (id: Uint8Array, value: Uint8Array) => tlv(TAG.SEQUENCE, id, tlv(TAG.OCTET_STRING, value));

/** The TBSCertificate for a node certificate. */
export function encodeLeafTbs(enc: LeafEncoder, f: LeafFields): Uint8Array {
  const serial = f.serialHex ? Buffer.from(f.serialHex, 'hex') : randomSerial();
  const san = tlv(TAG.SEQUENCE, implicit(2, ia5Bytes(f.dnsName)), implicit(6, ia5Bytes(f.uri)));
  const ski = tlv(TAG.OCTET_STRING, keyIdentifier(f.spkiDer));
  return tlv(
    TAG.SEQUENCE,
    VERSION_3,
    positiveInteger(serial),
    ECDSA_WITH_SHA256,
    enc.issuerName,
    tlv(TAG.SEQUENCE, time(f.notBefore), time(f.notAfter)),
    subjectName(f),
    f.spkiDer,
    explicit(3, tlv(TAG.SEQUENCE, enc.leadingExtensions, extension(EXT_SAN, san), enc.authorityKeyId, extension(EXT_SKI, ski))),
  );
}

/** Signs a TBSCertificate with the signer's key (ECDSA P-256, SHA-256) into a Certificate. */
export function signTbs(enc: LeafEncoder, tbs: Uint8Array): Uint8Array {
  const signature = sign('sha256', tbs, { key: enc.key, dsaEncoding: 'der' });
  return tlv(TAG.SEQUENCE, tbs, ECDSA_WITH_SHA256, bitString(signature));
}

/** The serial of an encoded TBSCertificate as lowercase hex without leading zeros (normalizeSerial's form). */
export function serialOfTbs(tbs: Uint8Array): string {
  const fields = children(tbs, readRoot(tbs, TAG.SEQUENCE));
  return Buffer.from(valueOf(tbs, fields[1]!)).toString('hex').replace(/^0+/, '') || '0';
}
