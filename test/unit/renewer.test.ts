// Proves the Renewer loop under a FakeClock and a renew() the test resolves or rejects by hand: it sleeps
// exactly the scheduled delay, renews once per deadline, reschedules from the *new* lifetime, backs off with
// the documented jitter after failures (and resets on success), wakes early on renewNow(), never runs two
// renewals at once, stops for good on an expired certificate, and stop() ends it promptly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { silentLogger } from '../../shared/log.js';
import { Renewer } from '../../agent/renewer.js';
import { backoffDelayMs, nextRenewalAt, type Lifetime } from '../../agent/renewal-schedule.js';
import { FakeClock } from '../helpers/unit-fake-clock.js';

const START = new Date('2030-03-01T12:00:00.000Z');
const HOUR = 3_600_000;
const RANDOM = 0.5; // every draw: renew at 65 % of the lifetime; backoff at half the ceiling
const random = () => RANDOM;

/** One renew() call the test settles by hand. */
interface RenewCall {
  /** Swaps in `next` as the current lifetime (what a real renewal does), then resolves. */
  succeed(next?: Lifetime): void;
  fail(err?: Error): void;
}

/** A Renewer wired to a FakeClock and a controllable renew(). */
function harness(opts: { lifetime?: Lifetime } = {}) {
  const clock = new FakeClock(START);
  const state = {
    current: opts.lifetime ?? { issuedAt: START, notAfter: new Date(START.getTime() + HOUR) },
    renewCalls: 0,
    /** Calls entered and not yet settled. */
    inFlight: 0,
  };
  const unclaimed: RenewCall[] = [];
  const claimants: ((c: RenewCall) => void)[] = [];
  const renew = (): Promise<void> => {
    state.renewCalls++;
    state.inFlight++;
    return new Promise<void>((resolve, reject) => {
      const call: RenewCall = {
        succeed(next) {
          if (next) state.current = next;
          state.inFlight--;
          resolve();
        },
        fail(err = new Error('CA unavailable')) {
          state.inFlight--;
          reject(err);
        },
      };
      const claimant = claimants.shift();
      if (claimant) claimant(call);
      else unclaimed.push(call);
    });
  };
  const renewer = new Renewer({ clock, log: silentLogger, random, current: () => state.current, renew });
  return {
    clock,
    renewer,
    state,
    /** The next renew() call, once the loop has made it. */
    nextRenew(): Promise<RenewCall> {
      const c = unclaimed.shift();
      if (c) return Promise.resolve(c);
      return new Promise((resolve) => claimants.push(resolve));
    },
  };
}

/** Lets pending continuations run (a few event-loop turns; no real time passes for the FakeClock). */
async function turns(n = 5): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise<void>((r) => setImmediate(r));
}

const lifetimeFrom = (issuedAt: Date, ms: number): Lifetime => ({ issuedAt, notAfter: new Date(issuedAt.getTime() + ms) });

test('the first sleep is exactly the scheduled delay, and nextRenewalAt/state report it', async () => {
  const h = harness();
  h.renewer.start();
  const ms = await h.clock.nextSleep();
  const want = nextRenewalAt(h.state.current, START, random).getTime() - START.getTime();
  assert.equal(want, 0.65 * HOUR);
  assert.equal(ms, want);
  assert.equal(h.renewer.state, 'scheduled');
  assert.equal(h.renewer.nextRenewalAt?.getTime(), START.getTime() + want);
  assert.equal(h.renewer.failedAttempts, 0);
  assert.equal(h.state.renewCalls, 0);
  await h.renewer.stop();
});

test('start() twice runs one loop (one sleep)', async () => {
  const h = harness();
  h.renewer.start();
  h.renewer.start();
  await h.clock.nextSleep();
  await turns();
  assert.equal(h.clock.sleeps.length, 1);
  assert.equal(h.clock.pendingSleeps, 1);
  await h.renewer.stop();
});

test('one ms early renews nothing; at the deadline renew runs once, "renewed" is emitted, and the next sleep follows the new lifetime', async () => {
  const h = harness();
  h.renewer.start();
  const first = await h.clock.nextSleep();
  h.clock.advance(first - 1);
  await turns();
  assert.equal(h.state.renewCalls, 0);
  h.clock.advance(1);
  const call = await h.nextRenew();
  await turns();
  assert.equal(h.state.renewCalls, 1, 'renew called exactly once');
  assert.equal(h.renewer.state, 'renewing');

  // The renewal issues a 2-hour certificate at the current (fake) time.
  const renewedAt = h.clock.now();
  const newLifetime = lifetimeFrom(renewedAt, 2 * HOUR);
  const renewed = once(h.renewer, 'renewed');
  call.succeed(newLifetime);
  await renewed;
  const second = await h.clock.nextSleep();
  assert.equal(second, 0.65 * 2 * HOUR, 'scheduled from the new 2 h lifetime, not the old 1 h one');
  assert.equal(h.renewer.nextRenewalAt?.getTime(), renewedAt.getTime() + 0.65 * 2 * HOUR);
  assert.equal(h.renewer.state, 'scheduled');
  assert.equal(h.renewer.failedAttempts, 0);
  assert.equal(h.state.renewCalls, 1);
  await h.renewer.stop();
});

