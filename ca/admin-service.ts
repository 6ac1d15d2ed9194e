// gRPC wiring of hitless.v1.CaAdminService. The same handlers serve two doors, each with its own
// authorization: the local Unix socket (file mode 0600 in a 0700 state dir: the OS already checked who is
// calling) and the TLS port (a current operator credential, ca/operators.ts; node certificates, managers'
// included, carry no admin rights). Operator credentials themselves are managed on the local socket only.
import type * as grpc from '@grpc/grpc-js';
import type { Logger } from '../shared/log.js';
import { HitlessError } from '../shared/errors.js';
import { unary } from '../shared/grpc/handlers.js';
import { peerCertificateDer } from '../shared/grpc/peer.js';
import { formatDuration } from '../shared/duration.js';
import type { CaAdminServiceHandlers, NodeInfo } from '../proto/load.js';
import type { JoinTokenInfo } from '../proto/generated/hitless/v1/JoinTokenInfo.js';
import type { OperatorInfo } from '../proto/generated/hitless/v1/OperatorInfo.js';
import type { Authority, JoinTokens } from './authority.js';
import type { RotationManager, RotationStatusView } from './rotation-manager.js';
import type { RootRotationStatus } from '../proto/generated/hitless/v1/RootRotationStatus.js';
import type { JoinTokenRecord, NodeRecord, OperatorRecord, Role } from './store.js';
import { bundleMessage, ROLE_ENUM } from './node-ca-service.js';
import type { Operators } from './operators.js';
import { limitedTokenState } from './token-policy.js';
import type { Clock } from '../shared/clock.js';

/** Who is calling the admin API: the CA host (local socket) or a named operator (CA port). */
export type AdminCaller = { kind: 'local' } | { kind: 'operator'; name: string };
export type AdminAuthorizer = (call: grpc.ServerUnaryCall<unknown, unknown>) => Promise<AdminCaller>;

/** The Unix socket: whoever could open it is the CA host's operator. */
export const localOperator: AdminAuthorizer = async () => ({ kind: 'local' });

/** The TLS port: an operator credential the CA issued for that purpose, checked on every call. */
export function operatorCertificate(operators: Operators): AdminAuthorizer {
  return async (call) => ({ kind: 'operator', name: (await operators.authenticate(peerCertificateDer(call))).name });
}

const ROLE_OF: Record<string, Role> = { NODE_ROLE_WORKER: 'worker', NODE_ROLE_MANAGER: 'manager' };

function tokenInfo(t: JoinTokenRecord, now: Date): JoinTokenInfo {
  return {
    id: t.id,
    role: ROLE_ENUM[t.role],
    created_at: t.createdAt,
    expires_at: t.expiresAt,
    max_uses: t.maxUses,
    uses_left: t.usesLeft,
    last_used_at: t.lastUsedAt ?? '',
    revoked_at: t.revokedAt ?? '',
    state: limitedTokenState(t, now),
  };
}

function operatorInfo(o: OperatorRecord): OperatorInfo {
  return { name: o.name, serial: o.serial, created_at: o.createdAt, not_after: o.notAfter, revoked_at: o.revokedAt ?? '', issuer_root: o.issuerRoot };
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

export interface AdminDeps {
  authority: Authority;
  rotation: RotationManager;
  operators: Operators;
  clock: Clock;
  log: Logger;
}

export function adminHandlers(deps: AdminDeps, authorize: AdminAuthorizer): CaAdminServiceHandlers {
  const { authority, rotation, operators, clock, log } = deps;
  // Tokens are shown with an idle status (they carry the current root's digest: after a rotation, new ones).
  const withTokens = async (v: RotationStatusView) => rotationMessage(v, v.phase === 'idle' ? await authority.joinTokens() : undefined);
  const guarded = <Req, Res>(method: string, fn: (call: grpc.ServerUnaryCall<Req, Res>, caller: AdminCaller) => Promise<Res>) =>
    unary<Req, Res>(log, method, async (call) => fn(call, await authorize(call as grpc.ServerUnaryCall<unknown, unknown>)));
  // Operator credentials are minted and revoked on the CA host only: a leaked one cannot make more.
  const localOnly = <Req, Res>(method: string, fn: (call: grpc.ServerUnaryCall<Req, Res>) => Promise<Res>) =>
    guarded<Req, Res>(method, async (call, caller) => {
      if (caller.kind !== 'local') {
        throw new HitlessError('PERMISSION_DENIED', `${method} needs the CA host's local admin socket; operator credentials cannot manage operators`, {
          hint: "run 'ca operator ...' on the CA host",
        });
      }
      return fn(call);
    });
  const role = (r: string): Role => {
    const known = ROLE_OF[r];
    if (!known) throw new HitlessError('INVALID_ARGUMENT', 'role must be NODE_ROLE_WORKER or NODE_ROLE_MANAGER');
    return known;
  };
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
    CreateJoinToken: guarded('CreateJoinToken', async (call, caller) => {
      const r = call.request;
      const { token, record } = await authority.tokens.create({
        role: role(r.role),
        ttlMs: r.ttl_seconds * 1000,
        uses: r.max_uses,
        rootDigest: authority.currentRootDigest(),
      });
      log.info('admin.join_token_created', { id: record.id, by: caller.kind === 'local' ? 'local' : caller.name });
      return { token, info: tokenInfo(record, clock.now()) };
    }),
    ListJoinTokens: guarded('ListJoinTokens', async () => ({ tokens: (await authority.tokens.list()).map((t) => tokenInfo(t, clock.now())) })),
    RevokeJoinToken: guarded('RevokeJoinToken', async (call) => {
      const id = call.request.id.trim();
      if (!id) throw new HitlessError('INVALID_ARGUMENT', 'id is required', { hint: "see 'ca join-token list'" });
      return { info: tokenInfo(await authority.tokens.revoke(id), clock.now()) };
    }),
    CreateOperator: localOnly('CreateOperator', async (call) => {
      const r = call.request;
      const issued = await operators.create({ name: r.name, csrDer: r.csr_der, ttlMs: r.ttl_seconds * 1000 });
      return { operator: operatorInfo(issued.record), chain_pem: issued.chainPem, roots_pem: issued.rootsPem };
    }),
    ListOperators: localOnly('ListOperators', async () => ({ operators: (await operators.list()).map(operatorInfo) })),
    RevokeOperator: localOnly('RevokeOperator', async (call) => ({ operator: operatorInfo(await operators.revoke(call.request.name.trim())) })),
  };
}
