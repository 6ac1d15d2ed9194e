// A deterministic Clock for unit tests: time moves only when the test says so, and the test can see (and
// wait for) every sleep the code under test starts.
//
//   const clock = new FakeClock(new Date('2030-01-01T00:00:00Z'));
//   const loop = renewer.start();           // code under test calls clock.sleep(...)
//   const ms = await clock.nextSleep();     // resolves with the requested ms once it has been called
//   clock.advance(ms);                      // the sleep resolves (its continuation runs on the next microtask)
//
// Semantics, chosen to match systemClock (shared/clock.ts) wherever a fake can:
//   - sleep(ms) resolves once now() >= (now() at the call) + ms. ms <= 0 (or NaN) is already due and resolves
//     at once; a sleep never resolves merely because real time passed.
//   - An aborted signal rejects the sleep with an Error named 'AbortError' (code 'ABORT_ERR', cause =
//     signal.reason), like node:timers/promises; a signal already aborted at the call rejects at once. Either
//     way the sleep is removed from pendingSleeps and is still reported to nextSleep().
//   - advance(ms) moves time and resolves every due sleep, earliest deadline first (ties: call order). It is
//     synchronous, so continuations run after it returns and all of them see the final now(). Code that
//     sleeps again in a loop (sleep → work → sleep) and must be stepped through several deadlines inside one
//     window needs advanceAsync(), which stops at each deadline and lets continuations run in between.
//   - timer(ms, fn) is a sleep(ms) that calls fn when it resolves; its cancel function aborts that sleep.
//   - Every sleep call is delivered to exactly one nextSleep(), in call order, even if it happened before
//     nextSleep() was called. `sleeps` keeps the whole history for assertions after the fact.
import type { Clock } from '../../shared/clock.js';

/** The default start: a fixed instant, so tests do not depend on when they run. */
export const FAKE_CLOCK_EPOCH = new Date('2030-01-01T00:00:00.000Z');

interface Sleeper {
  deadline: number;
  resolve(): void;
  reject(err: unknown): void;
  cleanup(): void;
}

function abortError(signal: AbortSignal): Error {
  const err = new Error('The operation was aborted', { cause: signal.reason });
  err.name = 'AbortError';
  (err as Error & { code: string }).code = 'ABORT_ERR';
  return err;
}

/** One event-loop turn: lets promise continuations (and anything they schedule with setImmediate) run. */
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

export class FakeClock implements Clock {
  #now: number;
  #sleepers: Sleeper[] = [];
  /** Sleep calls not yet handed to a nextSleep() caller. */
  #unclaimed: number[] = [];
  /** nextSleep() callers waiting for a sleep call. */
  #claimants: ((ms: number) => void)[] = [];
  readonly #history: number[] = [];

  constructor(start: Date | number = FAKE_CLOCK_EPOCH) {
    this.#now = typeof start === 'number' ? start : start.getTime();
    if (!Number.isFinite(this.#now)) throw new RangeError('FakeClock: start must be a valid time');
  }

  now(): Date {
    return new Date(this.#now);
  }

  /** Current fake time in epoch milliseconds. */
  get nowMs(): number {
    return this.#now;
  }

  /** Every ms value passed to sleep(), in call order (including aborted and already-due sleeps). */
  get sleeps(): readonly number[] {
    return this.#history;
  }

  /** How many sleeps are waiting for time to pass. */
  get pendingSleeps(): number {
    return this.#sleepers.length;
  }

  /** Deadline (epoch ms) of the earliest waiting sleep, if any. */
  get nextDeadline(): number | undefined {
    return this.#sleepers[0]?.deadline;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    const requested = ms;
    const wait = Number.isFinite(ms) ? Math.max(0, ms) : Number.isNaN(ms) ? 0 : Infinity;
    const promise = new Promise<void>((resolve, reject) => {
      if (signal?.aborted) {
        reject(abortError(signal));
        return;
      }
      if (wait === 0) {
        resolve();
        return;
      }
      const onAbort = () => {
        this.#remove(sleeper);
        reject(abortError(signal!));
      };
      const sleeper: Sleeper = {
        deadline: this.#now + wait,
        resolve,
        reject,
        cleanup: () => signal?.removeEventListener('abort', onAbort),
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#insert(sleeper);
    });
    // Reported after the sleeper is registered, so `advance(await nextSleep())` always releases it.
    this.#history.push(requested);
    const claimant = this.#claimants.shift();
    if (claimant) claimant(requested);
    else this.#unclaimed.push(requested);
    return promise;
  }

  /** A sleep(ms) whose resolution calls `fn` (on the next microtask); cancelling aborts that sleep. */
  timer(ms: number, fn: () => void): () => void {
    const cancelled = new AbortController();
    this.sleep(ms, cancelled.signal).then(fn, () => {});
    return () => cancelled.abort();
  }

  /**
   * Resolves with the ms of the next sleep() call not yet claimed by an earlier nextSleep(): the oldest
   * unclaimed call if there is one, otherwise the next call to come. It never times out by itself; rely on
   * the test runner's timeout.
   */
  nextSleep(): Promise<number> {
    const ms = this.#unclaimed.shift();
    if (ms !== undefined) return Promise.resolve(ms);
    return new Promise((resolve) => this.#claimants.push(resolve));
  }

  /** Moves time forward by `ms` (>= 0) and resolves every sleep that is now due. Synchronous. */
  advance(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`FakeClock.advance: ms must be a finite number >= 0, got ${ms}`);
    this.#now += ms;
    this.#fireDue();
  }

  /** Moves time forward to `time` (not backward) and resolves every sleep that is now due. */
  advanceTo(time: Date | number): void {
    const t = typeof time === 'number' ? time : time.getTime();
    if (!(t >= this.#now)) throw new RangeError(`FakeClock.advanceTo: ${new Date(t).toISOString()} is before now ${this.now().toISOString()}`);
    this.advance(t - this.#now);
  }

  /**
   * Like advance(ms), but stops at each sleep's deadline on the way, and after each stop yields one event-loop
   * turn so that resumed code can run (and sleep again) before time moves on. Ends with time exactly at
   * now + ms and one more turn.
   */
  async advanceAsync(ms: number): Promise<void> {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`FakeClock.advanceAsync: ms must be a finite number >= 0, got ${ms}`);
    const end = this.#now + ms;
    for (let next = this.nextDeadline; next !== undefined && next <= end; next = this.nextDeadline) {
      this.#now = Math.max(this.#now, next);
      this.#fireDue();
      await turn();
    }
    this.#now = end;
    this.#fireDue();
    await turn();
  }

  #insert(s: Sleeper): void {
    // Sorted by deadline; equal deadlines keep call order (insert after them). Sleeps are few: linear is fine.
    let i = this.#sleepers.length;
    while (i > 0 && this.#sleepers[i - 1]!.deadline > s.deadline) i--;
    this.#sleepers.splice(i, 0, s);
  }

  #remove(s: Sleeper): void {
    const i = this.#sleepers.indexOf(s);
    if (i >= 0) this.#sleepers.splice(i, 1);
    s.cleanup();
  }

  #fireDue(): void {
    while (this.#sleepers.length > 0 && this.#sleepers[0]!.deadline <= this.#now) {
      const s = this.#sleepers.shift()!;
      s.cleanup();
      s.resolve();
    }
  }
}
