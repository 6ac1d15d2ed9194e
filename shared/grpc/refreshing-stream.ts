// Make-before-break for long-lived gRPC streams: a stream never outlives the credentials of either end.
//
// A TLS connection keeps the certificates of its handshake for as long as it lives, and every stream on it
// with it (../reference/node-runtime.md §1). So a stream is moved, not kept: whenever
//   - our own certificate or trust bundle changes (the certificate provider publishes an update),
//   - the server asks for it (a field of its own messages: `refreshRequested(msg)`, see stream-bound.ts),
//   - either end's certificate nears expiry (REFRESH_AHEAD_FRACTION of the life it had left at stream start),
//   - the connection drains (the server's GOAWAY at its max connection age),
// a replacement stream (a "leg") is opened on a *new channel* (so a new connection, with the provider's current
// credentials: channels with equal target/options/credentials would share the old connection, hence the
// generation option) while the old leg keeps carrying the stream.
//
// The move, precisely:
//   1. open   The replacement is opened. The application's writes keep going to the old leg: a replacement
//             is never written to before it is confirmed (except `probe()`, if given), so a slow handshake on
//             the new connection never holds a message back, and a replacement that fails has nothing to
//             resend.
//   2. confirm The replacement is *confirmed* when the server has answered on it: its response headers
//             (`confirmOn: 'headers'`, for servers that send them when they accept a stream, as hitless's node
//             service does once it has authorized the caller) or its first message (`confirmOn: 'message'`,
//             the default: servers that send first, like the CA's watch). A trailers-only refusal is not an
//             answer. Either way the new connection's TLS handshake, both ends' current certificates and the
//             server's authorization of the stream are proven before anything depends on them.
//   3. switch In the same tick the replacement becomes the stream in use: every later write goes to it.
//   4. retire The old leg is ended — half-closed for client/bidi streaming, so the server still answers what
//             it received (those answers are delivered, tagged with their leg) and ends it; cancelled after
//             DRAIN_MS at the latest. Server-streaming legs are cancelled at once (the new one carries the same
//             events).
// Guarantees for client-streaming and bidi calls:
//   - every write goes to exactly one leg (never duplicated, never resent): the stream in use; while none is
//     in use (at the start, after a failure, or when the leg in use ended before its replacement confirmed)
//     the leg being opened, since a server may answer only after a first message;
//   - a move loses no write: nothing is written to an unconfirmed replacement, and the old leg is half-closed
//     after the last write it took. A write is lost only with a leg that *fails* while carrying it: the stream
//     in use failing is an application-visible error (`errors`, events.error), never a move;
//   - order: per leg, writes reach the server in order. Across a switch, writes before it are on the old leg and
//     writes after it on the new one; the server sees two HTTP/2 streams and may handle the first writes of the
//     new before the last of the old, and answers of both may interleave. An application that needs one total
//     order across moves numbers its messages (Heartbeat's seq does).
// Edge cases:
//   - The old leg ends before its replacement confirms (the server's bound at certificate expiry + grace, a
//     connection lost after a GOAWAY, an error): a failure of the stream in use (counted, reported) unless the
//     server says a newer stream replaced it (`endedByReplacement`); the replacement then carries the
//     application's writes and becomes the stream when it confirms, or the stream starts over with backoff.
//   - The replacement fails, or is not confirmed within confirmWithinMs (default CONFIRM_WITHIN_MS for
//     replacements): the old leg carries on unaffected (a refresh failure, not an error); retried with backoff.
//   - Triggers while a move is scheduled or under way are merged into it. A replacement opened before our
//     credentials last changed, or before the server's first request on the stream in use, is moved again once
//     it is confirmed (either end's certificate may have changed under its handshake).
//   - The application ends the stream (end()) mid-move: an unconfirmed replacement is cancelled (it carried
//     nothing), the stream in use is half-closed, and no move starts after that.
// When moves start (spread over a window after process-wide events, over a shorter one on a server's request)
// and how soon a failed one is retried: shared/grpc/refresh-timing.ts. One leg's own I/O: shared/grpc/stream-leg.ts.
//
// Usage (any client- or bidi-streaming call; server streaming too):
//   const s = new RefreshingStream({ name: 'chat', connect: (gen) => new Chat(target, creds, { [GENERATION_OPTION]: gen }),
//     open: (client) => client.Chat(), confirmOn: 'headers', onMessage: (m) => ..., provider, clock, log });
//   s.start(); s.write(msg); ...; await s.end(); await s.stop();
import type { EventEmitter } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import type { Clock } from '../clock.js';
import type { Logger } from '../log.js';
import {
  CONFIRM_WITHIN_MS,
  SPREAD_MS,
  SPREAD_TRIGGERS,
  backoffDelayMs,
  expiryRefresh,
  serverRequestDelayMs,
  spreadDelayMs,
  SERVER_REQUEST_SPREAD_MS,
  type RefreshTrigger,
} from './refresh-timing.js';
import { Leg, serviceError, type AnyCall, type LiveLeg, type StreamLeg } from './stream-leg.js';

