// Proves the renewal schedule's arithmetic with fixed dates: renewal lands in [50 %, 80 %] of the lifetime
// measured from the real issuance instant (never before `now`), backoff is full-jitter exponential with a
// floor, a cap, and a ceiling of a quarter of the certificate's remaining life, and expiry is inclusive.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RENEW_WINDOW, backoffDelayMs, isExpired, nextRenewalAt, type BackoffOptions } from '../../agent/renewal-schedule.js';

const ISSUED = new Date('2030-01-01T00:00:00.000Z');
const HOUR = 3_600_000;
const LIFE = 10 * HOUR; // issuedAt .. notAfter
const NOT_AFTER = new Date(ISSUED.getTime() + LIFE);
const cert = { issuedAt: ISSUED, notAfter: NOT_AFTER };
const at = (ms: number) => new Date(ISSUED.getTime() + ms);
const fixed = (x: number) => () => x;

test('RENEW_WINDOW is 50 %..80 % of the lifetime', () => {
  assert.deepEqual(RENEW_WINDOW, { from: 0.5, to: 0.8 });
});

test('nextRenewalAt: table of fixed dates', () => {
  const cases: { name: string; random: number; now: Date; lifetime?: { issuedAt: Date; notAfter: Date }; want: Date }[] = [
    { name: 'random 0 → exactly 50 % of the lifetime after issuedAt', random: 0, now: ISSUED, want: at(0.5 * LIFE) },
    { name: 'random 1 → exactly 80 %', random: 1, now: ISSUED, want: at(0.8 * LIFE) },
    { name: 'random 0.5 → 65 %', random: 0.5, now: ISSUED, want: at(0.65 * LIFE) },
    { name: 'now inside the lifetime but before the point → the point, not now-relative', random: 0, now: at(HOUR), want: at(0.5 * LIFE) },
    { name: 'exactly at the point → the point (== now)', random: 0, now: at(0.5 * LIFE), want: at(0.5 * LIFE) },
    { name: 'already past the window (90 %) → now', random: 1, now: at(0.9 * LIFE), want: at(0.9 * LIFE) },
    { name: 'past the random point but inside the window → now', random: 0, now: at(0.7 * LIFE), want: at(0.7 * LIFE) },
    { name: 'already expired → now', random: 0.5, now: at(LIFE + HOUR), want: at(LIFE + HOUR) },
    { name: 'exactly at notAfter → now', random: 0.5, now: NOT_AFTER, want: NOT_AFTER },
    { name: 'clock skew: now earlier than issuedAt (node clock behind) → still issuedAt + fraction', random: 0, now: at(-2 * HOUR), want: at(0.5 * LIFE) },
    { name: 'clock skew, random 1 → issuedAt + 80 %', random: 1, now: at(-5 * 60_000), want: at(0.8 * LIFE) },
    { name: 'random below 0 is clamped to 0 (50 %)', random: -3, now: ISSUED, want: at(0.5 * LIFE) },
    { name: 'random above 1 is clamped to 1 (80 %)', random: 7, now: ISSUED, want: at(0.8 * LIFE) },
    {
      name: 'notAfter before issuedAt (zero lifetime) → max(issuedAt, now)',
      random: 0.5,
      now: at(-HOUR),
      lifetime: { issuedAt: ISSUED, notAfter: at(-HOUR) },
      want: ISSUED,
    },
  ];
  for (const c of cases) {
    const got = nextRenewalAt(c.lifetime ?? cert, c.now, fixed(c.random));
    assert.equal(got.toISOString(), c.want.toISOString(), c.name);
  }
});

test('nextRenewalAt: the window is measured from issuedAt, not from a backdated notBefore (it only takes issuedAt)', () => {
  // A certificate issued at ISSUED with notBefore backdated by 1 h: were the window measured from notBefore,
  // 50 % of (notAfter - notBefore) = 5.5 h after notBefore = ISSUED + 4.5 h. It must be ISSUED + 5 h.
  const notBefore = at(-HOUR);
  const withNotBefore = { issuedAt: ISSUED, notAfter: NOT_AFTER, notBefore };
  const got = nextRenewalAt(withNotBefore, ISSUED, fixed(0));
  assert.equal(got.getTime(), ISSUED.getTime() + 0.5 * LIFE);
  const fromNotBefore = notBefore.getTime() + 0.5 * (NOT_AFTER.getTime() - notBefore.getTime());
  assert.notEqual(got.getTime(), fromNotBefore);
});

test('nextRenewalAt: returns a fresh Date (never the caller\'s now object)', () => {
  const now = at(LIFE * 2);
  const got = nextRenewalAt(cert, now, fixed(0));
  assert.notEqual(got, now);
  assert.equal(got.getTime(), now.getTime());
});

