// The mutation engine. Every mutator takes a valid input and a seeded PRNG and returns a damaged copy plus a
// short name (the outcome table counts by it). Generic byte mutations (bit flips, truncation, splicing,
// insertion, duplication) apply to anything; structure-aware ones know where the lengths are: ASN.1 DER
// (CSRs), protobuf (tags, wire types, varints, length prefixes) and join tokens (segments, separators).
// HTTP/2 frame mutations live in frames.ts beside the frame builder.
import type { Prng } from './prng.js';
import { scanFields, varint, WIRE } from './protobuf.js';

export interface Mutated {
  bytes: Buffer;
  how: string;
}

export type Mutator = (input: Buffer, rng: Prng, donors: readonly Buffer[]) => Mutated;

/** Lengths that break parsers: zero, off by one, sign bits, the 2^n edges, past any sane limit. */
export function interestingLength(rng: Prng, around: number): number {
  return rng.pick([0, 1, around - 1, around + 1, around * 2, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xffff, 0x1_0000, 0xff_ffff, 0x7fff_ffff, 0xffff_ffff]);
}

// --- generic byte mutations -------------------------------------------------------------------------------

const bitFlip: Mutator = (input, rng) => {
  const out = Buffer.from(input);
  const flips = rng.range(1, 8);
  for (let i = 0; i < flips && out.length; i++) out[rng.int(out.length)]! ^= 1 << rng.int(8);
  return { bytes: out, how: 'bit-flip' };
};

const byteSet: Mutator = (input, rng) => {
  const out = Buffer.from(input);
  if (out.length) out[rng.int(out.length)] = rng.pick([0x00, 0xff, 0x7f, 0x80, 0x30, 0x04, 0x02, rng.int(256)]);
  return { bytes: out, how: 'byte-set' };
};

const truncate: Mutator = (input, rng) => ({ bytes: input.subarray(0, rng.int(input.length)), how: 'truncate' });

const dropRange: Mutator = (input, rng) => {
  const a = rng.int(input.length);
  const b = Math.min(input.length, a + rng.range(1, 32));
  return { bytes: Buffer.concat([input.subarray(0, a), input.subarray(b)]), how: 'drop-range' };
};

const insertRandom: Mutator = (input, rng) => {
  const at = rng.int(input.length + 1);
  const size = rng.chance(0.1) ? rng.range(1_000, 70_000) : rng.range(1, 64);
  return { bytes: Buffer.concat([input.subarray(0, at), rng.bytes(size), input.subarray(at)]), how: size > 64 ? 'insert-large' : 'insert-random' };
};

const duplicateRange: Mutator = (input, rng) => {
  const a = rng.int(input.length);
  const b = Math.min(input.length, a + rng.range(1, 64));
  const times = rng.chance(0.1) ? rng.range(100, 2_000) : rng.range(1, 4);
  const piece = input.subarray(a, b);
  return { bytes: Buffer.concat([input.subarray(0, b), ...Array.from({ length: times }, () => piece), input.subarray(b)]), how: 'duplicate-range' };
};

/** Head of one valid input, tail of another (or of itself at another offset). */
const splice: Mutator = (input, rng, donors) => {
  const donor = donors.length ? rng.pick(donors) : input;
  const cut = rng.int(input.length + 1);
  return { bytes: Buffer.concat([input.subarray(0, cut), donor.subarray(rng.int(donor.length + 1))]), how: 'splice' };
};

const empty: Mutator = () => ({ bytes: Buffer.alloc(0), how: 'empty' });

export const GENERIC: readonly (readonly [number, Mutator])[] = [
  [6, bitFlip],
  [3, byteSet],
  [3, truncate],
  [2, dropRange],
  [2, insertRandom],
  [2, duplicateRange],
  [3, splice],
  [1, empty],
];

// --- ASN.1 DER ---------------------------------------------------------------------------------------------