export {
  CONFIRM_WITHIN_MS,
  DRAIN_MS,
  MIN_EXPIRY_REFRESH_MS,
  MIN_SERVER_REQUEST_MS,
  REFRESH_AHEAD_FRACTION,
  SPREAD_FRACTION,
  SPREAD_MS,
  type RefreshTrigger,
} from './refresh-timing.js';
export type { LiveLeg, StreamLeg } from './stream-leg.js';

/** Channel option that gives every replacement its own channel and connection (grpc-js pools by options). */
export const GENERATION_OPTION = 'hitless.connection_generation';

export interface RefreshingStreamOptions<Req, Res> {
  /** For logs and metrics. */
  name: string;
  /** A new client for each generation; pass `{ [GENERATION_OPTION]: generation }` among its channel options. */
  connect(generation: number): grpc.Client;
  /** Starts the call on `client` (the request for server streaming is bound here). */
  open(client: grpc.Client, generation: number): grpc.ClientReadableStream<Res> | grpc.ClientDuplexStream<Req, Res>;
  /** Every message of the stream in use (and answers draining from a retired bidi stream), in order per leg. */
  onMessage(msg: Res, leg: StreamLeg): void;
  /**
   * What confirms a replacement (see the header): the server's response headers or its first message.
   * 'headers' needs a server that sends them when it accepts a stream (call.sendMetadata() once authorized);
   * 'message' a server that sends first, or `probe`. A server that does neither before the client writes
   * never confirms a replacement: each is abandoned after confirmWithinMs, loudly. @default 'message'
   */
  confirmOn?: 'headers' | 'message';
  /** A message written on every replacement at once to make the server answer (for confirmOn 'message'). */
  probe?(): Req;
  /** The server's refresh hint in its own messages. */
  refreshRequested?(msg: Res): boolean;
  /**
   * True for the status a server ends a stream with because a newer stream of the same client replaced it
   * (a server that allows one stream per client ends the old one itself). While a replacement is under way
   * that is the expected end of the old stream, not a failure.
   */
  endedByReplacement?(err: grpc.ServiceError): boolean;
  /** Refresh when this publishes 'update' (our certificate or trust bundle changed). */
  provider?: Pick<EventEmitter, 'on' | 'off'>;
  /** notAfter of our own current certificate. */
  ownNotAfter?(): Date | undefined;
  /**
   * Our own current leaf (PEM). Read when a leg's channel is made: grpc-js channels following a certificate
   * provider build each new connection's TLS context from the provider's latest values, so that is the
   * certificate the leg's connection presents (reported in liveLegs() for rotation evidence).
   */
  ownCertificate?(): string | undefined;
  clock: Clock;
  log: Logger;
  /** Backoff after failures. @default { baseMs: 500, capMs: 5000 } */
  backoff?: { baseMs: number; capMs: number };
  /**
   * Replaces `backoff`: the wait before the next attempt after `failures` failures in a row (the CA watch takes
   * it from the agent's CA endpoint policy, agent/ca-failover.ts).
   */
  retryDelayMs?(failures: number): number;
  /**
   * An attempt not confirmed this long after it was opened fails with DEADLINE_EXCEEDED (and is cancelled). For
   * first attempts it is off unless given: set it for servers that answer at once (the CA's watch does), since a
   * server stream has no deadline of its own and a connection attempt to a blackholed address would otherwise
   * wait for the OS's TCP connect timeout (about two minutes on Linux). Replacements default to
   * CONFIRM_WITHIN_MS.
   */
  confirmWithinMs?: number;
  /** Window over which moves after process-wide events are spread; a server's request over at most SERVER_REQUEST_SPREAD_MS of it (0: move at once). @default SPREAD_MS */
  spreadMs?: number;
  /** Uniform in [0, 1): where in the spread window a move starts. Injected by tests. @default Math.random */
  random?(): number;
  /** Observers (counters, logs of the caller). */
  events?: {
    up?(leg: StreamLeg, kind: 'start' | 'refresh', trigger?: RefreshTrigger): void;
    /** `leg`: the attempt that failed, so a caller that picks targets in connect() knows which one did. */
    error?(err: grpc.ServiceError, established: boolean, leg: StreamLeg): void;
    refreshFailed?(err: grpc.ServiceError | Error, leg: StreamLeg): void;
  };
}

