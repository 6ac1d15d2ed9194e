// The fuzz cases: each one is derived from (campaign seed, case index) alone, mutates one valid input of one
// kind, sends it to the CA on a connection of its own, and returns what came back. Kinds:
//   csr/join, csr/renew   a valid request whose CSR (DER) is mutated (join with a valid token; renew over mTLS)
//   token                 IssueNodeCertificate with a mutated join token and a valid CSR
//   protobuf/<method>     the encoded request message mutated (tags, wire types, varints, length prefixes)
//   grpc/framing          the gRPC length prefix, compression flag or request headers corrupted
//   h2/frames             the HTTP/2 frames of a valid call corrupted at the wire (raw TLS socket)
import { constants } from 'node:http2';
import { X509Certificate, createPublicKey } from 'node:crypto';
import { rawSession } from '../helpers/raw-grpc.js';
import { protos } from '../../proto/load.js';
import type { Prng } from './prng.js';
import { DER, PROTOBUF, TOKEN, mutate, type Mutated } from './mutate.js';
import { lenField, lenValues, stringValue, varintField } from './protobuf.js';
import { callFrames, grpcMessage, mutateFrames, sendFrames } from './frames.js';

const NODE_CA = '/hitless.v1.NodeCaService/';
const ADMIN = '/hitless.v1.CaAdminService/';
export const PATHS = {
  issue: `${NODE_CA}IssueNodeCertificate`,
  renew: `${NODE_CA}RenewNodeCertificate`,
  bundle: `${NODE_CA}GetTrustBundle`,
  watch: `${NODE_CA}WatchTrustBundle`,
  report: `${NODE_CA}ReportLiveCredentials`,
} as const;

/** A node identity the fuzzer renews with (replaced whenever a renewal it sent is accepted). */
export interface FuzzIdentity {
  keyPem: string;
  chainPem: string[];
}

/** Valid inputs, made once per campaign; every case starts from one of them. */
export interface Fixtures {
  port: number;
  roots: string[];
  tokens: { worker: string; manager: string };
  /** Keys and their CSRs; a CSR's index is its key's. */
  keys: { keyPem: string; spkiDer: Buffer; csrDer: Buffer }[];
  /** Other DER blobs to splice from (the root certificate). */
  derDonors: Buffer[];
  renewer: FuzzIdentity;
  bundleVersion: number;
  /** SHA-256 (hex) of the root: what ReportLiveCredentials carries. */
  rootFingerprint: string;
}

export interface CaseResult {
  kind: string;
  how: string;
  /** ok, grpc:<CODE>, http:<status>, rst:<code>, goaway:<ERROR>, closed, silent, no-status */
  outcome: string;
  code?: number;
  message?: string;
  /** For OK answers to issue/renew: what was issued, for the state and validity oracles. */
  issued?: { nodeId: string; serial: string; leafSpki: Buffer; chainPem: string[] };
  /** The join token sent (token and csr/join cases), to judge an OK. */
  token?: string;
  /** Index of the key whose CSR the case started from, if any. */
  keyIndex?: number;
  /** Payload size sent (bytes), for the report of a finding. */
  size: number;
  /** The mutated input itself (FUZZ_DEBUG prints it; dropped after judging). */
  payload?: Buffer;
  /**
   * The case carried a valid join request untouched (only framing or headers around it were damaged): the CA
   * may rightly issue for it even when the answer never arrives (a 1 ns grpc-timeout, say: the lost-response
   * case). The state oracle allows that many nodes without an accepted answer, and no more.
   */
  mayIssue?: boolean;
}

/** Source address of case `i`: its own, so the join failure limiter of one case does not shape the next. */
export function sourceAddress(i: number, rng: Prng): string {
  if (rng.chance(0.05)) return '127.0.0.9'; // a shared source now and then: the limiter's RESOURCE_EXHAUSTED path
  const n = i + 1;
  return `127.${1 + ((n >> 16) % 250)}.${(n >> 8) & 255}.${n & 255}`;
}

