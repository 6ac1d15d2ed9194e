// ConnectionGuard: the bounds grpc-js cannot enforce by options — connections in total and per source,
// closing connections that never present a node certificate, concurrent calls per connection (with a
// report), a deadline for requests that never complete, and a report when a message is too large.
//
// How it hooks in (grpc-js 1.14, all public API):
//  - We own the listening socket: a net.Server accepts, counts and maybe refuses each TCP connection, then
//    hands it to grpc-js with `server.createConnectionInjector(credentials).injectConnection(socket)`
//    (ConnectionInjector, exported from the package index). grpc-js then does TLS and HTTP/2 on it exactly as
//    for a port it bound itself. The alternative — a 'connection'/'secureConnection' listener on the
//    http2 server grpc-js creates internally — would reach into private fields.
//  - A server interceptor (the first in the chain) sees every call with its connection's address and port
//    (call.getConnectionInfo()) and its verified peer certificate (call.getAuthContext(), present only
//    when the TLS socket is `authorized`). That is how a tracked TCP connection learns it is authenticated:
//    a TLS handshake alone proves nothing on the CA port (client certificates are optional there, for joins).
//
// Caveats, by design or by grpc-js:
//  - "Authenticated" means a call on the connection carried a certificate that chains to our roots; the CA
//    still decides per call whether that node may do what it asks (removed, retired...).
//  - Refused streams beyond HTTP/2's advertised maximum are reset by nghttp2 without any event; we advertise
//    one more than the limit so the first excess call reaches us and is reported (see limits.ts).
//  - grpc-js refuses an oversized message inside its innermost call object (its StreamDecoder), below every
//    interceptor: interceptors see only onCancel. To report it we wrap `sendStatus` on the object grpc-js
//    hands the first interceptor — the method grpc-js itself calls for that refusal. If a grpc-js update
//    moves that path, the limit still holds; only the report goes missing (bounds.test.ts would fail).
//  - grpc-js answers a call to a method it has no handler for before any interceptor runs, with UNIMPLEMENTED
//    "The server does not implement the method <the whole :path>": a 5,000-character path came back whole
//    (found by `npm run fuzz`). grpc-js looks handlers up with `handlers.get(path)` on the server's own Map,
//    so `containUnknownMethods` gives that one Map a `get` that returns a stand-in handler for unknown paths:
//    the call then passes through our interceptors like any other and is refused with a short escaped prefix,
//    a `limit.exceeded` line and the counter. This reaches a field grpc-js's types mark private; if an update
//    renames it, `containUnknownMethods` throws at start-up rather than silently echoing again.
//  - Reports are throttled to one log line per limit per second (the counter counts every event), so a
//    flood cannot turn into a log flood.
import { createServer, isIPv6, type Server as NetServer, type Socket } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import type { Clock } from '../clock.js';
import type { Logger } from '../log.js';
import { formatDuration } from '../duration.js';
import { limitExceeded, metrics } from '../metrics.js';
import type { ServerLimits } from './limits.js';
import { escapedPrefix } from '../untrusted.js';

/** Stable limit names, as in hitless_limit_rejections_total{limit} and `limit.exceeded` log lines. */
export const LIMIT = {
  connections: 'max_connections',
  connectionsPerSource: 'max_connections_per_source',
  unauthenticated: 'unauthenticated_timeout',
  streams: 'max_streams_per_connection',
  request: 'request_timeout',
  messageSize: 'max_message_size',
  method: 'unknown_method',
} as const;

/** Longer than any method path we serve (the longest, reflection's, is 62): beyond it a path is not even looked at. */
export const MAX_METHOD_PATH_CHARS = 128;
/** What an UNIMPLEMENTED answer and its log line quote of an unknown path. */
const PATH_ECHO_CHARS = 64;
/** The path interceptors and reports see for a call to an unknown method (never the caller's text). */
export const UNKNOWN_METHOD_PATH = '/(unknown method)';

const REPORT_INTERVAL_MS = 1_000;

interface Tracked {
  socket: Socket;
  source: string;
  acceptedAt: number;
  authenticated: boolean;
  /** The verified client certificate (DER) of the connection's TLS handshake, once a call carried it. */
  peerCertificate?: Uint8Array;
  /** The connection's auth context, read by its first call (see the interceptor). */
  authContext?: ReturnType<grpc.ServerInterceptingCallInterface['getAuthContext']>;
  /** Calls open now (for the per-connection bound) and ever (for reports). */
  calls: number;
  callsSeen: number;
  /** Cancels the unauthenticated timeout (undefined once it is cancelled). */
  cancelTimer: (() => void) | undefined;
}

