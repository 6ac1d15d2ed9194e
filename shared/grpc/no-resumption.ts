// Server credentials whose TLS contexts refuse session resumption by stateless tickets (SSL_OP_NO_TICKET).
//
// Why: Node's TLS server sends two TLS 1.3 NewSessionTicket messages after every handshake, and by default they
// are *stateless* tickets: the whole session, the client's certificate included (1.4 KB each for a node), is
// serialized and encrypted into each one. No hitless client resumes (grpc-js makes every connection with a
// fresh handshake), so that was pure cost: ~0.55 ms of the CA's CPU per connection, 13 % of a figure-6 report
// connection (measured: two CA processes side by side, 20 × 2 × 100 reports each, 3.55 vs 4.10 ms/report).
// With the option OpenSSL issues stateful tickets instead (a session id), which resume only from a server-side
// session cache; Node keeps none unless the server listens for 'newSession', and grpc-js does not. So:
//  - cheaper: no session serialization or ticket encryption per handshake;
//  - tighter: a client can no longer resume a session and skip the certificate exchange of a full handshake
//    (before this, a second connection with the first one's ticket was resumed: test/security/tls.test.ts).
//    Every connection to a hitless port presents and proves its certificate anew.
//
// How: grpc-js builds each server TLS context itself from {ca, cert, key} (the certificate provider's values),
// and Node's setSecureContext() resets secureOptions to what it is given, so the option cannot go in through
// the server's constructor options. grpc-js's own ServerCredentials contract (the abstract class it exports;
// its InterceptorServerCredentials wraps another the same way) lets a wrapper add it to every context the
// wrapped credentials hand out, at start and on each certificate update.
import { constants } from 'node:crypto';
import type { SecureContextOptions } from 'node:tls';
import * as grpc from '@grpc/grpc-js';

type Watcher = (options: SecureContextOptions | null) => void;

const withoutTickets = (options: SecureContextOptions | null): SecureContextOptions | null =>
  options && { ...options, secureOptions: (options.secureOptions ?? 0) | constants.SSL_OP_NO_TICKET };

export class NoResumptionServerCredentials extends grpc.ServerCredentials {
  readonly #inner: grpc.ServerCredentials;
  readonly #watchers = new Map<Watcher, Watcher>();

  constructor(inner: grpc.ServerCredentials) {
    super(inner._getConstructorOptions(), withoutTickets(inner._getSecureContextOptions()) ?? undefined);
    this.#inner = inner;
  }

  override _isSecure(): boolean {
    return this.#inner._isSecure();
  }

  override _getConstructorOptions() {
    return this.#inner._getConstructorOptions();
  }

  override _getSecureContextOptions(): SecureContextOptions | null {
    return withoutTickets(this.#inner._getSecureContextOptions());
  }

  override _addWatcher(watcher: Watcher): void {
    const wrapped: Watcher = (options) => watcher(withoutTickets(options));
    this.#watchers.set(watcher, wrapped);
    this.#inner._addWatcher(wrapped);
  }

  override _removeWatcher(watcher: Watcher): void {
    const wrapped = this.#watchers.get(watcher);
    if (!wrapped) return;
    this.#watchers.delete(watcher);
    this.#inner._removeWatcher(wrapped);
  }

  override _getInterceptors(): grpc.ServerInterceptor[] {
    return this.#inner._getInterceptors();
  }

  _equals(other: grpc.ServerCredentials): boolean {
    return this === other || (other instanceof NoResumptionServerCredentials && this.#inner._equals(other.#inner));
  }
}
