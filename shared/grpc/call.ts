import type * as grpc from '@grpc/grpc-js';
import { fromServiceError } from './status.js';

export const DEFAULT_DEADLINE_MS = 10_000;

/** Runs one unary call with a deadline; a failure comes back as the HitlessError the server threw, if any. */
export function unaryCall<Res>(
  fn: (opts: grpc.CallOptions, cb: grpc.requestCallback<Res>) => unknown,
  deadlineMs = DEFAULT_DEADLINE_MS,
): Promise<Res> {
  return new Promise((resolve, reject) =>
    fn({ deadline: Date.now() + deadlineMs }, (err, res) => (err ? reject(fromServiceError(err)) : resolve(res as Res))),
  );
}