/** Offsets of every tag-length header in a DER blob, found by a tolerant walk into constructed types. */
function derHeaders(der: Buffer): { at: number; lenAt: number; lenBytes: number; len: number; valueAt: number }[] {
  const found: { at: number; lenAt: number; lenBytes: number; len: number; valueAt: number }[] = [];
  const walk = (start: number, end: number, depth: number) => {
    let at = start;
    while (at + 2 <= end && depth < 12) {
      const tagByte = der[at]!;
      const first = der[at + 1]!;
      let len = first;
      let lenBytes = 1;
      if (first & 0x80) {
        const n = first & 0x7f;
        if (n === 0 || n > 4 || at + 2 + n > end) return;
        len = 0;
        for (let i = 0; i < n; i++) len = len * 256 + der[at + 2 + i]!;
        lenBytes = 1 + n;
      }
      const valueAt = at + 1 + lenBytes;
      if (valueAt + len > end) return;
      found.push({ at, lenAt: at + 1, lenBytes, len, valueAt });
      if (tagByte & 0x20) walk(valueAt, valueAt + len, depth + 1);
      else if (tagByte === 0x03 && len > 1 && der[valueAt] === 0 && der[valueAt + 1] === 0x30) walk(valueAt + 1, valueAt + len, depth + 1);
      at = valueAt + len;
    }
  };
  walk(0, der.length, 0);
  return found;
}

function encodeDerLength(n: number, form: 'short' | 'long' | 'overlong' | 'indefinite'): Buffer {
  if (form === 'indefinite') return Buffer.from([0x80]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v % 256);
  if (form === 'overlong') return Buffer.from([0x80 | (bytes.length + 1), 0, ...bytes]);
  if (form === 'short' && n < 0x80) return Buffer.from([n]);
  return Buffer.from([0x80 | Math.max(1, bytes.length), ...(bytes.length ? bytes : [0])]);
}

const derLength: Mutator = (input, rng) => {
  const headers = derHeaders(input);
  if (!headers.length) return bitFlip(input, rng, []);
  const h = rng.pick(headers);
  const form = rng.pick(['short', 'long', 'overlong', 'indefinite'] as const);
  const len = rng.chance(0.5) ? interestingLength(rng, h.len) : h.len + rng.range(-3, 3);
  const how = form === 'overlong' || form === 'indefinite' ? `der-length-${form}` : len > 0xffff ? 'der-length-huge' : 'der-length';
  return { bytes: Buffer.concat([input.subarray(0, h.lenAt), encodeDerLength(Math.max(0, len), form), input.subarray(h.lenAt + h.lenBytes)]), how };
};

const derTag: Mutator = (input, rng) => {
  const headers = derHeaders(input);
  if (!headers.length) return bitFlip(input, rng, []);
  const out = Buffer.from(input);
  out[rng.pick(headers).at] = rng.pick([0x00, 0x02, 0x03, 0x04, 0x05, 0x06, 0x0c, 0x13, 0x1f, 0x30, 0x31, 0xa0, 0xa3, 0xff, rng.int(256)]);
  return { bytes: out, how: 'der-tag' };
};

/** Replaces one element's value with a copy of another element (a subject where the key goes, say). */
const derSwap: Mutator = (input, rng) => {
  const headers = derHeaders(input);
  if (headers.length < 2) return bitFlip(input, rng, []);
  const a = rng.pick(headers);
  const b = rng.pick(headers);
  const piece = input.subarray(b.at, b.valueAt + b.len);
  return { bytes: Buffer.concat([input.subarray(0, a.at), piece, input.subarray(a.valueAt + a.len)]), how: 'der-swap' };
};

/** Nests the blob in many SEQUENCEs (parsers that recurse). */
const derDeepNest: Mutator = (input, rng) => {
  let out = input;
  const depth = rng.range(50, 3_000);
  for (let i = 0; i < depth; i++) out = Buffer.concat([Buffer.from([0x30]), encodeDerLength(out.length, 'long'), out]);
  return { bytes: out, how: 'der-deep-nest' };
};

export const DER: readonly (readonly [number, Mutator])[] = [...GENERIC, [8, derLength], [4, derTag], [3, derSwap], [1, derDeepNest]];

// --- protobuf -----------------------------------------------------------------------------------------------

