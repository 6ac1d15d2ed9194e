// The etcd v3 backend of the CA's store (interface: ca/store/records.ts), shared by CA replicas. etcd does the
// consensus; we never do.
//
// Layout, under a prefix (default "/hitless/"), JSON values:
//   nodes/<nodeId>      NodeRecord (a tombstone after removal, until its certificate expires)
//   certs/<nodeId>      { current, previous? }: the node's newest certificate record and the one before it —
//                       all that authentication and renewal need. Per-node data is bounded: a renewal replaces
//                       the pair in the same transaction, so nothing accumulates between prunes.
//   keys/<spkiSha256>   { n: nodeId }: the claim of the live node whose newest certificate carries that public key.
//                       Written in the issuing transaction on condition that it does not exist (or is held by a
//                       removed or expired node, or by this node): of two joins with one key on two replicas,
//                       exactly one commits. Moves with a renewal's new key, released at removal.
//   secrets             JoinSecrets
//   tokens/<id>         JoinTokenRecord
//   operators/<name>    OperatorRecord
//   rotation/current, rotation/version, rotation/retired, rotation/last   RotationState
//   cluster/config, cluster/root   ClusterConfig; root certificate + sealed key (ca/root-material.ts)
//
// Reads are local. At open the whole prefix is read (in pages, at one revision) into memory, and a watch from
// the next revision keeps it current: every replica sees every other replica's writes in watch latency
// (milliseconds), and the hot paths (authenticate, renew) cost no etcd round trip for reads. Memory: ~1 KB per
// node (node record + certificate pair), so 100,000 nodes are ~100 MB per replica.
//
// Writes are etcd transactions. A conditional write compares the key's mod revision with the one we hold for
// the record the caller decided on; if another replica wrote it meanwhile (and our watch has not caught up),
// etcd refuses the transaction and the caller gets STORE_CONFLICT. One write = one transaction = one revision:
// a renewal writes the node record and its certificate pair together. The write path (grouping, conditions, the mirror following our own
// writes) is ca/store/etcd-txn.ts.
//
// etcd unreachable or without quorum: every write fails with STORE_UNAVAILABLE after the call deadline, so the
// CA refuses to issue rather than hand out a certificate it has not recorded. Reads keep answering from
// memory (authentication of existing nodes goes on; the watch resumes when etcd is back).
import { Etcd3, type IKeyValue, type Watcher } from 'etcd3';
import { HitlessError } from '../../shared/errors.js';
import type { EtcdStoreOptions } from './etcd-options.js';
import type { Logger } from '../../shared/log.js';
import type { RotationRecord } from '../root-rotation.js';
import {
  holdsKey, keyAlreadyBacks, storeConflict,
  type CaStore, type CertRecord, type Expect, type JoinSecrets, type JoinTokenRecord, type LastRotation, type NodeRecord, type OperatorRecord,
  type RetiredRoot, type RotationChange, type RotationState,
} from './records.js';
import { EtcdMirror, readPrefix, type CertPair, type StoreChange } from './etcd-mirror.js';
import { EtcdTransactions, TXN_OPS, type Condition, type Write } from './etcd-txn.js';

export type { EtcdStoreOptions, EtcdConnection } from './etcd-options.js';
export { etcdStoreOptions } from './etcd-options.js';
export type { StoreChange } from './etcd-mirror.js';

/** keys/<spkiSha256>: which node's newest certificate carries the key (one key backs one live node). */
interface KeyClaim {
  n: string;
}


export class EtcdStore implements CaStore {
  readonly backend = 'etcd';
  readonly prefix: string;
  readonly #client: Etcd3;
  readonly #log: Logger | undefined;
  readonly #timeoutMs: number;
  /** Every record under the prefix, as of the watch's revision (or newer, for our own writes); it tells subscribers. */
  readonly #mirror: EtcdMirror;
  /** The write path: grouped conditional transactions (ca/store/etcd-txn.ts). */
  readonly #tx: EtcdTransactions;
  #watcher: Watcher | undefined;
  #closed = false;

