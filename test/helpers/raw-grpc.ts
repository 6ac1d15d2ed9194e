// A hostile gRPC peer for the attack suite: real TLS, real HTTP/2 (node:http2), no grpc-js, so a test can do
// what a well-behaved client never does — open a call and never send its body, open more streams than the
// server advertises, send a message far above the limit — from a chosen source address. Every address in
// 127.0.0.0/8 is loopback on Linux: attacks come from 127.0.0.2.. so that a legitimate node on 127.0.0.1 is
// a different source, as it would be in the field.
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import { connect as h2Connect, constants, type ClientHttp2Session, type ClientHttp2Stream } from 'node:http2';
import { connect as netConnect } from 'node:net';
import { once } from 'node:events';

export interface RawSessionOptions {
  port: number;
  /** Source address. @default 127.0.0.2 */
  localAddress?: string;
  /** Client certificate, if the peer should present one. */
  tls?: Pick<ConnectionOptions, 'key' | 'cert' | 'ca'>;
}

export interface RawCall {
  stream: ClientHttp2Stream;
  /**
   * grpc-status and grpc-message, from trailers or a trailers-only response; `undefined` code if the stream
   * was reset (rstCode) or nothing came within `waitMs` (then `timedOut`, and the stream is cancelled).
   */
  status: Promise<RawStatus>;
}

export interface RawStatus {
  code: number | undefined;
  message: string;
  rstCode?: number;
  timedOut?: boolean;
}

/** How long a call waits for its status before it counts as "no answer" (a failure bound, not a pause). */
const STATUS_WAIT_MS = 30_000;

export interface RawSession {
  session: ClientHttp2Session;
  /** Resolves when the server closed the connection (or it failed). */
  closed: Promise<void>;
  /** Starts a call; with `body` undefined the request never completes (headers only, stream left open). */
  call(path: string, body?: Uint8Array, opts?: { endStream?: boolean; waitMs?: number }): RawCall;
  close(): void;
}

/** One TLS+HTTP/2 connection, resolved once the TLS handshake and the server's SETTINGS are done. */
export async function rawSession(opts: RawSessionOptions): Promise<RawSession> {
  const session = h2Connect(`https://127.0.0.1:${opts.port}`, {
    createConnection: () =>
      tlsConnect({
        socket: netConnect({ host: '127.0.0.1', port: opts.port, localAddress: opts.localAddress ?? '127.0.0.2' }),
        ALPNProtocols: ['h2'],
        rejectUnauthorized: false,
        servername: 'hitless-ca',
        ...opts.tls,
      }),
  });
  const closed = new Promise<void>((resolve) => {
    session.once('close', () => resolve());
    session.on('error', () => resolve());
  });
  await Promise.race([once(session, 'remoteSettings'), closed.then(() => Promise.reject(new Error('connection closed before SETTINGS')))]);
  return {
    session,
    closed,
    call(path, body, callOpts = {}) {
      const stream = session.request(
        { ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers' },
        { endStream: false },
      );
      stream.on('data', () => {});
      const status = new Promise<RawStatus>((resolve) => {
        const timer = setTimeout(() => {
          resolve({ code: undefined, message: '', timedOut: true });
          stream.close(constants.NGHTTP2_CANCEL);
        }, callOpts.waitMs ?? STATUS_WAIT_MS);
        // A status (trailers, or a trailers-only response) ends the call even though our half of the stream
        // is still open (a half-open call never ends it): resolve, then cancel our half.
        const take = (h: Record<string, unknown>) => {
          if (h['grpc-status'] === undefined) return;
          clearTimeout(timer);
          resolve({ code: Number(h['grpc-status']), message: decodeURIComponent(String(h['grpc-message'] ?? '')) });
          if (!stream.closed) stream.close(constants.NGHTTP2_CANCEL);
        };
        stream.on('response', take);
        stream.on('trailers', take);
        stream.once('close', () => {
          clearTimeout(timer);
          resolve({ code: undefined, message: '', rstCode: stream.rstCode });
        });
        stream.on('error', () => {});
      });
      if (body) {
        const frame = Buffer.alloc(5 + body.length);
        frame.writeUInt32BE(body.length, 1);
        frame.set(body, 5);
        stream.write(frame);
        if (callOpts.endStream !== false) stream.end();
      }
      return { stream, status };
    },
    close() {
      session.destroy();
    },
  };
}

/** Protobuf length-delimited field (wire type 2): enough to hand-encode our request messages. */
export function pbBytes(field: number, value: string | Uint8Array): Buffer {
  const data = typeof value === 'string' ? Buffer.from(value) : Buffer.from(value);
  const len: number[] = [];
  let n = data.length;
  do {
    len.push((n & 0x7f) | (n > 0x7f ? 0x80 : 0));
    n >>>= 7;
  } while (n > 0);
  return Buffer.concat([Buffer.from([(field << 3) | 2, ...len]), data]);
}

/** IssueNodeCertificateRequest { join_token = 1; csr_der = 2 }. */
export function issueRequest(joinToken: string, csrDer: Uint8Array): Buffer {
  return Buffer.concat([pbBytes(1, joinToken), pbBytes(2, csrDer)]);
}

export const ISSUE_PATH = '/hitless.v1.NodeCaService/IssueNodeCertificate';
export const RENEW_PATH = '/hitless.v1.NodeCaService/RenewNodeCertificate';
export const BUNDLE_PATH = '/hitless.v1.NodeCaService/GetTrustBundle';
export const WATCH_PATH = '/hitless.v1.NodeCaService/WatchTrustBundle';
