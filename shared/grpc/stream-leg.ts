// One leg of a refreshing stream (shared/grpc/refreshing-stream.ts): one call on a channel of its own, so on a
// connection of its own, made with the credentials current when it opened. This file holds what a leg knows and
// the I/O on it (the server's certificate once it answered, half-close and drain, cancel, its connection
// draining); which leg carries the stream, and when it moves, is the stream's business.
import type { PeerCertificate } from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import type { Clock } from '../clock.js';
import { normalizeSerial } from '../pki/certs.js';
import { DRAIN_MS, type RefreshTrigger } from './refresh-timing.js';

export type AnyCall = grpc.ClientReadableStream<unknown> & Partial<Pick<grpc.ClientDuplexStream<unknown, unknown>, 'write' | 'end' | 'writable'>>;

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
  /** The server's certificate (DER) on this leg's connection; unknown until the leg was confirmed. */
  peerCertificateDer?: Uint8Array;
}

export const serviceError = (code: grpc.status, details: string): grpc.ServiceError =>
  Object.assign(new Error(`${code} ${grpc.status[code]}: ${details}`), { code, details, metadata: new grpc.Metadata() });

export class Leg implements StreamLeg {
  peerSerial?: string;
  peerNotAfter?: Date;
  peerCertificate?: PeerCertificate;
  /** The server has asked (refreshRequested) on this leg. */
  asked = false;
  /** A new request of the server came on the stream in use after this replacement was opened. */
  stale = false;
  confirmed = false;
  retired = false;
  done = false;
  /** Aborts this leg's timers (confirmation bound, expiry move) when it is confirmed away, retired or ended. */
  readonly stop = new AbortController();

  constructor(
    readonly kind: 'start' | 'refresh',
    readonly generation: number,
    readonly trigger: RefreshTrigger | undefined,
    readonly client: grpc.Client,
    readonly call: AnyCall,
    /** Provider updates seen when this leg's channel was made (a later one means it may present stale credentials). */
    readonly credentials: number,
    readonly ownCertificatePem: string | undefined,
    readonly openedAt: Date,
  ) {}

  /** The server answered on this leg: its certificate on this connection is now known. */
  notePeer(): void {
    const cert = this.call.getAuthContext?.()?.sslPeerCertificate;
    this.peerSerial = cert?.serialNumber ? normalizeSerial(cert.serialNumber) : undefined;
    this.peerNotAfter = cert?.valid_to ? new Date(cert.valid_to) : undefined;
    this.peerCertificate = cert;
  }

  live(state: LiveLeg['state']): LiveLeg {
    return {
      state,
      generation: this.generation,
      ownCertificatePem: this.ownCertificatePem,
      peerCertificateDer: this.peerCertificate?.raw ? new Uint8Array(this.peerCertificate.raw) : undefined,
    };
  }

  /**
   * No longer the stream: half-closed (client/bidi streaming), so the server answers what it has and ends the
   * stream, answers in flight still arriving; `close` after DRAIN_MS at the latest (`stopped` aborts the wait).
   * Server-streaming legs close at once.
   */
  retire(clock: Clock, stopped: AbortSignal, close: () => void): void {
    this.retired = true;
    this.stop.abort();
    if (this.call.end) {
      this.call.end();
      clock.sleep(DRAIN_MS, stopped).then(close, () => {});
    } else {
      close();
    }
  }

  /** Given up by us: cancelled if `cancel` and still running, its channel closed. */
  close(cancel: boolean): void {
    this.stop.abort();
    if (cancel && !this.done) {
      this.retired = true;
      this.call.cancel();
    }
    this.done = true;
    this.client.close();
  }

  /** The call ended (the server ended it, or it failed): its timers stop and its channel closes. */
  ended(): void {
    this.done = true;
    this.stop.abort();
    this.client.close();
  }

  /**
   * Calls `onDraining` (after the current tick) when this leg's connection stops taking new calls: the server's
   * GOAWAY at its max connection age, or a connection closing under it, while `current()` says the leg carries
   * the stream. The stream itself could run on after a GOAWAY, but grpc-js closes the draining session and its
   * next client keepalive ping on it fails ("ping cancelled"), which drops the connection and this stream with
   * it: with keepalive on (shared/grpc/keepalive.ts) a stream that stayed would break at the first ping after
   * every GOAWAY. So it moves make-before-break, like any refresh; a connection that really broke ends the call
   * anyway, and the replacement then serves as the reconnect.
   */
  watchDraining(current: () => boolean, onDraining: () => void): void {
    const channel = this.client.getChannel();
    const watch = (state: grpc.connectivityState) =>
      channel.watchConnectivityState(state, Infinity, (err) => {
        if (err || this.done || !current()) return;
        const now = channel.getConnectivityState(false);
        if (now === grpc.connectivityState.READY) return watch(now);
        // After the current tick: a call that broke with the connection ends first (the stream then reconnects).
        setImmediate(() => {
          if (!this.done && current()) onDraining();
        });
      });
    const state = channel.getConnectivityState(false);
    if (state === grpc.connectivityState.READY) watch(state);
  }
}
