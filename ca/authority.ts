// The certificate authority's domain logic: who may join, who may renew, what they get. It knows nothing of
// gRPC: transports hand it DER bytes and a source address, and map its HitlessErrors to their own statuses.
import { EventEmitter } from 'node:events';
import type { Clock } from '../shared/clock.js';
import { HitlessError, isHitlessError } from '../shared/errors.js';
import type { Logger } from '../shared/log.js';
import { randomId } from '../shared/ids.js';
import { KeyedMutex } from '../shared/keyed-mutex.js';
import { ChainCache } from './chain-cache.js';
import { issueLeaf, type Signer } from './issuer.js';
import { inlineCsrChecker, type CsrChecker } from './csr-pool.js';
import type { CaStore, JoinTokenRecord, NodeRecord, Role } from './store.js';
import type { ClusterConfig } from './config.js';
import type { FailureRateLimiter } from './rate-limiter.js';
import { sha256Hex } from '../shared/pki/certs.js';
import { limitExceeded, metrics } from '../shared/metrics.js';
import { JoinLimits, type Rate, type Reservation } from './token-policy.js';
import { JoinTokenRegistry } from './join-tokens.js';
import { LiveKeyIndex } from './key-index.js';
import { RenewalThrottle, certStanding, defaultRenewRate } from './renewal-policy.js';
import { noAudit, type AuditSink } from './audit.js';
import { clusterJoinTokens, grantForToken, tokenRootDigest, type TokenGrant } from './join-grant.js';
import { NodeAuthenticator, type NodeIdentity } from './node-auth.js';

export type { NodeIdentity } from './node-auth.js';

/** What a node may trust, and the key that currently signs. */
export interface TrustState {
  /** Trust anchors, PEM. One root normally; {old, new} during a root rotation. */
  rootsPem: string[];
  /** Cross-signed certificates linking a newer root to an older one. */
  crossSignedPem: string[];
  version: number;
  signer: Signer;
  /** The root whose digest join tokens carry. */
  tokenRootPem: string;
  /**
   * Roots retired by a finished rotation, kept for one node-certificate lifetime and accepted only to
   * *renew* (and watch): a node that slept through the rotation proves its key and is moved to the new root.
   * `crossSignedPem` links the current root to the retired one, so such a node can verify the CA.
   */
  retired: { rootPem: string; crossSignedPem: string; until: string }[];
}

export interface Bundle {
  rootsPem: string[];
  crossSignedPem: string[];
  version: number;
}

export interface IssuedNodeCert {
  nodeId: string;
  role: Role;
  clusterId: string;
  chainPem: string[];
  serial: string;
  issuedAt: Date;
  notAfter: Date;
  bundle: Bundle;
}

export interface JoinTokens {
  worker: string;
  manager: string;
  rootDigest: string;
}

export interface AuthorityDeps {
  store: CaStore;
  clock: Clock;
  log: Logger;
  config: ClusterConfig;
  trust: TrustState;
  limiter: FailureRateLimiter;
  /** Where CSRs are checked (csr-pool.ts); inline on this thread when omitted. */
  csr?: CsrChecker;
  /** The audit log (ca/audit.ts): joins and rotation steps are appended before they are acknowledged. */
  audit?: AuditSink;
  /** Bounds on successful joins and on renewals per node; defaults in token-policy.ts / renewal-policy.ts. */
  limits?: CredentialLimits;
}

export interface CredentialLimits {
  joinsPerToken?: Rate;
  joinsOverall?: Rate;
  /** @default 5 per node certificate lifetime */
  renewalsPerNode?: Rate;
}

export class Authority extends EventEmitter {
  readonly #store: CaStore;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #config: ClusterConfig;
  readonly #limiter: FailureRateLimiter;
  readonly #csr: CsrChecker;
  readonly #nodeLocks = new KeyedMutex();
  readonly audit: AuditSink;
  #trust: TrustState;
  readonly #joins: JoinLimits;
  readonly #renewals: RenewalThrottle;
  /** Limited join tokens (ca join-token create/list/revoke). */
  readonly tokens: JoinTokenRegistry;
  readonly #liveKeys: LiveKeyIndex;
  /** Who is calling (ca/node-auth.ts). */
  readonly #auth: NodeAuthenticator;