const issueRequest = (token: string | Buffer, csr: Buffer) => Buffer.concat([lenField(1, token), lenField(2, csr)]);
const renewRequest = (csr: Buffer, version: number) => Buffer.concat([lenField(1, csr), varintField(2, version)]);

interface GrpcRequest {
  path: string;
  /** The whole request body as sent in DATA (already gRPC-framed). */
  body: Buffer;
  headers?: Record<string, string>;
  mtls?: boolean;
  /** Server streams: the first message is the answer. */
  streaming?: boolean;
}

/**
 * Runs case `index`. `waitMs` bounds a gRPC answer; `silentMs` bounds raw HTTP/2 cases, where silence is a
 * legitimate answer (the server waits for the rest of a frame we announced but never sent).
 */
export async function runCase(fx: Fixtures, index: number, rng: Prng, waitMs: number, silentMs: number): Promise<CaseResult> {
  const kind = rng.weighted([
    [18, 'csr/join'],
    [10, 'csr/renew'],
    [15, 'token'],
    [22, 'protobuf'],
    [13, 'grpc/framing'],
    [22, 'h2/frames'],
  ] as const);
  const source = sourceAddress(index, rng);
  const keyIndex = rng.int(fx.keys.length);
  const key = fx.keys[keyIndex]!;
  const csrDonors = [...fx.keys.map((k) => k.csrDer), ...fx.derDonors];

  if (kind === 'h2/frames') {
    // The raw reader cannot read grpc-status (HPACK with Huffman), so raw cases never carry a join the CA could
    // accept: the token is well-formed with a wrong secret. Their target is the HTTP/2 layer; if a response
    // message still carries a certificate, that is a finding.
    const body = rng.chance(0.5) ? issueRequest(wrongSecret(fx.tokens.worker), key.csrDer) : Buffer.alloc(0);
    const path = body.length ? PATHS.issue : PATHS.bundle;
    const m = mutateFrames(callFrames(path, body), rng, [callFrames(PATHS.bundle, Buffer.alloc(0)), callFrames(PATHS.renew, renewRequest(key.csrDer, 1))]);
    const r = await sendFrames(fx.port, source, m.bytes, silentMs);
    const issued = path === PATHS.issue && r.data.length ? decodeIssued(r.data) : undefined;
    return { kind, how: m.how, outcome: issued ? 'ok' : r.outcome, code: issued ? 0 : undefined, issued, token: wrongSecret(fx.tokens.worker), size: m.bytes.length };
  }
  if (kind === 'csr/join') {
    const m = mutate(DER, key.csrDer, rng, csrDonors);
    const token = rng.chance(0.8) ? fx.tokens.worker : fx.tokens.manager;
    return grpcCase(fx, source, kind, m.how, { path: PATHS.issue, body: grpcMessage(issueRequest(token, m.bytes)) }, waitMs, { token, keyIndex, size: m.bytes.length, payload: m.bytes });
  }
  if (kind === 'csr/renew') {
    const m = mutate(DER, key.csrDer, rng, csrDonors);
    return grpcCase(fx, source, kind, m.how, { path: PATHS.renew, body: grpcMessage(renewRequest(m.bytes, fx.bundleVersion)), mtls: true }, waitMs, { keyIndex, size: m.bytes.length });
  }
  if (kind === 'token') {
    const m = mutate(TOKEN, Buffer.from(rng.chance(0.8) ? fx.tokens.worker : fx.tokens.manager, 'latin1'), rng, [Buffer.from(fx.tokens.manager), Buffer.from(fx.tokens.worker)]);
    const token = m.bytes.toString('utf8');
    return grpcCase(fx, source, kind, m.how, { path: PATHS.issue, body: grpcMessage(issueRequest(m.bytes, key.csrDer)) }, waitMs, { token, keyIndex, size: m.bytes.length });
  }
  if (kind === 'protobuf') {
    const target = rng.weighted([
      [5, { method: 'IssueNodeCertificate', path: PATHS.issue, msg: issueRequest(fx.tokens.worker, key.csrDer), mtls: false }],
      [3, { method: 'RenewNodeCertificate', path: PATHS.renew, msg: renewRequest(key.csrDer, fx.bundleVersion), mtls: true }],
      [1, { method: 'GetTrustBundle', path: PATHS.bundle, msg: Buffer.alloc(0), mtls: false }],
      [2, { method: 'WatchTrustBundle', path: PATHS.watch, msg: varintField(1, fx.bundleVersion), mtls: true, streaming: true }],
      [2, { method: 'ReportLiveCredentials', path: PATHS.report, msg: Buffer.concat([varintField(1, fx.bundleVersion), lenField(2, fx.rootFingerprint)]), mtls: rng.chance(0.8) }],
      [1, { method: 'admin.RemoveNode', path: `${ADMIN}RemoveNode`, msg: lenField(1, 'fuzz-node'), mtls: rng.chance(0.5) }],
      [1, { method: 'admin.GetJoinTokens', path: `${ADMIN}GetJoinTokens`, msg: Buffer.concat([varintField(1, 1), varintField(2, 1)]), mtls: rng.chance(0.5) }],
      [1, { method: 'admin.StartRootRotation', path: `${ADMIN}StartRootRotation`, msg: lenField(3, 'CN=fuzz'), mtls: rng.chance(0.5) }],
    ] as const);
    const m = mutate(PROTOBUF, target.msg, rng, [issueRequest(fx.tokens.manager, fx.keys[0]!.csrDer), renewRequest(key.csrDer, 0)]);
    const req: GrpcRequest = { path: target.path, body: grpcMessage(m.bytes), mtls: target.mtls, streaming: 'streaming' in target };
    const token = target.method === 'IssueNodeCertificate' ? tokenAsServerReadsIt(m.bytes) : undefined;
    return grpcCase(fx, source, `protobuf/${target.method}`, m.how, req, waitMs, { token, keyIndex, size: m.bytes.length });
  }
  // grpc/framing: the message prefix or the request headers.
  const msg = issueRequest(fx.tokens.worker, key.csrDer);
  const f = framingMutation(msg, rng);
  return grpcCase(fx, source, kind, f.how, { path: f.path ?? PATHS.issue, body: f.bytes, headers: f.headers }, waitMs, { token: fx.tokens.worker, keyIndex, size: f.bytes.length, mayIssue: f.intact });
}

