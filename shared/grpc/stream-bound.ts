// The server side of "no stream outlives what authenticated it". A TLS connection (and every stream on it)
// outlives the certificate its handshake was made with: nothing in TLS 1.3 or grpc-js re-checks it
// (../reference/node-runtime.md §1, sharp edge 6). So every long-lived server stream carries a bound:
//
//   opened ──────────────── refreshAt ───────── notAfter ── endAt = notAfter + grace
//            normal traffic   │ "please refresh"            │ the stream is ended:
//                             │ on our own messages         │ UNAUTHENTICATED "the certificate that
//                             ▼ (refresh_requested = true)  ▼ authenticated this stream expired at …"
//
// refreshAt = opened + REFRESH_FRACTION × (notAfter − opened): at 90 % of the life the certificate had left
// when the stream opened, never later than notAfter − grace. A hitless client (shared/grpc/refreshing-stream.ts)
// moves to a fresh connection on its own long before (when it renews); the hint is for clients that only
// follow the server. A plain gRPC client ignores the field and is ended at endAt. When the peer's root leaves
// the trust bundle (revoke()), the hint is given at once and the stream is ended `grace` later.
//
// The plan is pure; StreamBound is the thin per-stream driver (timers on an injected Clock).
import type { Clock } from '../clock.js';
import { HitlessError } from '../errors.js';

/** Fraction of the remaining certificate life at stream start after which the server asks for a refresh. */
export const REFRESH_FRACTION = 0.9;
/** How long after the bound (expiry, or a root leaving the bundle) a stream may still run. */
export const DEFAULT_STREAM_GRACE_MS = 2_000;

export interface StreamBoundPlan {
  refreshAt: Date;
  endAt: Date;
}

/** When to ask the client to refresh and when to end the stream, for a stream opened at `openedAt`. */
export function planStreamBound(openedAt: Date, notAfter: Date, graceMs = DEFAULT_STREAM_GRACE_MS): StreamBoundPlan {
  const opened = openedAt.getTime();
  const expiry = notAfter.getTime();
  const remaining = Math.max(0, expiry - opened);
  const refreshAt = Math.min(opened + Math.floor(remaining * REFRESH_FRACTION), expiry - graceMs);
  return { refreshAt: new Date(Math.max(opened, refreshAt)), endAt: new Date(expiry + graceMs) };
}

/** The status a stream is ended with at its bound. */
export function streamBoundError(reason: { kind: 'expired'; notAfter: Date } | { kind: 'untrusted'; detail: string; at: Date }): HitlessError {
  return reason.kind === 'expired'
    ? new HitlessError('CERT_EXPIRED', `the certificate that authenticated this stream expired at ${reason.notAfter.toISOString()}; reconnect with a current certificate`)
    : new HitlessError(
        'UNTRUSTED_PEER',
        `the certificate that authenticated this stream is no longer trusted since ${reason.at.toISOString()} (${reason.detail}); reconnect with a current certificate`,
      );
}

export interface StreamBoundEvents {
  /** Ask the client to refresh: called once, at refreshAt or at revoke(). */
  refresh(): void;
  /** End the stream with this error: called once, at the bound + grace. */
  end(err: HitlessError): void;
}

/** Per-stream driver of the plan. stop() when the stream ends for any other reason. */
export class StreamBound {
  readonly plan: StreamBoundPlan;
  readonly #stop = new AbortController();
  #refreshRequested = false;
  #revoked = false;

  constructor(
    private readonly d: { clock: Clock; notAfter: Date; graceMs?: number; events: StreamBoundEvents },
  ) {
    this.plan = planStreamBound(d.clock.now(), d.notAfter, d.graceMs);
    void this.#at(this.plan.refreshAt, () => this.#refresh());
    void this.#at(this.plan.endAt, () => this.#end(streamBoundError({ kind: 'expired', notAfter: d.notAfter })));
  }

  /** True once the client has been asked to refresh (every later message of ours says so). */
  get refreshRequested(): boolean {
    return this.#refreshRequested;
  }

  /** When the stream will be ended at the latest. */
  get endsAt(): Date {
    return this.plan.endAt;
  }

  /** Ask for a refresh now without moving the end (e.g. the server's own certificate changed). */
  requestRefresh(): void {
    this.#refresh();
  }

  /** The peer's certificate stopped being trusted (its root left the bundle): refresh now, end after the grace. */
  revoke(detail: string): void {
    if (this.#revoked || this.#stop.signal.aborted) return;
    this.#revoked = true;
    const at = this.d.clock.now();
    this.#refresh();
    void this.#at(new Date(at.getTime() + (this.d.graceMs ?? DEFAULT_STREAM_GRACE_MS)), () => this.#end(streamBoundError({ kind: 'untrusted', detail, at })));
  }

  stop(): void {
    this.#stop.abort();
  }

  #refresh(): void {
    if (this.#refreshRequested || this.#stop.signal.aborted) return;
    this.#refreshRequested = true;
    this.d.events.refresh();
  }

  #end(err: HitlessError): void {
    if (this.#stop.signal.aborted) return;
    this.#stop.abort();
    this.d.events.end(err);
  }

  async #at(when: Date, fn: () => void): Promise<void> {
    try {
      await this.d.clock.sleep(when.getTime() - this.d.clock.now().getTime(), this.#stop.signal);
    } catch {
      return;
    }
    fn();
  }
}
