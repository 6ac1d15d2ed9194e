// The node service every agent serves to its peers: Heartbeat (echo stream) and WhoAmI. gRPC wiring plus a
// registry of live streams, so that a node the CA removes loses its streams at once, not at cert expiry.
import type * as grpc from '@grpc/grpc-js';
import type { Clock } from '../shared/clock.js';
import type { Logger } from '../shared/log.js';
import { HitlessError } from '../shared/errors.js';
import { unary, failStream } from '../shared/grpc/handlers.js';
import { peerCertificateDer } from '../shared/grpc/peer.js';
import type { NodeServiceHandlers, HeartbeatPing__Output, HeartbeatPong } from '../proto/load.js';
import { authorizePeer, type TrustView } from './peer-auth.js';

type HeartbeatCall = grpc.ServerDuplexStream<HeartbeatPing__Output, HeartbeatPong>;

export class NodeServiceRegistry {
  readonly #streams = new Map<HeartbeatCall, string>();

  add(call: HeartbeatCall, nodeId: string): void {
    this.#streams.set(call, nodeId);
  }
  delete(call: HeartbeatCall): void {
    this.#streams.delete(call);
  }
  get size(): number {
    return this.#streams.size;
  }
  /** Ends the streams of removed nodes with PERMISSION_DENIED. */
  evict(removed: ReadonlySet<string>, log: Logger): number {
    let n = 0;
    for (const [call, nodeId] of this.#streams) {
      if (!removed.has(nodeId)) continue;
      this.#streams.delete(call);
      failStream(log, 'Heartbeat', call, new HitlessError('NODE_REMOVED', `node ${nodeId} was removed from the cluster`));
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
      authorizePeer(peerCertificateDer(call), trust(), clock).then(
        (peer) => {
          registry.add(call, peer.nodeId);
          log.debug('heartbeat.stream_started', { peer: peer.nodeId, serial: peer.serial });
          call.on('data', (ping: HeartbeatPing__Output) => {
            if (call.writable) call.write({ seq: ping.seq, sent_at_ms: ping.sent_at_ms, caller_serial: peer.serial });
          });
          const done = () => registry.delete(call);
          call.on('end', () => {
            done();
            call.end();
          });
          call.on('cancelled', done);
          call.on('error', done);
        },
        (err: unknown) => failStream(log, 'Heartbeat', call, err),
      );
    },
  };
}
