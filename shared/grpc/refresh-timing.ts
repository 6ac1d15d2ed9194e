// When a refreshing stream (shared/grpc/refreshing-stream.ts) moves, and how soon it tries again: the timing
// policy, as pure functions of the clock's reading (the stream schedules what they return on its injected Clock).
//
// Moves after events that hit every stream of a process at once (own credentials, GOAWAY, expiry) start after a
// random delay up to `spreadMs` (default SPREAD_MS, never more than SPREAD_FRACTION of the time left before the
// nearest certificate expiry), so a process with many streams does not make all its handshakes in one tick. A
// server's request is spread too, over a shorter window (SERVER_REQUEST_SPREAD_MS: its deadline can be as short as
// the server's 2 s grace): every peer that renews asks all our streams to it at once, and in a rotation step all
// peers renew together. Except on a leg opened less than MIN_SERVER_REQUEST_MS ago with our current credentials
// (a server asks every new stream at once when our certificate is within its grace of expiry: moving again with
// the same certificate would loop), which moves when it is that old; refresh() moves at once.

/** Refresh once this fraction of the shorter remaining life (ours or the peer's) at stream start has passed. */
export const REFRESH_AHEAD_FRACTION = 0.75;
/** Never refresh for expiry more often than this (a peer that has not renewed yet gives us the same cert). */
export const MIN_EXPIRY_REFRESH_MS = 1_000;
/** A server's request on a leg opened with our current credentials moves it no sooner than this after it opened. */
export const MIN_SERVER_REQUEST_MS = 1_000;
/** How long a retired bidi stream may take to drain (answers in flight) before it is cancelled. */
export const DRAIN_MS = 5_000;
/** A replacement not confirmed this long after it was opened is abandoned (a refresh failure; retried). */
export const CONFIRM_WITHIN_MS = 10_000;
/** Moves after process-wide events start within this window (random), so they do not all handshake at once. */
export const SPREAD_MS = 1_000;
/** ...and never later than this fraction of the time left before the nearest certificate expiry. */
export const SPREAD_FRACTION = 0.1;
/**
 * A server's request starts within this window (random, and within the stream's spread window): a quarter of the
 * server's grace (shared/grpc/stream-bound.ts DEFAULT_STREAM_GRACE_MS), so a revoked stream's move has the rest
 * to confirm before the server ends it. At once, 125 requested moves after a peer's renewal held a heartbeat
 * ~100 ms in the figure-5 soak; spread, the soak's largest stall fell from 82-120 ms to 50-65 ms (test/bench/HISTORY.md).
 */
export const SERVER_REQUEST_SPREAD_MS = 500;

export type RefreshTrigger = 'own-credentials' | 'server-request' | 'peer-expiry' | 'own-expiry' | 'connection-draining';

/** Triggers that hit every stream of a process at once: their moves are spread (see SPREAD_MS). */
export const SPREAD_TRIGGERS: ReadonlySet<RefreshTrigger> = new Set(['own-credentials', 'peer-expiry', 'own-expiry', 'connection-draining']);

/** Exponential backoff with jitter (half to all of the step) after `failures` failures in a row. */
export const backoffDelayMs = (failures: number, o: { baseMs: number; capMs: number }, random: () => number = Math.random): number =>
  Math.min(o.capMs, o.baseMs * 2 ** Math.max(0, failures - 1)) * (0.5 + random() / 2);

/**
 * A server asks at once on a stream that starts within its grace of our certificate's expiry (or on one made
 * just before its own renewal): a leg opened with our current credentials less than MIN_SERVER_REQUEST_MS ago
 * moves when it is that old, not at once, or each replacement would be asked again on its first message in a
 * tight loop of moves until we renew. Our renewal (provider update) still moves it at once.
 * `leg.credentials` and `credentials`: provider updates seen when the leg's channel was made, and now.
 */
export function serverRequestDelayMs(leg: { credentials: number; openedAt: Date }, credentials: number, nowMs: number): number {
  if (leg.credentials < credentials) return 0;
  return Math.max(0, leg.openedAt.getTime() + MIN_SERVER_REQUEST_MS - nowMs);
}

/** Where in the spread window (`windowMs`, capped by the nearest of `expiries`) a process-wide move starts. */
export function spreadDelayMs(windowMs: number, expiries: readonly (Date | undefined)[], nowMs: number, random: () => number): number {
  if (!(windowMs > 0)) return 0;
  const left = expiries.filter((d): d is Date => d !== undefined).map((d) => d.getTime() - nowMs);
  const nearest = left.length > 0 ? Math.min(...left) : Infinity;
  return random() * Math.min(windowMs, Math.max(0, nearest * SPREAD_FRACTION));
}

/**
 * The move ahead of the nearer expiry of the two ends' certificates (the peer's first on a tie), after
 * REFRESH_AHEAD_FRACTION of the time left, never sooner than MIN_EXPIRY_REFRESH_MS; none when neither is known.
 */
export function expiryRefresh(peerNotAfter: Date | undefined, ownNotAfter: Date | undefined, nowMs: number): { trigger: RefreshTrigger; waitMs: number } | undefined {
  const candidates: [RefreshTrigger, Date | undefined][] = [['peer-expiry', peerNotAfter], ['own-expiry', ownNotAfter]];
  const [trigger, deadline] = candidates
    .filter((c): c is [RefreshTrigger, Date] => c[1] !== undefined)
    .sort((a, b) => a[1].getTime() - b[1].getTime())[0] ?? [undefined, undefined];
  if (!trigger || !deadline) return undefined;
  return { trigger, waitMs: Math.max(MIN_EXPIRY_REFRESH_MS, (deadline.getTime() - nowMs) * REFRESH_AHEAD_FRACTION) };
}
