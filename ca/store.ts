// The CA's durable state in an embedded `level` store (<state-dir>/store). One process owns it (LevelDB's lock);
// admin commands go through the running CA's admin socket and never open it.
//
// Layout (sublevels, JSON values):
//   nodes/<nodeId>  NodeRecord — kept as a tombstone (removedAt) after removal so its serials stay denied
//   certs/<serial>  CertRecord — every certificate issued, until pruned after expiry
//   meta/tokens     JoinSecrets
// Every write that precedes handing a certificate to a client is a `sync: true` batch: the record is on disk
// before the certificate leaves the CA.
//
// Node records are also held in memory (loaded at open, updated once each write is durable): every
// authenticated call reads its node, and a rotation's reconciler scans all of them every tick; from LevelDB
// that cost 3 reads per renewal and a 10,000-record iteration per scan. A record is a few hundred bytes,
// so a million nodes is a few hundred MB; certificate records stay on disk only.
import { resolve } from 'node:path';
import { Level } from 'level';
import { HitlessError } from '../shared/errors.js';
import { metrics } from '../shared/metrics.js';

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

type Json = NodeRecord | CertRecord | JoinSecrets | Record<string, unknown>;
/** A write that goes through the group commit (see #commit). */
type Write = { node: NodeRecord } | { cert: CertRecord };

// LevelDB silently drops its lock if the same path is opened twice in one process (node-runtime.md §4):
// keep one instance per path.
const openPaths = new Set<string>();

export class CaStore {
  readonly #db: Level<string, Json>;
  readonly #nodes;
  readonly #certs;
  readonly #meta;
  /** Every node record, as last durably written. */
  readonly #nodeCache = new Map<string, NodeRecord>();

  private constructor(db: Level<string, Json>, readonly path: string) {
    this.#db = db;
    this.#nodes = db.sublevel<string, NodeRecord>('nodes', { valueEncoding: 'json' });
    this.#certs = db.sublevel<string, CertRecord>('certs', { valueEncoding: 'json' });
    this.#meta = db.sublevel<string, Json>('meta', { valueEncoding: 'json' });
  }

  static async open(dir: string): Promise<CaStore> {
    const path = resolve(dir); // one key per directory, however it is spelled ("s", "./s", "/abs/s/")
    if (openPaths.has(path)) throw new HitlessError('STORE_LOCKED', `store ${path} is already open in this process`);
    const db = new Level<string, Json>(path, { valueEncoding: 'json' });
    try {
      await db.open();
    } catch (cause) {
      const inner = (cause as { cause?: { code?: string } }).cause;
      if (inner?.code === 'LEVEL_LOCKED') {
        throw new HitlessError('STORE_LOCKED', `the CA state in ${path} is in use by another process`, {
          cause,
          hint: "another 'ca serve' runs on this state dir; use the admin commands (ca nodes, ca join-token ...) against it",
        });
      }
      throw cause;
    }
    openPaths.add(path);
    const store = new CaStore(db, path);
    for await (const n of store.#nodes.values()) store.#nodeCache.set(n.nodeId, n);
    return store;
  }

  async close(): Promise<void> {
    await this.#db.close();
    openPaths.delete(this.path);
  }

  async getNode(nodeId: string): Promise<NodeRecord | undefined> {
    return this.#nodeCache.get(nodeId);
  }

  async getCert(serial: string): Promise<CertRecord | undefined> {
    return this.#certs.get(serial);
  }

  /** All node records (tombstones included), ordered by node id as LevelDB would list them. */
  async listNodes(): Promise<NodeRecord[]> {
    return [...this.#nodeCache.values()].sort((a, b) => (a.nodeId < b.nodeId ? -1 : a.nodeId > b.nodeId ? 1 : 0));
  }

  /** Records an issued certificate and the node's new state in one durable batch. */
  /** Durable before it resolves: the certificate may be handed out only after its record is on disk. */
  recordIssued(node: NodeRecord, cert: CertRecord): Promise<void> {
    return this.#commit([{ node }, { cert }]);
  }

  putNode(node: NodeRecord): Promise<void> {
    return this.#commit([{ node }]);
  }

  // Group commit. Every write must be synced before its caller goes on, and one fsync costs far more than
  // the write itself; so writes that arrive while a synced batch is in flight wait and go together in the
  // next one. Each caller still resolves only once its own operations are durable, in arrival order.
  #queue: { writes: Write[]; resolve: () => void; reject: (err: unknown) => void }[] = [];
  #flushing = false;
  /** Writes and the synced batches that carried them (writes / batches = the grouping factor). */
  readonly commitStats = { writes: 0, batches: 0 };

  #commit(writes: Write[]): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ writes, resolve, reject });
      if (!this.#flushing) void this.#flush();
    });
  }

