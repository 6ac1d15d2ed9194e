// HTTP/2 at the wire for the fuzzer: a valid gRPC call as raw frames (client preface, SETTINGS, HEADERS with
// HPACK literals, DATA), frame-aware mutations of that byte sequence, and a reader that classifies what the
// server sent back (GOAWAY and its error code, RST_STREAM, a response, or silence). HPACK is encoded as
// "literal without indexing, no Huffman" only: the simplest valid encoding, so that every byte is ours.
import { connect as tlsConnect } from 'node:tls';
import { connect as netConnect } from 'node:net';
import type { Prng } from './prng.js';
import { GENERIC, interestingLength, type Mutated } from './mutate.js';

export const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
export const TYPE = { DATA: 0, HEADERS: 1, PRIORITY: 2, RST_STREAM: 3, SETTINGS: 4, PUSH_PROMISE: 5, PING: 6, GOAWAY: 7, WINDOW_UPDATE: 8, CONTINUATION: 9 } as const;
const TYPE_NAMES = Object.fromEntries(Object.entries(TYPE).map(([k, v]) => [v, k]));
const FLAG = { END_STREAM: 0x1, ACK: 0x1, END_HEADERS: 0x4, PADDED: 0x8, PRIORITY: 0x20 } as const;
export const H2_ERRORS = ['NO_ERROR', 'PROTOCOL_ERROR', 'INTERNAL_ERROR', 'FLOW_CONTROL_ERROR', 'SETTINGS_TIMEOUT', 'STREAM_CLOSED', 'FRAME_SIZE_ERROR', 'REFUSED_STREAM', 'CANCEL', 'COMPRESSION_ERROR', 'CONNECT_ERROR', 'ENHANCE_YOUR_CALM', 'INADEQUATE_SECURITY', 'HTTP_1_1_REQUIRED'];

export function frame(type: number, flags: number, streamId: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(streamId >>> 0, 5);
  return Buffer.concat([head, payload]);
}

/** HPACK integer with an N-bit prefix (RFC 7541 5.1). */
function hpackInt(value: number, prefixBits: number, firstByteHigh = 0): Buffer {
  const max = (1 << prefixBits) - 1;
  if (value < max) return Buffer.from([firstByteHigh | value]);
  const out = [firstByteHigh | max];
  let v = value - max;
  while (v >= 128) {
    out.push((v % 128) + 128);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return Buffer.from(out);
}

/** One header as "literal header field without indexing — new name", no Huffman. */
export function hpackLiteral(name: string, value: string): Buffer {
  const n = Buffer.from(name, 'latin1');
  const v = Buffer.from(value, 'latin1');
  return Buffer.concat([Buffer.from([0x00]), hpackInt(n.length, 7), n, hpackInt(v.length, 7), v]);
}

export function grpcHeaders(path: string): Buffer {
  return Buffer.concat([
    hpackLiteral(':method', 'POST'),
    hpackLiteral(':scheme', 'https'),
    hpackLiteral(':path', path),
    hpackLiteral(':authority', 'hitless-ca'),
    hpackLiteral('content-type', 'application/grpc'),
    hpackLiteral('te', 'trailers'),
  ]);
}

/** gRPC length-prefixed message (uncompressed). */
export function grpcMessage(body: Uint8Array): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt32BE(body.length, 1);
  return Buffer.concat([head, body]);
}

/** The frames of one complete unary call on stream 1, as separate buffers (mutations work per frame). */
export function callFrames(path: string, body: Uint8Array): Buffer[] {
  return [
    PREFACE,
    frame(TYPE.SETTINGS, 0, 0, Buffer.alloc(0)),
    frame(TYPE.HEADERS, FLAG.END_HEADERS, 1, grpcHeaders(path)),
    frame(TYPE.DATA, FLAG.END_STREAM, 1, grpcMessage(body)),
  ];
}

// --- mutations ---------------------------------------------------------------------------------------------

type FrameMutator = (frames: Buffer[], rng: Prng, donors: readonly Buffer[][]) => { frames: Buffer[]; how: string };

