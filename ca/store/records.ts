// What the CA keeps durably, and the one interface every backend implements: `level` (ca/store.ts, the embedded
// default, one process) and `etcd` (ca/store/etcd.ts, shared by CA replicas). The CA imports only this
// interface; test/unit/store-contract.ts is the one suite every backend passes.
//
// Compare-and-set. Two replicas can race on the same record (a renewal on one, a removal on another; the last
// use of a join token; a rotation step). Writes that decide on a record they read take `expect`: the record as
// read (it must still be exactly that), `null` (it must not exist), or `undefined` (no condition: a write whose
// outcome does not depend on what was there). A lost race fails with STORE_CONFLICT and writes nothing; the
// caller re-reads and decides again, or returns the error (gRPC ABORTED: the client retries).
import { HitlessError } from '../../shared/errors.js';
import type { RotationRecord } from '../root-rotation.js';

export type Role = 'worker' | 'manager';

export interface NodeRecord {
  nodeId: string;
  role: Role;
  joinedAt: string;
  /** Newest certificate issued to the node. */
  serial: string;
  issuedAt: string;
  notAfter: string;
  /** SHA-256 of the root whose key issued the newest certificate. */
  issuerRoot: string;
  lastSeen: string;
  removedAt?: string;
  /** Newest trust bundle version the node has acknowledged (root rotation). */
  bundleVersion?: number;
  /** SHA-256 (hex) of the newest certificate's public key: one key backs one live node. */
  spkiSha256?: string;
  /**
   * Set while the newest certificate has not been seen in use: the serial the node last authenticated with,
   * still accepted (a renewal whose response was lost). Cleared once the newest authenticates a call.
   */
  fallbackSerial?: string;
  /**
   * The node's last rotation-evidence report (ReportLiveCredentials), shared between CA replicas so the leader
   * decides on every node's evidence whichever replica it reported to. Written only on etcd, and only when it
   * changes (at most one write per node per change); bounded by MAX_ROOTS fingerprints; goes with the node record.
   */
  liveEvidence?: { bundleVersion: number; issuerRoots: string[]; at: string };
}

export interface CertRecord {
  serial: string;
  nodeId: string;
  issuedAt: string;
  notAfter: string;
  issuerRoot: string;
}

export interface JoinSecrets {
  worker: string;
  manager: string;
}

/** A limited join token (`ca join-token create`): expires, and allows `maxUses` joins. */
export interface JoinTokenRecord {
  /** The first characters of the token's secret field (shared/join-token.ts): the lookup key, not secret. */
  id: string;
  role: Role;
  /** SHA-256 (hex) of the rest of the secret field; the secret itself is never stored. */
  secretSha256: string;
  createdAt: string;
  expiresAt: string;
  maxUses: number;
  /** Decremented in the same durable write as the join that used it. */
  usesLeft: number;
  lastUsedAt?: string;
  revokedAt?: string;
}

/** An operator credential: a client certificate for the admin API on the CA port. */
export interface OperatorRecord {
  name: string;
  /** Serial of the certificate issued under this name; only this serial is accepted. */
  serial: string;
  createdAt: string;
  notAfter: string;
  /** SHA-256 (hex) of the root that signed it. */
  issuerRoot: string;
  revokedAt?: string;
}

/** A root retired by a finished rotation, accepted (to renew only) until `until`. */
export interface RetiredRoot {
  rootPem: string;
  crossSignedPem: string;
  until: string;
}

export interface LastRotation {
  at: string;
  id: string;
  phase: string;
}

/** The root-rotation state: typed records, not string meta keys. */
export interface RotationState {
  /** The rotation in progress, if any. */
  rotation?: RotationRecord;
  /** Version of the trust bundle the CA serves. @default 1 */
  bundleVersion: number;
  retired: RetiredRoot[];
  lastFinished?: LastRotation;
}

/** Fields of the rotation state to write; `rotation: null` deletes the rotation record. */
export interface RotationChange {
  rotation?: RotationRecord | null;
  bundleVersion?: number;
  retired?: RetiredRoot[];
  lastFinished?: LastRotation;
}

/** `undefined`: no condition; `null`: must not exist; a record: must still be exactly this. */
export type Expect<T> = T | null | undefined;

export interface CaStore {
  /** 'level' or 'etcd' (logs, metrics, `ca status`). */
  readonly backend: string;
  close(): Promise<void>;

