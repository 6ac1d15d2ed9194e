// Make-before-break for long-lived gRPC streams: a stream never outlives the credentials of either end.
//
// A TLS connection keeps the certificates of its handshake for as long as it lives, and every stream on it
// with it (../reference/node-runtime.md §1). So a stream is moved, not kept: whenever
//   - our own certificate or trust bundle changes (the certificate provider publishes an update),
//   - the server asks for it (a field of its own messages: `refreshRequested(msg)`, see stream-bound.ts),
//   - either end's certificate nears expiry (REFRESH_AHEAD_FRACTION of the life it had left at stream start),
// a replacement stream is opened on a *new channel* (so a new connection, with the provider's current
// credentials: channels with equal target/options/credentials would share the old connection, hence the
// generation option), and once it carries traffic (its first message arrives) it becomes the stream; the old
// one is then ended — half-closed for bidi streams, so answers in flight still arrive, cancelled for server
// streams (whose events the new stream carries too). Writes made while the replacement is unconfirmed go to
// it and are kept: if it fails, they are sent again on the old stream, so none is lost. A failed replacement
// is retried with backoff while the old stream carries on. Only a failure of the stream in use is visible to
// the application (`error` counters); the moves are counted as refreshes.
//
// Usage (any client- or bidi-streaming call; server streaming too):
//   const s = new RefreshingStream({ name: 'chat', connect: (gen) => new Chat(target, creds, { [GENERATION_OPTION]: gen }),
//     open: (client) => client.Chat(), onMessage: (m) => ..., provider, clock, log });
//   s.start(); s.write(msg); ...; await s.stop();
import type { EventEmitter } from 'node:events';
import type { PeerCertificate } from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import type { Clock } from '../clock.js';
import type { Logger } from '../log.js';
import { normalizeSerial } from '../pki/certs.js';

/** Channel option that gives every replacement its own channel and connection (grpc-js pools by options). */
export const GENERATION_OPTION = 'hitless.connection_generation';
/** Refresh once this fraction of the shorter remaining life (ours or the peer's) at stream start has passed. */
export const REFRESH_AHEAD_FRACTION = 0.75;
/** Never refresh for expiry more often than this (a peer that has not renewed yet gives us the same cert). */
export const MIN_EXPIRY_REFRESH_MS = 1_000;
/** How long a retired bidi stream may take to drain (answers in flight) before it is cancelled. */
export const DRAIN_MS = 5_000;

export type RefreshTrigger = 'own-credentials' | 'server-request' | 'peer-expiry' | 'own-expiry' | 'connection-draining';

type AnyCall = grpc.ClientReadableStream<unknown> & Partial<Pick<grpc.ClientDuplexStream<unknown, unknown>, 'write' | 'end' | 'writable'>>;

export interface StreamLeg {
  generation: number;
  /** The server certificate's serial on this leg's connection. */
  peerSerial?: string;
  peerNotAfter?: Date;
  peerCertificate?: PeerCertificate;
  /** Our own leaf (PEM) when this leg's channel was made: what its connection presents (see ownCertificate). */
  ownCertificatePem?: string;
  openedAt: Date;
}

/** A leg whose connection is open: in use, being confirmed, or draining after a refresh (rotation evidence). */
export interface LiveLeg {
  state: 'candidate' | 'active' | 'retiring';
  generation: number;
  ownCertificatePem?: string;
  /** The server's certificate (DER) on this leg's connection; unknown until the leg carried a message. */
  peerCertificateDer?: Uint8Array;
}

