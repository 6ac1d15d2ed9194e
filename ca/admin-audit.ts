// Audit of the admin API, wrapped around the handlers (ca/admin-service.ts stays as it is): every call that is
// not a pure read is appended to the audit log, with who made it, after it succeeded and *before* its
// response is sent. A response therefore implies a durable audit line; if the line cannot be written the caller
// gets an error instead (the action itself may have happened: the log says so on the CA's stderr).
//
// Who: on the admin socket, the socket's owner uid (the socket is 0600 in a 0700 directory, so only that
// user, or root, can connect; Node cannot read the peer's credentials); on the CA port, the name (certificate
// CN) of the credential that passed the handler's authorization.
import type * as grpc from '@grpc/grpc-js';
import type { Logger } from '../shared/log.js';
import { toStatus } from '../shared/grpc/status.js';
import { localActor, type AuditActor, type AuditSink } from './audit.js';

/** Calls that change nothing and reveal no secret are not audited. Every other method is, known or not. */
const READ_ONLY = new Set(['ListNodes', 'GetRootRotationStatus', 'GetClusterInfo', 'ListJoinTokens', 'ListOperators']);

type Req = Record<string, unknown>;
type Res = Record<string, unknown> | undefined;
const str = (v: unknown) => (typeof v === 'string' ? v : undefined);

/** Event name and details per method; details carry ids and choices, never a token or key. */
const DESCRIBE: Record<string, (req: Req, res: Res) => { event: string; details: Record<string, unknown> }> = {
  RemoveNode: (req) => ({ event: 'node.removed', details: { nodeId: str(req.node_id) } }),
  GetJoinTokens: (req) =>
    req.rotate_worker || req.rotate_manager
      ? { event: 'join_token.rotated', details: { worker: !!req.rotate_worker, manager: !!req.rotate_manager } }
      : { event: 'join_token.shown', details: {} },
  StartRootRotation: (req, res) => ({
    event: 'root_rotation.requested',
    details: { rotationId: str(res?.rotation_id), to: str(res?.to_root_fingerprint), operatorSuppliedRoot: !!req.root_cert_pem },
  }),
  AbortRootRotation: (_req, res) => ({ event: 'root_rotation.abort_requested', details: { rotationId: str(res?.rotation_id) } }),
  ForceRootRotation: (req, res) => ({ event: 'root_rotation.force_requested', details: { rotationId: str(res?.rotation_id), nodeIds: req.node_ids } }),
  CreateJoinToken: (req, res) => ({
    event: 'join_token.created',
    details: { id: str((res?.info as Req | undefined)?.id), role: req.role, ttlSeconds: req.ttl_seconds, maxUses: req.max_uses },
  }),
  RevokeJoinToken: (req) => ({ event: 'join_token.revoked', details: { id: str(req.id) } }),
  CreateOperator: (req) => ({ event: 'operator.created', details: { name: str(req.name), ttlSeconds: req.ttl_seconds } }),
  RevokeOperator: (req) => ({ event: 'operator.revoked', details: { name: str(req.name) } }),
};

export type AdminDoor = { kind: 'socket' } | { kind: 'tls' };

function actorOf(door: AdminDoor, call: grpc.ServerUnaryCall<unknown, unknown>): AuditActor {
  if (door.kind === 'socket') return localActor();
  const cn = call.getAuthContext().sslPeerCertificate?.subject?.CN;
  return { kind: 'operator', name: ([] as string[]).concat(cn ?? 'unknown')[0]! };
}

/** The same handlers, with every non-read method audited durably before it answers. */
export function auditedAdminHandlers<H extends object>(handlers: H, audit: AuditSink, door: AdminDoor, log: Logger): H {
  const out: Record<string, unknown> = {};
  for (const [method, handler] of Object.entries(handlers)) {
    if (READ_ONLY.has(method) || typeof handler !== 'function') {
      out[method] = handler;
      continue;
    }
    out[method] = (call: grpc.ServerUnaryCall<Req, Res>, callback: grpc.sendUnaryData<Res>) =>
      (handler as grpc.handleUnaryCall<Req, Res>)(call, (err, res) => {
        if (err) return callback(err);
        const { event, details } = DESCRIBE[method]?.(call.request, res ?? undefined) ?? { event: `admin.${method}`, details: {} };
        audit.append(event, actorOf(door, call as grpc.ServerUnaryCall<unknown, unknown>), { ...details, via: `CaAdminService/${method}` }).then(
          () => callback(null, res),
          (auditErr: unknown) => callback(toStatus(auditErr, log, method) as grpc.ServerErrorResponse),
        );
      });
  }
  return out as H;
}