/**
 * The join token in a (mutated) request as the CA's own decoder reads it: protobufjs reads a known field by its
 * number whatever wire type the tag claims, so a token whose tag was damaged can still arrive intact.
 */
function tokenAsServerReadsIt(message: Buffer): string | undefined {
  try {
    return (protos().nodeCa.hitless.v1.NodeCaService.service.IssueNodeCertificate.requestDeserialize(message) as { join_token?: string }).join_token;
  } catch {
    return undefined;
  }
}

/** The same token with its secret's first character changed: well-formed, never valid. */
function wrongSecret(token: string): string {
  const parts = token.split('-');
  parts[3] = (parts[3]![0] === '0' ? '1' : '0') + parts[3]!.slice(1);
  return parts.join('-');
}

function framingMutation(msg: Buffer, rng: Prng): Mutated & { headers?: Record<string, string>; path?: string; intact: boolean } {
  const m = framingDamage(msg, rng);
  // Damage around an intact message: the request may still be served (compression flags grpc-js tolerates, a
  // second message, trailing bytes, a deadline already past), so an issued node without an answer is allowed.
  return { ...m, intact: !/^(prefix-|no-message)/.test(m.how) };
}

function framingDamage(msg: Buffer, rng: Prng): Mutated & { headers?: Record<string, string>; path?: string } {
  const framed = grpcMessage(msg);
  const prefixLen = (len: number) => {
    const b = Buffer.from(framed);
    b.writeUInt32BE(len >>> 0, 1);
    return b;
  };
  switch (rng.int(14)) {
    case 0: return { bytes: prefixLen(msg.length + rng.range(1, 100)), how: 'prefix-length-longer' };
    case 1: return { bytes: prefixLen(Math.max(0, msg.length - rng.range(1, 100))), how: 'prefix-length-shorter' };
    case 2: return { bytes: prefixLen(rng.pick([0x7fff_ffff, 0xffff_ffff, 0x100_0000, 4 * 1024 * 1024 + 1])), how: 'prefix-length-huge' };
    case 3: return { bytes: Buffer.concat([Buffer.from([1]), framed.subarray(1)]), how: 'compressed-flag-no-encoding' };
    case 4: return { bytes: Buffer.concat([Buffer.from([1]), framed.subarray(1)]), headers: { 'grpc-encoding': rng.pick(['gzip', 'deflate', 'br', 'x-fuzz']) }, how: 'compressed-garbage' };
    case 5: return { bytes: Buffer.concat([Buffer.from([rng.range(2, 255)]), framed.subarray(1)]), how: 'compressed-flag-invalid' };
    case 6: return { bytes: Buffer.concat([framed, framed]), how: 'two-messages' };
    case 7: return { bytes: framed.subarray(0, rng.int(5)), how: 'prefix-truncated' };
    case 8: return { bytes: Buffer.alloc(0), how: 'no-message' };
    case 9: return { bytes: Buffer.concat([framed, rng.bytes(rng.range(1, 40))]), how: 'trailing-garbage' };
    case 10: return { bytes: framed, headers: { 'content-type': rng.pick(['application/json', 'text/plain', 'application/grpc+json', 'application/grpc-web', '']) }, how: 'header-content-type' };
    case 11: return { bytes: framed, headers: { 'grpc-timeout': rng.pick(['0n', '1n', '999999999H', '-1S', 'abc', '10', '1u', '99999999999999999999S']) }, how: 'header-grpc-timeout' };
    case 12: return { bytes: framed, path: rng.pick(['/', '/hitless.v1.NodeCaService/', '/hitless.v1.NodeCaService/Nope', '/x/' + 'y'.repeat(rng.pick([10, 5000])), '//hitless.v1.NodeCaService/IssueNodeCertificate', '/hitless.v1.NodeCaService/IssueNodeCertificate/extra']), how: 'header-path' };
    default: return { bytes: framed, headers: { ':method': rng.pick(['GET', 'PUT', 'OPTIONS']) }, how: 'header-method' };
  }
}

