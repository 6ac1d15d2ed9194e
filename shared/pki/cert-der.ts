// Reading a certificate's DER directly: the fields chain verification needs, and the exact signed bytes.
//
// Why: node:crypto's X509Certificate constructor costs ~280 µs per certificate (it formats every field up front),
// more than the ECDSA verify itself. Every *new* client certificate the CA sees goes through verifyChain once —
// after a CA restart that is every node at once (the renewal storm) — so the leaf is decoded here (~20 µs)
// and its signature checked with crypto.verify over the TBSCertificate bytes. The fields read here are only
// trusted once that signature verified: a certificate that decodes here but not in OpenSSL cannot carry a
// signature of ours. Anything unusual (other signature algorithms, odd encodings) returns undefined and the
// caller falls back to X509Certificate. Strict DER walking comes from der.ts; no crypto here.
import { TAG, children, readRoot, valueOf, bytesOf, equalBytes, oid, type Tlv } from './der.js';
import { normalizeSerial, sha256Hex, type CertInfo } from './certs.js';

export interface DecodedCert {
  info: CertInfo;
  /** The DER of the TBSCertificate: what the issuer signed. */
  tbs: Uint8Array;
  /** The node:crypto digest name for the signature algorithm (ECDSA only). */
  digest: 'sha256' | 'sha384';
  /** The signature value (DER ECDSA-Sig-Value). */
  signature: Uint8Array;
  /** DER of the issuer and subject Names, compared byte for byte when chaining. */
  issuerDer: Uint8Array;
  subjectDer: Uint8Array;
}

const ECDSA_SHA256 = oid('1.2.840.10045.4.3.2');
const ECDSA_SHA384 = oid('1.2.840.10045.4.3.3');
const BASIC_CONSTRAINTS = oid('2.5.29.19');
const ATTR = new Map<string, string>([
  ['2.5.4.3', 'CN'], ['2.5.4.11', 'OU'], ['2.5.4.10', 'O'], ['2.5.4.6', 'C'], ['2.5.4.7', 'L'], ['2.5.4.8', 'ST'],
]);
const hex = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
const utf8 = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('utf8');

/** Decodes `der`, or returns undefined for anything outside the ECDSA certificates we issue and trust. */
export function decodeCertificate(der: Uint8Array): DecodedCert | undefined {
  try {
    return decode(der);
  } catch {
    return undefined;
  }
}

function decode(der: Uint8Array): DecodedCert | undefined {
  const [tbsT, algT, sigT, ...rest] = children(der, readRoot(der, TAG.SEQUENCE));
  if (!tbsT || !algT || !sigT || rest.length || tbsT.tag !== TAG.SEQUENCE || sigT.tag !== TAG.BIT_STRING) return undefined;
  const outerAlg = bytesOf(der, algT);
  const digest = algorithm(der, algT);
  if (!digest) return undefined;
  const sigBits = valueOf(der, sigT);
  if (sigBits[0] !== 0) return undefined; // unused bits must be 0 for a DER signature value

  const f = children(der, tbsT);
  let i = f[0]?.tag === 0xa0 ? 1 : 0; // [0] version (v3) is optional in the grammar
  const [serialT, innerAlgT, issuerT, validityT, subjectT, spkiT] = f.slice(i, i + 6);
  i += 6;
  if (!serialT || !innerAlgT || !issuerT || !validityT || !subjectT || !spkiT) return undefined;
  if (serialT.tag !== TAG.INTEGER || validityT.tag !== TAG.SEQUENCE || issuerT.tag !== TAG.SEQUENCE || subjectT.tag !== TAG.SEQUENCE) return undefined;
  // RFC 5280 4.1.1.2: the signed algorithm must equal the outer one.
  if (!equalBytes(bytesOf(der, innerAlgT), outerAlg)) return undefined;
  const [nbT, naT, ...moreTimes] = children(der, validityT);
  if (!nbT || !naT || moreTimes.length) return undefined;
  const extsT = f.slice(i).find((t) => t.tag === 0xa3);

  const subject = names(der, subjectT);
  const get = (type: string) => subject.filter(([t]) => t === type).map(([, v]) => v);
  const info: CertInfo = {
    der,
    serial: normalizeSerial(hex(valueOf(der, serialT))),
    subject: { commonName: get('CN')[0], organizationalUnits: get('OU'), organization: get('O')[0] },
    subjectName: subject.map(([t, v]) => `${t}=${v}`).join(', '),
    issuerName: names(der, issuerT).map(([t, v]) => `${t}=${v}`).join(', '),
    notBefore: time(der, nbT),
    notAfter: time(der, naT),
    isCa: extsT ? isCa(der, extsT) : false,
    fingerprint: sha256Hex(der),
    spkiFingerprint: sha256Hex(bytesOf(der, spkiT)),
  };
  return { info, tbs: bytesOf(der, tbsT), digest, signature: sigBits.subarray(1), issuerDer: bytesOf(der, issuerT), subjectDer: bytesOf(der, subjectT) };
}