test('backoffDelayMs: random 1 → the ceiling 1000·2^attempt, capped at capMs', () => {
  const cases: { attempt: number; opts?: BackoffOptions; want: number }[] = [
    { attempt: 0, want: 1_000 },
    { attempt: 1, want: 2_000 },
    { attempt: 2, want: 4_000 },
    { attempt: 3, want: 8_000 },
    { attempt: 4, want: 16_000 },
    { attempt: 5, want: 32_000 },
    { attempt: 6, want: 60_000 }, // 64 000 capped at the default 60 000
    { attempt: 10, want: 60_000 },
    { attempt: 1_000, want: 60_000 }, // huge attempts do not overflow to Infinity/NaN
    { attempt: 3, opts: { capMs: 5_000 }, want: 5_000 },
    { attempt: 2, opts: { baseMs: 500 }, want: 2_000 },
    { attempt: 5, opts: { baseMs: 500, capMs: 15_000 }, want: 15_000 },
  ];
  for (const c of cases) {
    assert.equal(backoffDelayMs(c.attempt, fixed(1), c.opts), c.want, `attempt ${c.attempt} ${JSON.stringify(c.opts ?? {})}`);
  }
});

test('backoffDelayMs: random 0 → floorMs (never a tight loop)', () => {
  for (const attempt of [0, 1, 2, 5, 20]) {
    assert.equal(backoffDelayMs(attempt, fixed(0)), 100, `attempt ${attempt}, default floor`);
    assert.equal(backoffDelayMs(attempt, fixed(0), { floorMs: 250 }), 250, `attempt ${attempt}, floor 250`);
  }
});

test('backoffDelayMs: full jitter is proportional to random, rounded, and never under the floor', () => {
  const cases: { attempt: number; random: number; want: number }[] = [
    { attempt: 3, random: 0.5, want: 4_000 }, // 8000 · 0.5
    { attempt: 3, random: 0.25, want: 2_000 },
    { attempt: 1, random: 0.3333, want: 667 }, // 2000 · 0.3333 = 666.6 → 667
    { attempt: 10, random: 0.5, want: 30_000 }, // cap 60 000 · 0.5
    { attempt: 1, random: 0.01, want: 100 }, // 20 → floor
    { attempt: 2, random: -1, want: 100 }, // clamped to 0 → floor
    { attempt: 2, random: 2, want: 4_000 }, // clamped to 1
  ];
  for (const c of cases) {
    assert.equal(backoffDelayMs(c.attempt, fixed(c.random)), c.want, `attempt ${c.attempt}, random ${c.random}`);
  }
});

test('backoffDelayMs: while the certificate is valid the ceiling is a quarter of its remaining life', () => {
  const now = ISSUED;
  const left = (ms: number) => ({ now, notAfter: new Date(now.getTime() + ms) });
  // 8 s left → ≤ 2000 ms whatever the attempt.
  for (const attempt of [1, 2, 3, 5, 10, 30]) {
    const d = backoffDelayMs(attempt, fixed(1), {}, left(8_000));
    assert.ok(d <= 2_000, `attempt ${attempt}: ${d}`);
  }
  const cases: { attempt: number; random: number; leftMs: number; want: number; name: string }[] = [
    { name: '8 s left, attempt 10 → 2000', attempt: 10, random: 1, leftMs: 8_000, want: 2_000 },
    { name: '8 s left, attempt 1 (ceiling 2000 already ≤ 2000)', attempt: 1, random: 1, leftMs: 8_000, want: 2_000 },
    { name: '8 s left, attempt 0 (1000 < 2000: the quarter does not raise it)', attempt: 0, random: 1, leftMs: 8_000, want: 1_000 },
    { name: '8 s left, jitter 0.5', attempt: 10, random: 0.5, leftMs: 8_000, want: 1_000 },
    { name: '1 h left, attempt 10 → the cap (60 s < 15 min)', attempt: 10, random: 1, leftMs: HOUR, want: 60_000 },
    { name: '200 ms left → 50 ms ceiling, but the floor wins', attempt: 5, random: 1, leftMs: 200, want: 100 },
    { name: 'expired (0 left) → no clamp', attempt: 10, random: 1, leftMs: 0, want: 60_000 },
    { name: 'expired (−1 h) → no clamp', attempt: 3, random: 1, leftMs: -HOUR, want: 8_000 },
  ];
  for (const c of cases) {
    assert.equal(backoffDelayMs(c.attempt, fixed(c.random), {}, left(c.leftMs)), c.want, c.name);
  }
  assert.equal(backoffDelayMs(10, fixed(1), {}, undefined), 60_000, 'no cert → no clamp');
});

test('isExpired: notAfter itself counts as expired', () => {
  const cases: [string, Date, boolean][] = [
    ['1 ms before notAfter', new Date(NOT_AFTER.getTime() - 1), false],
    ['exactly notAfter', NOT_AFTER, true],
    ['1 ms after notAfter', new Date(NOT_AFTER.getTime() + 1), true],
    ['at issuance', ISSUED, false],
  ];
  for (const [name, now, want] of cases) assert.equal(isExpired(cert, now), want, name);
});
