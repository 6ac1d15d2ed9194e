// PEM <-> DER, and bundles (RFC 7468). Nothing else in the repo parses or concatenates PEM.
export type PemLabel = 'CERTIFICATE' | 'PRIVATE KEY' | 'CERTIFICATE REQUEST' | 'PUBLIC KEY';

/** DER → PEM: 64-character lines, always ending in exactly one newline (so bundles concatenate safely). */
export function toPem(der: ArrayBuffer | Uint8Array, label: PemLabel): string {
  const b64 = Buffer.from(der instanceof Uint8Array ? der.buffer : der, der instanceof Uint8Array ? der.byteOffset : 0, der.byteLength).toString('base64');
  let body = '';
  for (let i = 0; i < b64.length; i += 64) body += b64.slice(i, i + 64) + '\n';
  return `-----BEGIN ${label}-----\n${body}-----END ${label}-----\n`;
}

// A block: BEGIN and END lines with the same label, base64 between (any line length, CRLF or LF, blank lines
// and surrounding text allowed, as RFC 7468's lax parser). Explanatory text between blocks is skipped.
const BLOCK = /-----BEGIN ([\x20-\x2c\x2e-\x7e]*)-----([\s\S]*?)-----END ([\x20-\x2c\x2e-\x7e]*)-----/g;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Every PEM block of `label` in `text`, as DER. Throws on text that holds none, or on a damaged block. */
function pemToDers(text: string, label: PemLabel = 'CERTIFICATE'): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const m of text.matchAll(BLOCK)) {
    const [, begin = '', body = '', end] = m;
    if (begin !== end) throw new TypeError(`PEM block "${begin}" ends with "${end}"`);
    if (begin !== label) continue;
    const b64 = body.replace(/\s+/g, '');
    if (!BASE64.test(b64) || b64.length % 4 !== 0) throw new TypeError(`${label} PEM block is not valid base64`);
    out.push(new Uint8Array(Buffer.from(b64, 'base64')));
  }
  if (out.length === 0) throw new TypeError(`no ${label} PEM block found`);
  return out;
}

export function pemToDer(text: string, label: PemLabel = 'CERTIFICATE'): Uint8Array {
  return pemToDers(text, label)[0]!;
}

/** Joins PEM blocks into one bundle, newline-safe. */
export function joinPem(pems: readonly string[]): string {
  return pems.map((p) => p.trimEnd() + '\n').join('');
}
