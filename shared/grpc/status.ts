// The one mapping between HitlessError codes and gRPC status, in both directions.
import { randomUUID } from 'node:crypto';
import { Metadata, status, type ServiceError, type StatusObject } from '@grpc/grpc-js';
import { HitlessError, type ErrorCode } from '../errors.js';
import type { Logger } from '../log.js';

export const ERROR_CODE_METADATA = 'x-hitless-error-code';

// Record<ErrorCode, …>: a new code does not compile until it is mapped here.
const GRPC_STATUS: Record<ErrorCode, status> = {
  INVALID_ARGUMENT: status.INVALID_ARGUMENT,
  INVALID_CSR: status.INVALID_ARGUMENT,
  INVALID_JOIN_TOKEN: status.UNAUTHENTICATED,
  RATE_LIMITED: status.RESOURCE_EXHAUSTED,
  /** A resource bound (shared/grpc/limits.ts, one watch per node...): the message names it. */
  LIMIT_EXCEEDED: status.RESOURCE_EXHAUSTED,
  UNTRUSTED_PEER: status.UNAUTHENTICATED,
  PERMISSION_DENIED: status.PERMISSION_DENIED,
  NODE_REMOVED: status.PERMISSION_DENIED,
  NOT_FOUND: status.NOT_FOUND,
  CERT_EXPIRED: status.UNAUTHENTICATED,
  CA_NOT_READY: status.UNAVAILABLE,
  STORE_LOCKED: status.UNAVAILABLE,
  STORE_CORRUPT: status.DATA_LOSS,
  /** A compare-and-set lost to another replica or request (ca/store/records.ts): retry. */
  STORE_CONFLICT: status.ABORTED,
  /** The shared store (etcd) cannot be reached or has no quorum: the CA refuses to issue rather than guess. */
  STORE_UNAVAILABLE: status.UNAVAILABLE,
  ALREADY_EXISTS: status.ALREADY_EXISTS,
  WRONG_PASSPHRASE: status.PERMISSION_DENIED,
  ROTATION_STATE: status.FAILED_PRECONDITION,
  UNAVAILABLE: status.UNAVAILABLE,
};

export function grpcStatusFor(code: ErrorCode): status {
  return GRPC_STATUS[code];
}

/** Domain error → status the caller can act on. Anything unexpected → INTERNAL with a reference id that is logged. */
export function toStatus(err: unknown, log: Logger, method: string): Partial<StatusObject> {
  if (err instanceof HitlessError) {
    const metadata = new Metadata();
    metadata.set(ERROR_CODE_METADATA, err.code);
    return { code: GRPC_STATUS[err.code], details: err.message, metadata };
  }
  const ref = randomUUID();
  log.error('rpc.internal_error', { method, ref, err });
  return { code: status.INTERNAL, details: `internal error (ref ${ref}); see the CA log` };
}

/** Client side: a ServiceError back into the HitlessError the server threw, when it was one. */
export function fromServiceError(err: unknown): unknown {
  const se = err as Partial<ServiceError>;
  if (typeof se?.code !== 'number' || !se.metadata) return err;
  const code = se.metadata.get(ERROR_CODE_METADATA)[0];
  if (typeof code === 'string' && Object.hasOwn(GRPC_STATUS, code)) {
    return new HitlessError(code as ErrorCode, se.details ?? String(err), { cause: err });
  }
  return err;
}

/** Worth retrying later: the server was unreachable or overloaded, not a refusal. */
export function isRetryable(err: unknown): boolean {
  if (err instanceof HitlessError) return err.code === 'UNAVAILABLE' || err.code === 'CA_NOT_READY' || err.code === 'RATE_LIMITED';
  const code = (err as Partial<ServiceError>)?.code;
  return code === status.UNAVAILABLE || code === status.DEADLINE_EXCEEDED || code === status.RESOURCE_EXHAUSTED;
}
