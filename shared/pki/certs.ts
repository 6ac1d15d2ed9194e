// The one certificate decoder: every CertInfo read from bytes comes from decodeCertificate, whether they came
// from the wire (chain verification, renewals) or from disk (roots, stored identities). The only other
// producer is the template reporting the leaf it just signed (template.ts signLeaf), proven equal to this.
//
// Why our own: node:crypto's X509Certificate constructor costs ~280 µs per certificate (it formats every field
// up front), more than the ECDSA verify itself, and @peculiar/x509 costs milliseconds and ~16 MB of schema
// objects. This walks the DER strictly (der.ts) in ~20 µs and keeps the exact signed bytes, so chain.ts
// checks the signature with crypto.verify over the TBSCertificate. Nothing read here is trusted before that
// signature verified: a certificate that decodes here but not in OpenSSL cannot carry a signature of ours.
import { createHash, randomBytes } from 'node:crypto';
import { TAG, bytesOf, children, dottedOid, equalBytes, readRoot, valueOf, type Tlv } from './der.js';
import { ATTRIBUTE_NAMES, ECDSA_DIGESTS, OID } from './oids.js';
import { pemToDer } from './pem.js';

export interface SubjectFields {
  commonName?: string;
  organizationalUnits: string[];
  organization?: string;
}

export interface CertInfo {
  der: Uint8Array;
  serial: string; // lowercase hex without leading zeros (normalizeSerial): the one form every comparison uses
  subject: SubjectFields;
  /** "CN=…, OU=…, O=…" in certificate order, values escaped as RFC 4514 says (formatName). */
  subjectName: string;
  issuerName: string;
  notBefore: Date;
  notAfter: Date;
  isCa: boolean;
  /** SHA-256 of the DER, lowercase hex. */
  fingerprint: string;
  /** SHA-256 of the SubjectPublicKeyInfo, lowercase hex: identifies a key across cross-signs. */
  spkiFingerprint: string;
}

export interface DecodedCert {
  info: CertInfo;
  /** The DER of the TBSCertificate: what the issuer signed. */
  tbs: Uint8Array;
  /** The node:crypto digest for an ECDSA signature; undefined for other algorithms (verified by OpenSSL). */
  digest?: 'sha256' | 'sha384' | 'sha512';
  /** The signature value (for ECDSA, the DER ECDSA-Sig-Value). */
  signature: Uint8Array;
  /** DER of the issuer and subject Names, compared byte for byte when chaining. */
  issuerDer: Uint8Array;
  subjectDer: Uint8Array;
  /** DER of the SubjectPublicKeyInfo. */
  spki: Uint8Array;
  /** BasicConstraints cA and, when KeyUsage is present, keyCertSign (RFC 5280 4.2.1.3): may it sign certificates. */
  canIssue: boolean;
}

export const sha256Hex = (data: Uint8Array | string): string => createHash('sha256').update(data).digest('hex');

/** Serials in one normal form: lowercase hex, separators and leading zeros dropped. */
export function normalizeSerial(serial: string): string {
  const s = serial.replace(/[^0-9a-fA-F]/g, '').toLowerCase().replace(/^0+/, '');
  return s === '' ? '0' : s;
}

/** The one serial generator: 16 random bytes, top bit cleared and never a leading zero byte, so the DER
 * INTEGER is positive, of fixed length and under RFC 5280's 20-octet limit. */
export function randomSerial(): Buffer {
  const b = randomBytes(16);
  b[0] = b[0]! & 0x7f || 0x01;
  return b;
}

const hex = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
const utf8 = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('utf8');

/** Decodes a certificate (DER). Throws DerError (or Error) on anything that is not a well-formed v1-v3 certificate. */
export function decodeCertificate(der: Uint8Array): DecodedCert {
  const [tbsT, algT, sigT, ...rest] = children(der, readRoot(der, TAG.SEQUENCE));
  if (!tbsT || !algT || !sigT || rest.length || tbsT.tag !== TAG.SEQUENCE || algT.tag !== TAG.SEQUENCE || sigT.tag !== TAG.BIT_STRING) {
    throw new Error('not a Certificate (tbsCertificate, signatureAlgorithm, signatureValue)');
  }
  const sigBits = valueOf(der, sigT);
  if (sigBits[0] !== 0) throw new Error('signature has unused bits'); // DER signature values are whole bytes

  const f = children(der, tbsT);
  let i = f[0]?.tag === TAG.CONTEXT_0 ? 1 : 0; // [0] version (v3) is optional in the grammar
  const [serialT, innerAlgT, issuerT, validityT, subjectT, spkiT] = f.slice(i, i + 6);
  i += 6;
  if (!serialT || !innerAlgT || !issuerT || !validityT || !subjectT || !spkiT) throw new Error('TBSCertificate is missing fields');
  if (serialT.tag !== TAG.INTEGER || validityT.tag !== TAG.SEQUENCE || issuerT.tag !== TAG.SEQUENCE || subjectT.tag !== TAG.SEQUENCE || spkiT.tag !== TAG.SEQUENCE) {
    throw new Error('TBSCertificate field of the wrong type');
  }
  // RFC 5280 4.1.1.2: the signed algorithm must equal the outer one.
  if (!equalBytes(bytesOf(der, innerAlgT), bytesOf(der, algT))) throw new Error('signature algorithms differ inside and outside the TBSCertificate');
  const [nbT, naT, ...moreTimes] = children(der, validityT);
  if (!nbT || !naT || moreTimes.length) throw new Error('bad Validity');
  const extsT = f.slice(i).find((t) => t.tag === TAG.CONTEXT_3);
  const ext = extsT ? extensions(der, extsT) : { isCa: false, keyCertSign: undefined };

  const subject = names(der, subjectT);
  const get = (type: string) => subject.filter(([t]) => t === type).map(([, v]) => v);
  const spki = bytesOf(der, spkiT);
  const info: CertInfo = {
    der,
    serial: normalizeSerial(hex(valueOf(der, serialT))),
    subject: { commonName: get('CN')[0], organizationalUnits: get('OU'), organization: get('O')[0] },
    subjectName: formatName(subject),
    issuerName: formatName(names(der, issuerT)),
    notBefore: time(der, nbT),
    notAfter: time(der, naT),
    isCa: ext.isCa,
    fingerprint: sha256Hex(der),
    spkiFingerprint: sha256Hex(spki),
  };
  return {
    info,
    tbs: bytesOf(der, tbsT),
    digest: ecdsaDigest(der, algT),
    signature: sigBits.subarray(1),
    issuerDer: bytesOf(der, issuerT),
    subjectDer: bytesOf(der, subjectT),
    spki,
    canIssue: ext.isCa && ext.keyCertSign !== false,
  };
}

