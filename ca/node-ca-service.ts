// gRPC wiring of hitless.v1.NodeCaService onto the Authority. Translation only: bytes in, PEM out, errors
// through toStatus. Authorization per RPC is documented in proto/hitless/v1/node_ca.proto.
import type * as grpc from '@grpc/grpc-js';
import type { Logger } from '../shared/log.js';
import { unary, failStream } from '../shared/grpc/handlers.js';
import { peerAddress, peerCertificateDer } from '../shared/grpc/peer.js';
import type { NodeCaServiceHandlers, IssuedCertificate, TrustBundle } from '../proto/load.js';
import type { WatchTrustBundleEvent } from '../proto/load.js';
import type { Authority, Bundle, IssuedNodeCert } from './authority.js';
import type { Role } from './store.js';
import { metrics } from '../shared/metrics.js';

export const ROLE_ENUM: Record<Role, 'NODE_ROLE_WORKER' | 'NODE_ROLE_MANAGER'> = {
  worker: 'NODE_ROLE_WORKER',
  manager: 'NODE_ROLE_MANAGER',
};

export function bundleMessage(b: Bundle): TrustBundle {
  return { roots_pem: b.rootsPem, cross_signed_pem: b.crossSignedPem, version: String(b.version) };
}

function issuedMessage(c: IssuedNodeCert): IssuedCertificate {
  return {
    node_id: c.nodeId,
    role: ROLE_ENUM[c.role],
    chain_pem: c.chainPem,
    bundle: bundleMessage(c.bundle),
    cluster_id: c.clusterId,
    serial: c.serial,
    issued_at: c.issuedAt.toISOString(),
    not_after: c.notAfter.toISOString(),
  };
}

export function nodeCaHandlers(authority: Authority, log: Logger): NodeCaServiceHandlers {
  return {
    GetTrustBundle: unary(log, 'GetTrustBundle', async () => ({
      bundle: bundleMessage(authority.bundle()),
      cluster_id: authority.clusterId,
    })),

    IssueNodeCertificate: unary(log, 'IssueNodeCertificate', async (call) => {
      const issued = await metrics.issuance('join', () =>
        authority.join({ joinToken: call.request.join_token, csrDer: call.request.csr_der, source: peerAddress(call) }),
      );
      return { certificate: issuedMessage(issued) };
    }),

    RenewNodeCertificate: unary(log, 'RenewNodeCertificate', async (call) => {
      const issued = await metrics.issuance('renewal', () => authority.renew({
        peerDer: peerCertificateDer(call),
        csrDer: call.request.csr_der,
        bundleVersion: Number(call.request.bundle_version),
      }));
      return { certificate: issuedMessage(issued) };
    }),

    // Each event carries the whole current state (bundle, removed nodes), so a reconnecting agent never needs
    // history. Events for one stream are sent in order from a small queue.
    WatchTrustBundle: (call) => {
      const method = 'WatchTrustBundle';
      authority.authenticate(peerCertificateDer(call), { allowRetired: true }).then(
        (identity) => {
          authority.watching(identity.nodeId, 1);
          const known = Number(call.request.known_version);
          if (known > 0) void authority.acknowledgeBundle(identity.nodeId, known).catch((err: unknown) => log.warn('watch.ack_failed', { err }));
          let queue = Promise.resolve();
          const send = (renewRequested: boolean) => {
            queue = queue
              .then(async () => {
                const event: WatchTrustBundleEvent = {
                  bundle: bundleMessage(authority.bundle()),
                  renew_requested: renewRequested,
                  removed_node_ids: await authority.removedNodeIds(),
                };
                if (!call.cancelled && call.writable) call.write(event);
              })
              .catch((err: unknown) => log.error('watch.send_failed', { err }));
          };
          const onTrust = () => send(false);
          const onRenew = (nodeId: string) => nodeId === identity.nodeId && send(true);
          const onRemoved = (nodeId: string) => {
            if (nodeId !== identity.nodeId) return send(false);
            cleanup();
            authority.authenticate(peerCertificateDer(call), { allowRetired: true }).catch((err: unknown) => failStream(log, method, call, err));
          };
          // The CA is shutting down: end the stream cleanly so the server can stop now, not after its grace.
          const onClosing = () => {
            cleanup();
            if (!call.cancelled) call.end();
          };
          let cleaned = false;
          const cleanup = () => {
            if (cleaned) return;
            cleaned = true;
            authority.watching(identity.nodeId, -1);
            authority.off('closing', onClosing);
            authority.off('trust', onTrust);
            authority.off('renew-requested', onRenew);
            authority.off('node-removed', onRemoved);
          };
          authority.on('trust', onTrust);
          authority.on('renew-requested', onRenew);
          authority.on('node-removed', onRemoved);
          authority.on('closing', onClosing);
          call.on('cancelled', cleanup);
          call.on('close', cleanup);
          call.on('error', cleanup);
          send(false);
        },
        (err: unknown) => failStream(log, method, call, err),
      );
    },
  };
}

export type { grpc };
