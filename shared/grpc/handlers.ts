// Handler adapters: domain code throws HitlessErrors; these turn results and errors into gRPC responses,
// through the single status mapping. No handler builds a status itself.
import type * as grpc from '@grpc/grpc-js';
import type { Logger } from '../log.js';
import { toStatus } from './status.js';

export function unary<Req, Res>(
  log: Logger,
  method: string,
  fn: (call: grpc.ServerUnaryCall<Req, Res>) => Promise<Res>,
): grpc.handleUnaryCall<Req, Res> {
  return (call, callback) => {
    fn(call).then(
      (res) => callback(null, res),
      (err: unknown) => callback(toStatus(err, log, method) as grpc.ServerErrorResponse),
    );
  };
}

/** Ends a server stream with the mapped status of `err`. */
export function failStream(log: Logger, method: string, call: grpc.ServerWritableStream<unknown, unknown> | grpc.ServerDuplexStream<unknown, unknown>, err: unknown): void {
  call.emit('error', toStatus(err, log, method));
}