  constructor(deps: AuthorityDeps) {
    super();
    this.#store = deps.store;
    this.#clock = deps.clock;
    this.#log = deps.log;
    this.#config = deps.config;
    this.#limiter = deps.limiter;
    this.#trust = deps.trust;
    this.#csr = deps.csr ?? inlineCsrChecker();
    this.audit = deps.audit ?? noAudit;
    this.#joins = new JoinLimits(deps.clock, { perToken: deps.limits?.joinsPerToken, overall: deps.limits?.joinsOverall });
    this.#renewals = new RenewalThrottle(deps.clock, deps.limits?.renewalsPerNode ?? defaultRenewRate(deps.config.nodeCertTtlMs));
    this.tokens = new JoinTokenRegistry({ store: deps.store, clock: deps.clock, log: deps.log });
    this.#liveKeys = new LiveKeyIndex(deps.store);
    this.#auth = new NodeAuthenticator({ store: deps.store, clock: deps.clock, log: deps.log, clusterId: deps.config.clusterId, trust: () => this.#trust, chains: this.#chains, nodeLocks: this.#nodeLocks });
    // The renewal the CA itself asks for (root rotation) is never throttled.
    this.on('renew-requested', (nodeId: string) => this.#renewals.requested(nodeId));
    // Registered before any watch stream's listener, so the streams' refresh on a removal reads the new list.
    this.on('node-removed', () => {
      this.#removed = undefined;
      this.#removals++;
    });
  }

  /** The bounds in force, for the startup log line. */
  get limits(): Required<CredentialLimits> {
    return { joinsPerToken: this.#joins.rates.perToken, joinsOverall: this.#joins.rates.overall, renewalsPerNode: this.#renewals.rate };
  }

  get clusterId(): string {
    return this.#config.clusterId;
  }

  get nodeCertTtlMs(): number {
    return this.#config.nodeCertTtlMs;
  }

  get trust(): TrustState {
    return this.#trust;
  }

  bundle(): Bundle {
    const { rootsPem, crossSignedPem, version } = this.#trust;
    return { rootsPem, crossSignedPem, version };
  }

  /** Chains verified under the current trust (see ca/chain-cache.ts). */
  readonly #chains = new ChainCache();

  /** Replaces the trust state (root rotation) and tells listeners (watch streams, the CA's own TLS identity). */
  setTrust(trust: TrustState): void {
    this.#trust = trust;
    this.emit('trust', trust);
  }

  readonly #watching = new Map<string, number>();

  /** A node opened (+1) or closed (-1) its WatchTrustBundle stream: how the CA reaches it, and how it knows it is up. */
  watching(nodeId: string, delta: 1 | -1): void {
    const n = (this.#watching.get(nodeId) ?? 0) + delta;
    metrics.caWatchStreams.inc(delta);
    if (n > 0) this.#watching.set(nodeId, n);
    else this.#watching.delete(nodeId);
  }

  isWatching(nodeId: string): boolean {
    return this.#watching.has(nodeId);
  }

  /** A node reported holding bundle `version` (watch stream start): its acknowledgement during a rotation. */
  async acknowledgeBundle(nodeId: string, version: number): Promise<void> {
    this.checkAcknowledgedVersion(version);
    await this.#nodeLocks.run(nodeId, async () => {
      const node = await this.#store.getNode(nodeId);
      if (!node || node.removedAt || (node.bundleVersion ?? 0) >= version) return;
      await this.#store.putNode({ ...node, bundleVersion: version, lastSeen: this.#clock.now().toISOString() }, node);
      this.emit('node-acknowledged', nodeId);
    });
  }

  /**
   * Shares a node's evidence report with the other CA replicas through its node record (etcd only: the embedded
   * store has one CA, which reads its in-memory LiveEvidence, so it pays no write). Writes only when the bundle
   * version or the set of roots changed, so a steady fleet reporting again costs no etcd write.
   */
  async shareLiveEvidence(nodeId: string, report: { bundleVersion: number; issuerRoots: readonly string[]; at: Date }): Promise<void> {
    if (this.#store.backend !== 'etcd') return;
    const roots = [...new Set(report.issuerRoots)].sort();
    await this.#nodeLocks.run(nodeId, async () => {
      const node = await this.#store.getNode(nodeId);
      if (!node || node.removedAt) return;
      const had = node.liveEvidence;
      if (had && had.bundleVersion === report.bundleVersion && had.issuerRoots.join() === roots.join()) return;
      await this.#store.putNode({ ...node, liveEvidence: { bundleVersion: report.bundleVersion, issuerRoots: roots, at: report.at.toISOString() } }, node);
    });
  }

