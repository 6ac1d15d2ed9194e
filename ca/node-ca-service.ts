// gRPC wiring of hitless.v1.NodeCaService onto the Authority. Translation only: bytes in, PEM out, errors
// through toStatus. Authorization per RPC is documented in proto/hitless/v1/node_ca.proto.
import type * as grpc from '@grpc/grpc-js';
import type { Logger } from '../shared/log.js';
import { systemClock, type Clock } from '../shared/clock.js';
import { unary, failStream } from '../shared/grpc/handlers.js';
import { peerAddress, peerCertificateDer } from '../shared/grpc/peer.js';
import type { NodeCaServiceHandlers, IssuedCertificate, TrustBundle } from '../proto/load.js';
import type { WatchTrustBundleEvent } from '../proto/load.js';
import type { Authority, Bundle, IssuedNodeCert } from './authority.js';
import type { Role } from './store.js';
import { HitlessError } from '../shared/errors.js';
import { metrics } from '../shared/metrics.js';
import { StreamBound } from '../shared/grpc/stream-bound.js';
import { LiveEvidence } from './live-evidence.js';

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

export function nodeCaHandlers(authority: Authority, log: Logger, clock: Clock = systemClock, evidence: LiveEvidence = new LiveEvidence()): NodeCaServiceHandlers {
  // One WatchTrustBundle stream per node: a node's agent holds one, so a second means the first is dead (its
  // connection not yet noticed as gone) or someone with the node's key is opening streams. Either way the
  // newest wins and the previous one is ended, so a node can hold at most one stream's worth of CA memory.
  const watches = new Map<string, () => void>();
  // Renewal requests reach a node's stream through one listener and this map, not a listener per stream on the
  // Authority: a rotation requests one renewal per node, and with a listener per stream every request called all
  // of them (O(fleet) each, O(fleet²) per rotation — ~1e8 calls and listener-array copies at 10,000 nodes).
  const renewRequested = new Map<string, () => void>();
  authority.on('renew-requested', (nodeId: string) => renewRequested.get(nodeId)?.());
  // The broadcasts (trust change, removal, shutdown) likewise go through one listener each and a Set of streams:
  // EventEmitter.off searches its listener array, so with three listeners per stream every stream's end was
  // O(fleet) — ~0.7 s of CPU each time 10,000 watches move to new connections (a scratch measurement).
  const streams = new Set<{ trust(): void; removed(nodeId: string): void; closing(): void }>();
  authority.on('trust', () => streams.forEach((s) => s.trust()));
  authority.on('node-removed', (nodeId: string) => streams.forEach((s) => s.removed(nodeId)));
  authority.on('closing', () => streams.forEach((s) => s.closing()));
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

    ReportLiveCredentials: unary(log, 'ReportLiveCredentials', async (call) => {
      const identity = await authority.authenticate(peerCertificateDer(call), { allowRetired: true });
      authority.checkAcknowledgedVersion(Number(call.request.bundle_version));
      const version = Number(call.request.bundle_version);
      const at = clock.now();
      evidence.report(identity.nodeId, version, call.request.issuer_root_fingerprints, at);
      // Replicas: the leader decides on every node's evidence, whichever replica the node reports to.
      await authority.shareLiveEvidence(identity.nodeId, { bundleVersion: version, issuerRoots: call.request.issuer_root_fingerprints, at });
      // The report says which bundle the node holds: it acknowledges it as a watch stream's start does.
      if (version > 0) await authority.acknowledgeBundle(identity.nodeId, version);
      return {};
    }),

    // Each event carries the whole current state (bundle, removed nodes), so a reconnecting agent never needs
    // history. Events for one stream are sent in order from a small queue.
    WatchTrustBundle: (call) => {
      const method = 'WatchTrustBundle';
      const known = Number(call.request.known_version);
      authority.authenticate(peerCertificateDer(call), { allowRetired: true }).then((identity) => (authority.checkAcknowledgedVersion(known), identity)).then(
        (identity) => {
          const replaced = () => {
            cleanup();
            // Not a limit.exceeded report: agents replace their own stream at every refresh (make-before-break,
            // shared/grpc/refreshing-stream.ts), so this is the normal handover; counting it as a rejection
            // would make the limit counter (and alerts on it) track renewals. The bound holds all the same.
            log.info('watch.replaced', { nodeId: identity.nodeId });
            failStream(log, method, call, new HitlessError('LIMIT_EXCEEDED', `replaced by a newer WatchTrustBundle stream of node ${identity.nodeId} (one per node)`));
          };
          const previous = watches.get(identity.nodeId);
          watches.set(identity.nodeId, replaced);
          previous?.();
          authority.watching(identity.nodeId, 1);
          if (known > 0) void authority.acknowledgeBundle(identity.nodeId, known).catch((err: unknown) => log.warn('watch.ack_failed', { err }));
          let queue = Promise.resolve();
          // The certificate that authenticated this watch bounds it (shared/grpc/stream-bound.ts): an extra
          // event asks for a refresh ahead of its expiry, and the stream is ended at expiry + grace.
          const bound = new StreamBound({
            clock,
            notAfter: identity.notAfter,
            events: {
              refresh: () => send(false),
              end: (err) => {
                cleanup();
                metrics.streamBoundEnds.inc({ service: 'ca', reason: err.code });
                log.warn('watch.stream_bound_reached', { nodeId: identity.nodeId, serial: identity.serial, reason: err.message });
                failStream(log, method, call, err);
              },
            },
          });
          const endsAt = bound.endsAt.toISOString();
          const send = (renewRequested: boolean) => {
            queue = queue
              .then(async () => {
                const event: WatchTrustBundleEvent = {
                  bundle: bundleMessage(authority.bundle()),
                  renew_requested: renewRequested,
                  removed_node_ids: await authority.removedNodeIds(),
                  refresh_requested: bound.refreshRequested,
                  stream_ends_at: endsAt,
                };
                if (!call.cancelled && call.writable) call.write(event);
              })
              .catch((err: unknown) => log.error('watch.send_failed', { err }));
          };
          const onTrust = () => send(false);
          const onRenew = () => send(true);
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
          const stream = { trust: onTrust, removed: onRemoved, closing: onClosing };
          let cleaned = false;
          const cleanup = () => {
            if (cleaned) return;
            cleaned = true;
            if (watches.get(identity.nodeId) === replaced) watches.delete(identity.nodeId);
            bound.stop();
            authority.watching(identity.nodeId, -1);
            streams.delete(stream);
            if (renewRequested.get(identity.nodeId) === onRenew) renewRequested.delete(identity.nodeId);
          };
          streams.add(stream);
          renewRequested.set(identity.nodeId, onRenew);
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