export interface RefreshingStreamOptions<Req, Res> {
  /** For logs and metrics. */
  name: string;
  /** A new client for each generation; pass `{ [GENERATION_OPTION]: generation }` among its channel options. */
  connect(generation: number): grpc.Client;
  /** Starts the call on `client` (the request for server streaming is bound here). */
  open(client: grpc.Client, generation: number): grpc.ClientReadableStream<Res> | grpc.ClientDuplexStream<Req, Res>;
  /** Every message of the stream in use (and answers draining from a retired bidi stream), in order per leg. */
  onMessage(msg: Res, leg: StreamLeg): void;
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
   * An attempt whose first message has not arrived this long after it was opened fails with DEADLINE_EXCEEDED
   * (and is cancelled). For servers that send a first message at once (the CA's watch does): a server stream has
   * no deadline of its own, and a connection attempt to a blackholed address would otherwise wait for the OS's
   * TCP connect timeout (about two minutes on Linux) before the stream could try elsewhere. Off when absent.
   */
  firstMessageWithinMs?: number;
  /** Observers (counters, logs of the caller). */
  events?: {
    up?(leg: StreamLeg, kind: 'start' | 'refresh', trigger?: RefreshTrigger): void;
    /** `leg`: the attempt that failed, so a caller that picks targets in connect() knows which one did. */
    error?(err: grpc.ServiceError, established: boolean, leg: StreamLeg): void;
    refreshFailed?(err: grpc.ServiceError | Error, leg: StreamLeg): void;
  };
}

interface Leg extends StreamLeg {
  trigger?: RefreshTrigger;
  client: grpc.Client;
  call: AnyCall;
  confirmed: boolean;
  retired: boolean;
  done: boolean;
  stop: AbortController;
}

const delayFor = (failures: number, o: { baseMs: number; capMs: number }) =>
  Math.min(o.capMs, o.baseMs * 2 ** Math.max(0, failures - 1)) * (0.5 + Math.random() / 2);

export class RefreshingStream<Req, Res> {
  #generation = 0;
  #active: Leg | undefined;
  #candidate: Leg | undefined;
  #pending: Req[] = [];
  /** A refresh asked for while a replacement was under way: done once that one is in use. */
  #again: RefreshTrigger | undefined;
  /** The stream in use, ended by the server because the replacement under way superseded it. */
  #superseded: Leg | undefined;
  #failures = 0;
  #refreshFailures = 0;
  #stopped = false;
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
  }