  /** A node can only hold bundles we sent: a version beyond ours would acknowledge a rotation that has not happened. */
  checkAcknowledgedVersion(version: number | undefined): void {
    if (version === undefined || !(version > this.#trust.version)) return;
    throw new HitlessError('INVALID_ARGUMENT', `acknowledged trust bundle version ${version} is beyond the current version ${this.#trust.version}`);
  }

  currentRootDigest(): string {
    return tokenRootDigest(this.#trust);
  }

  /** The cluster join tokens (`ca join-token <role>`); `rotate` replaces the secrets of the roles it names. */
  joinTokens(rotate: { worker?: boolean; manager?: boolean } = {}): Promise<JoinTokens> {
    return clusterJoinTokens({ store: this.#store, log: this.#log, trust: this.#trust }, rotate);
  }

  /** First certificate for a new node, authorized by a join token. */
  async join(req: { joinToken: string; csrDer: Uint8Array; source: string }): Promise<IssuedNodeCert> {
    try {
      this.#limiter.check(req.source);
    } catch (err) {
      limitExceeded(this.#log, 'failed_joins_per_source', { source: req.source });
      throw err;
    }
    let grant: TokenGrant;
    try {
      grant = await grantForToken(req.joinToken, { store: this.#store, trust: this.#trust, tokens: this.tokens });
    } catch (err) {
      // Only a wrong token is the caller's failure: a store error (INTERNAL) or a CA without secrets is ours.
      if (!isHitlessError(err, 'INVALID_JOIN_TOKEN')) throw err;
      this.#limiter.recordFailure(req.source);
      this.#log.warn('join.refused', { source: req.source, code: (err as HitlessError).code, reason: (err as Error).message });
      throw err;
    }
    try {
      const spkiDer = await this.#csr.check(req.csrDer);
      const spkiSha256 = sha256Hex(spkiDer);
      // Under the key's lock: duplicates of one CSR wait here and are refused as such, spending no rate.
      const issued = await this.#withKey(spkiSha256, undefined, async () => {
        // Successful joins are bounded per token and overall: a leaked token mints nodes only so fast.
        const reservation = this.#joins.reserve(grant.key);
        if (!reservation.ok) throw this.#rateLimited(reservation, 'joins with this token', { tokenId: grant.limitedId ?? grant.key, source: req.source });
        try {
          const issue = (joinToken?: { next: JoinTokenRecord; before: JoinTokenRecord }) =>
            this.#issue({ nodeId: randomId(), role: grant.role, spkiDer, spkiSha256, joinedAt: undefined, previous: null, joinToken });
          const limitedId = grant.limitedId;
          // A limited token's use is checked and spent under its lock, in the join's own durable batch (and
          // only if no other replica spent it meanwhile: the write is conditional on the record spend() read).
          return limitedId ? await this.#nodeLocks.run(`jointoken:${limitedId}`, async () => issue(await this.tokens.spendRecord(limitedId))) : await issue();
        } catch (err) {
          reservation.release();
          throw err;
        }
      });
      await this.audit.append('node.joined', { kind: 'node', nodeId: issued.nodeId }, { role: grant.role, serial: issued.serial, source: req.source, tokenId: grant.limitedId ?? grant.key });
      this.#log.info('node.joined', {
        nodeId: issued.nodeId,
        role: grant.role,
        serial: issued.serial,
        notAfter: issued.notAfter,
        source: req.source,
        tokenId: grant.limitedId ?? grant.key,
      });
      return issued;
    } catch (err) {
      // The token stopped working between the first look and the spend (used up, expired, revoked meanwhile).
      if (isHitlessError(err, 'INVALID_JOIN_TOKEN')) {
        this.#limiter.recordFailure(req.source);
        this.#log.warn('join.refused', { source: req.source, code: err.code, reason: err.message });
      }
      throw err;
    }
  }

  #rateLimited(r: Extract<Reservation, { ok: false }>, what: string, fields: Record<string, unknown>): HitlessError {
    const retryS = Math.max(1, Math.ceil(r.retryAfterMs / 1000));
    limitExceeded(this.#log, r.limit, { ...fields, retryAfterS: retryS });
    return new HitlessError('RATE_LIMITED', `too many ${what} (limit ${r.limit}); retry in ${retryS}s`, {
      hint: 'the CA bounds successful joins per token and overall, and renewals per node; see ca serve --help',
    });
  }

  // ---- One public key backs at most one live node (ca/key-index.ts) ----

  /**
   * Runs `fn` (which issues a certificate for the key) only if no *other* live node's newest certificate
   * carries the key; serialized per key, so two joins with one CSR cannot both pass.
   */
  async #withKey<T extends IssuedNodeCert>(spkiSha256: string, self: NodeRecord | undefined, fn: () => Promise<T>): Promise<T> {
    return this.#nodeLocks.run(`spki:${spkiSha256}`, async () => {
      const holderId = await this.#liveKeys.otherHolder(spkiSha256, self?.nodeId, this.#clock.now());
      if (holderId) {
        this.#log.warn('node.key_reused', { holderNodeId: holderId, nodeId: self?.nodeId, spkiSha256 });
        throw new HitlessError('ALREADY_EXISTS', 'this public key already backs a live node of this cluster; each node needs its own key', {
          hint: "generate a fresh key for every join and renewal (the agent does); to re-install a node, 'ca remove-node' the old one first",
        });
      }
      const issued = await fn();
      await this.#liveKeys.issued(issued.nodeId, spkiSha256, self);
      return issued;
    });
  }


  /** A fresh certificate for an authenticated node, for the key in `csrDer`. Role comes from our records. */
  async renew(req: { peerDer: Uint8Array | undefined; csrDer: Uint8Array; bundleVersion?: number }): Promise<IssuedNodeCert> {
    // Renewing is not "seeing the newest in use" by itself: the renewal's own write moves the fallback on.
    const identity = await this.authenticate(req.peerDer, { allowRetired: true, markSeen: false });
    this.checkAcknowledgedVersion(req.bundleVersion);
    // A superseded certificate is refused (and reported) before it can spend the node's renewal budget.
    const current = await this.#auth.liveNode(identity.nodeId);
    if (certStanding(current, identity.serial) === 'superseded') throw this.#auth.superseded(current, identity.serial);
    const reservation = this.#renewals.reserve(identity.nodeId);
    if (!reservation.ok) throw this.#rateLimited(reservation, 'renewals for this node', { nodeId: identity.nodeId });
    try {
      const spkiDer = await this.#csr.check(req.csrDer);
      const spkiSha256 = sha256Hex(spkiDer);
      // Serialized per node so that a concurrent removal cannot be overwritten by this renewal's write.
      return await this.#nodeLocks.run(identity.nodeId, async () => {
        const node = await this.#auth.liveNode(identity.nodeId);
        // Again under the lock: a renewal that finished meanwhile may have superseded the presented certificate.
        const standing = certStanding(node, identity.serial);
        if (standing === 'superseded') throw this.#auth.superseded(node, identity.serial);
        const issued = await this.#withKey(spkiSha256, node, () =>
          this.#issue({
            nodeId: node.nodeId,
            role: node.role,
            spkiDer,
            spkiSha256,
            joinedAt: node.joinedAt,
            previous: node,
            bundleVersion: Math.max(node.bundleVersion ?? 0, req.bundleVersion ?? 0),
            // What the node is known to hold stays accepted until the new certificate is seen in use.
            fallbackSerial: identity.serial,
          }),
        );
        this.#log.info('node.renewed', {
          nodeId: node.nodeId,
          role: node.role,
          serial: issued.serial,
          previousSerial: identity.serial,
          fromFallback: standing === 'fallback',
          notAfter: issued.notAfter,
        });
        this.emit('node-renewed', node.nodeId);
        return issued;
      });
    } catch (err) {
      reservation.release();
      throw err;
    }
  }

  /**
   * Who is calling, from the certificate TLS accepted (ca/node-auth.ts): fails closed unless it chains to the
   * current trust (or a retired root, with `allowRetired`) and names a live node that we issued it to.
   */
  authenticate(peerDer: Uint8Array | undefined, opts: { allowRetired?: boolean; markSeen?: boolean } = {}): Promise<NodeIdentity> {
    return this.#auth.authenticate(peerDer, opts);
  }

  /**
   * Replicas (ca/replica.ts): another replica wrote this node's record. Its newest key joins this replica's
   * one-key-per-live-node index (entries are checked against the record when used, so a stale one is harmless;
   * a missing one would let the key back a second node).
   */
  async nodeWrittenElsewhere(node: NodeRecord): Promise<void> {
    if (node.spkiSha256 && !node.removedAt) await this.#liveKeys.issued(node.nodeId, node.spkiSha256, undefined);
  }

  /**
   * The list removedNodeIds() last computed, until it can change: a removal ('node-removed', here or from another
   * replica: ca/replica.ts) or the first of its certificates expiring. Every watch stream event carries the list,
   * and computing it lists every node (sorted): at 10,000 streams one trust change or the fleet's watches moving
   * after a renewal cost ~10,000 full listings (~5-10 ms each).
   */
  #removed: { ids: readonly string[]; until: number } | undefined;
  #removals = 0;

  /** Removed nodes whose certificates may still be valid: peers must refuse them until then. */
  async removedNodeIds(): Promise<string[]> {
    const now = this.#clock.now().getTime();
    const memo = this.#removed;
    if (memo && now < memo.until) return [...memo.ids];
    const removals = this.#removals;
    const removed = (await this.#store.listNodes()).filter((n) => n.removedAt && Date.parse(n.notAfter) > now);
    const ids = removed.map((n) => n.nodeId);
    // Kept only if no removal was announced while the store was read (the list may predate it).
    if (removals === this.#removals) this.#removed = { ids, until: removed.reduce((m, n) => Math.min(m, Date.parse(n.notAfter)), Infinity) };
    return ids;
  }

  async listNodes(): Promise<NodeRecord[]> {
    return (await this.#store.listNodes()).filter((n) => !n.removedAt);
  }

  /** Removes a node: it can no longer renew or authenticate. The record stays as a tombstone until its certs expire. */
  async removeNode(nodeId: string): Promise<NodeRecord> {
    return this.#nodeLocks.run(nodeId, async () => {
      const node = await this.#auth.liveNode(nodeId);
      const removed: NodeRecord = { ...node, removedAt: this.#clock.now().toISOString() };
      await this.#store.putNode(removed, node);
      // Its key is free again (the node can never use it), and it needs no exempt renewal.
      await this.#liveKeys.removed(node);
      this.#renewals.forget(nodeId);
      this.#log.info('node.removed', { nodeId, serial: node.serial });
      this.emit('node-removed', nodeId);
      return removed;
    });
  }

  async #issue(req: {
    nodeId: string;
    role: Role;
    spkiDer: Uint8Array;
    spkiSha256: string;
    joinedAt: string | undefined;
    /** The node record this issue decided on (null: a new node); the write fails if it changed meanwhile. */
    previous: NodeRecord | null;
    bundleVersion?: number;
    fallbackSerial?: string;
    /** A limited join token's record after this join's use (and as it was read), written in the same batch. */
    joinToken?: { next: JoinTokenRecord; before: JoinTokenRecord };
  }): Promise<IssuedNodeCert> {
    const now = this.#clock.now();
    const trust = this.#trust;
    const signer = trust.signer;
    const notBefore = new Date(now.getTime() - this.#config.backdateMs);
    // A leaf never outlives the key that signed it.
    const notAfter = new Date(Math.min(now.getTime() + this.#config.nodeCertTtlMs, signer.info.notAfter.getTime()));
    const leaf = await issueLeaf(signer, {
      spkiDer: req.spkiDer,
      nodeId: req.nodeId,
      role: req.role,
      clusterId: this.clusterId,
      notBefore,
      notAfter,
    });
    const iso = now.toISOString();
    const expires = leaf.info.notAfter.toISOString(); // as encoded: X.509 times have whole seconds
    await this.#store.recordIssued(
      {
        nodeId: req.nodeId,
        role: req.role,
        joinedAt: req.joinedAt ?? iso,
        serial: leaf.info.serial,
        issuedAt: iso,
        notAfter: expires,
        issuerRoot: signer.rootFingerprint,
        lastSeen: iso,
        bundleVersion: req.bundleVersion ?? this.#trust.version,
        spkiSha256: req.spkiSha256,
        ...(req.fallbackSerial !== undefined ? { fallbackSerial: req.fallbackSerial } : {}),
      },
      { serial: leaf.info.serial, nodeId: req.nodeId, issuedAt: iso, notAfter: expires, issuerRoot: signer.rootFingerprint },
      { expectNode: req.previous, joinToken: req.joinToken?.next, expectJoinToken: req.joinToken?.before },
    );
    // The node's first calls with its new certificate (its watch, its rotation evidence) need not verify a
    // signature we just made: these exact bytes are remembered as verified under the trust that signed them.
    // Only while that trust is still current, and only for a signer that is one of its roots (never a retired
    // one): what a verification would have concluded, without the ECDSA check (ca/chain-cache.ts).
    if (this.#trust === trust && trust.rootsPem.includes(signer.certPem)) this.#chains.set(leaf.info.der, trust, leaf.info, signer.rootFingerprint);
    return {
      nodeId: req.nodeId,
      role: req.role,
      clusterId: this.clusterId,
      chainPem: leaf.chainPem,
      serial: leaf.info.serial,
      issuedAt: now,
      notAfter: leaf.info.notAfter,
      bundle: this.bundle(),
    };
  }
}
