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
  constructor(limits: ServerLimits, deps: { clock: Clock; log: Logger; port: string }, options: grpc.ServerOptions = {}) {
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
    // The listener's close completes only once its connections are gone: start it, do not wait for it yet.
    const closed = this.guard.stopAccepting();
    await shutdownServer(this.server, graceMs);
    this.guard.destroyAll();
    await closed;
  }
}