  private constructor(opts: EtcdStoreOptions) {
    this.prefix = opts.prefix ?? '/hitless/';
    this.#log = opts.log;
    this.#mirror = new EtcdMirror(this.prefix, this.#log);
    this.#timeoutMs = opts.requestTimeoutMs ?? 5_000;
    this.#client = new Etcd3({
      hosts: opts.endpoints,
      dialTimeout: this.#timeoutMs,
      credentials: opts.tls?.ca ? { rootCertificate: opts.tls.ca, privateKey: opts.tls.key, certChain: opts.tls.cert } : undefined,
      defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + this.#timeoutMs }),
    });
    this.#tx = new EtcdTransactions(this.#client, this.prefix, this.#mirror, this.#log);
  }

  /** Writes and the transactions that carried them (writes / txns = the grouping factor). */
  get commitStats(): { writes: number; txns: number } {
    return this.#tx.commitStats;
  }

  /** The verdict of ca/store-availability.ts: while false, writes are refused at once. */
  setQuorum(available: boolean): void {
    this.#tx.setQuorum(available);
  }

  static async open(opts: EtcdStoreOptions): Promise<EtcdStore> {
    const store = new EtcdStore(opts);
    try {
      await store.#load();
    } catch (err) {
      await store.close();
      throw err;
    }
    return store;
  }

  /** The etcd client (leader election, root material): one connection per replica. */
  get client(): Etcd3 {
    return this.#client;
  }

  async close(): Promise<void> {
    await this.#tx.settled();
    this.#closed = true;
    await this.#watcher?.cancel().catch(() => {});
    this.#client.close();
  }

  /**
   * Calls `listener` for every record another writer (or this one) changed, once it is in memory: how trust
   * changes and removed nodes reach every replica (ca/replica.ts). Returns the unsubscribe function.
   */
  subscribe(listener: (change: StoreChange) => void): () => void {
    return this.#mirror.subscribe(listener);
  }

  /** The newest etcd revision this replica has seen through its watch. */
  get revision(): number {
    return this.#mirror.rev;
  }

  // ---- Load and watch ----

  /** Reads every record and watches from there; returns the keys whose record changed (see EtcdMirror.replace). */
  async #load(): Promise<string[]> {
    const { loaded, rev } = await this.#tx.call('load records', () => readPrefix(this.#client, this.prefix));
    const changed = this.#mirror.replace(loaded, rev);
    await this.#watch();
    this.#log?.info('store.etcd_loaded', { prefix: this.prefix, records: loaded.size, revision: rev });
    return changed;
  }

  async #watch(): Promise<void> {
    const watcher = await this.#client.watch().prefix(this.prefix).startRevision(String(this.#mirror.rev + 1)).create();
    this.#watcher = watcher;
    watcher.on('put', (kv) => this.#onEvent(kv, false));
    watcher.on('delete', (kv) => this.#onEvent(kv, true));
    watcher.on('disconnected', (err) => this.#log?.warn('store.etcd_watch_disconnected', { err: String(err?.message ?? err) }));
    watcher.on('connected', () => this.#log?.info('store.etcd_watch_connected', { revision: this.#mirror.rev }));
    // A watch that cannot resume (its revision was compacted away): read everything again.
    watcher.on('error', (err) => {
      if (this.#closed) return;
      this.#log?.warn('store.etcd_watch_failed', { err: String(err?.message ?? err), revision: this.#mirror.rev });
      void watcher.cancel().catch(() => {});
      void this.#load().then(
        // Whatever changed in between was not seen as events: subscribers hear of each changed record now, as the
        // watch would have told them (a node removed in the gap is announced to streams, and the Authority's
        // removed-node list is recomputed), and re-read the trust in any case.
        (changed) => {
          for (const key of changed) this.#mirror.emit(key);
          this.#mirror.emit(this.prefix + 'rotation/current');
        },
        (e: unknown) => this.#log?.error('store.etcd_reload_failed', { err: String((e as Error).message) }),
      );
    });
  }

  #onEvent(kv: IKeyValue, deleted: boolean): void {
    try {
      this.#mirror.apply(kv, deleted);
    } catch (err) {
      // A record written by something other than hitless: the old value stays; the next write to it conflicts.
      this.#log?.error('store.corrupt', { backend: 'etcd', reason: (err as Error).message });
    }
  }

  // ---- Writes ----


  /**
   * A quorum read (linearizable range of one small key): resolves only while etcd has a leader and a majority,
   * i.e. while a write could commit. ca/store-availability.ts turns it into the replica's health. No log line
   * here: the caller logs the transitions, not every probe.
   */
  async probe(): Promise<void> {
    await this.#client.get(this.prefix + 'cluster/config').exists();
  }

  // ---- Nodes and certificates ----

  async getNode(nodeId: string): Promise<NodeRecord | undefined> {
    const held = this.#mirror.get<NodeRecord>('nodes/' + nodeId);
    if (held) return held;
    await this.#refreshNode(nodeId);
    return this.#mirror.get<NodeRecord>('nodes/' + nodeId);
  }

  /**
   * Read-your-writes across replicas: a node or certificate this replica does not hold yet may have been
   * written by another replica a moment ago (its watch event still in flight). One linearizable read of the
   * node's two keys settles it. Bounded: only callers with a certificate chain we signed get this far.
   */
  async #refreshNode(nodeId: string): Promise<void> {
    if (!nodeId || nodeId.length > 128) return;
    await this.#tx.call('read a node', () => this.#tx.refresh(['nodes/' + nodeId, 'certs/' + nodeId]));
  }

  async listNodes(): Promise<NodeRecord[]> {
    return this.#mirror.list<NodeRecord>('nodes/').sort((a, b) => (a.nodeId < b.nodeId ? -1 : a.nodeId > b.nodeId ? 1 : 0));
  }

  putNode(node: NodeRecord, expect?: Expect<NodeRecord>): Promise<void> {
    const writes: Write[] = [{ key: 'nodes/' + node.nodeId, value: node }];
    const conditions: Condition[] = [{ key: 'nodes/' + node.nodeId, expect, what: `node ${node.nodeId}` }];
    // A removed node's key is free again, in the same transaction as the removal.
    if (node.removedAt && node.spkiSha256) this.#release(node.nodeId, node.spkiSha256, writes, conditions);
    return this.#tx.txn(writes, conditions);
  }

  async getCert(serial: string, nodeIdHint?: string): Promise<CertRecord | undefined> {
    if (this.#mirror.nodeOfSerial(serial) === undefined && nodeIdHint !== undefined) await this.#refreshNode(nodeIdHint);
    const nodeId = this.#mirror.nodeOfSerial(serial);
    if (nodeId === undefined) return undefined;
    const pair = this.#mirror.get<CertPair>('certs/' + nodeId);
    return [pair?.current, pair?.previous].find((c) => c?.serial === serial);
  }

  async recordIssued(
    node: NodeRecord,
    cert: CertRecord,
    opts: { expectNode?: Expect<NodeRecord>; joinToken?: JoinTokenRecord; expectJoinToken?: Expect<JoinTokenRecord> } = {},
  ): Promise<void> {
    // The pair moves on: the new certificate, and the one the node renewed from (its fallbackSerial: what it
    // is known to hold until the new one is seen in use — after a lost response that is not the pair's current).
    const held = this.#mirror.get<CertPair>('certs/' + node.nodeId);
    const fallback = [held?.current, held?.previous].find((c) => c && c.serial === node.fallbackSerial) ?? held?.current;
    const pair: CertPair = fallback && fallback.serial !== cert.serial ? { current: cert, previous: fallback } : { current: cert };
    const writes: Write[] = [
      { key: 'nodes/' + node.nodeId, value: node },
      { key: 'certs/' + node.nodeId, value: pair },
    ];
    const conditions: Condition[] = [{ key: 'nodes/' + node.nodeId, expect: opts.expectNode, what: `node ${node.nodeId}` }];
    if (opts.joinToken) {
      writes.push({ key: 'tokens/' + opts.joinToken.id, value: opts.joinToken });
      conditions.push({ key: 'tokens/' + opts.joinToken.id, expect: opts.expectJoinToken, what: `join token ${opts.joinToken.id}` });
    }
    await this.#claimKey(node, cert.issuedAt, writes, conditions);
    try {
      await this.#tx.txn(writes, conditions);
    } catch (err) {
      // Lost a race for the key's claim (another replica's join committed first; its claim is now held here):
      // say so, rather than "retry", which would only lose again.
      if ((err as HitlessError).code === 'STORE_CONFLICT' && node.spkiSha256) {
        const claim = this.#mirror.get<KeyClaim>('keys/' + node.spkiSha256);
        if (claim && claim.n !== node.nodeId && holdsKey(await this.getNode(claim.n), node.spkiSha256, cert.issuedAt)) throw keyAlreadyBacks(claim.n);
      }
      throw err;
    }
  }

  /**
   * Adds to an issuing write the claim of the node's new key (keys/<spkiSha256>), and the release of the key its
   * newest certificate carried until now. Throws ALREADY_EXISTS if another live node holds the key as far as
   * this replica knows; the claim's condition makes etcd settle a race with a replica that does not know yet.
   */
  async #claimKey(node: NodeRecord, at: string, writes: Write[], conditions: Condition[]): Promise<void> {
    const h = node.spkiSha256;
    if (h) {
      const key = 'keys/' + h;
      const claim = this.#mirror.get<KeyClaim>(key);
      const what = `the claim of public key ${h.slice(0, 16)}…`;
      if (!claim) {
        writes.push({ key, value: { n: node.nodeId } satisfies KeyClaim });
        conditions.push({ key, expect: null, what });
      } else if (claim.n === node.nodeId) {
        conditions.push({ key, expect: claim, what });
      } else {
        // Held by a removed or expired node (or one pruned away): taken over, on condition it is still that claim.
        if (holdsKey(await this.getNode(claim.n), h, at)) throw keyAlreadyBacks(claim.n);
        writes.push({ key, value: { n: node.nodeId } satisfies KeyClaim });
        conditions.push({ key, expect: claim, what });
      }
    }
    const old = this.#mirror.get<NodeRecord>('nodes/' + node.nodeId)?.spkiSha256;
    if (old && old !== h) this.#release(node.nodeId, old, writes, conditions);
  }

  /** Deletes keys/<spkiSha256> if `nodeId` holds it, on condition that it still does. */
  #release(nodeId: string, spkiSha256: string, writes: Write[], conditions: Condition[]): void {
    const key = 'keys/' + spkiSha256;
    const claim = this.#mirror.get<KeyClaim>(key);
    if (claim?.n !== nodeId) return;
    writes.push({ key, value: null });
    conditions.push({ key, expect: claim, what: `the claim of public key ${spkiSha256.slice(0, 16)}…` });
  }

  async prune(cutoff: Date, certCutoff: Date = cutoff): Promise<{ certs: number; nodes: number }> {
    const t = cutoff.getTime();
    const tc = certCutoff.getTime();
    const writes: Write[] = [];
    let certs = 0;
    let nodes = 0;
    for (const n of this.#mirror.list<NodeRecord>('nodes/')) {
      if (n.removedAt && Date.parse(n.notAfter) < t) {
        writes.push({ key: 'nodes/' + n.nodeId, value: null });
        nodes++;
      }
    }
    for (const [key, e] of this.#mirror.entries()) {
      if (!key.startsWith(this.prefix + 'certs/')) continue;
      const pair = e.value as CertPair;
      const rel = key.slice(this.prefix.length);
      const expired = [pair.current, pair.previous].filter((c) => c && Date.parse(c.notAfter) < tc).length;
      if (!expired) continue;
      certs += expired;
      // Both expired: the pair goes. Only the previous one: the pair keeps its current.
      writes.push({ key: rel, value: Date.parse(pair.current.notAfter) < tc ? null : { current: pair.current } });
    }
    for (let i = 0; i < writes.length; i += TXN_OPS) await this.#tx.txn(writes.slice(i, i + TXN_OPS));
    // Claims whose node is gone or removed (normally released at removal already): each on condition it is
    // still that claim, so a join that took the key over meanwhile keeps its claim.
    for (const [key, e] of [...this.#mirror.entries()]) {
      if (!key.startsWith(this.prefix + 'keys/')) continue;
      const owner = this.#mirror.get<NodeRecord>('nodes/' + (e.value as KeyClaim).n);
      if (owner && !owner.removedAt) continue;
      const rel = key.slice(this.prefix.length);
      await this.#tx.txn([{ key: rel, value: null }], [{ key: rel, expect: e.value as KeyClaim, what: 'a key claim' }]).catch(() => {});
    }
    return { certs, nodes };
  }

  /**
   * Drops etcd's history up to `revision` (the leader calls it with the revision it saw one prune period ago,
   * so watchers up to that far behind can still resume; one further behind re-reads everything). Every
   * renewal is a revision: without compaction history grows until etcd's space quota stops all writes.
   */
  async compact(revision: number): Promise<void> {
    if (revision <= 0) return;
    await this.#tx.call('compact', () => this.#client.kv.compact({ revision: String(revision), physical: false }));
  }

  // ---- Join secrets, limited tokens, operators ----

  async getJoinSecrets(): Promise<JoinSecrets | undefined> {
    return this.#mirror.get<JoinSecrets>('secrets');
  }

  putJoinSecrets(secrets: JoinSecrets): Promise<void> {
    return this.#tx.txn([{ key: 'secrets', value: secrets }]);
  }

  async getJoinToken(id: string): Promise<JoinTokenRecord | undefined> {
    return this.#mirror.get<JoinTokenRecord>('tokens/' + id);
  }

  async listJoinTokens(): Promise<JoinTokenRecord[]> {
    return this.#mirror.list<JoinTokenRecord>('tokens/').sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));
  }

  putJoinToken(token: JoinTokenRecord, expect?: Expect<JoinTokenRecord>): Promise<void> {
    return this.#tx.txn([{ key: 'tokens/' + token.id, value: token }], [{ key: 'tokens/' + token.id, expect, what: `join token ${token.id}` }]);
  }

  async pruneJoinTokens(cutoff: Date): Promise<number> {
    const ids = this.#mirror.list<JoinTokenRecord>('tokens/').filter((x) => Date.parse(x.expiresAt) < cutoff.getTime()).map((x) => x.id);
    for (let i = 0; i < ids.length; i += TXN_OPS) await this.#tx.txn(ids.slice(i, i + TXN_OPS).map((id) => ({ key: 'tokens/' + id, value: null })));
    return ids.length;
  }

  async getOperator(name: string): Promise<OperatorRecord | undefined> {
    return this.#mirror.get<OperatorRecord>('operators/' + name);
  }

  async listOperators(): Promise<OperatorRecord[]> {
    return this.#mirror.list<OperatorRecord>('operators/').sort((a, b) => a.name.localeCompare(b.name));
  }

  putOperator(op: OperatorRecord, expect?: Expect<OperatorRecord>): Promise<void> {
    return this.#tx.txn([{ key: 'operators/' + op.name, value: op }], [{ key: 'operators/' + op.name, expect, what: `operator ${op.name}` }]);
  }

  // ---- Cluster records (ca/root-material.ts owns them): config, root ----

  async getClusterRecord<T>(name: 'config' | 'root'): Promise<T | undefined> {
    return this.#mirror.get<T>('cluster/' + name);
  }

  putClusterRecord(name: 'config' | 'root', value: object): Promise<void> {
    return this.#tx.txn([{ key: 'cluster/' + name, value }]);
  }

  /**
   * `ca init --etcd`: config, root material and join secrets in one transaction, only if no cluster exists
   * under this prefix (two concurrent inits: one wins, the other changes nothing).
   */
  async createCluster(config: object, root: object, secrets: JoinSecrets): Promise<void> {
    try {
      await this.#tx.txn(
        [
          { key: 'cluster/root', value: root },
          { key: 'secrets', value: secrets },
          { key: 'cluster/config', value: config },
        ],
        [{ key: 'cluster/config', expect: null, what: 'the cluster config' }],
      );
    } catch (err) {
      if ((err as HitlessError).code !== 'STORE_CONFLICT') throw err;
      throw new HitlessError('ALREADY_EXISTS', `a cluster already exists in etcd under prefix ${this.prefix}; refusing to overwrite it`, {
        hint: "serve it with 'ca serve --etcd ...', or pick another --etcd-prefix",
      });
    }
  }

  // ---- Rotation state ----

  async getRotationState(): Promise<RotationState> {
    return {
      rotation: this.#mirror.get<RotationRecord>('rotation/current'),
      bundleVersion: this.#mirror.get<{ v: number }>('rotation/version')?.v ?? 1,
      retired: this.#mirror.get<{ list: RetiredRoot[] }>('rotation/retired')?.list ?? [],
      lastFinished: this.#mirror.get<LastRotation>('rotation/last'),
    };
  }

  updateRotationState(change: RotationChange, expectRotation?: Expect<RotationRecord>): Promise<void> {
    const writes: Write[] = [];
    if (change.rotation !== undefined) writes.push({ key: 'rotation/current', value: change.rotation });
    if (change.bundleVersion !== undefined) writes.push({ key: 'rotation/version', value: { v: change.bundleVersion } });
    if (change.retired !== undefined) writes.push({ key: 'rotation/retired', value: { list: change.retired } });
    if (change.lastFinished !== undefined) writes.push({ key: 'rotation/last', value: change.lastFinished });
    return this.#tx.txn(writes, [{ key: 'rotation/current', expect: expectRotation, what: 'the root rotation' }]);
  }
}
