// Proves how a daemon reads stop signals (shared/daemon.ts): the first starts the stop, a repeat inside the
// window (a terminal's group SIGINT plus a parent's forwarded signal) is the same stop, a later one forces.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { REPEAT_SIGNAL_WINDOW_MS, StopSignals } from '../../shared/daemon.js';
import { FakeClock } from '../helpers/unit-fake-clock.js';

test('the first signal stops; repeats inside the window are the same stop, the window end is outside it', () => {
  const clock = new FakeClock();
  const signals = new StopSignals(clock);
  assert.equal(signals.stopping, false);
  assert.deepEqual(signals.onSignal(), { action: 'stop' });
  assert.equal(signals.stopping, true);
  assert.deepEqual(signals.onSignal(), { action: 'same-stop', sinceFirstMs: 0 });
  clock.advance(REPEAT_SIGNAL_WINDOW_MS - 1);
  assert.deepEqual(signals.onSignal(), { action: 'same-stop', sinceFirstMs: REPEAT_SIGNAL_WINDOW_MS - 1 });
  // The daemon announces the window's end (`still_stopping`) after a sleep of exactly the window, so a signal
  // sent on seeing that announcement must force even when no whole millisecond has passed since.
  clock.advance(1);
  assert.equal(signals.onSignal().action, 'force');
});

test('a signal after the window forces, with a reason that says why', () => {
  const clock = new FakeClock();
  const signals = new StopSignals(clock, 1_500);
  signals.onSignal();
  clock.advance(1_501);
  const d = signals.onSignal();
  assert.equal(d.action, 'force');
  assert.match((d as { reason: string }).reason, /second signal 1501 ms into the stop \(repeats within 1500 ms count as the same stop\)/);
});

test('the window is measured from the first signal, not from the last repeat', () => {
  const clock = new FakeClock();
  const signals = new StopSignals(clock, 2_000);
  signals.onSignal();
  clock.advance(1_900);
  assert.equal(signals.onSignal().action, 'same-stop');
  clock.advance(1_900); // 3.8 s after the first, 1.9 s after the repeat
  assert.equal(signals.onSignal().action, 'force');
});

test('the default window is 2 s', () => {
  assert.equal(REPEAT_SIGNAL_WINDOW_MS, 2_000);
  assert.equal(new StopSignals(new FakeClock()).repeatWindowMs, 2_000);
});
