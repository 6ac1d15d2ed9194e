// One long-lived Heartbeat stream to a peer, plus a periodic WhoAmI probe on the same channel. The counters
// are the product's proof of hitlessness: across rotations `streamStarts` stays 1 and `streamErrors` 0 while
// the serials seen on *new* connections (the probes) change.
import * as grpc from '@grpc/grpc-js';
import type { PeerCertificate } from 'node:tls';
import type { Clock } from '../shared/clock.js';
import type { Logger } from '../shared/log.js';
import { normalizeSerial } from '../shared/pki/certs.js';
import { unaryCall } from '../shared/grpc/call.js';
import { protos, type NodeServiceClient, type HeartbeatPing, type HeartbeatPong__Output } from '../proto/load.js';
import type { MemoryCertificateProvider } from '../shared/grpc/certificate-provider.js';
import type { WhoAmIResponse__Output } from '../proto/generated/hitless/v1/WhoAmIResponse.js';
import { backoffDelayMs } from './renewal-schedule.js';
import { metrics } from '../shared/metrics.js';
import { RECONNECT_OPTIONS } from './ca-client.js';

/** SNI for node-to-node connections: identity is checked by cluster and chain, not by hostname. */
export const NODE_SERVER_NAME = 'hitless-node';

export interface PeerCounters {
  address: string;
  /** Heartbeat streams established (first pong received); 1 means the first stream never broke. */
  streamStarts: number;
  /** Established streams that later failed. */
  streamErrors: number;
  /** Attempts that never got a stream up (peer not listening yet, refused). */
  connectFailures: number;
  lastError?: string;
  pingsSent: number;
  pongsReceived: number;
  /** True while a heartbeat stream is established (first pong received, not yet failed). */
  connected: boolean;
  /** Largest interval between consecutive pongs on a stream, ms. */
  maxGapMs: number;
  /** The peer's node id and server certificate serial when the current stream's connection was made. */
  peerNodeId?: string;
  streamPeerSerial?: string;
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

const serialOf = (cert: PeerCertificate | undefined) => (cert?.serialNumber ? normalizeSerial(cert.serialNumber) : undefined);

export class PeerLink {
  readonly counters: PeerCounters;
  readonly #client: NodeServiceClient;
  readonly #stop = new AbortController();
  #tasks: Promise<void>[] = [];

  constructor(private readonly o: PeerLinkOptions) {
    this.counters = { address: o.address, connected: false, streamStarts: 0, streamErrors: 0, connectFailures: 0, pingsSent: 0, pongsReceived: 0, maxGapMs: 0, probesOk: 0, probesFailed: 0 };
    const checkServerIdentity = (_host: string, cert: PeerCertificate): Error | undefined => {
      const org = ([] as string[]).concat(cert.subject?.O ?? []);
      return org.includes(o.clusterId()) ? undefined : new Error(`peer ${o.address} is not a node of cluster ${o.clusterId()}`);
    };
    const { NodeService } = protos().node.hitless.v1;
    this.#client = new NodeService(o.address, o.provider.channelCredentials(checkServerIdentity), {
      'grpc.ssl_target_name_override': NODE_SERVER_NAME,
      'grpc.use_local_subchannel_pool': 1,
      ...RECONNECT_OPTIONS,
    });
  }

  start(): void {
    this.#tasks = [this.#heartbeatLoop(), this.#probeLoop()];
  }

  async stop(): Promise<void> {
    this.#stop.abort();
    await Promise.allSettled(this.#tasks);
    this.#client.close();
  }

  async #heartbeatLoop(): Promise<void> {
    const { clock, log } = this.o;
    const stop = this.#stop.signal;
    let failures = 0;
    while (!stop.aborted) {
      const ok = await this.#runStream();
      if (stop.aborted) return;
      failures = ok ? 0 : failures + 1;
      const delay = backoffDelayMs(failures, Math.random, { baseMs: 500, capMs: 5_000 });
      log.warn('peer.stream_retry', { peer: this.o.address, inMs: delay });
      await clock.sleep(delay, stop).catch(() => {});
    }
  }

  /** Runs one stream until it fails or we stop. Resolves true if it delivered at least one pong. */
  #runStream(): Promise<boolean> {
    const { clock, log, heartbeatIntervalMs } = this.o;
    const c = this.counters;
    const stop = this.#stop.signal;
    return new Promise((resolve) => {
      const call = this.#client.Heartbeat();
      let seq = 0;
      let lastPong: number | undefined;
      let gotPong = false;
      let finished = false;
      const pacer = new AbortController();
      const finish = (err?: grpc.ServiceError) => {
        if (finished) return;
        finished = true;
        c.connected = false;
        pacer.abort();
        stop.removeEventListener('abort', onStop);
        if (err && !stop.aborted && !gotPong) {
          c.connectFailures++;
          log.debug('peer.connect_failed', { peer: this.o.address, code: err.code, details: err.details });
        } else if (err && !stop.aborted) {
          c.streamErrors++;
          metrics.agentPeerStreamErrors.inc({ peer: this.o.address });
          c.lastError = `${grpc.status[err.code] ?? err.code}: ${err.details}`;
          log.warn('peer.stream_error', { peer: this.o.address, code: err.code, details: err.details, streamStarts: c.streamStarts });
        }
        resolve(gotPong);
      };
      const onStop = () => {
        call.cancel();
        finish();
      };
      stop.addEventListener('abort', onStop);
      call.on('data', (pong: HeartbeatPong__Output) => {
        const now = clock.now().getTime();
        if (lastPong !== undefined) c.maxGapMs = Math.max(c.maxGapMs, now - lastPong);
        lastPong = now;
        c.pongsReceived++;
        if (!gotPong) {
          gotPong = true;
          c.streamStarts++;
          c.connected = true;
          metrics.agentPeerStreamStarts.inc({ peer: this.o.address });
          const peerCert = call.getAuthContext()?.sslPeerCertificate;
          c.streamPeerSerial = serialOf(peerCert);
          c.peerNodeId = ([] as string[]).concat(peerCert?.subject?.CN ?? [])[0];
          log.info('peer.stream_up', { peer: this.o.address, peerNodeId: c.peerNodeId, peerSerial: c.streamPeerSerial, streamStarts: c.streamStarts });
        }
      });
      call.on('error', (err: grpc.ServiceError) => finish(err));
      call.on('end', () => finish(stop.aborted ? undefined : ({ code: grpc.status.UNAVAILABLE, details: 'stream ended by peer' } as grpc.ServiceError)));
      (async () => {
        while (!pacer.signal.aborted) {
          const ping: HeartbeatPing = { seq: String(++seq), sent_at_ms: String(clock.now().getTime()) };
          if (call.writable) {
            call.write(ping);
            c.pingsSent++;
          }
          await clock.sleep(heartbeatIntervalMs, pacer.signal).catch(() => {});
        }
      })();
    });
  }

  async #probeLoop(): Promise<void> {
    const { clock, log, probeIntervalMs } = this.o;
    const c = this.counters;
    const stop = this.#stop.signal;
    while (!stop.aborted) {
      let call: grpc.ClientUnaryCall | undefined;
      try {
        const res = await unaryCall<WhoAmIResponse__Output>((opts, cb) => (call = this.#client.WhoAmI({}, opts, cb)), 5_000);
        const serial = serialOf(call?.getAuthContext()?.sslPeerCertificate);
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
