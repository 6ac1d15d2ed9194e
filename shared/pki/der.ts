// The one DER reader and writer: every certificate and CSR byte hitless reads or writes goes through here
// (certs.ts decodes, template.ts and csr.ts encode). Only what those need: walk a TLV tree strictly (definite
// lengths, no trailing bytes, no overruns) and encode the handful of types a certificate or CSR holds. No
// crypto here: signatures are made and checked by Node's native crypto.

/** One TLV: `tag` is the identifier octet (single-byte tags only), the value is bytes[start, end). */
export interface Tlv {
  tag: number;
  /** Offset of the identifier octet. */
  offset: number;
  start: number;
  end: number;
}

export class DerError extends Error {}

/** Reads the TLV at `offset` of `buf`, within `limit`. Rejects indefinite and non-minimal long lengths. */
function readTlv(buf: Uint8Array, offset: number, limit = buf.length): Tlv {
  if (offset + 2 > limit) throw new DerError(`truncated TLV at ${offset}`);
  const tag = buf[offset]!;
  if ((tag & 0x1f) === 0x1f) throw new DerError(`multi-byte tag at ${offset}`);
  let len = buf[offset + 1]!;
  let start = offset + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 3) throw new DerError(`unsupported length form at ${offset}`);
    if (start + n > limit) throw new DerError(`truncated length at ${offset}`);
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[start + i]!;
    if (len < 0x80 || buf[start] === 0) throw new DerError(`non-minimal length at ${offset}`);
    start += n;
  }
  const end = start + len;
  if (end > limit) throw new DerError(`value overruns its container at ${offset}`);
  return { tag, offset, start, end };
}

/** The children of a constructed TLV; throws unless they exactly fill it. */
export function children(buf: Uint8Array, parent: Tlv): Tlv[] {
  const out: Tlv[] = [];
  for (let at = parent.start; at < parent.end; ) {
    const t = readTlv(buf, at, parent.end);
    out.push(t);
    at = t.end;
  }
  return out;
}

/** Reads the single top-level TLV that must make up all of `buf`. */
export function readRoot(buf: Uint8Array, tag: number): Tlv {
  const t = readTlv(buf, 0);
  if (t.tag !== tag) throw new DerError(`expected tag 0x${tag.toString(16)}, got 0x${t.tag.toString(16)}`);
  if (t.end !== buf.length) throw new DerError(`${buf.length - t.end} trailing bytes`);
  return t;
}

export const bytesOf = (buf: Uint8Array, t: Tlv): Uint8Array => buf.subarray(t.offset, t.end);
export const valueOf = (buf: Uint8Array, t: Tlv): Uint8Array => buf.subarray(t.start, t.end);

export const TAG = {
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  OID: 0x06,
  UTF8_STRING: 0x0c,
  PRINTABLE_STRING: 0x13,
  IA5_STRING: 0x16,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
  SEQUENCE: 0x30,
  SET: 0x31,
  BOOLEAN: 0x01,
  /** [0] constructed: the certificate version, the CSR attributes. */
  CONTEXT_0: 0xa0,
  /** [3] constructed: the certificate extensions. */
  CONTEXT_3: 0xa3,
} as const;

function header(tag: number, len: number): Uint8Array {
  if (len < 0x80) return Uint8Array.of(tag, len);
  if (len < 0x100) return Uint8Array.of(tag, 0x81, len);
  if (len < 0x10000) return Uint8Array.of(tag, 0x82, len >> 8, len & 0xff);
  return Uint8Array.of(tag, 0x83, len >> 16, (len >> 8) & 0xff, len & 0xff);
}

/** Encodes one TLV whose value is the concatenation of `parts`. */
export function tlv(tag: number, ...parts: Uint8Array[]): Uint8Array {
  let len = 0;
  for (const p of parts) len += p.length;
  const h = header(tag, len);
  const out = new Uint8Array(h.length + len);
  out.set(h, 0);
  let at = h.length;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

const ascii = (s: string): Uint8Array => Buffer.from(s, 'latin1');

/** A positive INTEGER from big-endian magnitude bytes: leading zeros dropped, one added if the top bit is set. */
export function positiveInteger(magnitude: Uint8Array): Uint8Array {
  let i = 0;
  while (i < magnitude.length - 1 && magnitude[i] === 0) i++;
  const m = magnitude.subarray(i);
  return m[0]! & 0x80 ? tlv(TAG.INTEGER, Uint8Array.of(0), m) : tlv(TAG.INTEGER, m);
}

/** RFC 5280 4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050; whole seconds, always Zulu. */
export function time(d: Date): Uint8Array {
  const iso = d.toISOString(); // YYYY-MM-DDTHH:MM:SS.sssZ
  const digits = iso.slice(0, 19).replace(/[-T:]/g, '') + 'Z';
  return d.getUTCFullYear() >= 2050 ? tlv(TAG.GENERALIZED_TIME, ascii(digits)) : tlv(TAG.UTC_TIME, ascii(digits.slice(2)));
}

const PRINTABLE = /^[A-Za-z0-9 '()+,\-./:=?]*$/;

/** A directory string: PrintableString when the text allows it, else UTF8String (what x509 chooses too). */
export function directoryString(s: string): Uint8Array {
  return PRINTABLE.test(s) ? tlv(TAG.PRINTABLE_STRING, ascii(s)) : tlv(TAG.UTF8_STRING, Buffer.from(s, 'utf8'));
}

/** The bytes of an IA5String value (ASCII only), for implicitly tagged GeneralNames. */
export function ia5Bytes(s: string): Uint8Array {
  if (!/^[\x00-\x7f]*$/.test(s)) throw new DerError('IA5String holds ASCII only');
  return ascii(s);
}

/** An OBJECT IDENTIFIER from dotted text (computed once per constant, not on a hot path). */
export function oid(dotted: string): Uint8Array {
  const arcs = dotted.split('.').map(Number);
  const body: number[] = [arcs[0]! * 40 + arcs[1]!];
  for (const arc of arcs.slice(2)) {
    const chunk: number[] = [arc & 0x7f];
    for (let v = Math.floor(arc / 128); v > 0; v = Math.floor(v / 128)) chunk.unshift((v & 0x7f) | 0x80);
    body.push(...chunk);
  }
  return tlv(TAG.OID, Uint8Array.from(body));
}

/** Dotted text of an OBJECT IDENTIFIER's value bytes (the inverse of oid(), for names we do not know). */
export function dottedOid(value: Uint8Array): string {
  const parts: number[] = [];
  let n = 0;
  for (const b of value) {
    n = n * 128 + (b & 0x7f);
    if (!(b & 0x80)) {
      parts.push(n);
      n = 0;
    }
  }
  const first = parts.shift() ?? 0;
  return [first < 80 ? Math.floor(first / 40) : 2, first < 80 ? first % 40 : first - 80, ...parts].join('.');
}

/** BOOLEAN TRUE (DER: 0xff). */
export const TRUE = Uint8Array.of(TAG.BOOLEAN, 1, 0xff);

/** A BIT STRING with no unused bits. */
export const bitString = (bytes: Uint8Array): Uint8Array => tlv(TAG.BIT_STRING, Uint8Array.of(0), bytes);

/** Context-specific tags: [n] constructed (explicit) and [n] primitive (implicit). */
export const explicit = (n: number, ...parts: Uint8Array[]): Uint8Array => tlv(0xa0 | n, ...parts);
export const implicit = (n: number, bytes: Uint8Array): Uint8Array => tlv(0x80 | n, bytes);

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}
