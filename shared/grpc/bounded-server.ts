// A grpc-js server whose port is bounded (limits.ts, connection-guard.ts): the CA port and the agent's node
// port are both one of these. Services are added to `.server` as usual; `listen` replaces bindAsync.
import * as grpc from '@grpc/grpc-js';
import type { Clock } from '../clock.js';
import type { Logger } from '../log.js';
import { HitlessError } from '../errors.js';
import { ConnectionGuard } from './connection-guard.js';
import { grpcServerOptions, type ServerLimits } from './limits.js';
import { shutdownServer } from './server.js';

export class BoundedServer {
  readonly server: grpc.Server;
  readonly guard: ConnectionGuard;

  /** `options` are further grpc-js options (max connection age...); its interceptors run after the guard's. */
  constructor(
    limits: ServerLimits,
    private readonly deps: { clock: Clock; log: Logger; port: string },
    options: grpc.ServerOptions = {},
  ) {
    this.guard = new ConnectionGuard(limits, deps);
    const { interceptors = [], ...rest } = options;
    this.server = new grpc.Server({ ...rest, ...grpcServerOptions(limits), interceptors: [this.guard.interceptor, ...interceptors] });
    this.guard.containUnknownMethods(this.server);
  }

  /** Listens on `address` with `credentials` (TLS); resolves with the port. A bind failure is UNAVAILABLE with a hint. */
  async listen(address: string, credentials: grpc.ServerCredentials): Promise<number> {
    const injector = this.server.createConnectionInjector(credentials);
    try {
      return await this.guard.listen(address, (socket) => injector.injectConnection(socket));
    } catch (err) {
      throw new HitlessError('UNAVAILABLE', `cannot listen on ${address}: ${(err as Error).message}`, { cause: err, hint: 'pick a free address with --listen' });
    }
  }

  /** Stops accepting, lets in-flight calls finish for up to `graceMs`, then closes whatever is left. */
  async stop(graceMs: number): Promise<void> {
    const start = this.deps.clock.now().getTime();
    // The listener's close completes only once its connections are gone: start it, do not wait for it yet.
    const closed = this.guard.stopAccepting();
    await shutdownServer(this.server, graceMs);
    // grpc-js's shutdown callback is not proof that the calls are done: from Node 26 on, Http2Server.close()
    // starts a graceful close of every session itself, and grpc-js then takes a closing session for a closed
    // one and calls back at once, with calls still running. The connections themselves are the evidence: a
    // session that has sent GOAWAY closes its socket when its last stream ends. Wait for that, within the grace.
    const left = graceMs - (this.deps.clock.now().getTime() - start);
    if (left > 0 && this.guard.stats.connections > 0) {
      const done = new AbortController();
      await Promise.race([closed, this.deps.clock.sleep(left, done.signal).catch(() => {})]);
      done.abort();
    }
    this.guard.destroyAll();
    await closed;
  }
}
