// Asserting a refused gRPC call: the status code (of the ServiceError, or of the HitlessError's cause when the
// client mapped it back) and the message.
import assert from 'node:assert/strict';
import type { status } from '@grpc/grpc-js';

export async function refused(p: Promise<unknown>, code: status, message: RegExp): Promise<void> {
  await assert.rejects(p, (err: { code?: number; cause?: { code?: number }; message: string }) => {
    const got = err.cause?.code ?? err.code;
    assert.equal(got, code, `status ${String(got)} (${err.message})`);
    assert.match(err.message, message);
    return true;
  });
}