const pbTag: Mutator = (input, rng) => {
  const spans = scanFields(input);
  if (!spans.length) return { bytes: Buffer.concat([varint(rng.int(1 << 20)), input]), how: 'pb-tag' };
  const s = rng.pick(spans);
  const field = rng.pick([0, 1, 2, 3, 4, 15, 16, 2047, 536_870_911, s.field]);
  const wire = rng.chance(0.5) ? rng.int(8) : s.wire;
  const how = field === s.field ? 'pb-wire-type' : 'pb-field-number';
  return { bytes: Buffer.concat([input.subarray(0, s.start), varint((BigInt(field) << 3n) | BigInt(wire)), input.subarray(s.tagEnd)]), how };
};

/** Over-long varints (11 bytes, or all continuation bits), and values past 2^64. */
const pbVarint: Mutator = (input, rng) => {
  const spans = scanFields(input);
  const bad = rng.pick([
    Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]),
    Buffer.alloc(rng.range(11, 200), 0xff),
    Buffer.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00]),
    varint(2n ** 64n - 1n),
    varint(2n ** 63n),
    Buffer.from([0x80]),
  ]);
  if (!spans.length) return { bytes: Buffer.concat([input, bad]), how: 'pb-varint' };
  const s = rng.pick(spans);
  // Corrupt the tag varint or the value/length varint.
  const at = rng.chance(0.5) ? s.start : s.tagEnd;
  const end = at === s.start ? s.tagEnd : (s.lenEnd ?? s.end);
  return { bytes: Buffer.concat([input.subarray(0, at), bad, input.subarray(end)]), how: 'pb-varint' };
};

const pbLength: Mutator = (input, rng) => {
  const spans = scanFields(input).filter((s) => s.wire === WIRE.LEN);
  if (!spans.length) return { bytes: Buffer.concat([input, Buffer.from([0x0a]), varint(interestingLength(rng, 10))]), how: 'pb-length' };
  const s = rng.pick(spans);
  const len = rng.chance(0.6) ? interestingLength(rng, s.end - s.lenEnd!) : s.end - s.lenEnd! + rng.range(-4, 4);
  return { bytes: Buffer.concat([input.subarray(0, s.tagEnd), varint(Math.max(0, len)), input.subarray(s.lenEnd)]), how: len > 0xffff ? 'pb-length-huge' : 'pb-length' };
};

const pbDuplicate: Mutator = (input, rng) => {
  const spans = scanFields(input);
  if (!spans.length) return bitFlip(input, rng, []);
  const s = rng.pick(spans);
  const piece = input.subarray(s.start, s.end);
  const times = rng.chance(0.2) ? rng.range(100, 5_000) : rng.range(1, 3);
  return { bytes: Buffer.concat([input, ...Array.from({ length: times }, () => piece)]), how: 'pb-duplicate-field' };
};

const pbUnknownField: Mutator = (input, rng) => {
  const field = rng.range(4, 10_000);
  const wire = rng.pick([WIRE.VARINT, WIRE.I64, WIRE.LEN, WIRE.SGROUP, WIRE.EGROUP, WIRE.I32, 6, 7]);
  const body = wire === WIRE.LEN ? Buffer.concat([varint(rng.int(80)), rng.bytes(rng.int(80))]) : rng.bytes(rng.int(12));
  const piece = Buffer.concat([varint((BigInt(field) << 3n) | BigInt(wire)), body]);
  const at = rng.chance(0.5) ? 0 : input.length;
  return { bytes: Buffer.concat([input.subarray(0, at), piece, input.subarray(at)]), how: 'pb-unknown-field' };
};

/** A string field holding invalid UTF-8 or control characters. */
const pbBadUtf8: Mutator = (input, rng) => {
  const spans = scanFields(input).filter((s) => s.wire === WIRE.LEN);
  if (!spans.length) return bitFlip(input, rng, []);
  const s = rng.pick(spans);
  const junk = rng.pick([Buffer.from([0xc3, 0x28]), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from([0xff, 0xfe]), Buffer.from('\u0000\u001b[2J\n\r', 'utf8')]);
  const value = Buffer.concat([input.subarray(s.lenEnd!, s.end), junk]);
  return { bytes: Buffer.concat([input.subarray(0, s.tagEnd), varint(value.length), value, input.subarray(s.end)]), how: 'pb-bad-utf8' };
};