test('failures back off with backoffDelayMs(attempt, random, opts, cert), count attempts, and a success resets them', async () => {
  const h = harness();
  const failures: [unknown, number][] = [];
  h.renewer.on('renewal-failed', (err: unknown, attempt: number) => failures.push([err, attempt]));
  h.renewer.start();
  h.clock.advance(await h.clock.nextSleep());

  const boom = new Error('CA unavailable');
  for (const attempt of [1, 2, 3]) {
    (await h.nextRenew()).fail(boom);
    const ms = await h.clock.nextSleep();
    const want = backoffDelayMs(attempt, random, undefined, { now: h.clock.now(), notAfter: h.state.current.notAfter });
    assert.equal(ms, want, `backoff after failure ${attempt}`);
    assert.equal(ms, 1_000 * 2 ** attempt * RANDOM, `attempt ${attempt}: half of 1000·2^${attempt}`);
    assert.equal(h.renewer.failedAttempts, attempt);
    assert.equal(h.renewer.state, 'backing-off');
    assert.equal(h.renewer.nextRenewalAt?.getTime(), h.clock.nowMs + want);
    assert.deepEqual(failures.at(-1), [boom, attempt]);
    h.clock.advance(ms);
  }
  const fourth = await h.nextRenew();
  assert.equal(h.state.renewCalls, 4, 'three failures and the pending fourth attempt');

  const renewedAt = h.clock.now();
  const renewed = once(h.renewer, 'renewed');
  fourth.succeed(lifetimeFrom(renewedAt, HOUR));
  await renewed;
  const ms = await h.clock.nextSleep();
  assert.equal(h.renewer.failedAttempts, 0, 'reset by the success');
  assert.equal(h.renewer.state, 'scheduled');
  assert.equal(ms, 0.65 * HOUR, 'back on the regular schedule, from the new lifetime');
  await h.renewer.stop();
});

test('backoff is held to a quarter of the remaining lifetime near expiry', async () => {
  // 8 s of lifetime left at the first failure: whatever the attempt, the ceiling is 2000 ms.
  const h = harness({ lifetime: lifetimeFrom(START, 40_000) });
  h.renewer.start();
  const first = await h.clock.nextSleep();
  assert.equal(first, 0.65 * 40_000);
  h.clock.advance(32_000); // 80 %: 8 s left
  (await h.nextRenew()).fail();
  const ms = await h.clock.nextSleep();
  assert.equal(ms, backoffDelayMs(1, random, undefined, { now: h.clock.now(), notAfter: h.state.current.notAfter }));
  assert.ok(ms <= 2_000, `${ms}`);
  await h.renewer.stop();
});

test('renewNow() during the scheduled sleep wakes the loop and renews at once, without time passing', async () => {
  const h = harness();
  h.renewer.start();
  await h.clock.nextSleep();
  assert.equal(h.clock.pendingSleeps, 1);
  h.renewer.renewNow('test');
  const call = await h.nextRenew();
  assert.equal(h.clock.nowMs, START.getTime(), 'no fake time passed');
  assert.equal(h.clock.pendingSleeps, 0, 'the scheduled sleep was cancelled');
  assert.equal(h.state.renewCalls, 1);
  assert.equal(h.renewer.state, 'renewing');
  const renewed = once(h.renewer, 'renewed');
  call.succeed(lifetimeFrom(h.clock.now(), HOUR));
  await renewed;
  assert.equal(await h.clock.nextSleep(), 0.65 * HOUR, 'then back to the schedule');
  await turns();
  assert.equal(h.state.renewCalls, 1);
  await h.renewer.stop();
});

test('renewNow() during a backoff sleep retries at once', async () => {
  const h = harness();
  h.renewer.start();
  h.clock.advance(await h.clock.nextSleep());
  (await h.nextRenew()).fail();
  await h.clock.nextSleep();
  assert.equal(h.renewer.state, 'backing-off');
  h.renewer.renewNow('test');
  const call = await h.nextRenew();
  assert.equal(h.state.renewCalls, 2);
  call.succeed(lifetimeFrom(h.clock.now(), HOUR));
  await h.clock.nextSleep();
  assert.equal(h.renewer.failedAttempts, 0);
  await h.renewer.stop();
});

