// Root certificates and cross-signs (the CA only, and rarely: `ca init` and root rotations), encoded by our
// DER writer and signed by Node's native crypto like every other certificate. The root subject is operator
// text ("CN=…, O=…", RFC 4514). test/unit/roots.test.ts proves both byte-identical (before the signature) to
// what @peculiar/x509 builds, which is now only a test reference.
import { createPrivateKey } from 'node:crypto';
import { HitlessError } from '../errors.js';
import { TAG, TRUE, explicit, implicit, positiveInteger, time, tlv } from './der.js';
import { decodeCertificate, randomSerial, type DecodedCert } from './certs.js';
import { ATTRIBUTE_OIDS, OID } from './oids.js';
import { pemToDer, toPem } from './pem.js';
import { spkiDer } from './keys.js';
import { ECDSA_WITH_SHA256, VERSION_3, encodeName, extension, keyIdentifier, signDer } from './template.js';

export interface RootOptions {
  privateKeyPem: string;
  /** RFC 4514 text, e.g. "CN=hitless root CA, O=Example". */
  subject: string;
  notBefore: Date;
  notAfter: Date;
}

/** BasicConstraints CA:true, KeyUsage keyCertSign + cRLSign (both critical), SubjectKeyIdentifier. */
function caExtensions(spki: Uint8Array): Uint8Array[] {
  return [
    extension(OID.basicConstraints, tlv(TAG.SEQUENCE, TRUE), true),
    extension(OID.keyUsage, Uint8Array.of(TAG.BIT_STRING, 2, 1, 0x06), true), // bits 5 and 6: 1 unused bit
    extension(OID.subjectKeyIdentifier, tlv(TAG.OCTET_STRING, keyIdentifier(spki))),
  ];
}

function tbsCertificate(f: { issuer: Uint8Array; subject: Uint8Array; notBefore: Date; notAfter: Date; spki: Uint8Array; extensions: Uint8Array[] }): Uint8Array {
  return tlv(
    TAG.SEQUENCE,
    VERSION_3,
    positiveInteger(randomSerial()),
    ECDSA_WITH_SHA256,
    f.issuer,
    tlv(TAG.SEQUENCE, time(f.notBefore), time(f.notAfter)),
    f.subject,
    f.spki,
    explicit(3, tlv(TAG.SEQUENCE, ...f.extensions)),
  );
}

/** A self-signed root. */
export async function createRootCertificate(opts: RootOptions): Promise<string> {
  const key = createPrivateKey(opts.privateKeyPem);
  const spki = spkiDer(key);
  const name = parseDistinguishedName(opts.subject);
  const tbs = tbsCertificate({ issuer: name, subject: name, notBefore: opts.notBefore, notAfter: opts.notAfter, spki, extensions: caExtensions(spki) });
  return toPem(signDer(tbs, key), 'CERTIFICATE');
}

/**
 * Cross-signs `newRootPem` with the old root's key: same subject (byte for byte), key and validity as the new
 * root, issued by the old root. A node that trusts only the old root accepts leaves of the new root through it.
 */
export async function crossSignRoot(newRootPem: string, oldRootPem: string, oldRootKeyPem: string): Promise<string> {
  const newRoot: DecodedCert = decodeCertificate(pemToDer(newRootPem));
  const oldRoot: DecodedCert = decodeCertificate(pemToDer(oldRootPem));
  const key = createPrivateKey(oldRootKeyPem);
  const tbs = tbsCertificate({
    issuer: oldRoot.subjectDer,
    subject: newRoot.subjectDer,
    notBefore: newRoot.info.notBefore,
    notAfter: newRoot.info.notAfter,
    spki: newRoot.spki,
    extensions: [
      ...caExtensions(newRoot.spki),
      extension(OID.authorityKeyIdentifier, tlv(TAG.SEQUENCE, implicit(0, keyIdentifier(spkiDer(key))))),
    ],
  });
  return toPem(signDer(tbs, key), 'CERTIFICATE');
}

const badSubject = (text: string, why: string) =>
  new HitlessError('INVALID_ARGUMENT', `root subject "${text.slice(0, 80)}": ${why}`, {
    hint: `write it as RFC 4514 attributes, e.g. "CN=hitless root CA, O=Example, C=DE" (${[...ATTRIBUTE_OIDS.keys()].join(', ')})`,
  });

/**
 * RFC 4514 text → Name DER, in the order written. Values run from "=" to the next unescaped "," and keep
 * their spaces (as @peculiar/x509 read them, so existing subjects encode as before); they take `\,`-style and
 * `\xx` hex escapes. Multi-valued RDNs ("A=1+B=2") are refused rather than guessed at.
 */
export function parseDistinguishedName(text: string): Uint8Array {
  const rdns: [Uint8Array, string][] = [];
  let i = 0;
  while (i < text.length) {
    const eq = text.indexOf('=', i);
    if (eq < 0) throw badSubject(text, `"${text.slice(i).trim()}" has no "="`);
    const type = text.slice(i, eq).trim().toUpperCase();
    const oid = ATTRIBUTE_OIDS.get(type);
    if (!oid) throw badSubject(text, `unsupported attribute "${type.slice(0, 20)}"`);
    if (text[eq + 1] === '#') throw badSubject(text, `a value starting with "#" (BER in hex) is not supported; write \\# for a literal "#"`);
    const bytes: number[] = [];
    for (i = eq + 1; i < text.length && text[i] !== ','; i++) {
      const c = text[i]!;
      if (c === '\\') {
        const hex = /^[0-9a-fA-F]{2}/.exec(text.slice(i + 1));
        if (hex) bytes.push(parseInt(hex[0], 16)), (i += 2);
        else if (i + 1 < text.length) i += utf8Of(text, i + 1, bytes);
        else throw badSubject(text, 'ends in a lone "\\"');
      } else if (c === '+') {
        throw badSubject(text, 'multi-valued RDNs ("+") are not supported');
      } else {
        i += utf8Of(text, i, bytes) - 1;
      }
    }
    const value = Buffer.from(bytes).toString('utf8');
    if (value === '') throw badSubject(text, `${type} is empty`);
    rdns.push([oid, value]);
    i++; // past the ','
  }
  if (rdns.length === 0) throw badSubject(text, 'is empty');
  return encodeName(rdns);
}

/** Appends the UTF-8 of the code point at `at` (a surrogate pair is one); returns how many UTF-16 units it took. */
function utf8Of(text: string, at: number, out: number[]): number {
  const c = String.fromCodePoint(text.codePointAt(at)!);
  out.push(...Buffer.from(c, 'utf8'));
  return c.length;
}