  /** A node record; on etcd, a node unknown to this replica is looked up in etcd first (see getCert). */
  getNode(nodeId: string): Promise<NodeRecord | undefined>;
  /** All node records (tombstones of removed nodes included), ordered by node id. */
  listNodes(): Promise<NodeRecord[]>;
  /**
   * Writes a node record. `expect` is the record the decision was made on (see the header). The level backend
   * has always trusted the Authority's per-node lock; replicas need the condition.
   */
  putNode(node: NodeRecord, expect?: Expect<NodeRecord>): Promise<void>;
  /**
   * A certificate record, while the CA keeps it (at least the node's newest and the one before it). `nodeId`
   * (the certificate's subject) lets a replica whose watch lags behind a renewal on another replica look the
   * node up in etcd before answering "unknown": an agent that renewed on one replica and fails over to another
   * at once must not be refused there.
   */
  getCert(serial: string, nodeId?: string): Promise<CertRecord | undefined>;
  /**
   * An issued certificate, the node's new state and (for a join with a limited token) the token's consumed use,
   * in one durable write that succeeds only if the node and token records are still as expected. Durable before
   * it resolves: the certificate may be handed out only after its record is stored.
   */
  recordIssued(
    node: NodeRecord,
    cert: CertRecord,
    opts?: { expectNode?: Expect<NodeRecord>; joinToken?: JoinTokenRecord; expectJoinToken?: Expect<JoinTokenRecord> },
  ): Promise<void>;
  /**
   * Drops tombstones of removed nodes that expired before `cutoff`, and certificate records that expired before
   * `certCutoff` (default: `cutoff`). A node's newest certificate goes too once expired: its node record stays.
   */
  prune(cutoff: Date, certCutoff?: Date): Promise<{ certs: number; nodes: number }>;

  getJoinSecrets(): Promise<JoinSecrets | undefined>;
  putJoinSecrets(secrets: JoinSecrets): Promise<void>;
  getJoinToken(id: string): Promise<JoinTokenRecord | undefined>;
  listJoinTokens(): Promise<JoinTokenRecord[]>;
  putJoinToken(token: JoinTokenRecord, expect?: Expect<JoinTokenRecord>): Promise<void>;
  /** Drops limited join tokens that expired before `cutoff`. */
  pruneJoinTokens(cutoff: Date): Promise<number>;

  getOperator(name: string): Promise<OperatorRecord | undefined>;
  listOperators(): Promise<OperatorRecord[]>;
  putOperator(op: OperatorRecord, expect?: Expect<OperatorRecord>): Promise<void>;

  getRotationState(): Promise<RotationState>;
  /**
   * Writes the given fields of the rotation state in one durable write. With `expectRotation`, only if the
   * rotation record is still that one (`null`: none in progress): two replicas cannot both start, or both
   * advance, a rotation.
   */
  updateRotationState(change: RotationChange, expectRotation?: Expect<RotationRecord>): Promise<void>;
}

/** The stable error a lost compare-and-set raises (gRPC ABORTED: the client retries). */
export function storeConflict(what: string): HitlessError {
  return new HitlessError('STORE_CONFLICT', `${what} changed while this request was deciding on it (another CA replica, or a concurrent request); nothing was written`, {
    hint: 'retry: the next attempt decides on the current record',
  });
}

/** Whether a stored value is a limited join token record with id `id` (its fields the CA relies on). */
export function isJoinTokenRecord(v: unknown, id: string): v is JoinTokenRecord {
  const t = v as Partial<JoinTokenRecord> | null;
  return typeof t === 'object' && t !== null && t.id === id && typeof t.secretSha256 === 'string' && typeof t.usesLeft === 'number' && typeof t.expiresAt === 'string';
}

/** Whether a stored value is an operator record named `name`. */
export function isOperatorRecord(v: unknown, name: string): v is OperatorRecord {
  const o = v as Partial<OperatorRecord> | null;
  return typeof o === 'object' && o !== null && o.name === name && typeof o.serial === 'string' && typeof o.notAfter === 'string';
}

/**
 * One public key backs at most one live node, enforced by the store in the write that issues: a node whose
 * newest certificate carries `spkiSha256`, not removed and not expired at `at` (the issuing time), holds it.
 */
export function holdsKey(holder: NodeRecord | undefined, spkiSha256: string, at: string): holder is NodeRecord {
  return !!holder && !holder.removedAt && holder.spkiSha256 === spkiSha256 && Date.parse(holder.notAfter) > Date.parse(at);
}

/** A write that would give a second live node a key another live node's certificate carries (gRPC ALREADY_EXISTS). */
export function keyAlreadyBacks(holderId: string): HitlessError {
  return new HitlessError('ALREADY_EXISTS', `this public key already backs node ${holderId} (a live node of this cluster); nothing was written`, {
    hint: "generate a fresh key for every join and renewal (the agent does); to re-install a node, 'ca remove-node' the old one first",
  });
}
