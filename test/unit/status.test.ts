// Proves the HitlessError ↔ gRPC status mapping: the full code table, metadata round trip, opaque INTERNAL errors with a logged ref, and retryability.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Metadata, status, type ServiceError, type StatusObject } from '@grpc/grpc-js';
import { HitlessError, type ErrorCode } from '../../shared/errors.js';
import type { Logger } from '../../shared/log.js';
import { ERROR_CODE_METADATA, fromServiceError, grpcStatusFor, isRetryable, toStatus } from '../../shared/grpc/status.js';

// Written out literally: changing how a code reaches clients must be a deliberate edit here too.
// Record<ErrorCode, …> makes this file stop compiling when a code is added without a decision.
const EXPECTED: Record<ErrorCode, status> = {
  INVALID_ARGUMENT: status.INVALID_ARGUMENT,
  INVALID_CSR: status.INVALID_ARGUMENT,
  INVALID_JOIN_TOKEN: status.UNAUTHENTICATED,
  RATE_LIMITED: status.RESOURCE_EXHAUSTED,
  LIMIT_EXCEEDED: status.RESOURCE_EXHAUSTED,
  UNTRUSTED_PEER: status.UNAUTHENTICATED,
  PERMISSION_DENIED: status.PERMISSION_DENIED,
  NODE_REMOVED: status.PERMISSION_DENIED,
  NOT_FOUND: status.NOT_FOUND,
  CERT_EXPIRED: status.UNAUTHENTICATED,
  CA_NOT_READY: status.UNAVAILABLE,
  STORE_LOCKED: status.UNAVAILABLE,
  STORE_CORRUPT: status.DATA_LOSS,
  STORE_CONFLICT: status.ABORTED,
  STORE_UNAVAILABLE: status.UNAVAILABLE,
  ALREADY_EXISTS: status.ALREADY_EXISTS,
  WRONG_PASSPHRASE: status.PERMISSION_DENIED,
  ROTATION_STATE: status.FAILED_PRECONDITION,
  UNAVAILABLE: status.UNAVAILABLE,
};
const CODES = Object.keys(EXPECTED) as ErrorCode[];

interface Entry {
  level: string;
  event: string;
  fields: Record<string, unknown>;
}

/** A Logger that records every call (children share the record and add their fields). */
function capturingLogger(entries: Entry[] = [], base: Record<string, unknown> = {}): Logger & { entries: Entry[] } {
  const at = (level: string) => (event: string, fields?: Record<string, unknown>) => {
    entries.push({ level, event, fields: { ...base, ...fields } });
  };
  return {
    entries,
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: (fields) => capturingLogger(entries, { ...base, ...fields }),
  };
}

/** What a client receives for a status the server sent. */
function asServiceError(s: Partial<StatusObject>): ServiceError {
  const err = new Error(`${s.code} ${status[s.code!]}: ${s.details}`) as ServiceError;
  err.code = s.code!;
  err.details = s.details ?? '';
  err.metadata = s.metadata ?? new Metadata();
  return err;
}

test('every ErrorCode maps to its expected gRPC status', () => {
  for (const code of CODES) assert.equal(grpcStatusFor(code), EXPECTED[code], code);
});

test('toStatus of a HitlessError: mapped code, message as details, code in metadata; nothing logged', () => {
  const log = capturingLogger();
  for (const code of CODES) {
    const s = toStatus(new HitlessError(code, `message for ${code}`), log, '/hitless.v1.X/Y');
    assert.equal(s.code, EXPECTED[code], code);
    assert.equal(s.details, `message for ${code}`);
    assert.ok(s.metadata);
    assert.deepEqual(s.metadata.get(ERROR_CODE_METADATA), [code]);
  }
  assert.equal(ERROR_CODE_METADATA, 'x-hitless-error-code');
  assert.deepEqual(log.entries, []);
});