/** Index of a frame other than the preface (index 0). */
const anyFrame = (frames: Buffer[], rng: Prng) => 1 + rng.int(Math.max(1, frames.length - 1));

const lengthField: FrameMutator = (frames, rng) => {
  const i = anyFrame(frames, rng);
  const f = Buffer.from(frames[i]!);
  if (f.length < 9) return { frames, how: 'frame-length' };
  const len = Math.max(0, Math.min(0xff_ffff, rng.chance(0.5) ? interestingLength(rng, f.readUIntBE(0, 3)) : f.readUIntBE(0, 3) + rng.range(-5, 5)));
  f.writeUIntBE(len, 0, 3);
  frames[i] = f;
  return { frames, how: len >= 0x4000 ? 'frame-length-huge' : 'frame-length' };
};

const typeField: FrameMutator = (frames, rng) => {
  const i = anyFrame(frames, rng);
  const f = Buffer.from(frames[i]!);
  if (f.length >= 9) f[3] = rng.chance(0.7) ? rng.int(10) : rng.int(256);
  frames[i] = f;
  return { frames, how: 'frame-type' };
};

const flagsField: FrameMutator = (frames, rng) => {
  const i = anyFrame(frames, rng);
  const f = Buffer.from(frames[i]!);
  if (f.length >= 9) f[4] = rng.chance(0.5) ? rng.pick([0, FLAG.PADDED, FLAG.PRIORITY, FLAG.PADDED | FLAG.PRIORITY, 0xff, FLAG.END_STREAM]) : rng.int(256);
  frames[i] = f;
  return { frames, how: 'frame-flags' };
};

const streamId: FrameMutator = (frames, rng) => {
  const i = anyFrame(frames, rng);
  const f = Buffer.from(frames[i]!);
  if (f.length >= 9) f.writeUInt32BE(rng.pick([0, 2, 3, 0x7fff_ffff, 0xffff_ffff, rng.u32()]), 5);
  frames[i] = f;
  return { frames, how: 'frame-stream-id' };
};

const dropFrame: FrameMutator = (frames, rng) => {
  frames.splice(anyFrame(frames, rng), 1);
  return { frames, how: 'frame-drop' };
};

const repeatFrame: FrameMutator = (frames, rng) => {
  const i = anyFrame(frames, rng);
  const times = rng.chance(0.2) ? rng.range(50, 2_000) : rng.range(1, 3);
  frames.splice(i, 0, ...Array.from({ length: times }, () => frames[i]!));
  return { frames, how: times > 3 ? 'frame-flood' : 'frame-repeat' };
};

/** A control frame with hostile values, inserted somewhere after the preface. */
const hostileFrame: FrameMutator = (frames, rng) => {
  const settings = (id: number, value: number) => {
    const p = Buffer.alloc(6);
    p.writeUInt16BE(id, 0);
    p.writeUInt32BE(value >>> 0, 2);
    return p;
  };
  const u32 = (v: number) => {
    const p = Buffer.alloc(4);
    p.writeUInt32BE(v >>> 0, 0);
    return p;
  };
  const choice = rng.int(11);
  const [f, how] = ((): [Buffer, string] => {
    switch (choice) {
      case 0: return [frame(TYPE.SETTINGS, 0, 0, settings(4, 0x8000_0000)), 'settings-window-too-big'];
      case 1: return [frame(TYPE.SETTINGS, 0, 0, settings(5, rng.pick([0, 100, 0x100_0000]))), 'settings-bad-frame-size'];
      case 2: return [frame(TYPE.SETTINGS, 0, 0, settings(2, rng.range(2, 9))), 'settings-bad-push'];
      case 3: return [frame(TYPE.SETTINGS, 0, 0, Buffer.concat([settings(3, 0), rng.bytes(rng.range(1, 5))])), 'settings-bad-length'];
      case 4: return [frame(TYPE.WINDOW_UPDATE, 0, rng.pick([0, 1]), u32(rng.pick([0, 0x7fff_ffff, 0xffff_ffff]))), 'window-update-bad'];
      case 5: return [frame(TYPE.PING, 0, rng.pick([0, 1]), rng.bytes(rng.pick([0, 7, 8, 9, 64]))), 'ping-bad'];
      case 6: return [frame(TYPE.RST_STREAM, 0, rng.pick([0, 1, 3]), u32(rng.int(20))), 'rst-stream'];
      case 7: return [frame(TYPE.PRIORITY, 0, 1, Buffer.concat([u32(1), Buffer.from([rng.int(256)])])), 'priority-self-dependency'];
      case 8: return [frame(TYPE.PUSH_PROMISE, FLAG.END_HEADERS, 1, Buffer.concat([u32(2), grpcHeaders('/x')])), 'push-promise-from-client'];
      case 9: return [frame(TYPE.CONTINUATION, 0, 1, rng.bytes(rng.range(0, 100))), 'continuation-orphan'];
      default: return [frame(TYPE.GOAWAY, 0, 0, Buffer.concat([u32(0), u32(rng.int(14)), rng.bytes(rng.int(40))])), 'goaway-from-client'];
    }
  })();
  frames.splice(anyFrame(frames, rng), 0, f);
  return { frames, how };
};