function algorithm(der: Uint8Array, algT: Tlv): 'sha256' | 'sha384' | undefined {
  const [oidT, ...params] = children(der, algT);
  if (!oidT || oidT.tag !== TAG.OID || params.length) return undefined; // ECDSA AlgorithmIdentifiers have no parameters
  const id = bytesOf(der, oidT);
  return equalBytes(id, ECDSA_SHA256) ? 'sha256' : equalBytes(id, ECDSA_SHA384) ? 'sha384' : undefined;
}

/** RDNSequence → [[short type, value]] in certificate order; unknown types by dotted OID. */
function names(der: Uint8Array, nameT: Tlv): [string, string][] {
  const out: [string, string][] = [];
  for (const rdn of children(der, nameT)) {
    if (rdn.tag !== TAG.SET) throw new Error('RDN is not a SET');
    for (const atv of children(der, rdn)) {
      const [typeT, valueT] = children(der, atv);
      if (!typeT || !valueT || typeT.tag !== TAG.OID) throw new Error('bad AttributeTypeAndValue');
      const dotted = dottedOid(valueOf(der, typeT));
      out.push([ATTR.get(dotted) ?? dotted, utf8(valueOf(der, valueT))]);
    }
  }
  return out;
}

function dottedOid(v: Uint8Array): string {
  const parts: number[] = [];
  let n = 0;
  for (const b of v) {
    n = n * 128 + (b & 0x7f);
    if (!(b & 0x80)) {
      parts.push(n);
      n = 0;
    }
  }
  const first = parts.shift() ?? 0;
  return [first < 80 ? Math.floor(first / 40) : 2, first < 80 ? first % 40 : first - 80, ...parts].join('.');
}

function time(der: Uint8Array, t: Tlv): Date {
  const s = utf8(valueOf(der, t));
  const m = t.tag === TAG.UTC_TIME ? /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(s) : t.tag === TAG.GENERALIZED_TIME ? /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(s) : null;
  if (!m) throw new Error(`bad time ${s}`);
  let year = Number(m[1]);
  if (t.tag === TAG.UTC_TIME) year += year < 50 ? 2000 : 1900; // RFC 5280 4.1.2.5.1
  return new Date(Date.UTC(year, Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])));
}

/** BasicConstraints cA, from the [3] extensions wrapper. */
function isCa(der: Uint8Array, extsT: Tlv): boolean {
  const [list] = children(der, extsT);
  if (!list) return false;
  for (const ext of children(der, list)) {
    const parts = children(der, ext);
    if (!equalBytes(bytesOf(der, parts[0]!), BASIC_CONSTRAINTS)) continue;
    const value = valueOf(der, parts[parts.length - 1]!);
    const first = children(value, readRoot(value, TAG.SEQUENCE))[0];
    return first?.tag === 0x01 && value[first.start] === 0xff;
  }
  return false;
}
