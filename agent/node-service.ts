// The node service every agent serves to its peers: Heartbeat (echo stream) and WhoAmI. gRPC wiring plus a
// registry of live streams, each with the certificate that authenticated it and its bound
// (shared/grpc/stream-bound.ts): a removed node loses its streams at once, a stream whose certificate nears
// expiry is asked to refresh and is ended at expiry + grace, and one whose root leaves our bundle is ended too.
import * as grpc from '@grpc/grpc-js';
import type { Clock } from '../shared/clock.js';
import type { Logger } from '../shared/log.js';
import { HitlessError } from '../shared/errors.js';
import { unary, failStream } from '../shared/grpc/handlers.js';
import { peerCertificateDer } from '../shared/grpc/peer.js';
import { StreamBound } from '../shared/grpc/stream-bound.js';
import { metrics } from '../shared/metrics.js';
import type { NodeServiceHandlers, HeartbeatPing__Output, HeartbeatPong } from '../proto/load.js';
import { authorizePeer, type PeerIdentity, type TrustView } from './peer-auth.js';

type HeartbeatCall = grpc.ServerDuplexStream<HeartbeatPing__Output, HeartbeatPong>;

export interface ServedStream {
  nodeId: string;
  serial: string;
  /** The peer certificate (DER) that authenticated the stream. */
  der: Uint8Array;
  bound: StreamBound;
}

export class NodeServiceRegistry {
  readonly #streams = new Map<HeartbeatCall, ServedStream>();

  add(call: HeartbeatCall, s: ServedStream): void {
    this.#streams.set(call, s);
  }
  delete(call: HeartbeatCall): void {
    this.#streams.get(call)?.bound.stop();
    this.#streams.delete(call);
  }
  get size(): number {
    return this.#streams.size;
  }
  /** The streams being served now (for status and rotation evidence). */
  streams(): ServedStream[] {
    return [...this.#streams.values()];
  }
  /** Ends the streams of removed nodes with PERMISSION_DENIED. */
  evict(removed: ReadonlySet<string>, log: Logger): number {
    let n = 0;
    for (const [call, s] of this.#streams) {
      if (!removed.has(s.nodeId)) continue;
      this.delete(call);
      failStream(log, 'Heartbeat', call, new HitlessError('NODE_REMOVED', `node ${s.nodeId} was removed from the cluster`));
      n++;
    }
    return n;
  }
  /**
   * Our own certificate changed: the streams we serve still run on connections made with the old one, so we
   * ask their clients to move (refresh_requested on every later pong). Returns how many were asked.
   */
  refreshAll(): number {
    const all = this.streams();
    for (const s of all) s.bound.requestRefresh();
    return all.length;
  }
  /**
   * After a trust-bundle change: every stream whose certificate no longer chains to a trusted root is asked
   * to refresh now and ended after the grace. Returns how many were revoked. Each distinct certificate is
   * checked once (the streams of one peer share it), and the pass yields to the event loop before each further
   * certificate: a node serving many streams keeps answering their pings meanwhile. In one task, the figure-5
   * soak's agents (125 served streams each) held their loop ~100 ms at every bundle change.
   */
  async recheck(trust: TrustView, clock: Clock, log: Logger): Promise<number> {
    let n = 0;
    const verdicts = new Map<string, HitlessError | null>();
    for (const s of this.streams()) {
      const key = Buffer.from(s.der).toString('base64');
      let err = verdicts.get(key);
      if (err === undefined) {
        if (verdicts.size > 0) await new Promise<void>((resolve) => setImmediate(resolve));
        err = await authorizePeer(s.der, trust, clock).then(
          () => null,
          (e: unknown) => (e instanceof HitlessError ? e : null),
        );
        verdicts.set(key, err);
      }
      if (!err || err.code === 'NODE_REMOVED') continue;
      log.warn('heartbeat.stream_revoked', { peer: s.nodeId, serial: s.serial, reason: err.message, endsInMs: s.bound.endsAt.getTime() - clock.now().getTime() });
      s.bound.revoke(err.message);
      n++;
    }
    return n;
  }
}

export function nodeServiceHandlers(deps: {
  trust: () => TrustView;
  self: () => { nodeId: string; role: string; serial: string; clusterId: string };
  clock: Clock;
  log: Logger;
  registry: NodeServiceRegistry;
  /** Grace after a stream's bound (shared/grpc/stream-bound.ts). */
  streamGraceMs?: number;
  /**
   * True when the call's connection was made with a certificate of ours that has since been replaced. A
   * stream can start on such a connection when the client connected just before our renewal: refreshAll()
   * came before the stream existed, so it is asked to refresh at its start instead.
   */
  servedWithSuperseded?: (call: HeartbeatCall) => boolean;
}): NodeServiceHandlers {
  const { trust, clock, log, registry } = deps;
  return {
    WhoAmI: unary(log, 'WhoAmI', async (call) => {
      const peer = await authorizePeer(peerCertificateDer(call), trust(), clock);
      return {
        node_id: peer.nodeId,
        role: peer.role === 'manager' ? 'NODE_ROLE_MANAGER' : 'NODE_ROLE_WORKER',
        serial: peer.serial,
        cluster_id: trust().clusterId,
      };
    }),

    Heartbeat: (call) => {
      const der = peerCertificateDer(call);
      authorizePeer(der, trust(), clock).then(
        (peer) => serveHeartbeat(call, peer, der!),
        (err: unknown) => failStream(log, 'Heartbeat', call, err),
      );
    },
  };

  function serveHeartbeat(call: HeartbeatCall, peer: PeerIdentity, der: Uint8Array): void {
    const bound = new StreamBound({
      clock,
      notAfter: peer.notAfter,
      graceMs: deps.streamGraceMs,
      events: {
        // Pongs are answers to pings, so the hint rides on every pong from now on (bound.refreshRequested).
        refresh: () => log.info('heartbeat.refresh_requested', { peer: peer.nodeId, serial: peer.serial, endsAt: bound.endsAt }),
        end: (err) => {
          registry.delete(call);
          metrics.streamBoundEnds.inc({ service: 'node', reason: err.code });
          log.warn('heartbeat.stream_bound_reached', { peer: peer.nodeId, serial: peer.serial, reason: err.message });
          failStream(log, 'Heartbeat', call, err);
        },
      },
    });
    registry.add(call, { nodeId: peer.nodeId, serial: peer.serial, der, bound });
    if (deps.servedWithSuperseded?.(call)) bound.requestRefresh();
    // Response headers now, once the caller is authorized: a hitless client confirms a replacement stream on
    // them (shared/grpc/refreshing-stream.ts, confirmOn 'headers') and only then moves its pings to it, so a
    // move never waits for a ping's round trip on the new connection. A refusal is trailers-only: no headers.
    call.sendMetadata(new grpc.Metadata());
    const endsAt = bound.endsAt.toISOString();
    log.debug('heartbeat.stream_started', { peer: peer.nodeId, serial: peer.serial, endsAt });
    call.on('data', (ping: HeartbeatPing__Output) => {
      if (call.writable) {
        call.write({ seq: ping.seq, sent_at_ms: ping.sent_at_ms, caller_serial: peer.serial, refresh_requested: bound.refreshRequested, stream_ends_at: endsAt });
      }
    });
    const done = () => registry.delete(call);
    call.on('end', () => {
      done();
      call.end();
    });
    call.on('cancelled', done);
    call.on('error', done);
  }
}