/** Damaged header block: indexed fields out of range, bad integers, Huffman flags over plain bytes. */
const hpackDamage: FrameMutator = (frames, rng) => {
  const i = frames.findIndex((f, n) => n > 0 && f.length >= 9 && f[3] === TYPE.HEADERS);
  if (i < 0) return { frames, how: 'hpack' };
  const block = Buffer.from(frames[i]!.subarray(9));
  const junk = rng.pick([
    Buffer.from([0x80]), // indexed field 0: invalid
    Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f]), // index far past both tables
    Buffer.from([0x3f, 0xe1, 0xff, 0xff, 0xff, 0x0f]), // dynamic table size update, huge
    Buffer.from([0x00, 0x85, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0x61]), // Huffman name of garbage
    Buffer.from([0x00, 0x7f, 0xff, 0xff, 0xff, 0xff, 0x0f]), // literal name length 2^32
    hpackLiteral('x-pad', 'a'.repeat(rng.pick([100, 20_000, 70_000]))),
    hpackLiteral(':path', '/'.repeat(rng.int(50))),
    hpackLiteral('Upper-Case', 'x'),
    hpackLiteral('connection', 'keep-alive'),
    hpackLiteral(':status', '200'),
  ]);
  const at = rng.chance(0.5) ? 0 : rng.int(block.length + 1);
  const payload = Buffer.concat([block.subarray(0, at), junk, block.subarray(at)]);
  frames[i] = frame(frames[i]![3]!, frames[i]![4]!, frames[i]!.readUInt32BE(5), payload);
  return { frames, how: junk.length > 1000 ? 'hpack-huge-header' : 'hpack' };
};

/** The bytes of all frames as one blob, then a generic mutation (bit flips, truncation, splicing). */
const bytesMutation: FrameMutator = (frames, rng, donors) => {
  const head = frames[0]!;
  const rest = Buffer.concat(frames.slice(1));
  const m = rng.weighted(GENERIC)(rest, rng, donors.map((d) => Buffer.concat(d.slice(1))));
  return { frames: [head, m.bytes], how: `bytes-${m.how}` };
};

/** Splits the header block into HEADERS + many CONTINUATION frames (one byte each, optionally never ending). */
const continuationSplit: FrameMutator = (frames, rng) => {
  const i = frames.findIndex((f, n) => n > 0 && f.length >= 9 && f[3] === TYPE.HEADERS);
  if (i < 0) return { frames, how: 'continuation-split' };
  const block = frames[i]!.subarray(9);
  const parts: Buffer[] = [frame(TYPE.HEADERS, 0, 1, block.subarray(0, 1))];
  for (let at = 1; at < block.length; at++) parts.push(frame(TYPE.CONTINUATION, at === block.length - 1 && rng.chance(0.5) ? FLAG.END_HEADERS : 0, 1, block.subarray(at, at + 1)));
  frames.splice(i, 1, ...parts);
  return { frames, how: 'continuation-split' };
};

