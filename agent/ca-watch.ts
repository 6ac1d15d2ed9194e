// Keeps a WatchTrustBundle stream open to the CA and hands every event to the agent: new bundles (root
// rotation), renewal requests, and the removed-node list. The stream is a RefreshingStream
// (shared/grpc/refreshing-stream.ts): it moves make-before-break to a fresh connection when our certificate or
// bundle changes, the CA asks (refresh_requested), or either certificate nears expiry, and reconnects with
// jittered backoff when it breaks. Events carry the whole current state, so the overlap of two streams during
// a move is harmless: events are applied one at a time, in order.
// Every attempt dials the address the agent's CaFailover has in use and reports how it went, so a replica that
// goes away moves the watch (and the renewals after it) to the next --ca address; reconnects wait the failover's
// full-jitter delay.
import * as grpc from '@grpc/grpc-js';
import type { Clock } from '../shared/clock.js';
import type { Logger } from '../shared/log.js';
import type { NodeCaServiceClient, WatchTrustBundleEvent__Output } from '../proto/load.js';
import type { MemoryCertificateProvider } from '../shared/grpc/certificate-provider.js';
import { RefreshingStream, type LiveLeg } from '../shared/grpc/refreshing-stream.js';
import { metrics } from '../shared/metrics.js';
import { isHitlessError } from '../shared/errors.js';
import { fromServiceError } from '../shared/grpc/status.js';
import type { CaFailover } from './ca-failover.js';
import { DEFAULT_DEADLINE_MS } from '../shared/grpc/call.js';

export class CaWatch {
  readonly #stream: RefreshingStream<never, WatchTrustBundleEvent__Output>;
  #queue = Promise.resolve();
  /** The address each live attempt dialed, by generation (older entries are dropped once a newer one is up). */
  readonly #addressOf = new Map<number, string>();

  constructor(
    deps: {
      /** A new client (own channel, so a new connection) to `address` for each generation of the stream. */
      connect: (generation: number, address: string) => NodeCaServiceClient;
      failover: CaFailover;
      knownVersion: () => number;
      onEvent: (e: WatchTrustBundleEvent__Output) => Promise<void>;
      /** The stream is up after a start or a failure (not after a make-before-break refresh): a CA answers. */
      onConnected?: (address: string | undefined) => void;
      provider: MemoryCertificateProvider;
      clock: Clock;
      log: Logger;
    },
  ) {
    const { log, failover } = deps;
    const report = (generation: number, err: unknown) => {
      const address = this.#addressOf.get(generation);
      if (address !== undefined) failover.report('watch', address, err);
    };
    this.#stream = new RefreshingStream<never, WatchTrustBundleEvent__Output>({
      name: 'ca_watch',
      connect: (generation) => {
        const address = failover.current;
        this.#addressOf.set(generation, address);
        return deps.connect(generation, address);
      },
      open: (client) => (client as NodeCaServiceClient).WatchTrustBundle({ known_version: String(deps.knownVersion()) }),
      refreshRequested: (e) => e.refresh_requested,
      // The CA keeps one watch per node and ends the older one when the replacement arrives (LIMIT_EXCEEDED).
      endedByReplacement: (err) => isHitlessError(fromServiceError(err), 'LIMIT_EXCEEDED'),
      provider: deps.provider,
      ownCertificate: () => deps.provider.current?.chainPem[0],
      ownNotAfter: () => deps.provider.leafNotAfter(),
      clock: deps.clock,
      log,
      retryDelayMs: (failures) => failover.retryDelayMs(failures),
      // The CA sends the current state as soon as a watch is authenticated: silence means the address is not
      // answering (blackholed, or a TLS handshake that never completes), so try the next one.
      confirmWithinMs: DEFAULT_DEADLINE_MS,
      onMessage: (event) => {
        this.#queue = this.#queue.then(() => deps.onEvent(event)).catch((err: unknown) => log.error('ca_watch.event_failed', { err }));
      },
      events: {
        up: (leg, kind, trigger) => {
          report(leg.generation, undefined);
          for (const g of this.#addressOf.keys()) if (g < leg.generation) this.#addressOf.delete(g);
          if (kind === 'refresh') metrics.streamRefreshes.inc({ stream: 'ca_watch', trigger: trigger ?? 'unknown' });
          const ca = this.#addressOf.get(leg.generation);
          // A (re)connection after a failure is worth an info line: it says where the watch landed.
          if (kind === 'start') {
            log.info('ca_watch.connected', { ca, caSerial: leg.peerSerial });
            deps.onConnected?.(ca);
          }
          else log.debug('ca_watch.up', { kind, trigger, ca, caSerial: leg.peerSerial });
        },
        error: (err, established, leg) => {
          const ca = this.#addressOf.get(leg.generation);
          report(leg.generation, fromServiceError(err));
          this.#addressOf.delete(leg.generation);
          if (established) log.warn('ca_watch.broken', { code: err.code, details: err.details, ca });
        },
        refreshFailed: (err, leg) => {
          metrics.streamRefreshFailures.inc({ stream: 'ca_watch', code: grpc.status[(err as grpc.ServiceError).code] ?? 'UNKNOWN' });
          report(leg.generation, fromServiceError(err));
          this.#addressOf.delete(leg.generation);
        },
      },
    });
  }

  get connected(): boolean {
    return this.#stream.connected;
  }

  /** Refreshes done (make-before-break moves) and failures of the stream in use. */
  get counters(): { refreshes: number; errors: number; caSerial?: string } {
    return { refreshes: this.#stream.refreshes, errors: this.#stream.errors, caSerial: this.#stream.current?.peerSerial };
  }

  /** The CA address the stream in use runs to. */
  get address(): string | undefined {
    const leg = this.#stream.current;
    return leg ? this.#addressOf.get(leg.generation) : undefined;
  }

  /** The client of the stream in use and the CA address it runs to: a call on it rides the watch's connection. */
  get current(): { client: NodeCaServiceClient; address: string | undefined } | undefined {
    const client = this.#stream.currentClient as NodeCaServiceClient | undefined;
    return client ? { client, address: this.address } : undefined;
  }

  /** The watch's open legs with the certificates of both ends (rotation evidence). */
  liveLegs(): LiveLeg[] {
    return this.#stream.liveLegs();
  }

  start(): void {
    this.#stream.start();
  }

  async stop(): Promise<void> {
    await this.#stream.stop();
    await this.#queue;
  }
}