  #delay(failures: number): number {
    return this.o.retryDelayMs ? this.o.retryDelayMs(failures) : delayFor(failures, this.#backoff);
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
    return [...this.#live].map((leg) => ({
      state: leg === this.#active ? 'active' : leg.confirmed || leg.retired ? 'retiring' : 'candidate',
      generation: leg.generation,
      ownCertificatePem: leg.ownCertificatePem,
      peerCertificateDer: leg.peerCertificate?.raw ? new Uint8Array(leg.peerCertificate.raw) : undefined,
    }));
  }

  start(): void {
    this.o.provider?.on('update', this.#onCredentials);
    this.#openPrimary();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#stop.abort();
    this.o.provider?.off('update', this.#onCredentials);
    for (const leg of [this.#active, this.#candidate]) if (leg) this.#close(leg, true);
    this.#active = this.#candidate = undefined;
  }

  /**
   * Sends on the stream (bidi/client streaming). True when the message is in the care of a stream that is up:
   * sent on it, or on its unconfirmed replacement (and sent on it again if the replacement fails). While no
   * stream is up the message still goes to the stream being started, since a bidi server may only answer after
   * a first message, but false says it may be lost with that attempt.
   */
  write(msg: Req): boolean {
    const target = this.#candidate ?? this.#active;
    if (!target?.call.write || !target.call.writable) return false;
    target.call.write(msg);
    if (target === this.#candidate) this.#pending.push(msg);
    return this.#active !== undefined;
  }

  /** Moves the stream to a new connection now (make-before-break). No-op while one is being made or none is up. */
  refresh(trigger: RefreshTrigger): void {
    if (this.#stopped) return;
    if (this.#candidate) {
      // The replacement under way may have connected with what is now stale (a renewal landed meanwhile):
      // once it is in use, move again.
      this.#again = trigger;
      return;
    }
    if (!this.#active) return;
    this.o.log.info('stream.refresh_started', { stream: this.o.name, trigger, from: this.#active.peerSerial, generation: this.#generation + 1 });
    this.#candidate = this.#openLeg('refresh', trigger);
  }

  readonly #onCredentials = () => this.refresh('own-credentials');

  #openPrimary(): void {
    if (this.#stopped) return;
    this.#candidate = this.#openLeg('start');
  }

  #openLeg(kind: 'start' | 'refresh', trigger?: RefreshTrigger): Leg {
    const generation = ++this.#generation;
    const ownCertificatePem = this.o.ownCertificate?.();
    const client = this.o.connect(generation);
    const call = this.o.open(client, generation) as unknown as AnyCall;
    const leg: Leg = { generation, trigger, client, call, ownCertificatePem, openedAt: this.o.clock.now(), confirmed: false, retired: false, done: false, stop: new AbortController() };
    this.#live.add(leg);
    call.on('data', (msg: Res) => this.#onData(leg, msg, kind));
    call.on('error', (err: grpc.ServiceError) => this.#onEnd(leg, err));
    call.on('end', () => this.#onEnd(leg));
    const within = this.o.firstMessageWithinMs;
    if (within !== undefined) {
      this.o.clock.sleep(within, leg.stop.signal).then(
        () => {
          if (leg.confirmed || leg.done) return;
          const details = `no first message within ${within} ms`;
          this.#onEnd(leg, { code: 4, details, message: `4 DEADLINE_EXCEEDED: ${details}` } as grpc.ServiceError);
          // Its own 'error' (CANCELLED) now finds the leg done and is ignored.
          call.cancel();
        },
        () => {},
      );
    }
    return leg;
  }

  #onData(leg: Leg, msg: Res, kind: 'start' | 'refresh'): void {
    if (leg.done || (leg.retired && !leg.call.write)) return;
    if (!leg.confirmed && !leg.retired) this.#confirm(leg, kind, leg.trigger);
    this.o.onMessage(msg, leg);
    if (leg === this.#active && this.o.refreshRequested?.(msg)) this.refresh('server-request');
  }

  /** The first message on a leg: it becomes the stream; the previous one is retired. */
  #confirm(leg: Leg, kind: 'start' | 'refresh', trigger?: RefreshTrigger): void {
    leg.confirmed = true;
    const cert = leg.call.getAuthContext?.()?.sslPeerCertificate;
    leg.peerSerial = cert?.serialNumber ? normalizeSerial(cert.serialNumber) : undefined;
    leg.peerNotAfter = cert?.valid_to ? new Date(cert.valid_to) : undefined;
    leg.peerCertificate = cert;
    const old = this.#active ?? this.#superseded;
    this.#superseded = undefined;
    this.#active = leg;
    if (this.#candidate === leg) this.#candidate = undefined;
    this.#pending = [];
    this.#failures = 0;
    this.#refreshFailures = 0;
    if (old) {
      this.refreshes++;
      if (!old.done) this.#retire(old);
      this.o.log.info('stream.refreshed', { stream: this.o.name, trigger, from: old.peerSerial, to: leg.peerSerial, generation: leg.generation });
    } else {
      this.starts++;
    }
    this.o.events?.up?.(leg, old ? 'refresh' : 'start', old ? trigger : undefined);
    this.#scheduleExpiryRefresh(leg);
    this.#watchDraining(leg);
    const again = this.#again;
    this.#again = undefined;
    if (again) this.refresh(again);
  }

  /**
   * Moves the stream when its connection stops taking new calls: the server's GOAWAY at its max connection
   * age (or a connection closing under it). The stream itself could run on after a GOAWAY, but grpc-js closes
   * the draining session and its next client keepalive ping on it fails ("ping cancelled"), which drops the
   * connection and this stream with it: with keepalive on (shared/grpc/keepalive.ts) a stream that stayed
   * would break at the first ping after every GOAWAY. So it moves make-before-break, like any refresh; a
   * connection that really broke ends the call anyway, and the replacement then serves as the reconnect.
   */
  #watchDraining(leg: Leg): void {
    const channel = leg.client.getChannel();
    const watch = (state: grpc.connectivityState) =>
      channel.watchConnectivityState(state, Infinity, (err) => {
        if (err || leg.done || leg !== this.#active || this.#stopped) return;
        const now = channel.getConnectivityState(false);
        if (now === grpc.connectivityState.READY) return watch(now);
        // After the current tick: a call that broke with the connection ends first (#onEnd then reconnects).
        setImmediate(() => {
          if (!leg.done && leg === this.#active) this.refresh('connection-draining');
        });
      });
    const state = channel.getConnectivityState(false);
    if (state === grpc.connectivityState.READY) watch(state);
  }

  #scheduleExpiryRefresh(leg: Leg): void {
    const own = this.o.ownNotAfter?.();
    const candidates: [RefreshTrigger, Date | undefined][] = [['peer-expiry', leg.peerNotAfter], ['own-expiry', own]];
    const [trigger, deadline] = candidates
      .filter((c): c is [RefreshTrigger, Date] => c[1] !== undefined)
      .sort((a, b) => a[1].getTime() - b[1].getTime())[0] ?? [undefined, undefined];
    if (!trigger || !deadline) return;
    const now = this.o.clock.now().getTime();
    const wait = Math.max(MIN_EXPIRY_REFRESH_MS, (deadline.getTime() - now) * REFRESH_AHEAD_FRACTION);
    this.o.clock.sleep(wait, leg.stop.signal).then(
      () => leg === this.#active && this.refresh(trigger),
      () => {},
    );
  }

  #retire(leg: Leg): void {
    leg.retired = true;
    leg.stop.abort();
    if (leg.call.end) {
      // Half-close: the server answers what it has and ends the stream; answers in flight still arrive.
      leg.call.end();
      this.o.clock.sleep(DRAIN_MS, this.#stop.signal).then(() => this.#close(leg, true), () => {});
    } else {
      this.#close(leg, true);
    }
  }

  #close(leg: Leg, cancel: boolean): void {
    leg.stop.abort();
    if (cancel && !leg.done) {
      leg.retired = true;
      leg.call.cancel();
    }
    leg.done = true;
    this.#live.delete(leg);
    leg.client.close();
  }

  #onEnd(leg: Leg, err?: grpc.ServiceError): void {
    if (leg.done) return;
    leg.done = true;
    this.#live.delete(leg);
    leg.stop.abort();
    leg.client.close();
    if (this.#stopped || leg.retired) return;
    const error = err ?? ({ code: 14, details: 'stream ended by the server', message: 'stream ended by the server' } as grpc.ServiceError);
    if (leg === this.#candidate && this.#active) {
      // A replacement that never carried traffic: the old stream carries on; what we wrote goes there again.
      this.#candidate = undefined;
      this.refreshFailures++;
      const resend = this.#pending;
      this.#pending = [];
      for (const m of resend) this.#active.call.write?.(m);
      this.o.log.warn('stream.refresh_failed', { stream: this.o.name, code: error.code, details: error.details });
      this.o.events?.refreshFailed?.(error, leg);
      const delay = this.#delay(++this.#refreshFailures);
      const trigger = leg.trigger ?? 'own-credentials';
      this.o.clock.sleep(delay, this.#stop.signal).then(() => this.refresh(trigger), () => {});
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
      this.errors++;
      this.o.events?.error?.(error, true, leg);
      // A replacement under way becomes the new primary if it confirms; otherwise start over.
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
    this.#pending = [];
    const delay = this.#delay(++this.#failures);
    this.o.log.warn('stream.retry', { stream: this.o.name, inMs: Math.round(delay), code: error.code });
    this.o.clock.sleep(delay, this.#stop.signal).then(() => this.#openPrimary(), () => {});
  }
}
