// Who is calling, for the Authority: the node certificate a caller presented, checked against the CA's *current*
// trust (ca/node-chain.ts: connections outlive certificates and root changes) and against the node's records —
// it exists and was not removed, the serial is one we issued to it, and which of its certificates it is
// (ca/renewal-policy.ts certStanding: the newest, the one before it until the newest is seen, or superseded).
// Split from ca/authority.ts, which keeps joins, renewals and issuance; both share one per-node lock.
import type { Clock } from '../shared/clock.js';
import { HitlessError, isHitlessError } from '../shared/errors.js';
import type { Logger } from '../shared/log.js';
import type { KeyedMutex } from '../shared/keyed-mutex.js';
import type { ChainCache } from './chain-cache.js';
import type { CaStore, NodeRecord, Role } from './store.js';
import type { TrustState } from './authority.js';
import { certStanding, seesNewest } from './renewal-policy.js';
import { REJOIN_HINT, verifyNodeChain } from './node-chain.js';

export interface NodeIdentity {
  nodeId: string;
  role: Role;
  serial: string;
  notAfter: Date;
}

export interface NodeAuthDeps {
  store: CaStore;
  clock: Clock;
  log: Logger;
  clusterId: string;
  /** The trust in force now (it changes during a root rotation). */
  trust: () => TrustState;
  chains: ChainCache;
  /** The Authority's per-node lock: the record writes here and its renewals and removals are serialized. */
  nodeLocks: KeyedMutex;
}

export class NodeAuthenticator {
  constructor(private readonly d: NodeAuthDeps) {}

  /**
   * Who is calling, from the certificate TLS accepted. Fails closed: the chain is re-verified against the
   * *current* trust, the node must exist and not be removed, and the serial must be one we issued to it. The
   * role is read from our records.
   */
  async authenticate(peerDer: Uint8Array | undefined, opts: { allowRetired?: boolean; markSeen?: boolean } = {}): Promise<NodeIdentity> {
    const { store, clock } = this.d;
    const { leaf, nodeId } = await verifyNodeChain(peerDer, {
      trust: this.d.trust(),
      chains: this.d.chains,
      clusterId: this.d.clusterId,
      now: clock.now(),
      allowRetired: opts.allowRetired,
    });
    // The certificate record first: on replicas it brings this replica's copy of the node up to date when the
    // caller renewed on another replica a moment ago (CaStore.getCert). Read on every call, even for the serial the
    // node record names as newest: the two records disagreeing (a damaged store) must fail closed, and this read
    // is ~1 % of a report connection's CPU (measured; checking at issuance instead would move it off this path).
    const cert = await store.getCert(leaf.serial, nodeId);
    const node = await this.#knownNode(nodeId);
    if (!cert || cert.nodeId !== nodeId) {
      throw new HitlessError('UNTRUSTED_PEER', `certificate serial ${leaf.serial} was not issued to node ${nodeId}`);
    }
    const standing = certStanding(node, leaf.serial);
    // The newest certificate in use retires the one before it (renew() then accepts only the newest). An older,
    // still valid certificate of the node is not refused here: it may still be the client certificate of a
    // pooled connection made before the last renewal (a watch, a report); only renewing with it is refused
    // (renew() decides under the node's lock), since a renewal mints new credentials.
    if (opts.markSeen !== false && seesNewest(node, standing)) await this.#markSeen(nodeId, leaf.serial);
    return { nodeId, role: node.role, serial: leaf.serial, notAfter: leaf.notAfter };
  }

  /** The node's record, unless it is unknown (NOT_FOUND) or removed (NODE_REMOVED). */
  async liveNode(nodeId: string): Promise<NodeRecord> {
    const node = await this.d.store.getNode(nodeId);
    if (!node) throw new HitlessError('NOT_FOUND', `no node ${nodeId} in this cluster`, { hint: "list nodes with 'ca nodes'" });
    if (node.removedAt) {
      throw new HitlessError('NODE_REMOVED', `node ${nodeId} was removed at ${node.removedAt}`, { hint: REJOIN_HINT });
    }
    return node;
  }

  /** A certificate the CA issued to the node, but older than the two it may use: logged as a possible key compromise. */
  superseded(node: NodeRecord, serial: string): HitlessError {
    this.d.log.error('node.superseded_cert_used', {
      nodeId: node.nodeId,
      serial,
      newestSerial: node.serial,
      hint: 'someone presented an old certificate of this node: possible key compromise; if the node did not restore an old backup, remove it and re-join it',
    });
    return new HitlessError(
      'PERMISSION_DENIED',
      `certificate ${serial} of node ${node.nodeId} was superseded by a newer certificate; only the node's newest certificate is accepted`,
      { hint: "if this node did not restore an old backup, its old key may be compromised: 'ca remove-node' it and re-join it with a fresh token" },
    );
  }

  /** A verified certificate for a node we have no record of is not a lookup miss but an untrusted caller. */
  #knownNode(nodeId: string): Promise<NodeRecord> {
    return this.liveNode(nodeId).catch((err: unknown) => {
      throw isHitlessError(err, 'NOT_FOUND') ? new HitlessError('UNTRUSTED_PEER', `no node ${nodeId} in this cluster's records`, { cause: err }) : err;
    });
  }

  /** The newest certificate authenticated a call: the fallback (the one before it) is accepted no more. */
  async #markSeen(nodeId: string, serial: string): Promise<void> {
    const { store, log } = this.d;
    await this.d.nodeLocks.run(nodeId, async () => {
      const node = await store.getNode(nodeId);
      if (!node || node.removedAt || node.serial !== serial || node.fallbackSerial === undefined) return;
      const { fallbackSerial, ...rest } = node;
      await store.putNode(rest, node);
      log.debug('node.newest_cert_seen', { nodeId, serial, retiredSerial: fallbackSerial });
    });
  }
}
