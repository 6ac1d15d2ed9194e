// Time, injected. Everything that decides something by time (renewal schedules, backoff, rate limits,
// validity checks) takes a Clock so that unit tests can move time deterministically. TLS itself still
// checks certificates against real time, so certificates used in real handshakes must be valid now.
import { setTimeout as delay } from 'node:timers/promises';

export interface Clock {
  now(): Date;
  /** Resolves after `ms`; rejects with an AbortError if `signal` aborts first. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  /**
   * Calls `fn` once, `ms` from now, unless the returned function cancels it first. A sleep without its promise,
   * AbortController and AbortError: for hot paths (ConnectionGuard starts one or two per connection, and a
   * cancelled sleep cost ~0.1 ms of CPU each: the AbortError captures a stack).
   */
  timer(ms: number, fn: () => void): () => void;
}

export const systemClock: Clock = {
  now: () => new Date(),
  sleep: async (ms, signal) => {
    await delay(Math.max(0, ms), undefined, { signal });
  },
  timer: (ms, fn) => {
    const t = setTimeout(fn, Math.max(0, ms));
    return () => clearTimeout(t);
  },
};