/**
 * Runs `fn` after the event loop's next I/O poll. A process that was descheduled (a loaded machine, a long GC)
 * wakes up with its due timers run *before* the I/O that arrived meanwhile: a deadline checked right in the
 * timer would refuse a request that is already sitting in the socket. Checking after the poll phase
 * (setImmediate) lets that I/O be read first.
 */
const afterPendingIo = (fn: () => void) => () => void setImmediate(fn);

/**
 * The "source" a per-source bound counts: the IPv4 address, or the /64 of an IPv6 address — one host usually
 * holds a whole /64, so counting single IPv6 addresses would bound nothing.
 */
export function sourceOf(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1]!;
  if (!isIPv6(address)) return address;
  const [head = '', tail] = address.toLowerCase().split('::');
  const headGroups = head ? head.split(':') : [];
  const tailGroups = tail === undefined ? [] : tail ? tail.split(':') : [];
  const groups = [...headGroups, ...Array(8 - headGroups.length - tailGroups.length).fill('0'), ...tailGroups];
  return `${groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, '')).join(':')}::/64`;
}

const connectionKey = (address: string | undefined, port: number | undefined) => `${address ?? '?'}|${port ?? 0}`;

export class ConnectionGuard {
  readonly #conns = new Map<string, Tracked>();
  readonly #unauthenticatedBySource = new Map<string, number>();
  readonly #reported = new Map<string, { at: number; suppressed: number }>();
  #listener: NetServer | undefined;

  constructor(
    readonly limits: ServerLimits,
    private readonly deps: { clock: Clock; log: Logger; /** which port, in reports: 'ca' or 'node' */ port: string },
  ) {}

