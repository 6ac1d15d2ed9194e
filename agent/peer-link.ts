// One long-lived Heartbeat stream to a peer, plus a periodic WhoAmI probe. The stream is a RefreshingStream
// (shared/grpc/refreshing-stream.ts): it moves make-before-break to a fresh connection whenever our
// certificate or bundle changes, the peer asks (refresh_requested), or either certificate nears expiry, so it
// always runs on current certificates of both ends. The counters are the product's proof of hitlessness:
// across rotations `streamStarts` stays 1 and `streamErrors` 0 while `refreshes` grows and `streamPeerSerial`
// / `streamSelfSerial` follow both ends' current certificates.
import * as grpc from '@grpc/grpc-js';
import type { PeerCertificate } from 'node:tls';
import type { Clock } from '../shared/clock.js';
import type { Logger } from '../shared/log.js';
import { normalizeSerial } from '../shared/pki/certs.js';
import { unaryCall } from '../shared/grpc/call.js';
import { protos, type NodeServiceClient, type HeartbeatPing, type HeartbeatPong__Output } from '../proto/load.js';
import type { MemoryCertificateProvider } from '../shared/grpc/certificate-provider.js';
import type { WhoAmIResponse__Output } from '../proto/generated/hitless/v1/WhoAmIResponse.js';
import { RefreshingStream, GENERATION_OPTION } from '../shared/grpc/refreshing-stream.js';
import { metrics } from '../shared/metrics.js';
import { RECONNECT_OPTIONS } from './ca-client.js';
import { clientKeepaliveOptions } from '../shared/grpc/keepalive.js';
import type { LiveUse } from './live-credentials.js';

/** SNI for node-to-node connections: identity is checked by cluster and chain, not by hostname. */
export const NODE_SERVER_NAME = 'hitless-node';

export interface PeerCounters {
  address: string;
  /** Heartbeat streams established (first pong received); 1 means the first stream never broke. */
  streamStarts: number;
  /** Established streams that later failed (refreshes are not failures). */
  streamErrors: number;
  /** Times the stream moved make-before-break to a new connection, and replacements that failed (the old one carried on). */
  refreshes: number;
  refreshFailures: number;
  /** Attempts that never got a stream up (peer not listening yet, refused). */
  connectFailures: number;
  lastError?: string;
  pingsSent: number;
  pongsReceived: number;
  /** Pings never answered: no pong within HEARTBEAT_LOST_AFTER_MS, or outstanding when the stream in use failed. */
  heartbeatsLost: number;
  /** True while a heartbeat stream is established (first pong received, not yet failed). */
  connected: boolean;
  /** Largest interval between consecutive pongs on a stream, ms. */
  maxGapMs: number;
  /** The peer's node id and the serial of its certificate on the current stream's connection. */
  peerNodeId?: string;
  streamPeerSerial?: string;
  /** Our serial as the peer saw it on the current stream (from its pongs). */
  streamSelfSerial?: string;
  /** When the peer will end the current stream at the latest (its bound: our certificate's expiry + grace). */
  streamEndsAt?: string;
  /** The peer's server certificate serial on the connection of the latest probe (a fresh connection after GOAWAY). */
  probePeerSerial?: string;
  /** Our own serial as the peer saw it on the latest probe. */
  selfSerialSeenByPeer?: string;
  probesOk: number;
  probesFailed: number;
  lastProbeError?: string;
}

export interface PeerLinkOptions {
  address: string;
  provider: MemoryCertificateProvider;
  clusterId: () => string;
  clock: Clock;
  log: Logger;
  heartbeatIntervalMs: number;
  probeIntervalMs: number;
}

/** The seq of the ping that makes a replacement stream answer (RefreshingStream probe); pings count from 1. */
export const PROBE_SEQ = '0';

/** A ping without a pong for this long counts as lost (a refresh never takes more than one interval). */
export const HEARTBEAT_LOST_AFTER_MS = 10_000;

const serialOf = (cert: PeerCertificate | undefined) => (cert?.serialNumber ? normalizeSerial(cert.serialNumber) : undefined);

/** The probe channel: remade whenever either end's certificate changes, so its connection never lags behind. */
interface ProbeChannel {
  client: NodeServiceClient;
  generation: number;
  /** Our leaf when the channel was made (its connections present it: see RefreshingStream.ownCertificate). */
  ownPem?: string;
  /** The peer's certificate as the latest probe on this channel saw it. */
  peerDer?: Uint8Array;
  peerSerial?: string;
  /** Either end's certificate changed: remade before the next probe (never under a probe in flight). */
  stale?: string;
}

export class PeerLink {
  readonly counters: PeerCounters;
  #probe: ProbeChannel;
  readonly #newClient: (generation: number) => NodeServiceClient;
  readonly #stop = new AbortController();
  readonly #stream: RefreshingStream<HeartbeatPing, HeartbeatPong__Output>;
  /** Pings sent and not yet answered: seq → sent at (ms). */
  readonly #outstanding = new Map<string, number>();
  #tasks: Promise<void>[] = [];