export class RefreshingStream<Req, Res> {
  #generation = 0;
  #active: Leg | undefined;
  #candidate: Leg | undefined;
  /** A move waiting for its start (spread, or a retry after a failed replacement). */
  #scheduled: { trigger: RefreshTrigger; dueAt: number; backoff: boolean; abort: AbortController } | undefined;
  /** Provider updates seen so far. */
  #credentials = 0;
  /** The stream in use, ended by the server because the replacement under way superseded it. */
  #superseded: Leg | undefined;
  #failures = 0;
  #refreshFailures = 0;
  #stopped = false;
  /** end() was called: no more writes or moves; `#ended` resolves when the stream in use has ended. */
  #ending = false;
  readonly #ended: { promise: Promise<void>; resolve(): void };
  /** Every leg whose call has not ended yet (active, candidate, retiring ones draining). */
  readonly #live = new Set<Leg>();
  readonly #stop = new AbortController();
  readonly #backoff: { baseMs: number; capMs: number };
  /** Stream starts after a failure (1 over a whole run: the logical stream never broke). */
  starts = 0;
  refreshes = 0;
  refreshFailures = 0;
  /** Failures of the stream in use (application-visible). */
  errors = 0;
  connectFailures = 0;

  constructor(private readonly o: RefreshingStreamOptions<Req, Res>) {
    this.#backoff = o.backoff ?? { baseMs: 500, capMs: 5_000 };
    let resolve!: () => void;
    const promise = new Promise<void>((r) => (resolve = r));
    this.#ended = { promise, resolve };
  }

  #delay(failures: number): number {
    return this.o.retryDelayMs ? this.o.retryDelayMs(failures) : backoffDelayMs(failures, this.#backoff);
  }

  /** The leg carrying the stream now. */
  get current(): StreamLeg | undefined {
    return this.#active;
  }

  get connected(): boolean {
    return this.#active !== undefined;
  }

  /**
   * The client whose channel carries the stream now (undefined while none is up). A unary call on it rides the
   * stream's own connection — made with the credentials current when that leg opened, moved with the stream —
   * instead of a handshake of its own (the agent's rotation evidence goes this way to the CA).
   */
  get currentClient(): grpc.Client | undefined {
    return this.#active?.client;
  }

