// The fleet-level property of the CA backoff, with the real Renewer, CaFailover and policy under one FakeClock
// (test/sim/outage-spread.ts): 20 agents whose certificates were all issued at once, the CA down across the
// whole renewal window. Their retries do not form a herd, none expires, all renew within seconds of the CA's
// return; and the same code with every agent drawing the same random numbers does form one, which shows the
// measure can see a herd.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_SCENARIO, simulateOutage } from '../sim/outage-spread.js';
import { CA_BACKOFF } from '../../agent/ca-endpoints.js';

test('20 agents through a 30-minute CA outage: spread retries, no expiry, all back within the backoff cap', async () => {
  const [renew, watch] = await simulateOutage(DEFAULT_SCENARIO);
  for (const f of [renew!, watch!]) {
    assert.equal(f.expired, 0, `${f.kind}: a certificate expired`);
    assert.equal(f.notRecovered, 0, `${f.kind}: an agent never reached the returned CA`);
    // A reconnect loop notices the return within one capped wait; a renewal follows its watch at once.
    assert.ok(f.recoveryMs.max <= CA_BACKOFF.capMs + 1_000, `${f.kind}: last recovery ${f.recoveryMs.max} ms after the return`);
    assert.ok(f.peakRecoveriesPerSecond <= f.agents / 2, `${f.kind}: ${f.peakRecoveriesPerSecond} of ${f.agents} agents came back in the same second`);
  }
  assert.ok(renew!.peakPer100ms <= 5, `renewal attempts: ${renew!.peakPer100ms} inside 100 ms`);
  assert.ok(watch!.peakPer100ms <= 12, `watch attempts: ${watch!.peakPer100ms} inside 100 ms`);
});

test('baseline: the same fleet with identical random draws is a synchronized herd (the measure sees it)', async () => {
  const [renew, watch] = await simulateOutage({ ...DEFAULT_SCENARIO, synchronized: true });
  for (const f of [renew!, watch!]) {
    assert.ok(f.peakPer100ms >= f.agents, `${f.kind}: ${f.peakPer100ms}`);
    assert.equal(f.peakRecoveriesPerSecond, f.agents);
  }
});
