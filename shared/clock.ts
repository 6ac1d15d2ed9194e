// Time, injected. Everything that decides something by time (renewal schedules, backoff, rate limits,
// validity checks) takes a Clock so that unit tests can move time deterministically. TLS itself still
// checks certificates against real time, so certificates used in real handshakes must be valid now.
import { setTimeout as delay } from 'node:timers/promises';

export interface Clock {
  now(): Date;
  /** Resolves after `ms`; rejects with an AbortError if `signal` aborts first. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => new Date(),
  sleep: async (ms, signal) => {
    await delay(Math.max(0, ms), undefined, { signal });
  },
};