export const PROTOBUF: readonly (readonly [number, Mutator])[] = [
  ...GENERIC,
  [6, pbTag],
  [5, pbVarint],
  [6, pbLength],
  [2, pbDuplicate],
  [3, pbUnknownField],
  [2, pbBadUtf8],
];

// --- join tokens ----------------------------------------------------------------------------------------------

const tokenSegment: Mutator = (input, rng) => {
  const parts = input.toString('latin1').split('-');
  const i = rng.int(parts.length);
  const choices = [
    '',
    '2',
    '0',
    '-1',
    'HTLS',
    parts[i]!.toUpperCase(),
    parts[i]! + parts[i]!,
    parts[i]!.slice(1),
    'x'.repeat(rng.pick([49, 51, 24, 26, 1_000, 70_000, 3_000_000])),
    '9'.repeat(rng.pick([2, 20, 400])),
    '\u0000'.repeat(4),
    '%00%0a',
    '../../etc/passwd',
    '\u202e\ud83d\ude00',
  ];
  parts[i] = rng.pick(choices);
  const text = parts.join('-');
  return { bytes: Buffer.from(text, 'utf8'), how: text.length > 10_000 ? 'token-huge-segment' : 'token-segment' };
};

const tokenSeparators: Mutator = (input, rng) => {
  const text = input.toString('latin1');
  const seps = [...text.matchAll(/-/g)].map((m) => m.index!);
  const out = rng.chance(0.5) && seps.length
    ? ((i) => text.slice(0, i) + rng.pick(['', '--', '_', ' ', '\n', '\u2010']) + text.slice(i + 1))(rng.pick(seps))
    : text.split('-').concat(rng.chance(0.5) ? ['extra'] : []).slice(0, rng.range(1, 6)).join('-');
  return { bytes: Buffer.from(out, 'utf8'), how: 'token-separators' };
};

/** Whitespace around a valid token: the CA trims, so these stay valid and must be accepted as such. */
const tokenWhitespace: Mutator = (input, rng) => ({
  bytes: Buffer.from(rng.pick([' ', '\t', '\n', '\r\n']) + input.toString('latin1') + rng.pick(['', ' ', '\n']), 'utf8'),
  how: 'token-whitespace',
});

/** A well-formed token with a wrong secret or digest (base 36, right lengths). */
const tokenWrongSecret: Mutator = (input, rng) => {
  const parts = input.toString('latin1').split('-');
  const i = rng.chance(0.7) ? 3 : 2;
  if (parts[i]) {
    const chars = [...parts[i]!];
    chars[rng.int(chars.length)] = '0123456789abcdefghijklmnopqrstuvwxyz'[rng.int(36)]!;
    parts[i] = chars.join('');
  }
  return { bytes: Buffer.from(parts.join('-'), 'latin1'), how: i === 3 ? 'token-wrong-secret' : 'token-wrong-digest' };
};

export const TOKEN: readonly (readonly [number, Mutator])[] = [
  [4, bitFlip],
  [2, truncate],
  [2, insertRandom],
  [2, splice],
  [1, empty],
  [6, tokenSegment],
  [3, tokenSeparators],
  [1, tokenWhitespace],
  [4, tokenWrongSecret],
];

/** Applies 1-3 mutators of a family in a row; the name is the first one's (the table groups by it). */
export function mutate(family: readonly (readonly [number, Mutator])[], input: Buffer, rng: Prng, donors: readonly Buffer[] = []): Mutated {
  const first = rng.weighted(family)(input, rng, donors);
  let bytes = first.bytes;
  const more = rng.weighted([[6, 0], [3, 1], [1, 2]] as const);
  for (let i = 0; i < more; i++) bytes = rng.weighted(family)(bytes, rng, donors).bytes;
  const how = more ? `${first.how}+${more}` : first.how;
  // A mutation can land back on the valid input (a length rewritten to itself): say so, since it may be accepted.
  return { bytes, how: bytes.equals(input) ? `${how}:no-op` : how };
}