  async #flush(): Promise<void> {
    this.#flushing = true;
    while (this.#queue.length) {
      const group = this.#queue.splice(0);
      try {
        const batch = this.#db.batch();
        for (const w of group.flatMap((g) => g.writes)) {
          if ('node' in w) batch.put(w.node.nodeId, w.node, { sublevel: this.#nodes });
          else batch.put(w.cert.serial, w.cert, { sublevel: this.#certs });
        }
        const timer = metrics.caStoreCommitSeconds.startTimer();
        await batch.write({ sync: true });
        timer();
        // Durable: now readers may see it. (In arrival order, so the newest write of a node wins.)
        for (const w of group.flatMap((g) => g.writes)) if ('node' in w) this.#nodeCache.set(w.node.nodeId, w.node);
        this.commitStats.writes += group.length;
        this.commitStats.batches += 1;
        for (const g of group) g.resolve();
      } catch (err) {
        for (const g of group) g.reject(err);
      }
    }
    this.#flushing = false;
  }

  async getJoinSecrets(): Promise<JoinSecrets | undefined> {
    return (await this.#meta.get('tokens')) as JoinSecrets | undefined;
  }

  async putJoinSecrets(secrets: JoinSecrets): Promise<void> {
    await this.putMeta('tokens', secrets);
  }

  async getMeta<T extends Json>(key: string): Promise<T | undefined> {
    return (await this.#meta.get(key)) as T | undefined;
  }

  async putMeta(key: string, value: Json): Promise<void> {
    await this.#db.batch([{ type: 'put', sublevel: this.#meta, key, value }], { sync: true });
  }

  /** Writes (or, for `undefined`, deletes) several meta keys in one durable batch. */
  async putMetaBatch(entries: Record<string, Json | undefined>): Promise<void> {
    await this.#db.batch(
      Object.entries(entries).map(([key, value]) =>
        value === undefined
          ? { type: 'del' as const, sublevel: this.#meta, key }
          : { type: 'put' as const, sublevel: this.#meta, key, value },
      ),
      { sync: true },
    );
  }

  /** Drops certificate records, and tombstones of removed nodes, that expired before `cutoff`. */
  async prune(cutoff: Date): Promise<{ certs: number; nodes: number }> {
    const certKeys: string[] = [];
    for await (const c of this.#certs.values()) if (Date.parse(c.notAfter) < cutoff.getTime()) certKeys.push(c.serial);
    const nodeKeys: string[] = [];
    for (const n of this.#nodeCache.values()) {
      if (n.removedAt && Date.parse(n.notAfter) < cutoff.getTime()) nodeKeys.push(n.nodeId);
    }
    await this.#db.batch([
      ...certKeys.map((key) => ({ type: 'del' as const, sublevel: this.#certs, key })),
      ...nodeKeys.map((key) => ({ type: 'del' as const, sublevel: this.#nodes, key })),
    ]);
    for (const key of nodeKeys) this.#nodeCache.delete(key);
    return { certs: certKeys.length, nodes: nodeKeys.length };
  }
}