async function grpcCase(
  fx: Fixtures,
  source: string,
  kind: string,
  how: string,
  req: GrpcRequest,
  waitMs: number,
  extra: Pick<CaseResult, 'token' | 'keyIndex' | 'size' | 'payload' | 'mayIssue'>,
): Promise<CaseResult> {
  const identity = req.mtls ? fx.renewer : undefined;
  let session;
  try {
    session = await rawSession({
      port: fx.port,
      localAddress: source,
      tls: identity ? { key: identity.keyPem, cert: identity.chainPem.join('') } : undefined,
    });
  } catch {
    return { kind, how, outcome: 'connect-failed', ...extra };
  }
  try {
    const r = await call(session.session, req, waitMs);
    const result: CaseResult = { kind, how, outcome: r.outcome, code: r.code, message: r.message, ...extra };
    if (r.code === 0 && r.body && (req.path === PATHS.issue || req.path === PATHS.renew)) result.issued = decodeIssued(r.body);
    return result;
  } finally {
    session.close();
  }
}

interface CallResult {
  outcome: string;
  code?: number;
  message?: string;
  body?: Buffer;
}

function call(session: import('node:http2').ClientHttp2Session, req: GrpcRequest, waitMs: number): Promise<CallResult> {
  return new Promise((resolve) => {
    let stream: import('node:http2').ClientHttp2Stream;
    try {
      stream = session.request({ ':method': 'POST', ':path': req.path, 'content-type': 'application/grpc', te: 'trailers', ...req.headers }, { endStream: false });
    } catch (err) {
      return resolve({ outcome: `client-refused:${(err as { code?: string }).code ?? 'error'}` });
    }
    let httpStatus: number | undefined;
    let code: number | undefined;
    let message = '';
    const chunks: Buffer[] = [];
    let settled = false;
    const finish = (r: CallResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(r);
      if (!stream.closed) stream.close(constants.NGHTTP2_CANCEL);
    };
    const take = (h: Record<string, unknown>) => {
      if (h[':status'] !== undefined) httpStatus = Number(h[':status']);
      if (h['grpc-status'] !== undefined) code = Number(h['grpc-status']);
      if (h['grpc-message'] !== undefined) {
        const raw = String(h['grpc-message']);
        try {
          message = decodeURIComponent(raw);
        } catch {
          message = raw;
        }
      }
    };
    const timer = setTimeout(() => finish({ outcome: 'no-status' }), waitMs);
    stream.on('response', take);
    stream.on('trailers', take);
    stream.on('data', (d: Buffer) => {
      chunks.push(d);
      // A server stream that delivered a whole message has answered: OK for the fuzzer's purpose.
      const all = Buffer.concat(chunks);
      if (req.streaming && all.length >= 5 && all.length >= 5 + all.readUInt32BE(1)) finish({ outcome: 'ok', code: 0, message: '', body: all });
    });
    stream.on('error', () => {});
    stream.on('close', () => {
      if (code !== undefined) return finish({ outcome: code === 0 ? 'ok' : `grpc:${STATUS_NAMES[code] ?? code}`, code, message, body: Buffer.concat(chunks) });
      if (httpStatus !== undefined && httpStatus !== 200) return finish({ outcome: `http:${httpStatus}` });
      finish({ outcome: stream.rstCode ? `rst:${stream.rstCode}` : session.destroyed ? 'closed' : 'no-status' });
    });
    stream.end(req.body);
  });
}

