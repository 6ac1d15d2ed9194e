// PEM <-> DER, and bundles. Nothing else in the repo parses or concatenates PEM.
import { x509 } from './crypto-provider.js';

export type PemLabel = 'CERTIFICATE' | 'PRIVATE KEY' | 'CERTIFICATE REQUEST' | 'PUBLIC KEY';

/**
 * DER → PEM (RFC 7468: 64-character lines), always ending in exactly one newline (x509's encoder ends with
 * none: bundles would silently break). Encoded with Buffer, not x509's converter: it is on the issuance path.
 */
export function toPem(der: ArrayBuffer | Uint8Array, label: PemLabel): string {
  const b64 = Buffer.from(der instanceof Uint8Array ? der.buffer : der, der instanceof Uint8Array ? der.byteOffset : 0, der.byteLength).toString('base64');
  let body = '';
  for (let i = 0; i < b64.length; i += 64) body += b64.slice(i, i + 64) + '\n';
  return `-----BEGIN ${label}-----\n${body}-----END ${label}-----\n`;
}

/** Every PEM block of `label` in `text`, as DER. Throws on text that holds none. */
export function pemToDers(text: string, label: PemLabel = 'CERTIFICATE'): Uint8Array[] {
  const blocks = x509.PemConverter.decodeWithHeaders(text).filter((b) => b.type === label);
  if (blocks.length === 0) throw new TypeError(`no ${label} PEM block found`);
  return blocks.map((b) => new Uint8Array(b.rawData));
}

export function pemToDer(text: string, label: PemLabel = 'CERTIFICATE'): Uint8Array {
  return pemToDers(text, label)[0]!;
}

/** Splits a PEM bundle into one normalized PEM string per certificate. */
export function splitPemBundle(text: string): string[] {
  return pemToDers(text, 'CERTIFICATE').map((der) => toPem(der, 'CERTIFICATE'));
}

/** Joins PEM blocks into one bundle, newline-safe. */
export function joinPem(pems: readonly string[]): string {
  return pems.map((p) => p.trimEnd() + '\n').join('');
}
