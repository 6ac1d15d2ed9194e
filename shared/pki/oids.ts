// The one table of object identifiers hitless reads or writes, each encoded once (full OID TLVs, ready to
// compare byte for byte or to splice into DER).
import { oid } from './der.js';

export const OID = {
  // Signature algorithms (RFC 5758 3.2): ECDSA only, no parameters.
  ecdsaWithSha256: oid('1.2.840.10045.4.3.2'),
  ecdsaWithSha384: oid('1.2.840.10045.4.3.3'),
  ecdsaWithSha512: oid('1.2.840.10045.4.3.4'),
  // Name attributes (X.520).
  commonName: oid('2.5.4.3'),
  organizationalUnit: oid('2.5.4.11'),
  organization: oid('2.5.4.10'),
  country: oid('2.5.4.6'),
  locality: oid('2.5.4.7'),
  stateOrProvince: oid('2.5.4.8'),
  // Certificate extensions (RFC 5280 4.2.1).
  subjectKeyIdentifier: oid('2.5.29.14'),
  keyUsage: oid('2.5.29.15'),
  subjectAltName: oid('2.5.29.17'),
  basicConstraints: oid('2.5.29.19'),
  authorityKeyIdentifier: oid('2.5.29.35'),
  extKeyUsage: oid('2.5.29.37'),
  // Extended key usages (RFC 5280 4.2.1.12).
  serverAuth: oid('1.3.6.1.5.5.7.3.1'),
  clientAuth: oid('1.3.6.1.5.5.7.3.2'),
} as const;

/** Signature algorithm OID (hex of the TLV) → node:crypto digest name. */
export const ECDSA_DIGESTS = new Map<string, 'sha256' | 'sha384' | 'sha512'>([
  [Buffer.from(OID.ecdsaWithSha256).toString('hex'), 'sha256'],
  [Buffer.from(OID.ecdsaWithSha384).toString('hex'), 'sha384'],
  [Buffer.from(OID.ecdsaWithSha512).toString('hex'), 'sha512'],
]);

/** Short names of the Name attributes we print (RFC 4514 keywords); others print as dotted OIDs. */
export const ATTRIBUTE_NAMES = new Map<string, string>([
  ['2.5.4.3', 'CN'], ['2.5.4.11', 'OU'], ['2.5.4.10', 'O'], ['2.5.4.6', 'C'], ['2.5.4.7', 'L'], ['2.5.4.8', 'ST'],
]);

/** The same keywords, for names an operator writes ("CN=…, O=…"). */
export const ATTRIBUTE_OIDS = new Map<string, Uint8Array>([
  ['CN', OID.commonName], ['OU', OID.organizationalUnit], ['O', OID.organization], ['C', OID.country], ['L', OID.locality], ['ST', OID.stateOrProvince],
]);