  constructor(private readonly o: PeerLinkOptions) {
    this.counters = { address: o.address, connected: false, streamStarts: 0, streamErrors: 0, refreshes: 0, refreshFailures: 0, connectFailures: 0, pingsSent: 0, pongsReceived: 0, heartbeatsLost: 0, maxGapMs: 0, probesOk: 0, probesFailed: 0 };
    const checkServerIdentity = (_host: string, cert: PeerCertificate): Error | undefined => {
      const org = ([] as string[]).concat(cert.subject?.O ?? []);
      return org.includes(o.clusterId()) ? undefined : new Error(`peer ${o.address} is not a node of cluster ${o.clusterId()}`);
    };
    const { NodeService } = protos().node.hitless.v1;
    const client = (generation: number) =>
      new NodeService(o.address, o.provider.channelCredentials(checkServerIdentity), {
        'grpc.ssl_target_name_override': NODE_SERVER_NAME,
        'grpc.use_local_subchannel_pool': 1,
        [GENERATION_OPTION]: generation,
        ...RECONNECT_OPTIONS,
        // A blackholed peer ends the heartbeat stream within the keepalive bound (shared/grpc/keepalive.ts).
        ...clientKeepaliveOptions(),
      });
    this.#newClient = client;
    // Generations of the probe channel count down from -1: never equal to a heartbeat leg's channel options.
    this.#probe = { client: client(-1), generation: -1, ownPem: o.provider.current?.chainPem[0] };
    this.#stream = this.#heartbeatStream(client);
  }

