// The server-side bound of a stream (shared/grpc/stream-bound.ts): the plan (refresh at 90 % of the life the
// certificate had left when the stream opened, end at expiry + grace) and the per-stream driver on a fake
// clock — the refresh hint comes once, the end comes once with the documented status, revoke() refreshes at
// once and ends after the grace, and stop() silences everything.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../helpers/unit-fake-clock.js';
import { DEFAULT_STREAM_GRACE_MS, planStreamBound, StreamBound } from '../../shared/grpc/stream-bound.js';
import { grpcStatusFor } from '../../shared/grpc/status.js';
import type { HitlessError } from '../../shared/errors.js';
import * as grpc from '@grpc/grpc-js';

const T0 = new Date('2030-01-01T00:00:00.000Z');
const at = (ms: number) => new Date(T0.getTime() + ms);

test('plan: refresh at 90 % of the remaining life, end at expiry + grace', () => {
  assert.deepEqual(planStreamBound(T0, at(100_000), 2_000), { refreshAt: at(90_000), endAt: at(102_000) });
  // Short remaining life: the refresh is never later than expiry − grace.
  assert.deepEqual(planStreamBound(T0, at(10_000), 2_000), { refreshAt: at(8_000), endAt: at(12_000) });
  // Less than the grace left: ask at once.
  assert.deepEqual(planStreamBound(T0, at(1_000), 2_000), { refreshAt: T0, endAt: at(3_000) });
  // Already expired (a clock skew between handshake and check): ask at once, end after the grace.
  assert.deepEqual(planStreamBound(T0, at(-500), 2_000), { refreshAt: T0, endAt: at(1_500) });
  assert.equal(planStreamBound(T0, at(100_000)).endAt.getTime(), at(100_000 + DEFAULT_STREAM_GRACE_MS).getTime());
});

function driver(notAfterMs: number, graceMs = 2_000) {
  const clock = new FakeClock(T0);
  const events: { refresh: number; end: HitlessError[] } = { refresh: 0, end: [] };
  const bound = new StreamBound({ clock, notAfter: at(notAfterMs), graceMs, events: { refresh: () => events.refresh++, end: (e) => events.end.push(e) } });
  return { clock, events, bound };
}

test('driver: one refresh hint at refreshAt, one end at expiry + grace with UNAUTHENTICATED naming the expiry', async () => {
  const { clock, events, bound } = driver(100_000);
  await clock.advanceAsync(89_999);
  assert.equal(events.refresh, 0);
  assert.equal(bound.refreshRequested, false);
  await clock.advanceAsync(1);
  assert.equal(events.refresh, 1);
  assert.equal(bound.refreshRequested, true);
  await clock.advanceAsync(11_999);
  assert.equal(events.end.length, 0, 'not before expiry + grace');
  await clock.advanceAsync(1);
  assert.equal(events.end.length, 1);
  const err = events.end[0]!;
  assert.equal(err.code, 'CERT_EXPIRED');
  assert.equal(grpcStatusFor(err.code), grpc.status.UNAUTHENTICATED);
  assert.match(err.message, /the certificate that authenticated this stream expired at 2030-01-01T00:01:40\.000Z; reconnect with a current certificate/);
  await clock.advanceAsync(1_000_000);
  assert.deepEqual([events.refresh, events.end.length], [1, 1], 'each event exactly once');
  assert.equal(clock.pendingSleeps, 0, 'no timer left behind');
});

test('driver: revoke() asks at once and ends after the grace with UNTRUSTED_PEER; later expiry does nothing more', async () => {
  const { clock, events, bound } = driver(100_000);
  await clock.advanceAsync(10_000);
  bound.revoke('root A left the bundle');
  assert.equal(events.refresh, 1);
  bound.revoke('again');
  await clock.advanceAsync(1_999);
  assert.equal(events.end.length, 0);
  await clock.advanceAsync(1);
  assert.equal(events.end.length, 1);
  assert.equal(events.end[0]!.code, 'UNTRUSTED_PEER');
  assert.match(events.end[0]!.message, /no longer trusted since 2030-01-01T00:00:10\.000Z \(root A left the bundle\)/);
  await clock.advanceAsync(1_000_000);
  assert.deepEqual([events.refresh, events.end.length], [1, 1]);
  assert.equal(clock.pendingSleeps, 0);
});

test('driver: stop() (the stream ended otherwise) cancels both timers', async () => {
  const { clock, events, bound } = driver(100_000);
  assert.equal(clock.pendingSleeps, 2);
  bound.stop();
  await clock.advanceAsync(1_000_000);
  assert.deepEqual([events.refresh, events.end.length], [0, 0]);
  assert.equal(clock.pendingSleeps, 0);
  bound.revoke('after stop');
  assert.equal(events.refresh, 0);
});
