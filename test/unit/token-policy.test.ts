// Proves the pure credential policies under a FakeClock: rate buckets (burst, refill, refund, retry hint,
// bounded memory), join limits per token and overall, limited-token verdicts, and the rate flag parser.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HitlessError } from '../../shared/errors.js';
import { RateBuckets, JoinLimits, parseRate, limitedTokenVerdict, limitedTokenState, checkLimitedTokenRequest } from '../../ca/token-policy.js';
import type { JoinTokenRecord } from '../../ca/store.js';
import { FakeClock } from '../helpers/unit-fake-clock.js';

test('parseRate reads count/duration and refuses anything else with the flag named', () => {
  assert.deepEqual(parseRate('100/1m', '--x'), { count: 100, perMs: 60_000 });
  assert.deepEqual(parseRate(' 5/6h ', '--x'), { count: 5, perMs: 6 * 3_600_000 });
  for (const bad of ['', '0/1m', '-1/1m', '10', '10/', '10/fast', 'x/1m', '1/0s']) {
    assert.throws(() => parseRate(bad, '--join-rate'), (e: unknown) => e instanceof HitlessError && e.code === 'INVALID_ARGUMENT' && /--join-rate/.test(e.message), bad);
  }
});

test('RateBuckets: a burst of `count`, then a retry hint, then one unit per perMs/count', () => {
  const clock = new FakeClock();
  const b = new RateBuckets(clock, { count: 3, perMs: 60_000 });
  for (let i = 0; i < 3; i++) assert.deepEqual(b.take('a'), { ok: true });
  assert.deepEqual(b.take('a'), { ok: false, retryAfterMs: 20_000 });
  assert.deepEqual(b.take('b'), { ok: true }, 'another key has its own bucket');
  clock.advance(19_999);
  assert.equal(b.take('a').ok, false);
  clock.advance(1);
  assert.deepEqual(b.take('a'), { ok: true });
  assert.equal(b.take('a').ok, false);
});

test('RateBuckets: a refund gives the unit back (failed work costs nothing), never above capacity', () => {
  const clock = new FakeClock();
  const b = new RateBuckets(clock, { count: 1, perMs: 1000 });
  assert.equal(b.take('a').ok, true);
  b.refund('a');
  assert.equal(b.take('a').ok, true);
  b.refund('a');
  b.refund('a');
  assert.equal(b.take('a').ok, true);
  assert.equal(b.take('a').ok, false, 'two refunds did not make a bucket of 2');
});

test('RateBuckets: memory stays bounded by maxTracked whatever the keys', () => {
  const clock = new FakeClock();
  const b = new RateBuckets(clock, { count: 2, perMs: 1000 }, 100);
  for (let i = 0; i < 10_000; i++) b.take(`k${i}`);
  assert.ok(b.size <= 100, `tracked ${b.size}`);
});

test('JoinLimits: per-token and overall buckets; the overall refusal refunds the token bucket', () => {
  const clock = new FakeClock();
  const limits = new JoinLimits(clock, { perToken: { count: 2, perMs: 60_000 }, overall: { count: 3, perMs: 60_000 } });
  const a1 = limits.reserve('worker');
  const a2 = limits.reserve('worker');
  assert.ok(a1.ok && a2.ok);
  const a3 = limits.reserve('worker');
  assert.equal(a3.ok, false);
  assert.equal(!a3.ok && a3.limit, 'joins_per_token');
  assert.ok(limits.reserve('manager').ok);
  const o = limits.reserve('token:abcdefgh');
  assert.equal(!o.ok && o.limit, 'joins_overall');
  // The refused overall reservation gave its per-token unit back: after a release, the same token passes.
  if (a1.ok) a1.release();
  assert.ok(limits.reserve('token:abcdefgh').ok);
});

const record = (over: Partial<JoinTokenRecord> = {}): JoinTokenRecord => ({
  id: 'abcdefgh',
  role: 'worker',
  secretSha256: '00',
  createdAt: '2030-01-01T00:00:00.000Z',
  expiresAt: '2030-01-01T01:00:00.000Z',
  maxUses: 2,
  usesLeft: 2,
  ...over,
});

test('limitedTokenVerdict: usable until it expires, is used up or revoked (revocation wins)', () => {
  const now = new Date('2030-01-01T00:30:00.000Z');
  assert.deepEqual(limitedTokenVerdict(record(), now), { ok: true });
  assert.equal(limitedTokenState(record({ usesLeft: 0 }), now), 'used-up');
  assert.equal(limitedTokenState(record(), new Date('2030-01-01T01:00:00.000Z')), 'expired', 'expiry is exclusive');
  assert.equal(limitedTokenState(record({ revokedAt: '2030-01-01T00:10:00.000Z', usesLeft: 0 }), now), 'revoked');
  const v = limitedTokenVerdict(record({ usesLeft: 0 }), now);
  assert.ok(!v.ok && /used 2 times/.test(v.detail));
});

test('checkLimitedTokenRequest bounds TTL (1s..30d) and uses (1..100000)', () => {
  checkLimitedTokenRequest(3_600_000, 10);
  for (const [ttl, uses] of [[0, 1], [999, 1], [31 * 86_400_000, 1], [3_600_000, 0], [3_600_000, 100_001], [3_600_000, 1.5]] as const) {
    assert.throws(() => checkLimitedTokenRequest(ttl, uses), (e: unknown) => e instanceof HitlessError && e.code === 'INVALID_ARGUMENT', `${ttl} ${uses}`);
  }
});