  start(): void {
    this.#stream.start();
    this.o.provider.on('update', this.#onCredentials);
    this.#tasks = [this.#pace(), this.#probeLoop()];
  }

  async stop(): Promise<void> {
    this.#stop.abort();
    this.o.provider.off('update', this.#onCredentials);
    await this.#stream.stop();
    await Promise.allSettled(this.#tasks);
    this.#probe.client.close();
  }

  /** The connections and streams of this link, with the certificates of both ends (rotation evidence). */
  liveUses(): LiveUse[] {
    const uses: LiveUse[] = this.#stream.liveLegs().map((leg) => ({
      what: `peer ${this.o.address} heartbeat (${leg.state})`,
      side: 'client',
      own: leg.ownCertificatePem,
      peer: leg.peerCertificateDer,
    }));
    uses.push({ what: `peer ${this.o.address} probe channel`, side: 'client', own: this.#probe.ownPem, peer: this.#probe.peerDer });
    return uses;
  }

  readonly #onCredentials = () => (this.#probe.stale ??= 'own-credentials');

  /**
   * A new probe channel (so a new connection) with our current certificate, the old one closed. Called between
   * probes only: close() fails a call still waiting for its connection. Without this the channel's pooled
   * connection would keep a handshake of superseded certificates, maybe of a retired root, until the peer's
   * GOAWAY (30 minutes with default certificates).
   */
  #remakeProbeChannel(reason: string): void {
    if (this.#stop.signal.aborted) return;
    const old = this.#probe;
    const generation = old.generation - 1;
    this.#probe = { client: this.#newClient(generation), generation, ownPem: this.o.provider.current?.chainPem[0] };
    old.client.close();
    this.o.log.debug('peer.probe_channel_remade', { peer: this.o.address, reason, generation });
  }

  #heartbeatStream(client: (generation: number) => NodeServiceClient): RefreshingStream<HeartbeatPing, HeartbeatPong__Output> {
    const { clock, log } = this.o;
    const c = this.counters;
    const peer = this.o.address;
    let lastPong: number | undefined;
    const sync = () => {
      c.streamStarts = this.#stream.starts;
      c.refreshes = this.#stream.refreshes;
      c.refreshFailures = this.#stream.refreshFailures;
      c.connectFailures = this.#stream.connectFailures;
      c.connected = this.#stream.connected;
    };
    return new RefreshingStream<HeartbeatPing, HeartbeatPong__Output>({
      name: `peer ${peer}`,
      connect: (generation) => client(generation),
      open: (cl) => (cl as NodeServiceClient).Heartbeat(),
      // The peer sends response headers once it has authorized the stream (agent/node-service.ts): pings move to a
      // replacement only then, so a move never holds a ping back behind the new connection's handshake.
      confirmOn: 'headers',
      // A peer of an older release sends its headers only with its first pong: this ping (seq 0, never one of
      // ours) makes it answer, so moves confirm during a rolling upgrade too. Its pong is not a heartbeat.
      probe: () => ({ seq: PROBE_SEQ, sent_at_ms: String(clock.now().getTime()) }),
      ownCertificate: () => this.o.provider.current?.chainPem[0],
      refreshRequested: (pong) => pong.refresh_requested,
      provider: this.o.provider,
      ownNotAfter: () => this.o.provider.leafNotAfter(),
      clock,
      log,
      onMessage: (pong) => {
        c.streamSelfSerial = pong.caller_serial || c.streamSelfSerial;
        c.streamEndsAt = pong.stream_ends_at || c.streamEndsAt;
        if (pong.seq === PROBE_SEQ) return;
        // Gaps are measured across the logical stream, refreshes included.
        const now = clock.now().getTime();
        if (lastPong !== undefined) c.maxGapMs = Math.max(c.maxGapMs, now - lastPong);
        lastPong = now;
        c.pongsReceived++;
        this.#outstanding.delete(pong.seq);
      },
      events: {
        up: (leg, kind, trigger) => {
          sync();
          c.streamPeerSerial = leg.peerSerial;
          // The peer renewed (its new certificate is on the new leg): the probe channel follows.
          if (this.#probe.peerSerial && leg.peerSerial && leg.peerSerial !== this.#probe.peerSerial) this.#probe.stale ??= 'peer-renewed';
          c.peerNodeId = ([] as string[]).concat(leg.peerCertificate?.subject?.CN ?? [])[0];
          if (kind === 'start') {
            metrics.agentPeerStreamStarts.inc({ peer });
            log.info('peer.stream_up', { peer, peerNodeId: c.peerNodeId, peerSerial: leg.peerSerial, streamStarts: c.streamStarts });
          } else {
            metrics.streamRefreshes.inc({ stream: 'peer', trigger: trigger ?? 'unknown' });
            log.info('peer.stream_refreshed', { peer, trigger, peerSerial: leg.peerSerial, refreshes: c.refreshes });
          }
        },
        error: (err, established) => {
          sync();
          if (!established) {
            log.debug('peer.connect_failed', { peer, code: err.code, details: err.details });
            return;
          }
          c.streamErrors++;
          c.heartbeatsLost += this.#outstanding.size;
          this.#outstanding.clear();
          metrics.agentPeerStreamErrors.inc({ peer });
          c.lastError = `${grpc.status[err.code] ?? err.code}: ${err.details}`;
          log.warn('peer.stream_error', { peer, code: err.code, details: err.details, streamStarts: c.streamStarts });
        },
        refreshFailed: (err) => {
          sync();
          metrics.streamRefreshFailures.inc({ stream: 'peer', code: grpc.status[(err as grpc.ServiceError).code] ?? 'UNKNOWN' });
        },
      },
    });
  }

  /** One ping per interval on whichever stream is up (none is lost: see RefreshingStream.write). */
  async #pace(): Promise<void> {
    const { clock, heartbeatIntervalMs } = this.o;
    const stop = this.#stop.signal;
    let seq = 0;
    while (!stop.aborted) {
      const now = clock.now().getTime();
      for (const [s, at] of this.#outstanding) {
        if (now - at < HEARTBEAT_LOST_AFTER_MS) break;
        this.#outstanding.delete(s);
        this.counters.heartbeatsLost++;
      }
      const ping = { seq: String(++seq), sent_at_ms: String(now) };
      if (this.#stream.write(ping)) {
        this.counters.pingsSent++;
        this.#outstanding.set(ping.seq, now);
      }
      await clock.sleep(heartbeatIntervalMs, stop).catch(() => {});
    }
  }

  async #probeLoop(): Promise<void> {
    const { clock, log, probeIntervalMs } = this.o;
    const c = this.counters;
    const stop = this.#stop.signal;
    while (!stop.aborted) {
      let call: grpc.ClientUnaryCall | undefined;
      if (this.#probe.stale) this.#remakeProbeChannel(this.#probe.stale);
      const channel = this.#probe;
      try {
        const res = await unaryCall<WhoAmIResponse__Output>((opts, cb) => (call = channel.client.WhoAmI({}, opts, cb)), 5_000);
        const peerCert = call?.getAuthContext()?.sslPeerCertificate;
        const serial = serialOf(peerCert);
        if (peerCert?.raw) {
          channel.peerDer = new Uint8Array(peerCert.raw);
          channel.peerSerial = serial;
        }
        if (serial && serial !== c.probePeerSerial) log.info('peer.serial_seen', { peer: this.o.address, serial, previous: c.probePeerSerial });
        c.probePeerSerial = serial;
        c.selfSerialSeenByPeer = res.serial;
        c.probesOk++;
        metrics.agentPeerProbes.inc({ peer: this.o.address, result: 'ok' });
      } catch (err) {
        if (stop.aborted) return;
        c.probesFailed++;
        metrics.agentPeerProbes.inc({ peer: this.o.address, result: 'failed' });
        c.lastProbeError = `${new Date().toISOString()} ${(err as Error).message}`;
        log.warn('peer.probe_failed', { peer: this.o.address, err });
      }
      await clock.sleep(probeIntervalMs, stop).catch(() => {});
    }
  }
}
