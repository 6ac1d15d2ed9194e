// Certificate building and inspection on top of @peculiar/x509: roots, cross-signs, CSRs, fingerprints.
// Leaf issuance (the CA's hot path) lives in ca/issuer.ts; this file holds what both sides need.
import { createHash, randomBytes, type X509Certificate as NodeX509 } from 'node:crypto';
import { TAG, children, readRoot } from './der.js';
import { x509, webcrypto } from './crypto-provider.js';
import { SIGNING_ALGORITHM, importKeyPair } from './keys.js';
import { toPem } from './pem.js';

export interface SubjectFields {
  commonName?: string;
  organizationalUnits: string[];
  organization?: string;
}

export interface CertInfo {
  der: Uint8Array;
  serial: string; // lowercase hex without leading zeros (normalizeSerial): the one form every comparison uses
  subject: SubjectFields;
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

export const sha256Hex = (data: Uint8Array | string): string => createHash('sha256').update(data).digest('hex');

/** Node reports serials in uppercase and may drop leading zeros; we compare in this one normal form. */
export function normalizeSerial(serial: string): string {
  const s = serial.replace(/[^0-9a-fA-F]/g, '').toLowerCase().replace(/^0+/, '');
  return s === '' ? '0' : s;
}

/** 16 random bytes with the top bit cleared: a positive INTEGER under RFC 5280's 20-octet limit. */
export function randomSerialHex(): string {
  const bytes = randomBytes(16);
  bytes[0] = bytes[0]! & 0x7f;
  if (bytes[0] === 0) bytes[0] = 0x01; // keep a fixed DER length (no leading-zero stripping)
  return bytes.toString('hex');
}

function subjectFields(name: x509.Name): SubjectFields {
  const json = name.toJSON();
  const get = (type: string) => json.flatMap((rdn) => rdn[type] ?? []);
  return { commonName: get('CN')[0], organizationalUnits: get('OU'), organization: get('O')[0] };
}

export function parseCertificate(input: Uint8Array | string): CertInfo {
  const cert = new x509.X509Certificate(typeof input === 'string' ? input : Buffer.from(input));
  return certInfo(cert);
}

export function certInfo(cert: x509.X509Certificate): CertInfo {
  const der = new Uint8Array(cert.rawData);
  const bc = cert.getExtension(x509.BasicConstraintsExtension);
  return {
    der,
    serial: normalizeSerial(cert.serialNumber),
    subject: subjectFields(cert.subjectName),
    subjectName: cert.subject,
    issuerName: cert.issuer,
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
    isCa: bc?.ca === true,
    fingerprint: sha256Hex(der),
    spkiFingerprint: sha256Hex(new Uint8Array(cert.publicKey.rawData)),
  };
}

/**
 * CertInfo from Node's native parser: what the hot paths (chain checks on every call) use. Names come out in
 * the same "CN=…, OU=…, O=…" form as parseCertificate's for the plain values we issue (the unit test
 * compares the two over our certificate shapes).
 */
export function nativeCertInfo(x: NodeX509): CertInfo {
  const der = new Uint8Array(x.raw);
  const subject = x.subject.split('\n');
  const get = (type: string) => subject.filter((l) => l.startsWith(`${type}=`)).map((l) => l.slice(type.length + 1));
  return {
    der,
    serial: normalizeSerial(x.serialNumber),
    subject: { commonName: get('CN')[0], organizationalUnits: get('OU'), organization: get('O')[0] },
    subjectName: subject.join(', '),
    issuerName: x.issuer.split('\n').join(', '),
    notBefore: new Date(x.validFrom),
    notAfter: new Date(x.validTo),
    isCa: x.ca,
    fingerprint: x.fingerprint256.replaceAll(':', '').toLowerCase(),
    spkiFingerprint: sha256Hex(spkiOf(der)),
  };
}

/** The SubjectPublicKeyInfo TLV of a certificate (DER). */
function spkiOf(der: Uint8Array): Uint8Array {
  const tbs = children(der, readRoot(der, TAG.SEQUENCE))[0]!;
  const fields = children(der, tbs);
  const t = fields[fields[0]!.tag === 0xa0 ? 6 : 5]!;
  return der.subarray(t.offset, t.end);
}

export interface RootOptions {
  privateKeyPem: string;
  subject: string;
  notBefore: Date;
  notAfter: Date;
}

const caExtensions = async (publicKey: CryptoKey) => [
  new x509.BasicConstraintsExtension(true, undefined, true),
  new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
  await x509.SubjectKeyIdentifierExtension.create(publicKey, false, webcrypto),
];

/** A self-signed root. */
export async function createRootCertificate(opts: RootOptions): Promise<string> {
  const keys = await importKeyPair(opts.privateKeyPem);
  const cert = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: randomSerialHex(),
      name: opts.subject,
      notBefore: opts.notBefore,
      notAfter: opts.notAfter,
      keys,
      signingAlgorithm: SIGNING_ALGORITHM,
      extensions: await caExtensions(keys.publicKey),
    },
    webcrypto,
  );
  return toPem(cert.rawData, 'CERTIFICATE');
}

/**
 * Cross-signs `newRootPem` with the old root's key: same subject, key and validity as the new root, issued
 * by the old root. A node that trusts only the old root accepts leaves of the new root through it.
 */
export async function crossSignRoot(newRootPem: string, oldRootPem: string, oldRootKeyPem: string): Promise<string> {
  const newRoot = new x509.X509Certificate(newRootPem);
  const oldRoot = new x509.X509Certificate(oldRootPem);
  const oldKeys = await importKeyPair(oldRootKeyPem);
  const publicKey = await newRoot.publicKey.export(webcrypto);
  const cert = await x509.X509CertificateGenerator.create(
    {
      serialNumber: randomSerialHex(),
      subject: newRoot.subjectName,
      issuer: oldRoot.subjectName,
      notBefore: newRoot.notBefore,
      notAfter: newRoot.notAfter,
      publicKey,
      signingKey: oldKeys.privateKey,
      signingAlgorithm: SIGNING_ALGORITHM,
      extensions: [
        ...(await caExtensions(publicKey)),
        await x509.AuthorityKeyIdentifierExtension.create(oldKeys.publicKey, false, webcrypto),
      ],
    },
    webcrypto,
  );
  return toPem(cert.rawData, 'CERTIFICATE');
}

/** A PKCS#10 request for `privateKeyPem`. The CA ignores the subject; it decides the identity. */
export async function createCsrDer(privateKeyPem: string): Promise<Uint8Array> {
  const keys = await importKeyPair(privateKeyPem);
  const csr = await x509.Pkcs10CertificateRequestGenerator.create(
    { name: 'CN=hitless-node', keys, signingAlgorithm: SIGNING_ALGORITHM },
    webcrypto,
  );
  return new Uint8Array(csr.rawData);
}
