// Proves which certificate may speak for a node (newest; the previous one only until the newest is seen) and
// the per-node renewal throttle, with the CA-requested renewal exempt, under a FakeClock.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { certStanding, seesNewest, RenewalThrottle, defaultRenewRate, RENEWALS_PER_LIFETIME_DEFAULT } from '../../ca/renewal-policy.js';
import { FakeClock } from '../helpers/unit-fake-clock.js';

test('certStanding: newest, fallback while set, everything else superseded', () => {
  assert.equal(certStanding({ serial: 'b', fallbackSerial: 'a' }, 'b'), 'newest');
  assert.equal(certStanding({ serial: 'b', fallbackSerial: 'a' }, 'a'), 'fallback');
  assert.equal(certStanding({ serial: 'b' }, 'a'), 'superseded', 'once the newest was seen the previous is superseded');
  assert.equal(certStanding({ serial: 'c', fallbackSerial: 'b' }, 'a'), 'superseded');
});

test('seesNewest: only the newest clears a pending fallback', () => {
  assert.equal(seesNewest({ fallbackSerial: 'a' }, 'newest'), true);
  assert.equal(seesNewest({}, 'newest'), false, 'nothing to clear');
  assert.equal(seesNewest({ fallbackSerial: 'a' }, 'fallback'), false);
});

test('RenewalThrottle: the default allows 5 renewals per lifetime, then says when to retry', () => {
  const clock = new FakeClock();
  const ttl = 3_600_000;
  const t = new RenewalThrottle(clock, defaultRenewRate(ttl));
  for (let i = 0; i < RENEWALS_PER_LIFETIME_DEFAULT; i++) assert.ok(t.reserve('n1').ok);
  const r = t.reserve('n1');
  assert.equal(r.ok, false);
  assert.equal(!r.ok && r.limit, 'renewals_per_node');
  assert.equal(!r.ok && r.retryAfterMs, ttl / RENEWALS_PER_LIFETIME_DEFAULT);
  assert.ok(t.reserve('n2').ok, 'other nodes are unaffected');
  clock.advance(ttl / RENEWALS_PER_LIFETIME_DEFAULT);
  assert.ok(t.reserve('n1').ok);
});

test('RenewalThrottle: one renewal the CA asked for is exempt, even with an empty bucket; a failed one is given back', () => {
  const clock = new FakeClock();
  const t = new RenewalThrottle(clock, { count: 1, perMs: 60_000 });
  assert.ok(t.reserve('n1').ok);
  assert.equal(t.reserve('n1').ok, false);
  t.requested('n1');
  t.requested('n1'); // asked twice before renewing: still one exemption
  const exempt = t.reserve('n1');
  assert.ok(exempt.ok);
  assert.equal(t.reserve('n1').ok, false, 'the exemption was used once');
  if (exempt.ok) exempt.release(); // that renewal failed: the node keeps its exemption
  assert.ok(t.reserve('n1').ok);
  t.requested('n2');
  t.forget('n2');
  assert.ok(t.reserve('n2').ok && t.reserve('n2').ok === false, 'a forgotten node has only its bucket');
});