/**
 * [[type, value]] → "CN=a, O=b\, c": RFC 4514 escapes (as @peculiar/x509 and OpenSSL print them), so that
 * roots.ts parseDistinguishedName reads the same Name back from the text.
 */
export function formatName(rdns: readonly (readonly [type: string, value: string])[]): string {
  return rdns.map(([t, v]) => `${t}=${escapeDnValue(v)}`).join(', ');
}

const DN_SPECIAL = /[,+"\\<>;\r\n\t]|^[ #]| $/;

function escapeDnValue(v: string): string {
  if (!DN_SPECIAL.test(v)) return v;
  return v
    .replace(/([,+"\\<>;])/g, '\\$1')
    .replace(/^([ #])/, '\\$1')
    .replace(/ $/, '\\ ')
    .replace(/[\r\n\t]/g, (c) => `\\${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
}

/** A certificate (PEM or DER) → CertInfo. Throws on anything that is not one. */
export function parseCertificate(input: Uint8Array | string): CertInfo {
  return decodeCertificate(typeof input === 'string' ? pemToDer(input) : input).info;
}

/** ECDSA AlgorithmIdentifiers carry no parameters (RFC 5758 3.2); anything else is not ours to verify natively. */
function ecdsaDigest(der: Uint8Array, algT: Tlv): DecodedCert['digest'] {
  const [oidT, ...params] = children(der, algT);
  if (!oidT || oidT.tag !== TAG.OID || params.length) return undefined;
  return ECDSA_DIGESTS.get(hex(bytesOf(der, oidT)));
}

/** RDNSequence → [[short type, value]] in certificate order; unknown types by dotted OID. */
function names(der: Uint8Array, nameT: Tlv): [string, string][] {
  const out: [string, string][] = [];
  for (const rdn of children(der, nameT)) {
    if (rdn.tag !== TAG.SET) throw new Error('RDN is not a SET');
    for (const atv of children(der, rdn)) {
      const [typeT, valueT, ...more] = children(der, atv);
      if (!typeT || !valueT || more.length || typeT.tag !== TAG.OID) throw new Error('bad AttributeTypeAndValue');
      const dotted = dottedOid(valueOf(der, typeT));
      out.push([ATTRIBUTE_NAMES.get(dotted) ?? dotted, utf8(valueOf(der, valueT))]);
    }
  }
  return out;
}

function time(der: Uint8Array, t: Tlv): Date {
  const s = utf8(valueOf(der, t));
  const m = t.tag === TAG.UTC_TIME ? /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(s) : t.tag === TAG.GENERALIZED_TIME ? /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(s) : null;
  if (!m) throw new Error('bad time (RFC 5280 wants YYMMDDHHMMSSZ or YYYYMMDDHHMMSSZ)');
  let year = Number(m[1]);
  if (t.tag === TAG.UTC_TIME) year += year < 50 ? 2000 : 1900; // RFC 5280 4.1.2.5.1
  return new Date(Date.UTC(year, Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])));
}

/** BasicConstraints cA and KeyUsage keyCertSign (undefined without a KeyUsage), from the [3] wrapper. */
function extensions(der: Uint8Array, extsT: Tlv): { isCa: boolean; keyCertSign: boolean | undefined } {
  const [list, ...more] = children(der, extsT);
  if (!list || more.length || list.tag !== TAG.SEQUENCE) throw new Error('bad Extensions');
  let isCa = false;
  let keyCertSign: boolean | undefined;
  for (const e of children(der, list)) {
    const parts = children(der, e);
    const idT = parts[0];
    const valueT = parts[parts.length - 1];
    if (!idT || !valueT || idT.tag !== TAG.OID || valueT.tag !== TAG.OCTET_STRING) throw new Error('bad Extension');
    const id = bytesOf(der, idT);
    const value = valueOf(der, valueT);
    if (equalBytes(id, OID.basicConstraints)) {
      const first = children(value, readRoot(value, TAG.SEQUENCE))[0];
      isCa = first?.tag === TAG.BOOLEAN && value[first.start] === 0xff;
    } else if (equalBytes(id, OID.keyUsage)) {
      const bits = valueOf(value, readRoot(value, TAG.BIT_STRING));
      keyCertSign = bits.length > 1 && (bits[1]! & 0x04) !== 0; // bit 5, counted from the most significant
    }
  }
  return { isCa, keyCertSign };
}
