// When to renew, and how long to wait after a failure. Pure functions of (certificate, now, random): no
// timers, so they are table-tested with fixed dates.

/** Renew in [50 %, 80 %] of the lifetime (SwarmKit's window), spread at random so a fleet does not renew at once. */
export const RENEW_WINDOW = { from: 0.5, to: 0.8 } as const;

export interface Lifetime {
  /** The real issuance instant. notBefore is backdated for clock skew and must not be used here. */
  issuedAt: Date;
  notAfter: Date;
}

/** The instant to renew at; `now` when that instant has already passed. */
export function nextRenewalAt(cert: Lifetime, now: Date, random: () => number = Math.random): Date {
  const start = cert.issuedAt.getTime();
  const life = Math.max(0, cert.notAfter.getTime() - start);
  const fraction = RENEW_WINDOW.from + (RENEW_WINDOW.to - RENEW_WINDOW.from) * clamp01(random());
  return new Date(Math.max(start + life * fraction, now.getTime()));
}

export interface BackoffOptions {
  /** First retry's ceiling. @default 1000 */
  baseMs?: number;
  /** Largest ceiling. @default 60000 */
  capMs?: number;
  /** Smallest delay, so a failing CA is never hammered in a tight loop. @default 100 */
  floorMs?: number;
}

/**
 * Exponential backoff with full jitter: uniform in [0, min(cap, base·2^attempt)]. While the certificate is
 * still valid the ceiling is also held to a quarter of the time it has left, so that several retries still
 * happen before it expires however long the outage has lasted.
 */
export function backoffDelayMs(
  attempt: number,
  random: () => number = Math.random,
  opts: BackoffOptions = {},
  cert?: { now: Date; notAfter: Date },
): number {
  const { baseMs = 1000, capMs = 60_000, floorMs = 100 } = opts;
  let ceiling = Math.min(capMs, baseMs * 2 ** Math.min(attempt, 30));
  const left = cert ? cert.notAfter.getTime() - cert.now.getTime() : 0;
  if (left > 0) ceiling = Math.min(ceiling, left / 4);
  return Math.max(floorMs, Math.round(ceiling * clamp01(random())));
}

export function isExpired(cert: { notAfter: Date }, now: Date): boolean {
  return now.getTime() >= cert.notAfter.getTime();
}

function clamp01(x: number): number {
  return Math.min(1, Math.max(0, x));
}
