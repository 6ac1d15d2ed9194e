// Pure decisions about join credentials, with time from an injected Clock (no store, no gRPC):
//  - RateBuckets: keyed token buckets for "at most N per window" bounds (joins per token, joins overall,
//    renewals per node). A caller reserves one unit before the work and refunds it if the work fails, so
//    concurrent requests cannot overshoot and failures cost nothing.
//  - limitedTokenVerdict: may a limited join token (ca join-token create) be used now?
//  - parseRate: the `N/duration` form of the CA's rate flags.
import type { Clock } from '../shared/clock.js';
import { invalidArgument } from '../shared/errors.js';
import { parseDuration, formatDuration } from '../shared/duration.js';
import type { JoinTokenRecord } from './store.js';

/** At most `count` in any `perMs` window on average, with bursts of up to `count`. */
export interface Rate {
  count: number;
  perMs: number;
}

export function formatRate(r: Rate): string {
  return `${r.count}/${formatDuration(r.perMs)}`;
}

/** Parses `100/1m` (count per duration); the error names the flag. */
export function parseRate(text: string, flag: string): Rate {
  const m = /^(\d{1,9})\/(.+)$/.exec(text.trim());
  const count = m ? Number(m[1]) : NaN;
  if (!m || !(count >= 1)) {
    throw invalidArgument(`${flag} takes <count>/<duration>, e.g. 100/1m, got "${text.slice(0, 40)}"`, 'count is a whole number >= 1');
  }
  const perMs = parseDuration(m[2]!, flag);
  if (perMs <= 0) throw invalidArgument(`${flag}: the duration must be positive`);
  return { count, perMs };
}

interface Bucket {
  tokens: number;
  at: number;
}

export type Take = { ok: true } | { ok: false; retryAfterMs: number };

/**
 * Token buckets per key: capacity `rate.count`, refilled continuously at `count/perMs`. Keys that are full
 * again are forgotten first when more than `maxTracked` are held, so memory stays bounded whatever the keys.
 */
export class RateBuckets {
  readonly #buckets = new Map<string, Bucket>();

  constructor(
    private readonly clock: Clock,
    readonly rate: Rate,
    private readonly maxTracked = 100_000,
  ) {}

  /** Keys currently tracked (bounded by maxTracked). */
  get size(): number {
    return this.#buckets.size;
  }

  #bucket(key: string): Bucket {
    const now = this.clock.now().getTime();
    const b = this.#buckets.get(key) ?? { tokens: this.rate.count, at: now };
    b.tokens = Math.min(this.rate.count, b.tokens + ((now - b.at) * this.rate.count) / this.rate.perMs);
    b.at = now;
    return b;
  }

  /** Takes one unit for `key`, or says how long until one is available. */
  take(key: string): Take {
    const b = this.#bucket(key);
    if (b.tokens < 1) return { ok: false, retryAfterMs: Math.ceil(((1 - b.tokens) * this.rate.perMs) / this.rate.count) };
    b.tokens -= 1;
    this.#buckets.set(key, b);
    if (this.#buckets.size > this.maxTracked) this.#evict();
    return { ok: true };
  }

  /** Gives back a unit taken for work that then failed. */
  refund(key: string): void {
    const b = this.#bucket(key);
    b.tokens = Math.min(this.rate.count, b.tokens + 1);
    this.#buckets.set(key, b);
  }

  #evict(): void {
    for (const [key] of this.#buckets) if (this.#bucket(key).tokens >= this.rate.count) this.#buckets.delete(key);
    for (const [key] of this.#buckets) {
      if (this.#buckets.size <= this.maxTracked) break;
      this.#buckets.delete(key);
    }
  }
}

export type TokenVerdict = { ok: true } | { ok: false; reason: 'revoked' | 'expired' | 'used-up'; detail: string };

/** Whether a limited token may authorize one more join at `now`. */
export function limitedTokenVerdict(t: JoinTokenRecord, now: Date): TokenVerdict {
  if (t.revokedAt) return { ok: false, reason: 'revoked', detail: `join token ${t.id} was revoked at ${t.revokedAt}` };
  if (Date.parse(t.expiresAt) <= now.getTime()) return { ok: false, reason: 'expired', detail: `join token ${t.id} expired at ${t.expiresAt}` };
  if (t.usesLeft <= 0) return { ok: false, reason: 'used-up', detail: `join token ${t.id} has been used ${t.maxUses} times (its limit)` };
  return { ok: true };
}

/** The state shown by `ca join-token list`. */
export function limitedTokenState(t: JoinTokenRecord, now: Date): 'active' | 'revoked' | 'expired' | 'used-up' {
  const v = limitedTokenVerdict(t, now);
  return v.ok ? 'active' : v.reason;
}

/** Bounds on `ca join-token create`: a limited token is for a batch of joins, not a standing credential. */
export const LIMITED_TOKEN = { maxTtlMs: 30 * 24 * 3_600_000, maxUses: 100_000, defaultTtlMs: 3_600_000, defaultUses: 1 } as const;

export function checkLimitedTokenRequest(ttlMs: number, uses: number): void {
  if (!(ttlMs >= 1000) || ttlMs > LIMITED_TOKEN.maxTtlMs) {
    throw invalidArgument(`token TTL ${formatDuration(ttlMs)} is outside 1s..${formatDuration(LIMITED_TOKEN.maxTtlMs)}`, 'use --ttl, e.g. --ttl 1h');
  }
  if (!Number.isInteger(uses) || uses < 1 || uses > LIMITED_TOKEN.maxUses) {
    throw invalidArgument(`token uses ${uses} is outside 1..${LIMITED_TOKEN.maxUses}`, 'use --uses, e.g. --uses 10');
  }
}

export type Reservation = { ok: true; release(): void } | { ok: false; limit: string; retryAfterMs: number };

/** Default bounds on successful joins: per token (a leaked token mints nodes at most this fast) and overall. */
export const JOIN_RATE_DEFAULTS = { perToken: { count: 100, perMs: 60_000 }, overall: { count: 500, perMs: 60_000 } } as const;

/**
 * Successful joins, rate-limited per token and overall. `reserve` takes a unit from both buckets before the
 * join does its work; `release` gives both back if the join then fails (only successes count).
 */
export class JoinLimits {
  readonly #perToken: RateBuckets;
  readonly #overall: RateBuckets;

  constructor(clock: Clock, rates: { perToken?: Rate; overall?: Rate } = {}) {
    this.#perToken = new RateBuckets(clock, rates.perToken ?? JOIN_RATE_DEFAULTS.perToken, 10_000);
    this.#overall = new RateBuckets(clock, rates.overall ?? JOIN_RATE_DEFAULTS.overall, 1);
  }

  get rates(): { perToken: Rate; overall: Rate } {
    return { perToken: this.#perToken.rate, overall: this.#overall.rate };
  }

  /** `tokenKey`: "worker"/"manager" for the cluster tokens, the id of a limited token. */
  reserve(tokenKey: string): Reservation {
    const t = this.#perToken.take(tokenKey);
    if (!t.ok) return { ok: false, limit: 'joins_per_token', retryAfterMs: t.retryAfterMs };
    const o = this.#overall.take('all');
    if (!o.ok) {
      this.#perToken.refund(tokenKey);
      return { ok: false, limit: 'joins_overall', retryAfterMs: o.retryAfterMs };
    }
    return {
      ok: true,
      release: () => {
        this.#perToken.refund(tokenKey);
        this.#overall.refund('all');
      },
    };
  }
}