export const STATUS_NAMES = ['OK', 'CANCELLED', 'UNKNOWN', 'INVALID_ARGUMENT', 'DEADLINE_EXCEEDED', 'NOT_FOUND', 'ALREADY_EXISTS', 'PERMISSION_DENIED', 'RESOURCE_EXHAUSTED', 'FAILED_PRECONDITION', 'ABORTED', 'OUT_OF_RANGE', 'UNIMPLEMENTED', 'INTERNAL', 'UNAVAILABLE', 'DATA_LOSS', 'UNAUTHENTICATED'];

/** IssueNodeCertificateResponse / RenewNodeCertificateResponse { IssuedCertificate certificate = 1 }. */
export function decodeIssued(body: Buffer): CaseResult['issued'] {
  if (body.length < 5) return undefined;
  const msg = body.subarray(5, 5 + body.readUInt32BE(1));
  const cert = lenValues(msg, 1)[0];
  if (!cert) return undefined;
  const chain = lenValues(cert, 3).map((b) => b.toString('utf8'));
  const leaf = chain[0] ? new X509Certificate(chain[0]) : undefined;
  return {
    nodeId: stringValue(cert, 1) ?? '',
    serial: stringValue(cert, 6) ?? '',
    leafSpki: leaf ? (leaf.publicKey.export({ type: 'spki', format: 'der' }) as Buffer) : Buffer.alloc(0),
    chainPem: chain,
  };
}

export function spkiOf(keyPem: string): Buffer {
  return createPublicKey(keyPem).export({ type: 'spki', format: 'der' }) as Buffer;
}