  /** The legs whose connections are open now, with the certificates each was made with (both ends). */
  liveLegs(): LiveLeg[] {
    return [...this.#live].map((leg) => leg.live(leg === this.#active ? 'active' : leg.confirmed || leg.retired ? 'retiring' : 'candidate'));
  }

  start(): void {
    this.o.provider?.on('update', this.#onCredentials);
    this.#openPrimary();
  }

  /** Cancels every leg at once (answers in flight are dropped). Use end() first for a clean close. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#stop.abort();
    this.#unschedule();
    this.o.provider?.off('update', this.#onCredentials);
    for (const leg of [...this.#live]) this.#close(leg, true);
    this.#active = this.#candidate = this.#superseded = undefined;
    this.#ended.resolve();
  }

  /**
   * Half-closes the stream (client/bidi streaming): no more writes or moves; an unconfirmed replacement is
   * cancelled (it carried nothing), the stream in use is half-closed so the server answers what it has. Resolves
   * when that leg has ended (its failure is counted as usual). Server streaming: cancels, like stop().
   */
  end(): Promise<void> {
    if (this.#stopped || this.#ending) return this.#ended.promise;
    this.#ending = true;
    this.#unschedule();
    this.o.provider?.off('update', this.#onCredentials);
    if (this.#active && this.#candidate) {
      this.#close(this.#candidate, true);
      this.#candidate = undefined;
    }
    const carrier = this.#active ?? this.#candidate;
    if (!carrier) void this.stop();
    else if (carrier.call.end) carrier.call.end();
    else void this.stop();
    return this.#ended.promise;
  }

  /**
   * Sends on the stream (bidi/client streaming). True when the message went on the stream in use. While none is
   * in use it goes to the leg being opened (a bidi server may answer only after a first message) and the result
   * is false: it is lost if that attempt fails. Never written to a replacement that is not confirmed yet.
   */
  write(msg: Req): boolean {
    if (this.#stopped || this.#ending) return false;
    const active = this.#active;
    if (active?.call.write && active.call.writable) {
      active.call.write(msg);
      return true;
    }
    const opening = this.#candidate;
    if (opening?.call.write && opening.call.writable) opening.call.write(msg);
    return false;
  }

  /** Moves the stream to a new connection now (make-before-break). No-op while one is under way or none is up. */
  refresh(trigger: RefreshTrigger): void {
    if (this.#stopped || this.#ending || this.#candidate || !this.#active) return;
    this.#unschedule();
    this.#move(trigger);
  }

  readonly #onCredentials = () => {
    this.#credentials++;
    this.#requestMove('own-credentials');
  };

  /**
   * A move asked for by an event: merged into one under way, or into one scheduled no later than this one would
   * be (an earlier request replaces a later one; a retry's backoff is never cut short); spread (see refresh-timing.ts).
   */
  #requestMove(trigger: RefreshTrigger): void {
    if (this.#stopped || this.#ending || this.#candidate || !this.#active) return;
    const now = this.o.clock.now().getTime();
    const spread = (windowMs: number) => spreadDelayMs(windowMs, [this.#active!.peerNotAfter, this.o.ownNotAfter?.()], now, this.o.random ?? Math.random);
    const window = this.o.spreadMs ?? SPREAD_MS;
    const delay =
      trigger === 'server-request'
        ? serverRequestDelayMs(this.#active, this.#credentials, now) || spread(Math.min(window, SERVER_REQUEST_SPREAD_MS))
        : SPREAD_TRIGGERS.has(trigger)
          ? spread(window)
          : 0;
    const dueAt = now + delay;
    if (this.#scheduled && (this.#scheduled.backoff || this.#scheduled.dueAt <= dueAt)) return;
    this.#unschedule();
    if (delay < 1) this.#move(trigger);
    else this.#schedule(trigger, delay);
  }

  #schedule(trigger: RefreshTrigger, delayMs: number, backoff = false): void {
    const abort = new AbortController();
    this.#scheduled = { trigger, dueAt: this.o.clock.now().getTime() + delayMs, backoff, abort };
    this.o.clock.sleep(delayMs, abort.signal).then(
      () => {
        if (this.#scheduled?.abort !== abort) return;
        this.#scheduled = undefined;
        if (!this.#stopped && !this.#ending && !this.#candidate && this.#active) this.#move(trigger);
      },
      () => {},
    );
  }

  #unschedule(): void {
    this.#scheduled?.abort.abort();
    this.#scheduled = undefined;
  }

  #move(trigger: RefreshTrigger): void {
    this.o.log.info('stream.refresh_started', { stream: this.o.name, trigger, from: this.#active?.peerSerial, generation: this.#generation + 1 });
    const leg = this.#openLeg('refresh', trigger);
    this.#candidate = leg;
    if (this.o.probe && leg.call.write && leg.call.writable) leg.call.write(this.o.probe());
  }

  #openPrimary(): void {
    if (this.#stopped || this.#ending) return;
    this.#candidate = this.#openLeg('start');
  }

  #openLeg(kind: 'start' | 'refresh', trigger?: RefreshTrigger): Leg {
    const generation = ++this.#generation;
    const ownCertificatePem = this.o.ownCertificate?.();
    const credentials = this.#credentials;
    const client = this.o.connect(generation);
    const call = this.o.open(client, generation) as unknown as AnyCall;
    const leg = new Leg(kind, generation, trigger, client, call, credentials, ownCertificatePem, this.o.clock.now());
    this.#live.add(leg);
    call.on('data', (msg: Res) => this.#onData(leg, msg));
    if (this.o.confirmOn === 'headers') call.on('metadata', () => this.#onHeaders(leg));
    call.on('error', (err: grpc.ServiceError) => this.#onEnd(leg, err));
    call.on('end', () => this.#onEnd(leg));
    const within = kind === 'refresh' ? (this.o.confirmWithinMs ?? CONFIRM_WITHIN_MS) : this.o.confirmWithinMs;
    if (within !== undefined) {
      this.o.clock.sleep(within, leg.stop.signal).then(
        () => {
          if (leg.confirmed || leg.done) return;
          const what = this.o.confirmOn === 'headers' ? 'response headers or message' : 'first message';
          this.#onEnd(leg, serviceError(grpc.status.DEADLINE_EXCEEDED, `no ${what} within ${within} ms`));
          // Its own 'error' (CANCELLED) now finds the leg done and is ignored.
          call.cancel();
        },
        () => {},
      );
    }
    return leg;
  }

  #onHeaders(leg: Leg): void {
    if (!leg.done && !leg.retired && !leg.confirmed) this.#confirm(leg);
  }

  #onData(leg: Leg, msg: Res): void {
    if (leg.done) return;
    if (leg.retired) {
      // Answers in flight on a retired bidi leg are still the application's; a server stream's are repeats.
      if (leg.call.write) this.o.onMessage(msg, leg);
      return;
    }
    if (!leg.confirmed) this.#confirm(leg);
    this.o.onMessage(msg, leg);
    if (leg === this.#active && this.o.refreshRequested?.(msg)) {
      // A first request that reaches us while a replacement is under way may be about that replacement too: it
      // may have connected before the server's own certificate changed. It moves again once confirmed.
      if (!leg.asked && this.#candidate) this.#candidate.stale = true;
      leg.asked = true;
      this.#requestMove('server-request');
    }
  }

  /** The server answered on this leg: it becomes the stream; the previous one is retired. */
  #confirm(leg: Leg): void {
    leg.confirmed = true;
    leg.notePeer();
    const old = this.#active ?? this.#superseded;
    this.#superseded = undefined;
    this.#active = leg;
    if (this.#candidate === leg) this.#candidate = undefined;
    this.#failures = 0;
    this.#refreshFailures = 0;
    if (old) {
      this.refreshes++;
      if (!old.done) this.#retire(old);
      this.o.log.info('stream.refreshed', { stream: this.o.name, trigger: leg.trigger, from: old.peerSerial, to: leg.peerSerial, generation: leg.generation });
    } else {
      this.starts++;
    }
    this.o.events?.up?.(leg, old ? 'refresh' : 'start', old ? leg.trigger : undefined);
    if (this.#ending) return;
    this.#scheduleExpiryRefresh(leg);
    leg.watchDraining(
      () => leg === this.#active && !this.#stopped,
      () => this.#requestMove('connection-draining'),
    );
    // The server asked for a move after this leg was opened, or our credentials changed after its channel was
    // made: it may run on superseded certificates. Move again.
    if (leg.stale) this.#requestMove('server-request');
    else if (leg.credentials < this.#credentials) this.#requestMove('own-credentials');
  }

  #scheduleExpiryRefresh(leg: Leg): void {
    const move = expiryRefresh(leg.peerNotAfter, this.o.ownNotAfter?.(), this.o.clock.now().getTime());
    if (!move) return;
    this.o.clock.sleep(move.waitMs, leg.stop.signal).then(
      () => leg === this.#active && this.#requestMove(move.trigger),
      () => {},
    );
  }

  #retire(leg: Leg): void {
    leg.retire(this.o.clock, this.#stop.signal, () => this.#close(leg, true));
  }

  #close(leg: Leg, cancel: boolean): void {
    leg.close(cancel);
    this.#live.delete(leg);
  }

  #onEnd(leg: Leg, err?: grpc.ServiceError): void {
    if (leg.done) return;
    this.#live.delete(leg);
    leg.ended();
    if (this.#stopped || leg.retired) return;
    const error = err ?? serviceError(grpc.status.UNAVAILABLE, 'stream ended by the server');
    if (this.#ending) {
      // The leg the application half-closed has ended: the stream is done (a failure still counts).
      if (leg !== this.#active && leg !== this.#candidate) return;
      if (err) {
        this.errors++;
        this.o.events?.error?.(error, leg.confirmed, leg);
      }
      void this.stop();
      return;
    }
    if (leg === this.#candidate && this.#active) {
      // A replacement that failed before it carried anything: the stream in use carries on, nothing to resend.
      this.#candidate = undefined;
      this.refreshFailures++;
      this.o.log.warn('stream.refresh_failed', { stream: this.o.name, code: error.code, details: error.details });
      this.o.events?.refreshFailed?.(error, leg);
      this.#schedule(leg.trigger ?? 'own-credentials', this.#delay(++this.#refreshFailures), true);
      return;
    }
    if (leg === this.#active && this.#candidate && this.o.endedByReplacement?.(error)) {
      this.#active = undefined;
      this.#superseded = leg;
      this.o.log.debug('stream.superseded', { stream: this.o.name, generation: leg.generation });
      return;
    }
    if (leg === this.#active) {
      this.#active = undefined;
      this.#unschedule();
      this.errors++;
      this.o.events?.error?.(error, true, leg);
      // A replacement under way carries the writes from now on and becomes the stream if it confirms.
      if (this.#candidate) return;
    } else if (leg === this.#candidate && this.#superseded) {
      // The old stream is gone and its replacement failed: the stream in use failed after all.
      this.#candidate = undefined;
      this.#superseded = undefined;
      this.errors++;
      this.o.events?.error?.(error, true, leg);
    } else if (leg === this.#candidate) {
      this.#candidate = undefined;
      this.connectFailures++;
      this.o.events?.error?.(error, false, leg);
    } else {
      return;
    }
    const delay = this.#delay(++this.#failures);
    this.o.log.warn('stream.retry', { stream: this.o.name, inMs: Math.round(delay), code: error.code });
    this.o.clock.sleep(delay, this.#stop.signal).then(() => this.#openPrimary(), () => {});
  }
}
