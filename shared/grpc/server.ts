import type * as grpc from '@grpc/grpc-js';
import { HitlessError } from '../errors.js';

/** bindAsync as a promise; a bind failure becomes a clear UNAVAILABLE error naming the address. */
export function bindServer(server: grpc.Server, address: string, creds: grpc.ServerCredentials): Promise<number> {
  return new Promise((resolve, reject) =>
    server.bindAsync(address, creds, (err, port) =>
      err
        ? reject(new HitlessError('UNAVAILABLE', `cannot listen on ${address}: ${err.message}`, { cause: err, hint: 'pick a free address with --listen' }))
        : resolve(port),
    ),
  );
}

/** Graceful shutdown (in-flight calls finish) for at most `graceMs`, then forced. */
export function shutdownServer(server: grpc.Server, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, graceMs);
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