test('toStatus of any other error: INTERNAL with a logged ref, and the message does not leak', () => {
  const log = capturingLogger();
  const secret = 'ENOENT: /var/lib/hitless/root.key.enc secret-path';
  const err = new Error(secret);
  const s = toStatus(err, log, '/hitless.v1.NodeCaService/IssueNodeCertificate');
  assert.equal(s.code, status.INTERNAL);
  const ref = /ref ([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})/.exec(s.details ?? '')?.[1];
  assert.ok(ref, `no ref uuid in details: ${s.details}`);
  assert.ok(!s.details!.includes(secret));
  assert.ok(!s.details!.includes('ENOENT'));
  assert.equal(s.metadata?.get(ERROR_CODE_METADATA)?.length ?? 0, 0);

  assert.equal(log.entries.length, 1);
  const [entry] = log.entries;
  assert.equal(entry!.level, 'error');
  assert.equal(entry!.event, 'rpc.internal_error');
  assert.equal(entry!.fields.ref, ref);
  assert.equal(entry!.fields.method, '/hitless.v1.NodeCaService/IssueNodeCertificate');
  assert.equal(entry!.fields.err, err);
});

test('each internal error gets its own ref; non-Error throwables are INTERNAL too', () => {
  const log = capturingLogger();
  const a = toStatus('a string', log, 'm');
  const b = toStatus({ code: 'INVALID_CSR' }, log, 'm'); // looks like one, is not a HitlessError
  const c = toStatus(undefined, log, 'm');
  for (const s of [a, b, c]) assert.equal(s.code, status.INTERNAL);
  const refs = log.entries.map((e) => e.fields.ref);
  assert.equal(new Set(refs).size, 3);
  refs.forEach((ref, i) => assert.ok([a, b, c][i]!.details!.includes(String(ref))));
});

test('fromServiceError restores the HitlessError the server threw, for every code', () => {
  const log = capturingLogger();
  for (const code of CODES) {
    const original = new HitlessError(code, `why ${code}`);
    const received = asServiceError(toStatus(original, log, 'm'));
    const back = fromServiceError(received);
    assert.ok(back instanceof HitlessError, code);
    assert.equal(back.code, code);
    assert.equal(back.message, `why ${code}`);
    assert.equal(back.cause, received);
  }
});

test('fromServiceError leaves everything else untouched', () => {
  const internal = asServiceError(toStatus(new Error('boom'), capturingLogger(), 'm'));
  const unknownCode = new Metadata();
  unknownCode.set(ERROR_CODE_METADATA, 'NOT_A_CODE');
  // Object.prototype keys must not pass for codes (a peer controls this metadata).
  const protoKeys = ['constructor', 'toString', 'hasOwnProperty', '__proto__'].map((key) => {
    const md = new Metadata();
    md.set(ERROR_CODE_METADATA, key);
    return asServiceError({ code: status.UNAUTHENTICATED, details: 'x', metadata: md });
  });
  const cases: unknown[] = [
    internal,
    asServiceError({ code: status.UNAVAILABLE, details: 'no connection', metadata: new Metadata() }),
    asServiceError({ code: status.UNAUTHENTICATED, details: 'x', metadata: unknownCode }),
    ...protoKeys,
    new Error('plain'),
    'string',
    undefined,
    null,
  ];
  for (const err of cases) assert.equal(fromServiceError(err), err);
});

test('isRetryable: only unavailability and overload, not refusals', () => {
  const cases: [string, unknown, boolean][] = [
    ...CODES.map((code): [string, unknown, boolean] => [
      `HitlessError ${code}`,
      new HitlessError(code, 'x'),
      code === 'UNAVAILABLE' || code === 'CA_NOT_READY' || code === 'RATE_LIMITED',
    ]),
    ['status UNAVAILABLE', { code: status.UNAVAILABLE }, true],
    ['status DEADLINE_EXCEEDED', { code: status.DEADLINE_EXCEEDED }, true],
    ['status RESOURCE_EXHAUSTED', { code: status.RESOURCE_EXHAUSTED }, true],
    ['status INTERNAL', { code: status.INTERNAL }, false],
    ['status UNAUTHENTICATED', { code: status.UNAUTHENTICATED }, false],
    ['status PERMISSION_DENIED', { code: status.PERMISSION_DENIED }, false],
    ['status INVALID_ARGUMENT', { code: status.INVALID_ARGUMENT }, false],
    ['plain Error', new Error('x'), false],
    ['undefined', undefined, false],
    ['null', null, false],
  ];
  for (const [name, err, want] of cases) assert.equal(isRetryable(err), want, name);
});