  /** Open connections, and those not (yet) authenticated. */
  get stats(): { connections: number; unauthenticated: number } {
    let unauthenticated = 0;
    for (const c of this.#conns.values()) if (!c.authenticated) unauthenticated++;
    return { connections: this.#conns.size, unauthenticated };
  }

  /**
   * The connections open now: when each was accepted and its client certificate (once a call showed it). One
   * TLS handshake per connection, so one certificate each: what rotation evidence needs of the server side.
   */
  connections(): { acceptedAt: number; peerCertificate?: Uint8Array }[] {
    return [...this.#conns.values()].map((c) => ({ acceptedAt: c.acceptedAt, peerCertificate: c.peerCertificate }));
  }

  /**
   * When the connection a server call came in on was accepted (clock ms), or undefined for one we do not track.
   * `peer` is the call's getPeer(): "address:port" of the socket (an IPv6 address is not bracketed).
   */
  acceptedAt(peer: string): number | undefined {
    const m = /^(.*):(\d+)$/.exec(peer);
    return m ? this.#conns.get(connectionKey(m[1], Number(m[2])))?.acceptedAt : undefined;
  }

  /** Listens on `host:port` (port 0 picks one) and feeds accepted connections to `inject`; resolves with the port. */
  listen(address: string, inject: (socket: Socket) => void): Promise<number> {
    const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(address);
    if (!m) return Promise.reject(new Error(`"${address}" is not host:port`));
    const host = m[1] ?? m[2] ?? '';
    const listener = createServer({ pauseOnConnect: false }, (socket) => this.#accept(socket, inject));
    this.#listener = listener;
    return new Promise((resolve, reject) => {
      listener.once('error', reject);
      listener.listen({ host: host || undefined, port: Number(m[3]) }, () => {
        listener.off('error', reject);
        resolve((listener.address() as { port: number }).port);
      });
    });
  }

  /**
   * Stops accepting at once; resolves when the last connection has closed (net.Server semantics), so callers
   * shut the gRPC server down (and destroyAll) before awaiting it.
   */
  stopAccepting(): Promise<void> {
    const l = this.#listener;
    this.#listener = undefined;
    return new Promise((resolve) => (l ? l.close(() => resolve()) : resolve()));
  }

  /** Destroys every connection still open (after a graceful shutdown had its chance). */
  destroyAll(): void {
    for (const c of this.#conns.values()) c.socket.destroy();
  }

  #accept(socket: Socket, inject: (socket: Socket) => void): void {
    if (!socket.remoteAddress) {
      socket.destroy();
      return;
    }
    const source = sourceOf(socket.remoteAddress);
    const { limits } = this;
    if (this.#conns.size >= limits.maxConnections) {
      this.#report(LIMIT.connections, { source, max: limits.maxConnections });
      socket.destroy();
      return;
    }
    const fromSource = this.#unauthenticatedBySource.get(source) ?? 0;
    if (fromSource >= limits.maxConnectionsPerSource) {
      this.#report(LIMIT.connectionsPerSource, { source, max: limits.maxConnectionsPerSource });
      socket.destroy();
      return;
    }
    const conn: Tracked = { socket, source, acceptedAt: this.deps.clock.now().getTime(), authenticated: false, calls: 0, callsSeen: 0, cancelTimer: undefined };
    const key = connectionKey(socket.remoteAddress, socket.remotePort);
    this.#conns.set(key, conn);
    this.#unauthenticatedBySource.set(source, fromSource + 1);
    socket.once('close', () => {
      this.#cancelTimer(conn);
      this.#conns.delete(key);
      if (!conn.authenticated) this.#leaveUnauthenticated(source);
    });
    // A TLS error on a socket we destroyed (or a peer that vanished) must not become an unhandled 'error'.
    socket.on('error', () => {});
    // Clock.timer rather than a sleep with an AbortController: two of those per connection (this one and the
    // request timer below), each cancelled with an AbortError and its stack, were ~5 % of the CA's CPU per
    // short-lived connection (figure 6's reports; measured by process CPU, A/B per block of 100 reports).
    conn.cancelTimer = this.deps.clock.timer(
      limits.unauthenticatedTimeoutMs,
      afterPendingIo(() => {
        conn.cancelTimer = undefined;
        if (conn.authenticated || socket.destroyed) return;
        this.#report(LIMIT.unauthenticated, { source, after: formatDuration(limits.unauthenticatedTimeoutMs), calls: conn.callsSeen });
        socket.destroy();
      }),
    );
    inject(socket);
  }

  #leaveUnauthenticated(source: string): void {
    const n = (this.#unauthenticatedBySource.get(source) ?? 1) - 1;
    if (n > 0) this.#unauthenticatedBySource.set(source, n);
    else this.#unauthenticatedBySource.delete(source);
  }

  #cancelTimer(conn: Tracked): void {
    conn.cancelTimer?.();
    conn.cancelTimer = undefined;
  }

  #authenticated(conn: Tracked): void {
    if (conn.authenticated) return;
    conn.authenticated = true;
    this.#cancelTimer(conn);
    this.#leaveUnauthenticated(conn.source);
  }

  /** One `limit.exceeded` line per limit per second at most; the counter counts every event. */
  #report(limit: string, fields: Record<string, unknown>): void {
    const now = this.deps.clock.now().getTime();
    const last = this.#reported.get(limit);
    if (last && now - last.at < REPORT_INTERVAL_MS) {
      last.suppressed++;
      metrics.limitRejections.inc({ limit });
      return;
    }
    limitExceeded(this.deps.log, limit, { port: this.deps.port, ...fields, ...(last?.suppressed ? { suppressedSinceLastReport: last.suppressed } : {}) });
    this.#reported.set(limit, { at: now, suppressed: 0 });
  }

  /**
   * Calls to methods `server` does not serve (see the header) get UNIMPLEMENTED naming at most a short escaped
   * prefix of the path, after passing the interceptors (so connection bounds count them), with a report.
   */
  containUnknownMethods(server: grpc.Server): void {
    const handlers = (server as unknown as { handlers?: unknown }).handlers;
    if (!(handlers instanceof Map)) throw new Error('grpc-js changed: Server.handlers is not a Map; unknown-method containment cannot be installed');
    const get = handlers.get.bind(handlers) as (path: string) => unknown;
    const unknown = (path: string) => {
      const tooLong = path.length > MAX_METHOD_PATH_CHARS;
      const quoted = escapedPrefix(path, PATH_ECHO_CHARS);
      const details = tooLong ? `method path too long: ${path.length} chars (at most ${MAX_METHOD_PATH_CHARS}): ${quoted}` : `unknown method ${quoted}`;
      const func = (call: grpc.ServerDuplexStream<Buffer, Buffer>) => {
        this.#report(LIMIT.method, { reason: tooLong ? 'too_long' : 'unknown', path: quoted, length: path.length, peer: call.getPeer() });
        call.emit('error', { code: grpc.status.UNIMPLEMENTED, details, metadata: new grpc.Metadata() });
      };
      // bidi: the handler runs as soon as the call's metadata arrives, without waiting for a request message.
      return { func, serialize: (b: Buffer) => b, deserialize: (b: Buffer) => b, type: 'bidi', path: UNKNOWN_METHOD_PATH };
    };
    handlers.get = (path: string) => (typeof path === 'string' && path.length <= MAX_METHOD_PATH_CHARS ? get(path) : undefined) ?? unknown(String(path));
  }

  /** Goes first in the server's interceptor list (bounded-server.ts puts it there). */
  readonly interceptor: grpc.ServerInterceptor = (method, call) => {
    const info = call.getConnectionInfo();
    const conn = this.#conns.get(connectionKey(info.remoteAddress, info.remotePort));
    const source = info.remoteAddress ? sourceOf(info.remoteAddress) : 'unknown';
    this.#observeMessageSize(call, method.path, source);
    let finished = false;
    let counted = false;
    let cancelRequestTimer: (() => void) | undefined;
    const stopRequestTimer = () => {
      cancelRequestTimer?.();
      cancelRequestTimer = undefined;
    };
    const finish = () => {
      if (finished) return;
      finished = true;
      stopRequestTimer();
      if (counted && conn) conn.calls--;
    };
    const refuse = (code: grpc.status, details: string) => {
      finish();
      call.sendStatus({ code, details, metadata: new grpc.Metadata() });
    };
    // One TLS handshake per connection, so one peer certificate: it is read once per connection. grpc-js's
    // getAuthContext() builds the certificate object (TLSSocket.getPeerCertificate) on every call, and each
    // call asked twice (here and in its handler's authentication).
    const authContext = () => (conn ? (conn.authContext ??= call.getAuthContext()) : call.getAuthContext());
    const listener = new grpc.ServerListenerBuilder()
      .withOnReceiveMetadata((metadata, next) => {
        if (conn) {
          const cert = authContext().sslPeerCertificate;
          if (cert) {
            this.#authenticated(conn);
            conn.peerCertificate ??= new Uint8Array(cert.raw);
          }
          conn.calls++;
          conn.callsSeen++;
          counted = true;
          if (conn.calls > this.limits.maxStreamsPerConnection) {
            this.#report(LIMIT.streams, { source, method: method.path, max: this.limits.maxStreamsPerConnection });
            refuse(grpc.status.RESOURCE_EXHAUSTED, `too many concurrent calls on this connection (limit ${this.limits.maxStreamsPerConnection})`);
            return;
          }
        }
        if (!method.requestStream) {
          const timeout = this.limits.requestTimeoutMs;
          cancelRequestTimer = this.deps.clock.timer(
            timeout,
            afterPendingIo(() => {
              // Cancelled meanwhile (the half-close arrived in the I/O this waited for), or the call ended.
              if (finished || cancelRequestTimer === undefined) return;
              cancelRequestTimer = undefined;
              this.#report(LIMIT.request, { source, method: method.path, after: formatDuration(timeout) });
              refuse(grpc.status.DEADLINE_EXCEEDED, `the request did not arrive completely within ${formatDuration(timeout)}`);
            }),
          );
        }
        next(metadata);
      })
      .withOnReceiveHalfClose((next) => {
        stopRequestTimer();
        next();
      })
      .withOnCancel(finish)
      .build();
    const responder = new grpc.ResponderBuilder()
      .withStart((next) => next(listener))
      .withSendStatus((status, next) => {
        finish();
        next(status);
      })
      .build();
    const intercepting = new grpc.ServerInterceptingCall(call, responder);
    // Every later interceptor and the handler reach the auth context through this call.
    intercepting.getAuthContext = authContext;
    return intercepting;
  };

  /** See the header: the oversized-message refusal happens below the interceptors; this reports it. */
  #observeMessageSize(call: grpc.ServerInterceptingCallInterface, path: string, source: string): void {
    const send = call.sendStatus.bind(call);
    call.sendStatus = (status) => {
      if (status.code === grpc.status.RESOURCE_EXHAUSTED && /^Received message (that decompresses to a size )?larger than/.test(status.details)) {
        this.#report(LIMIT.messageSize, { source, method: path, max: this.limits.maxMessageBytes });
      }
      send(status);
    };
  }
}
