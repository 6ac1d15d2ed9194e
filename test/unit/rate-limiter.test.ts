// Proves the join failure limiter throttles only the failing source, refills at 0.2/s, ignores successes, and stays bounded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HitlessError } from '../../shared/errors.js';
import { FailureRateLimiter } from '../../ca/rate-limiter.js';
import { FakeClock } from '../helpers/unit-fake-clock.js';

const A = '10.0.0.1';
const B = '10.0.0.2';

function assertLimited(limiter: FailureRateLimiter, source: string): void {
  assert.throws(
    () => limiter.check(source),
    (err: unknown) => {
      assert.ok(err instanceof HitlessError, `not a HitlessError: ${String(err)}`);
      assert.equal(err.code, 'RATE_LIMITED');
      return true;
    },
    `${source} should be limited`,
  );
}

function fail(limiter: FailureRateLimiter, source: string, times: number): void {
  for (let i = 0; i < times; i++) limiter.recordFailure(source);
}

test('10 failures exhaust a source; the 10th attempt was still allowed', () => {
  const limiter = new FailureRateLimiter(new FakeClock());
  for (let i = 0; i < 10; i++) {
    limiter.check(A); // attempt i+1 is looked at
    limiter.recordFailure(A);
  }
  assertLimited(limiter, A);
});

test('a burst of failures from one address does not slow another', () => {
  const limiter = new FailureRateLimiter(new FakeClock());
  fail(limiter, A, 10);
  assertLimited(limiter, A);
  limiter.check(B);
  fail(limiter, B, 9);
  limiter.check(B);
});

test('failures refill at 0.2/s: one more attempt after 5 s, not before', () => {
  const clock = new FakeClock();
  const limiter = new FailureRateLimiter(clock);
  fail(limiter, A, 10);
  clock.advance(4_999);
  assertLimited(limiter, A);
  clock.advance(1);
  limiter.check(A);
  limiter.recordFailure(A);
  assertLimited(limiter, A);
  // Refill accumulates across partial intervals.
  clock.advance(2_500);
  assertLimited(limiter, A);
  clock.advance(2_500);
  limiter.check(A);
});

test('a long quiet period restores the burst, never more', () => {
  const clock = new FakeClock();
  const limiter = new FailureRateLimiter(clock);
  fail(limiter, A, 10);
  clock.advance(24 * 3_600_000);
  for (let i = 0; i < 10; i++) {
    limiter.check(A);
    limiter.recordFailure(A);
  }
  assertLimited(limiter, A);
});

test('successes never drain: checks without failures always pass', () => {
  const limiter = new FailureRateLimiter(new FakeClock());
  for (let i = 0; i < 10_000; i++) limiter.check(A);
  fail(limiter, A, 9);
  for (let i = 0; i < 1_000; i++) limiter.check(A);
});

test('burst and refill rate are options', () => {
  const clock = new FakeClock();
  const limiter = new FailureRateLimiter(clock, { burst: 2, refillPerSecond: 1 });
  fail(limiter, A, 2);
  assertLimited(limiter, A);
  clock.advance(1_000);
  limiter.check(A);
});

test('the tracked map stays bounded: past maxTracked the oldest source is forgotten', () => {
  const limiter = new FailureRateLimiter(new FakeClock(), { maxTracked: 3 });
  fail(limiter, 'old', 10);
  assertLimited(limiter, 'old');
  for (const s of ['s1', 's2']) fail(limiter, s, 10);
  assertLimited(limiter, 'old'); // 3 tracked: nothing evicted yet
  fail(limiter, 's3', 10); // 4th source: the oldest goes
  limiter.check('old');
  for (const s of ['s1', 's2', 's3']) assertLimited(limiter, s);
});

test('eviction drops refilled (full) buckets before exhausted ones', () => {
  const clock = new FakeClock();
  const limiter = new FailureRateLimiter(clock, { maxTracked: 2 });
  limiter.recordFailure('recovered'); // oldest, will refill to full
  clock.advance(10_000);
  fail(limiter, 'hostile', 10);
  fail(limiter, 'newcomer', 10); // 3 tracked > 2: 'recovered' is full and goes first, not 'hostile'
  assertLimited(limiter, 'hostile');
  assertLimited(limiter, 'newcomer');
  limiter.check('recovered');
});

test('many distinct hostile sources stay capped and never lock out a fresh one', () => {
  const limiter = new FailureRateLimiter(new FakeClock(), { maxTracked: 100 });
  for (let i = 0; i < 1_000; i++) fail(limiter, `h${i}`, 10);
  for (let i = 0; i < 900; i++) limiter.check(`h${i}`); // forgotten
  for (let i = 900; i < 1_000; i++) assertLimited(limiter, `h${i}`); // the newest 100 are still tracked
  limiter.check('fresh');
});
