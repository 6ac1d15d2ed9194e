// Just enough protobuf for the fuzzer: encode the node CA API's requests by hand (so that the bytes are ours
// to corrupt), read back the few response fields the oracles need, and split a message into fields so that
// mutations can hit tags, wire types, varints and length prefixes precisely.
export const WIRE = { VARINT: 0, I64: 1, LEN: 2, SGROUP: 3, EGROUP: 4, I32: 5 } as const;

export function varint(n: number | bigint): Buffer {
  let v = BigInt(n);
  if (v < 0n) v &= (1n << 64n) - 1n;
  const out: number[] = [];
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) byte |= 0x80;
    out.push(byte);
  } while (v > 0n);
  return Buffer.from(out);
}

export const tag = (field: number, wire: number): Buffer => varint((BigInt(field) << 3n) | BigInt(wire));

export function lenField(field: number, value: Uint8Array | string): Buffer {
  const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : Buffer.from(value);
  return Buffer.concat([tag(field, WIRE.LEN), varint(bytes.length), bytes]);
}

export function varintField(field: number, value: number | bigint): Buffer {
  return Buffer.concat([tag(field, WIRE.VARINT), varint(value)]);
}

/** One field of an encoded message, by byte offsets, as found by a tolerant scan. */
export interface FieldSpan {
  start: number;
  /** Where the tag ends and (for LEN) the length varint starts. */
  tagEnd: number;
  /** For LEN: where the length varint ends and the payload starts. */
  lenEnd?: number;
  end: number;
  field: number;
  wire: number;
}

function readVarint(buf: Uint8Array, at: number): { value: bigint; end: number } | undefined {
  let v = 0n;
  for (let i = 0; i < 10; i++) {
    if (at + i >= buf.length) return undefined;
    const b = buf[at + i]!;
    v |= BigInt(b & 0x7f) << BigInt(7 * i);
    if ((b & 0x80) === 0) return { value: v, end: at + i + 1 };
  }
  return undefined;
}

/** Top-level fields of `buf`, stopping quietly at the first thing that does not parse. */
export function scanFields(buf: Uint8Array): FieldSpan[] {
  const spans: FieldSpan[] = [];
  let at = 0;
  while (at < buf.length) {
    const t = readVarint(buf, at);
    if (!t) break;
    const field = Number(t.value >> 3n);
    const wire = Number(t.value & 7n);
    let end: number;
    let lenEnd: number | undefined;
    if (wire === WIRE.VARINT) {
      const v = readVarint(buf, t.end);
      if (!v) break;
      end = v.end;
    } else if (wire === WIRE.LEN) {
      const l = readVarint(buf, t.end);
      if (!l || l.end + Number(l.value) > buf.length) break;
      lenEnd = l.end;
      end = l.end + Number(l.value);
    } else if (wire === WIRE.I64) end = t.end + 8;
    else if (wire === WIRE.I32) end = t.end + 4;
    else break;
    if (end > buf.length) break;
    spans.push({ start: at, tagEnd: t.end, lenEnd, end, field, wire });
    at = end;
  }
  return spans;
}

/** The payloads of every LEN field numbered `field` (repeated fields give several). */
export function lenValues(buf: Uint8Array, field: number): Buffer[] {
  return scanFields(buf)
    .filter((s) => s.field === field && s.wire === WIRE.LEN)
    .map((s) => Buffer.from(buf.subarray(s.lenEnd!, s.end)));
}

export function stringValue(buf: Uint8Array, field: number): string | undefined {
  const v = lenValues(buf, field)[0];
  return v?.toString('utf8');
}