const FRAME_MUTATORS: readonly (readonly [number, FrameMutator])[] = [
  [5, lengthField],
  [3, typeField],
  [3, flagsField],
  [3, streamId],
  [1, dropFrame],
  [2, repeatFrame],
  [5, hostileFrame],
  [4, hpackDamage],
  [5, bytesMutation],
  [1, continuationSplit],
];

export function mutateFrames(valid: Buffer[], rng: Prng, donors: readonly Buffer[][]): Mutated {
  let frames = [...valid];
  const n = rng.weighted([[6, 1], [3, 2], [1, 3]] as const);
  let first = '';
  for (let k = 0; k < n; k++) {
    // Earlier drops can leave only the connection preface: the mutators pick among the frames after it.
    if (frames.length < 2) break;
    const r = rng.weighted(FRAME_MUTATORS)(frames, rng, donors);
    frames = r.frames;
    first ||= r.how;
  }
  const bytes = Buffer.concat(frames);
  const how = n > 1 ? `${first}+${n - 1}` : first;
  return { bytes, how: bytes.equals(Buffer.concat(valid)) ? `${how}:no-op` : how };
}

// --- sending and reading ----------------------------------------------------------------------------------

export interface WireOutcome {
  /** goaway:<ERROR>, rst:<ERROR>, response, closed, silent */
  outcome: string;
  /** Frame types the server sent, in order (for the log of a finding). */
  seen: string[];
  /** DATA payloads the server sent on stream 1 (a gRPC response message is readable without HPACK). */
  data: Buffer;
}

/**
 * Sends `bytes` on a fresh TLS connection (ALPN h2) from `localAddress`, then a PING, and reads the server's
 * frames until it sends GOAWAY, resets or answers stream 1, closes, or `waitMs` pass (then "silent": it is
 * still waiting for the rest of what we announced; a bound, not a pause).
 */
export function sendFrames(port: number, localAddress: string, bytes: Buffer, waitMs: number): Promise<WireOutcome> {
  return new Promise((resolve) => {
    const socket = tlsConnect({
      socket: netConnect({ host: '127.0.0.1', port, localAddress }),
      ALPNProtocols: ['h2'],
      rejectUnauthorized: false,
      servername: 'hitless-ca',
    });
    const seen: string[] = [];
    const data: Buffer[] = [];
    let buf = Buffer.alloc(0);
    let settled = false;
    const finish = (outcome: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ outcome, seen: seen.slice(0, 20), data: Buffer.concat(data) });
    };
    const timer = setTimeout(() => finish('silent'), waitMs);
    socket.on('error', () => finish('closed'));
    socket.on('close', () => finish('closed'));
    socket.on('secureConnect', () => {
      socket.write(Buffer.concat([bytes, frame(TYPE.PING, 0, 0, Buffer.from('fuzzping'))]));
    });
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      while (buf.length >= 9) {
        const len = buf.readUIntBE(0, 3);
        if (buf.length < 9 + len) break;
        const type = buf[3]!;
        const flags = buf[4]!;
        const stream = buf.readUInt32BE(5) & 0x7fff_ffff;
        const payload = buf.subarray(9, 9 + len);
        buf = buf.subarray(9 + len);
        seen.push(`${TYPE_NAMES[type] ?? type}${stream ? `@${stream}` : ''}`);
        if (type === TYPE.DATA && stream === 1) data.push(Buffer.from(payload));
        if (type === TYPE.GOAWAY) return finish(`goaway:${H2_ERRORS[payload.length >= 8 ? payload.readUInt32BE(4) : -1] ?? 'UNKNOWN'}`);
        if (type === TYPE.RST_STREAM) return finish(`rst:${H2_ERRORS[payload.length >= 4 ? payload.readUInt32BE(0) : -1] ?? 'UNKNOWN'}`);
        if (type === TYPE.HEADERS && flags & FLAG.END_STREAM) return finish('response');
      }
    });
  });
}
