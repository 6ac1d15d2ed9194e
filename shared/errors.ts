// Typed errors with stable codes. `code` never changes between versions; `message` may (Level's rule).
// Mapping to gRPC status lives in shared/grpc/status.ts and nowhere else.

export type ErrorCode =
  | 'INVALID_ARGUMENT'
  | 'INVALID_CSR'
  | 'INVALID_JOIN_TOKEN'
  | 'RATE_LIMITED'
  | 'LIMIT_EXCEEDED'
  | 'UNTRUSTED_PEER'
  | 'PERMISSION_DENIED'
  | 'NODE_REMOVED'
  | 'NOT_FOUND'
  | 'CERT_EXPIRED'
  | 'CA_NOT_READY'
  | 'STORE_LOCKED'
  | 'STORE_CORRUPT'
  | 'STORE_CONFLICT'
  | 'STORE_UNAVAILABLE'
  | 'ALREADY_EXISTS'
  | 'WRONG_PASSPHRASE'
  | 'ROTATION_STATE'
  | 'UNAVAILABLE';

/** An error callers may handle by `code`. */
export class HitlessError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: { cause?: unknown; hint?: string },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'HitlessError';
    this.hint = options?.hint;
  }
  /** What the operator can do about it; printed by the CLIs as a `hint:` line. */
  readonly hint: string | undefined;
}

export const invalidArgument = (message: string, hint?: string) => new HitlessError('INVALID_ARGUMENT', message, { hint });
export const invalidCsr = (message: string, cause?: unknown) =>
  new HitlessError('INVALID_CSR', `invalid CSR: ${message}`, { cause });

export function isHitlessError(err: unknown, code?: ErrorCode): err is HitlessError {
  return err instanceof HitlessError && (code === undefined || err.code === code);
}