test('at most one renewal at a time: renewNow() while renewing queues exactly one follow-up', async () => {
  const h = harness();
  h.renewer.start();
  await h.clock.nextSleep();
  h.renewer.renewNow('first');
  const first = await h.nextRenew();
  for (const reason of ['again', 'and again', 'once more']) h.renewer.renewNow(reason);
  await turns(10);
  assert.equal(h.state.renewCalls, 1, 'renew entered once while the first hangs');
  assert.equal(h.state.inFlight, 1);

  first.succeed(lifetimeFrom(h.clock.now(), HOUR));
  const followUp = await h.nextRenew();
  await turns(10);
  assert.equal(h.state.renewCalls, 2, 'one follow-up for all the requests made during the renewal');
  assert.equal(h.state.inFlight, 1, 'never two at once');

  followUp.succeed(lifetimeFrom(h.clock.now(), HOUR));
  assert.equal(await h.clock.nextSleep(), 0.65 * HOUR, 'then the regular schedule');
  await turns(10);
  assert.equal(h.state.renewCalls, 2, 'no further renewal');
  await h.renewer.stop();
});

test('an expired certificate emits "expired" and stops the loop without renewing', async () => {
  const cases: [string, Lifetime][] = [
    ['notAfter == now', lifetimeFrom(new Date(START.getTime() - HOUR), HOUR)],
    ['long expired', lifetimeFrom(new Date(START.getTime() - 10 * HOUR), HOUR)],
  ];
  for (const [name, lifetime] of cases) {
    const h = harness({ lifetime });
    const expired = once(h.renewer, 'expired');
    h.renewer.start();
    await expired;
    await turns();
    assert.equal(h.renewer.state, 'expired', name);
    assert.equal(h.renewer.nextRenewalAt, undefined, name);
    assert.equal(h.state.renewCalls, 0, name);
    assert.deepEqual(h.clock.sleeps, [], name);
    // renewNow() after expiry does nothing: the loop has ended.
    h.renewer.renewNow('too late');
    await turns();
    assert.equal(h.state.renewCalls, 0, name);
    await h.renewer.stop();
    assert.equal(h.renewer.state, 'stopped', name);
  }
});

test('a certificate that expires while renewals fail ends in "expired", with no retry after expiry', async () => {
  const h = harness();
  let expiredEvents = 0;
  h.renewer.on('expired', () => expiredEvents++);
  h.renewer.start();
  h.clock.advance(await h.clock.nextSleep());
  const call = await h.nextRenew();
  h.clock.advance(HOUR); // the outage outlasts the certificate
  const expired = once(h.renewer, 'expired');
  call.fail();
  await expired;
  await turns();
  assert.equal(h.renewer.state, 'expired');
  assert.equal(h.state.renewCalls, 1);
  assert.equal(h.clock.pendingSleeps, 0);
  assert.equal(expiredEvents, 1);
  await h.renewer.stop();
});

test('stop() during a sleep resolves promptly, cancels the sleep, and leaves state "stopped"', async () => {
  const h = harness();
  h.renewer.start();
  await h.clock.nextSleep();
  await h.renewer.stop();
  assert.equal(h.renewer.state, 'stopped');
  assert.equal(h.clock.pendingSleeps, 0);
  h.clock.advance(10 * HOUR);
  await turns();
  assert.equal(h.state.renewCalls, 0, 'no renewal after stop');
});

test('stop() during a renewal waits for it, then no further sleep or renewal happens', async () => {
  const h = harness();
  h.renewer.start();
  h.renewer.renewNow('test');
  const call = await h.nextRenew();
  let stopped = false;
  const stopping = h.renewer.stop().then(() => (stopped = true));
  await turns();
  assert.equal(stopped, false, 'stop() waits for the renewal in flight');
  call.fail();
  await stopping;
  assert.equal(h.renewer.state, 'stopped');
  await turns();
  assert.equal(h.clock.pendingSleeps, 0);
  assert.equal(h.state.renewCalls, 1);
  assert.equal(h.renewer.failedAttempts, 0, 'a failure caused by stopping is not counted');
});

test('a stopped Renewer can be started again', async () => {
  const h = harness();
  h.renewer.start();
  await h.clock.nextSleep();
  await h.renewer.stop();
  h.renewer.start();
  assert.equal(await h.clock.nextSleep(), 0.65 * HOUR);
  assert.equal(h.renewer.state, 'scheduled');
  await h.renewer.stop();
});
