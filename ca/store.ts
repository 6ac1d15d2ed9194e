// The `level` backend of the CA's store (ca/store/records.ts has the interface and the records): the embedded
// default, in <state-dir>/store. One process owns it (LevelDB's lock);
// admin commands go through the running CA's admin socket and never open it.
//
// Layout (sublevels, JSON values):
//   nodes/<nodeId>  NodeRecord — kept as a tombstone (removedAt) after removal so its serials stay denied
//   certs/<serial>  CertRecord — every certificate issued, until pruned after expiry
//   meta/tokens     JoinSecrets
//   meta/jointoken:<id>    JoinTokenRecord — limited join tokens (secret stored as SHA-256 only)
//   meta/operator:<name>   OperatorRecord — operator credentials for remote admin
//   meta/rotation, meta/bundleVersion, meta/retiredRoots, meta/lastRotationFinished — the RotationState
//   integrity/head  { seq, count, digest } of the three above, written in every batch (ca/store-integrity.ts)
// Compare-and-set conditions are checked in the write path, in arrival order (ca/store/level-writes.ts).
// Every write is a `sync: true` batch: a record is on disk before the certificate it describes leaves the CA.
//
// Damage fails closed: `open` checks a copy of an existing store first (store-integrity.ts) and refuses a
// damaged one without touching it. A failed write (disk full) leaves LevelDB's log with a torn record at its
// end; appending after it would make the next start drop everything written since (measured on a full tmpfs:
// the 3 records written after space returned were gone after a restart). So after a failed write the database is closed and reopened before the next one: the torn record is
// then the log's end, which recovery ignores, and writing resumes in a fresh log once space returns.
//
// Files: the store is 0700 and its files 0600 whatever the operator's umask: LevelDB creates files itself,
// at open and from its compaction thread for the life of the process, so `open` sets the process umask to 077
// (files hitless means to share, root.crt, are written with an explicit mode) and narrows any file a
// previous version left wider.
//
// Node records are also held in memory (loaded at open, updated once each write is durable; why:
// ca/store/level-nodes.ts); certificate records stay on disk only.
import { chmod, mkdir, readdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { isMainThread } from 'node:worker_threads';
import { Level } from 'level';
import { HitlessError } from '../shared/errors.js';
import { escapedPrefix } from '../shared/untrusted.js';
import { metrics } from '../shared/metrics.js';
import type { Logger } from '../shared/log.js';
import {
  HeadFile, SetDigest, checkStoreCopy, droppedData, headProblem, readHeadFile, recordHash, scanRecords, storeCorrupt, storeLocked,
  type Head, type Scan, type Tracked,
} from './store-integrity.js';

import {
  isJoinTokenRecord, isOperatorRecord,
  type CaStore, type CertRecord, type Expect, type JoinSecrets, type JoinTokenRecord, type NodeRecord, type OperatorRecord,
  type RotationChange, type RotationState,
} from './store/records.js';
import type { RotationRecord } from './root-rotation.js';
import { GroupCommit, type Queued } from './group-commit.js';
import { LevelNodeCache } from './store/level-nodes.js';
import { acceptInOrder, condition, type Condition, type Json, type Op, type Write } from './store/level-writes.js';

export type { CaStore, CertRecord, JoinSecrets, JoinTokenRecord, NodeRecord, OperatorRecord, Role } from './store/records.js';

// LevelDB silently drops its lock if the same path is opened twice in one process (node-runtime.md §4):
// keep one instance per path.
const openPaths = new Set<string>();

export interface OpenOptions {
  /**
   * The store must already exist (`ca serve`: ca init made it, so a missing store or CURRENT file is damage,
   * where LevelDB would quietly start an empty one). @default false (created when missing: ca init, tests)
   */
  mustExist?: boolean;
  log?: Logger;
}

export class LevelStore implements CaStore {
  readonly backend = 'level';
  readonly #db: Level<string, Json>;
  readonly #nodes;
  readonly #certs;
  readonly #meta;
  readonly #subs;
  readonly #integrity;
  readonly #log: Logger | undefined;
  /** Every node record, as last durably written, and the per-key claims (one public key backs one live node). */
  readonly #nodeCache = new LevelNodeCache();
  /** Limited join tokens and operator credentials, as last durably written (a handful each). */
  readonly #joinTokenCache = new Map<string, JoinTokenRecord>();
  readonly #operatorCache = new Map<string, OperatorRecord>();
  /** Hashes of the stored node and meta records (certificate records are write-once: prune reads theirs). */
  readonly #hashes = { nodes: new Map<string, Buffer>(), meta: new Map<string, Buffer>(), certs: new Map<string, Buffer>() };
  #digest = new SetDigest();
  #seq = 0;
  #headFile: HeadFile | undefined;
  /** The last write failed: reopen before the next (see the header). */
  #broken: unknown;

  private constructor(db: Level<string, Json>, readonly path: string, log: Logger | undefined) {
    this.#db = db;
    this.#log = log;
    this.#nodes = db.sublevel<string, NodeRecord>('nodes', { valueEncoding: 'json' });
    this.#certs = db.sublevel<string, CertRecord>('certs', { valueEncoding: 'json' });
    this.#meta = db.sublevel<string, Json>('meta', { valueEncoding: 'json' });
    this.#subs = { nodes: this.#nodes, certs: this.#certs, meta: this.#meta };
    this.#integrity = db.sublevel<string, Head>('integrity', { valueEncoding: 'json' });
  }

  static async open(dir: string, opts: OpenOptions = {}): Promise<LevelStore> {
    const path = resolve(dir); // one key per directory, however it is spelled ("s", "./s", "/abs/s/")
    if (openPaths.has(path)) throw new HitlessError('STORE_LOCKED', `store ${path} is already open in this process`);
    // LevelDB creates files from its own threads for the life of the process (see the header).
    if (isMainThread) process.umask(0o077);
    const exists = await stat(join(path, 'CURRENT')).then(() => true, () => false);
    let scan: Scan | undefined;
    if (exists || opts.mustExist) {
      try {
        scan = await checkStoreCopy(path);
      } catch (err) {
        if ((err as HitlessError).code === 'STORE_CORRUPT') opts.log?.error('store.corrupt', { path, reason: (err as Error).message });
        throw err;
      }
    } else {
      await mkdir(path, { recursive: true, mode: 0o700 });
    }
    const db = new Level<string, Json>(path, { valueEncoding: 'json', createIfMissing: !exists && !opts.mustExist });
    try {
      await db.open();
    } catch (cause) {
      const inner = (cause as { cause?: { code?: string } }).cause;
      if (inner?.code === 'LEVEL_LOCKED') throw storeLocked(path, cause);
      throw cause;
    }
    openPaths.add(path);
    const store = new LevelStore(db, path, opts.log);
    try {
      await narrowModes(path);
      store.#load(scan ?? { nodes: new Map(), meta: new Map(), digest: new SetDigest(), head: undefined, problems: [] });
      store.#headFile = HeadFile.open(path);
      await store.#loadCredentials();
      if (!scan?.head) {
        // A new store, or one from before integrity records: its head is written now (nothing else writes yet).
        await store.#write([]);
        if (scan) opts.log?.info('store.integrity_initialized', { path, records: store.#digest.count });
      }
    } catch (err) {
      await store.close();
      throw err;
    }
    return store;
  }

  #load(scan: Scan): void {
    this.#nodeCache.clear();
    this.#hashes.nodes.clear();
    for (const [id, n] of scan.nodes) {
      this.#nodeCache.set(id, n.record as unknown as NodeRecord);
      this.#hashes.nodes.set(id, n.hash);
    }
    this.#hashes.meta = new Map(scan.meta);
    this.#digest = scan.digest;
    this.#seq = scan.head?.seq ?? 0;
  }

  async close(): Promise<void> {
    this.#headFile?.close();
    this.#headFile = undefined;
    await this.#db.close();
    openPaths.delete(this.path);
  }

  async getNode(nodeId: string): Promise<NodeRecord | undefined> {
    return this.#nodeCache.get(nodeId);
  }

  async getCert(serial: string): Promise<CertRecord | undefined> {
    await this.#readable();
    return this.#certs.get(serial);
  }

  /** All node records (tombstones included), ordered by node id as LevelDB would list them. */
  async listNodes(): Promise<NodeRecord[]> {
    return this.#nodeCache.list();
  }

  /**
   * Records an issued certificate and the node's new state in one durable batch (with the limited join
   * token's consumed use, for a join with one). Durable before it resolves: the certificate may be handed
   * out only after its record is on disk.
   */
  async recordIssued(
    node: NodeRecord,
    cert: CertRecord,
    opts: { expectNode?: Expect<NodeRecord>; joinToken?: JoinTokenRecord; expectJoinToken?: Expect<JoinTokenRecord> } = {},
  ): Promise<void> {
    const { joinToken } = opts;
    const ops: Op[] = [
      { sub: 'nodes', key: node.nodeId, value: node },
      { sub: 'certs', key: cert.serial, value: cert },
    ];
    const conditions = [condition('nodes', node.nodeId, opts.expectNode, `node ${node.nodeId}`)];
    if (joinToken) {
      ops.push({ sub: 'meta', key: JOIN_TOKEN_PREFIX + joinToken.id, value: joinToken });
      conditions.push(condition('meta', JOIN_TOKEN_PREFIX + joinToken.id, opts.expectJoinToken, `join token ${joinToken.id}`));
    }
    // Claimed synchronously (before any await): of two concurrent writes with one key, the second is refused.
    const h = node.spkiSha256;
    if (h) this.#nodeCache.claimKey(h, node.nodeId, cert.issuedAt);
    try {
      await this.#commit(ops, conditions);
    } finally {
      if (h) this.#nodeCache.releaseKey(h, node.nodeId);
    }
    if (joinToken) this.#joinTokenCache.set(joinToken.id, joinToken);
  }

  putNode(node: NodeRecord, expect?: Expect<NodeRecord>): Promise<void> {
    return this.#commit([{ sub: 'nodes', key: node.nodeId, value: node }], [condition('nodes', node.nodeId, expect, `node ${node.nodeId}`)]);
  }

  // Every write must be synced before its caller goes on: one group commit (ca/group-commit.ts) carries them
  // all, so the integrity head is computed one batch at a time.
  readonly #commits = new GroupCommit<Write>((batch) => this.#writeBatch(batch));
  /** Writes and the synced batches that carried them (writes / batches = the grouping factor). */
  readonly commitStats = { writes: 0, batches: 0 };

  #commit(ops: Op[], conditions: (Condition | undefined)[] = []): Promise<void> {
    return this.#commits.add({ ops, conditions: conditions.filter((c) => c !== undefined) });
  }

  async #writeBatch(batch: Queued<Write>[]): Promise<void> {
    try {
      if (this.#broken) await this.#recover();
      const accepted = await acceptInOrder(batch, (sub, key) => this.#storedRaw(sub, key));
      await this.#write(accepted.flatMap((g) => g.item.ops));
      this.commitStats.writes += accepted.length;
      this.commitStats.batches += 1;
    } catch (err) {
      if (!this.#broken && (err as HitlessError).code !== 'STORE_CORRUPT') this.#broken = err;
      throw err;
    }
  }

  /** A record's durable JSON (null: absent), for compare-and-set. */
  async #storedRaw(sub: Condition['sub'], key: string): Promise<string | null> {
    const value = sub === 'nodes' ? this.#nodeCache.get(key) : await this.#meta.get(key);
    return value === undefined ? null : JSON.stringify(value);
  }

  /** One durable batch of `ops` plus the new integrity head; memory follows only once it is on disk. */
  async #write(ops: Op[]): Promise<void> {
    const digest = this.#digest.clone();
    const after = new Map<string, Buffer | undefined>(); // sub/key → hash after this batch
    const batch = this.#db.batch();
    for (const op of ops) {
      const id = `${op.sub}/${op.key}`;
      const before = after.has(id) ? after.get(id) : (op.hash ?? this.#hashes[op.sub].get(op.key));
      if (before) digest.remove(before);
      if (op.value === undefined) {
        batch.del(op.key, { sublevel: this.#subs[op.sub] });
        after.set(id, undefined);
      } else {
        const raw = JSON.stringify(op.value);
        const hash = recordHash(op.sub, op.key, raw);
        digest.add(hash);
        batch.put(op.key, raw as unknown as Json, { sublevel: this.#subs[op.sub] as never, valueEncoding: 'utf8' });
        after.set(id, hash);
      }
    }
    const head: Head = { seq: this.#seq + 1, count: digest.count, digest: digest.hex() };
    batch.put('head', head, { sublevel: this.#integrity as never });
    const timer = metrics.caStoreCommitSeconds.startTimer();
    await batch.write({ sync: true });
    timer();
    // Durable: now readers may see it. (In arrival order, so the newest write of a node wins.)
    for (const op of ops) {
      if (op.sub === 'certs') continue;
      const hash = after.get(`${op.sub}/${op.key}`);
      if (hash) this.#hashes[op.sub].set(op.key, hash);
      else this.#hashes[op.sub].delete(op.key);
      if (op.sub === 'nodes') this.#nodeCache.set(op.key, op.value as NodeRecord | undefined);
    }
    this.#digest = digest;
    this.#seq = head.seq;
    this.#headFile?.write(head);
  }

  #recovering: Promise<void> | undefined;

  /** One reopen at a time, shared by the writes and reads that wait for it. */
  #recover(): Promise<void> {
    this.#recovering ??= this.#reopen().finally(() => (this.#recovering = undefined));
    return this.#recovering;
  }

  /** Reads work on the open database; one closed by a reopen that failed (disk still full) is retried first. */
  async #readable(): Promise<void> {
    if (this.#broken && this.#db.status !== 'open') await this.#recover();
  }

  /**
   * After a failed write: close and reopen, so LevelDB recovers its log (a torn last record is ignored) and
   * writes a fresh one; then re-read what is durable (the failed batch may or may not have reached the disk).
   * Fails (the caller's write with it) while the disk is still full; the next write tries again.
   */
  async #reopen(): Promise<void> {
    this.#log?.warn('store.reopening', { path: this.path, after: String((this.#broken as Error)?.message ?? this.#broken) });
    await this.#db.close();
    await this.#db.open();
    // Closing a database closes its sublevels too, and reopening it does not reopen them.
    await Promise.all([this.#nodes, this.#certs, this.#meta, this.#integrity].map((sub) => sub.open()));
    const scan = await scanRecords(this.#db as Level<string, unknown>);
    const problem = (await droppedData(this.path, this.path))[0] ?? scan.problems[0] ?? headProblem(scan, await readHeadFile(this.path));
    if (problem) {
      const err = storeCorrupt(this.path, problem);
      this.#log?.error('store.corrupt', { path: this.path, reason: err.message });
      throw err;
    }
    this.#load(scan);
    this.#broken = undefined;
    this.#log?.info('store.reopened', { path: this.path, seq: this.#seq });
  }

  async getJoinSecrets(): Promise<JoinSecrets | undefined> {
    return this.getMeta<JoinSecrets>('tokens');
  }

  async putJoinSecrets(secrets: JoinSecrets): Promise<void> {
    await this.putMeta('tokens', secrets);
  }

  async getMeta<T extends Json>(key: string): Promise<T | undefined> {
    await this.#readable();
    return (await this.#meta.get(key)) as T | undefined;
  }

  async putMeta(key: string, value: Json): Promise<void> {
    await this.#commit([{ sub: 'meta', key, value }]);
  }

  /** Writes (or, for `undefined`, deletes) several meta keys in one durable batch. */
  async putMetaBatch(entries: Record<string, Json | undefined>): Promise<void> {
    await this.#commit(Object.entries(entries).map(([key, value]) => ({ sub: 'meta' as const, key, value })));
  }

  /** Drops certificate records, and tombstones of removed nodes, that expired before `cutoff`. */
  async prune(cutoff: Date, certCutoff: Date = cutoff): Promise<{ certs: number; nodes: number }> {
    await this.#readable();
    const ops: Op[] = [];
    const certs = this.#db.sublevel<string, string>('certs', { valueEncoding: 'utf8' });
    for await (const [key, raw] of certs.iterator()) {
      if (Date.parse((JSON.parse(raw) as CertRecord).notAfter) < certCutoff.getTime()) ops.push({ sub: 'certs', key, hash: recordHash('certs', key, raw) });
    }
    const certCount = ops.length;
    for (const n of this.#nodeCache.values()) {
      if (n.removedAt && Date.parse(n.notAfter) < cutoff.getTime()) ops.push({ sub: 'nodes', key: n.nodeId });
    }
    if (ops.length) await this.#commit(ops);
    return { certs: certCount, nodes: ops.length - certCount };
  }

  // ---- Credentials: limited join tokens and operator credentials (helper "creds") ----
  // Kept in the meta sublevel under their own key prefixes, so the integrity head covers them like every
  // other record; held in memory (a handful each) and updated once each write is durable.

  async #loadCredentials(): Promise<void> {
    this.#joinTokenCache.clear();
    this.#operatorCache.clear();
    for (const prefix of [JOIN_TOKEN_PREFIX, OPERATOR_PREFIX]) {
      for await (const [key, value] of this.#meta.iterator({ gte: prefix, lt: prefix.slice(0, -1) + ';' })) {
        const name = key.slice(prefix.length);
        const isToken = prefix === JOIN_TOKEN_PREFIX;
        if (!(isToken ? isJoinTokenRecord(value, name) : isOperatorRecord(value, name))) {
          throw storeCorrupt(this.path, `record meta/${escapedPrefix(key)} is not ${isToken ? 'a join token' : 'an operator'} record`);
        }
        if (isToken) this.#joinTokenCache.set(name, value as JoinTokenRecord);
        else this.#operatorCache.set(name, value as OperatorRecord);
      }
    }
  }

  async getJoinToken(id: string): Promise<JoinTokenRecord | undefined> {
    return this.#joinTokenCache.get(id);
  }

  async listJoinTokens(): Promise<JoinTokenRecord[]> {
    return [...this.#joinTokenCache.values()].sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));
  }

  /** Creates or updates (revokes) a limited join token, durably, through the same ordered commit as joins. */
  async putJoinToken(token: JoinTokenRecord, expect?: Expect<JoinTokenRecord>): Promise<void> {
    const key = JOIN_TOKEN_PREFIX + token.id;
    await this.#commit([{ sub: 'meta', key, value: token }], [condition('meta', key, expect, `join token ${token.id}`)]);
    this.#joinTokenCache.set(token.id, token);
  }

  /** Drops limited join tokens that expired before `cutoff` (they are listed for a while, then forgotten). */
  async pruneJoinTokens(cutoff: Date): Promise<number> {
    const ids = [...this.#joinTokenCache.values()].filter((t) => Date.parse(t.expiresAt) < cutoff.getTime()).map((t) => t.id);
    if (!ids.length) return 0;
    await this.#commit(ids.map((id) => ({ sub: 'meta' as const, key: JOIN_TOKEN_PREFIX + id })));
    for (const id of ids) this.#joinTokenCache.delete(id);
    return ids.length;
  }

  async getOperator(name: string): Promise<OperatorRecord | undefined> {
    return this.#operatorCache.get(name);
  }

  async listOperators(): Promise<OperatorRecord[]> {
    return [...this.#operatorCache.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  async putOperator(op: OperatorRecord, expect?: Expect<OperatorRecord>): Promise<void> {
    const key = OPERATOR_PREFIX + op.name;
    await this.#commit([{ sub: 'meta', key, value: op }], [condition('meta', key, expect, `operator ${op.name}`)]);
    this.#operatorCache.set(op.name, op);
  }

  // ---- Rotation state (typed records over the meta keys it always used) ----

  async getRotationState(): Promise<RotationState> {
    const rotation = await this.getMeta<RotationRecord & Record<string, unknown>>(ROTATION_META.rotation);
    const version = await this.getMeta<{ v: number }>(ROTATION_META.version);
    const retired = await this.getMeta<{ list: RotationState['retired'] }>(ROTATION_META.retired);
    const lastFinished = await this.getMeta<NonNullable<RotationState['lastFinished']> & Record<string, unknown>>(ROTATION_META.lastFinished);
    return { rotation, bundleVersion: version?.v ?? 1, retired: retired?.list ?? [], lastFinished };
  }

  async updateRotationState(change: RotationChange, expectRotation?: Expect<RotationRecord>): Promise<void> {
    const ops: Op[] = [];
    if (change.rotation !== undefined) ops.push({ sub: 'meta', key: ROTATION_META.rotation, value: (change.rotation ?? undefined) as Json | undefined });
    if (change.bundleVersion !== undefined) ops.push({ sub: 'meta', key: ROTATION_META.version, value: { v: change.bundleVersion } });
    if (change.retired !== undefined) ops.push({ sub: 'meta', key: ROTATION_META.retired, value: { list: change.retired } });
    if (change.lastFinished !== undefined) ops.push({ sub: 'meta', key: ROTATION_META.lastFinished, value: { ...change.lastFinished } });
    await this.#commit(ops, [condition('meta', ROTATION_META.rotation, expectRotation, 'the root rotation')]);
  }

  /** The integrity head of the last durable batch (tests, diagnostics). */
  get head(): Head {
    return { seq: this.#seq, count: this.#digest.count, digest: this.#digest.hex() };
  }
}

// ---- Credential records (helper "creds"): in meta, under these key prefixes ----
const JOIN_TOKEN_PREFIX = 'jointoken:';
const OPERATOR_PREFIX = 'operator:';
// ---- Rotation state: in meta, under the keys it has always had (stores written before the interface load as they are).
const ROTATION_META = { rotation: 'rotation', version: 'bundleVersion', retired: 'retiredRoots', lastFinished: 'lastRotationFinished' } as const;

/** The store directory 0700 and its files 0600 (stores made before this rule had 0755/0644). */
async function narrowModes(dir: string): Promise<void> {
  await chmod(dir, 0o700);
  for (const name of await readdir(dir)) {
    const file = join(dir, name);
    const st = await stat(file).catch(() => undefined);
    if (st?.isFile() && (st.mode & 0o077) !== 0) await chmod(file, 0o600).catch(() => {});
  }
}
