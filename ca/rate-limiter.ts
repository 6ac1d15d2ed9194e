// Per-source throttling of *failed* join attempts. Honest joins cost nothing here: only failures drain a
// source's bucket, so a burst of wrong tokens from one address slows that address alone. An address with an
// empty bucket is refused before its token is even looked at, so guessing gains nothing from speed.
import type { Clock } from '../shared/clock.js';
import { HitlessError } from '../shared/errors.js';

export interface FailureLimiterOptions {
  /** Failures an address may make back to back. @default 10 */
  burst?: number;
  /** Failures regained per second. @default 0.2 (one every 5 s) */
  refillPerSecond?: number;
  /** Addresses tracked at most; full buckets are dropped first. @default 10000 */
  maxTracked?: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

export class FailureRateLimiter {
  readonly #buckets = new Map<string, Bucket>();
  readonly #burst: number;
  readonly #rate: number;
  readonly #max: number;

  constructor(
    private readonly clock: Clock,
    options: FailureLimiterOptions = {},
  ) {
    this.#burst = options.burst ?? 10;
    this.#rate = options.refillPerSecond ?? 0.2;
    this.#max = options.maxTracked ?? 10_000;
  }

  #bucket(source: string): Bucket {
    const now = this.clock.now().getTime();
    const b = this.#buckets.get(source) ?? { tokens: this.#burst, at: now };
    b.tokens = Math.min(this.#burst, b.tokens + ((now - b.at) / 1000) * this.#rate);
    b.at = now;
    return b;
  }

  /** Throws RATE_LIMITED when `source` has used up its failures. */
  check(source: string): void {
    const b = this.#bucket(source);
    if (b.tokens < 1) {
      const waitS = Math.ceil((1 - b.tokens) / this.#rate);
      throw new HitlessError('RATE_LIMITED', `too many failed join attempts from ${source}; retry in ${waitS}s`, {
        hint: 'check the join token: it may have been rotated',
      });
    }
  }

  recordFailure(source: string): void {
    const b = this.#bucket(source);
    b.tokens = Math.max(0, b.tokens - 1);
    this.#buckets.set(source, b);
    if (this.#buckets.size > this.#max) this.#evict();
  }

  #evict(): void {
    for (const [source] of this.#buckets) {
      if (this.#bucket(source).tokens >= this.#burst) this.#buckets.delete(source);
    }
    // Still full of hostile sources: forget the oldest (Map keeps insertion order).
    for (const [source] of this.#buckets) {
      if (this.#buckets.size <= this.#max) break;
      this.#buckets.delete(source);
    }
  }
}
