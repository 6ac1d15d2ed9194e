// Proves the FakeClock test helper keeps its documented contract (time moves only on advance; sleeps, aborts, nextSleep).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock, FAKE_CLOCK_EPOCH } from '../helpers/unit-fake-clock.js';

/** Whether `p` has settled after pending microtasks ran. */
async function settled(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  p.then(() => (done = true), () => (done = true));
  await new Promise((r) => setImmediate(r));
  return done;
}

test('starts at the fixed epoch (or the given time) and moves only on advance', () => {
  assert.equal(new FakeClock().now().getTime(), FAKE_CLOCK_EPOCH.getTime());
  const clock = new FakeClock(1_000);
  assert.equal(clock.now().getTime(), 1_000);
  clock.advance(250);
  assert.equal(clock.nowMs, 1_250);
  clock.advanceTo(new Date(2_000));
  assert.equal(clock.nowMs, 2_000);
  assert.throws(() => clock.advance(-1), RangeError);
  assert.throws(() => clock.advance(Number.NaN), RangeError);
  assert.throws(() => clock.advanceTo(1_999), RangeError);
});

test('now() returns a fresh Date each call (callers may not mutate the clock)', () => {
  const clock = new FakeClock(0);
  clock.now().setTime(99);
  assert.equal(clock.nowMs, 0);
});

test('sleep resolves only once time reaches its deadline', async () => {
  const clock = new FakeClock(0);
  const p = clock.sleep(1_000);
  assert.equal(clock.pendingSleeps, 1);
  assert.equal(clock.nextDeadline, 1_000);
  clock.advance(999);
  assert.equal(await settled(p), false);
  clock.advance(1);
  assert.equal(await settled(p), true);
  assert.equal(clock.pendingSleeps, 0);
});

test('sleep(0) and negative sleeps are already due', async () => {
  const clock = new FakeClock(0);
  assert.equal(await settled(clock.sleep(0)), true);
  assert.equal(await settled(clock.sleep(-5)), true);
  assert.deepEqual(clock.sleeps, [0, -5]);
});

test('advance fires due sleeps earliest first, ties in call order', async () => {
  const clock = new FakeClock(0);
  const order: string[] = [];
  const all = Promise.all([
    clock.sleep(300).then(() => order.push('c')),
    clock.sleep(100).then(() => order.push('a')),
    clock.sleep(300).then(() => order.push('d')),
    clock.sleep(200).then(() => order.push('b')),
    clock.sleep(500).then(() => order.push('late')),
  ]);
  clock.advance(300);
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(order, ['a', 'b', 'c', 'd']);
  clock.advance(200);
  await all;
  assert.deepEqual(order, ['a', 'b', 'c', 'd', 'late']);
});

test('an abort rejects with AbortError carrying the reason and removes the sleep', async () => {
  const clock = new FakeClock(0);
  const ac = new AbortController();
  const p = clock.sleep(1_000, ac.signal);
  const reason = new Error('stop');
  ac.abort(reason);
  await assert.rejects(p, (err: Error & { code?: string }) => {
    assert.equal(err.name, 'AbortError');
    assert.equal(err.code, 'ABORT_ERR');
    assert.equal(err.cause, reason);
    return true;
  });
  assert.equal(clock.pendingSleeps, 0);
});

test('an already-aborted signal rejects at once, and is still reported to nextSleep', async () => {
  const clock = new FakeClock(0);
  const p = clock.sleep(1_000, AbortSignal.abort());
  await assert.rejects(p, { name: 'AbortError' });
  assert.equal(clock.pendingSleeps, 0);
  assert.equal(await clock.nextSleep(), 1_000);
});

test('a resolved sleep ignores a later abort', async () => {
  const clock = new FakeClock(0);
  const ac = new AbortController();
  const p = clock.sleep(10, ac.signal);
  clock.advance(10);
  ac.abort();
  await p;
});

test('nextSleep delivers every call once, in order, whether it came before or after', async () => {
  const clock = new FakeClock(0);
  void clock.sleep(10);
  void clock.sleep(20);
  assert.equal(await clock.nextSleep(), 10);
  assert.equal(await clock.nextSleep(), 20);
  const waiting = clock.nextSleep();
  assert.equal(await settled(waiting), false);
  void clock.sleep(30);
  assert.equal(await waiting, 30);
  assert.deepEqual(clock.sleeps, [10, 20, 30]);
});

test('advance(await nextSleep()) drives a sleep loop one iteration at a time', async () => {
  const clock = new FakeClock(0);
  const wakes: number[] = [];
  const stop = new AbortController();
  const loop = (async () => {
    for (;;) {
      await clock.sleep(1_000, stop.signal).catch(() => {});
      if (stop.signal.aborted) return;
      wakes.push(clock.nowMs);
    }
  })();
  for (let i = 0; i < 3; i++) clock.advance(await clock.nextSleep());
  await clock.nextSleep(); // the loop is asleep again: all three wakes have run
  assert.deepEqual(wakes, [1_000, 2_000, 3_000]);
  stop.abort();
  await loop;
});

test('advanceAsync steps through deadlines so a loop can sleep again inside the window', async () => {
  const clock = new FakeClock(0);
  const wakes: number[] = [];
  const stop = new AbortController();
  const loop = (async () => {
    while (!stop.signal.aborted) {
      await clock.sleep(1_000, stop.signal).catch(() => {});
      if (!stop.signal.aborted) wakes.push(clock.nowMs);
    }
  })();
  await clock.advanceAsync(3_500);
  assert.deepEqual(wakes, [1_000, 2_000, 3_000]);
  assert.equal(clock.nowMs, 3_500);
  assert.equal(clock.nextDeadline, 4_000);
  stop.abort();
  await loop;
});

test('timer(ms, fn) is a sleep that calls fn at its deadline; its cancel function stops it', async () => {
  const clock = new FakeClock();
  const fired: string[] = [];
  clock.timer(1_000, () => fired.push('a'));
  const cancelB = clock.timer(1_000, () => fired.push('b'));
  assert.equal(await clock.nextSleep(), 1_000);
  assert.equal(await clock.nextSleep(), 1_000);
  cancelB();
  assert.equal(clock.pendingSleeps, 1);
  clock.advance(999);
  await Promise.resolve();
  assert.deepEqual(fired, []);
  clock.advance(1);
  await Promise.resolve();
  await Promise.resolve();
  assert.deepEqual(fired, ['a']);
  assert.equal(clock.pendingSleeps, 0);
});
