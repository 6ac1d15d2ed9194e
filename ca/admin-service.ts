// gRPC wiring of hitless.v1.CaAdminService. The same handlers serve two doors, each with its own
// authorization: the local Unix socket (file mode 0600 in a 0700 state dir: the OS already checked who is
// calling) and the TLS port (a current certificate whose role in our records is manager).
import type * as grpc from '@grpc/grpc-js';
import type { Logger } from '../shared/log.js';
import { HitlessError } from '../shared/errors.js';
import { unary } from '../shared/grpc/handlers.js';
import { peerCertificateDer } from '../shared/grpc/peer.js';
import { formatDuration } from '../shared/duration.js';
import type { CaAdminServiceHandlers, NodeInfo } from '../proto/load.js';
import type { Authority, JoinTokens } from './authority.js';
import type { RotationManager, RotationStatusView } from './rotation-manager.js';
import type { RootRotationStatus } from '../proto/generated/hitless/v1/RootRotationStatus.js';
import type { NodeRecord } from './store.js';
import { bundleMessage, ROLE_ENUM } from './node-ca-service.js';

export type AdminAuthorizer = (call: grpc.ServerUnaryCall<unknown, unknown>) => Promise<void>;

/** The Unix socket: whoever could open it is the CA host's operator. */
export const localOperator: AdminAuthorizer = async () => {};

/** The TLS port: managers only, role read from the CA's records. */
export function managerCertificate(authority: Authority): AdminAuthorizer {
  return async (call) => {
    const identity = await authority.authenticate(peerCertificateDer(call));
    if (identity.role !== 'manager') {
      throw new HitlessError('PERMISSION_DENIED', `node ${identity.nodeId} is a ${identity.role}; the admin API needs a manager`);
    }
  };
}

function nodeInfo(n: NodeRecord): NodeInfo {
  return {
    node_id: n.nodeId,
    role: ROLE_ENUM[n.role],
    serial: n.serial,
    not_after: n.notAfter,
    last_seen: n.lastSeen,
    joined_at: n.joinedAt,
    issuer_root: n.issuerRoot,
  };
}

function rotationMessage(v: RotationStatusView, tokens?: JoinTokens): RootRotationStatus {
  return {
    phase: v.phase,
    rotation_id: v.rotationId ?? '',
    started_at: v.startedAt ?? '',
    from_root_fingerprint: v.fromRootFingerprint ?? '',
    to_root_fingerprint: v.toRootFingerprint ?? '',
    nodes_total: v.nodesTotal,
    nodes_reissued: v.nodesReissued,
    bundles_acknowledged: v.bundlesAcknowledged,
    blocking: v.blocking.map((b) => ({ node_id: b.nodeId, reason: b.reason, last_seen: b.lastSeen, connected: b.connected })),
    waiting_for: v.waitingFor.map((w) => ({ node_id: w.nodeId, reason: w.reason, connected: w.connected })),
    excluded: v.excluded,
    converged_at: v.convergedAt ?? '',
    finishes_at: v.finishesAt ?? '',
    last_finished_at: v.lastFinishedAt ?? '',
    worker_token: tokens?.worker ?? '',
    manager_token: tokens?.manager ?? '',
    current_root_fingerprint: v.currentRootFingerprint,
  };
}

export function adminHandlers(authority: Authority, rotation: RotationManager, log: Logger, authorize: AdminAuthorizer): CaAdminServiceHandlers {
  // Tokens are shown with an idle status (they carry the current root's digest: after a rotation, new ones).
  const withTokens = async (v: RotationStatusView) => rotationMessage(v, v.phase === 'idle' ? await authority.joinTokens() : undefined);
  const guarded = <Req, Res>(method: string, fn: (call: grpc.ServerUnaryCall<Req, Res>) => Promise<Res>) =>
    unary<Req, Res>(log, method, async (call) => {
      await authorize(call as grpc.ServerUnaryCall<unknown, unknown>);
      return fn(call);
    });
  return {
    ListNodes: guarded('ListNodes', async () => ({ nodes: (await authority.listNodes()).map(nodeInfo) })),
    RemoveNode: guarded('RemoveNode', async (call) => {
      const nodeId = call.request.node_id.trim();
      if (!nodeId) throw new HitlessError('INVALID_ARGUMENT', 'node_id is required');
      return { node: nodeInfo(await authority.removeNode(nodeId)) };
    }),
    GetJoinTokens: guarded('GetJoinTokens', async (call) => {
      const t = await authority.joinTokens({ worker: call.request.rotate_worker, manager: call.request.rotate_manager });
      return { worker: t.worker, manager: t.manager, root_digest: t.rootDigest };
    }),
    StartRootRotation: guarded('StartRootRotation', async (call) =>
      withTokens(await rotation.begin({ certPem: call.request.root_cert_pem, keyPem: call.request.root_key_pem, subject: call.request.root_subject })),
    ),
    GetRootRotationStatus: guarded('GetRootRotationStatus', async () => withTokens(await rotation.status())),
    AbortRootRotation: guarded('AbortRootRotation', async () => withTokens(await rotation.abort())),
    ForceRootRotation: guarded('ForceRootRotation', async (call) => withTokens(await rotation.force(call.request.node_ids))),
    GetClusterInfo: guarded('GetClusterInfo', async () => ({
      cluster_id: authority.clusterId,
      bundle: bundleMessage(authority.bundle()),
      node_cert_ttl: formatDuration(authority.nodeCertTtlMs),
      node_count: (await authority.listNodes()).length,
    })),
  };
}
