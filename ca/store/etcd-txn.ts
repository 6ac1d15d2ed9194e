// The write path of the etcd store (ca/store/etcd.ts): conditional record writes become etcd transactions,
// grouped while one is in flight, and the replica's memory (the mirror) follows its own writes at once rather
// than at the watch's pace. Also the one place where an etcd failure becomes STORE_UNAVAILABLE, and where a
// replica known to lack a quorum refuses writes at once.
import type { Etcd3 } from 'etcd3';
import { HitlessError } from '../../shared/errors.js';
import type { Logger } from '../../shared/log.js';
import { GroupCommit, type Queued } from '../group-commit.js';
import { storeConflict, type Expect } from './records.js';
import { parseEntry, type EtcdMirror } from './etcd-mirror.js';

/** Operations per transaction (etcd's default --max-txn-ops is 128). */
export const TXN_OPS = 100;

export interface Write {
  key: string;
  /** null: delete. */
  value: unknown;
}

/** A key's mod revision must be `mod` (0: the key must not exist). */
interface Compare {
  key: string;
  mod: number;
}

interface PendingWrite {
  writes: Write[];
  conditions: Condition[];
  compares: Compare[];
}

export interface Condition {
  key: string;
  expect: Expect<object>;
  what: string;
}

export class EtcdTransactions {
  constructor(
    private readonly client: Etcd3,
    private readonly prefix: string,
    private readonly mirror: EtcdMirror,
    private readonly log: Logger | undefined,
  ) {}

  /** Resolves once every write queued so far has settled (close). */
  settled(): Promise<void> {
    return this.#group.settled();
  }

  /**
   * One write: all of `writes`, only if every condition holds; memory follows once etcd has it. Conditions
   * are checked against what this replica holds first (a record that moved already fails at once), then by
   * etcd (mod revision, or "does not exist").
   *
   * Group commit, as the level store does: writes that arrive while a transaction is in flight go together in
   * the next one (disjoint keys, at most TXN_OPS operations), so a renewal storm costs etcd a few large
   * transactions rather than one per node. If the group's transaction fails a comparison, its writes are
   * retried one by one, so each caller gets its own verdict.
   */
  txn(writes: Write[], conditions: Condition[] = []): Promise<void> {
    // Known to lack a quorum: refuse at once, so a caller (an agent renewing) moves to another replica now
    // instead of after its deadline. Writes already queued still try; the next good probe reopens.
    if (this.#noQuorum) return Promise.reject(this.#unavailable('write', new Error('no quorum read succeeded lately')));
    const compares: Compare[] = [];
    for (const cond of conditions) {
      if (cond.expect === undefined) continue;
      const key = this.prefix + cond.key;
      const held = this.mirror.entry(key);
      if (cond.expect === null) {
        if (held) return Promise.reject(storeConflict(cond.what));
        compares.push({ key, mod: 0 });
      } else {
        // Decided on a record other than the one we hold: it moved already.
        if (!held || held.raw !== JSON.stringify(cond.expect)) return Promise.reject(storeConflict(cond.what));
        compares.push({ key, mod: held.mod });
      }
    }
    return this.#group.add({ writes, conditions, compares });
  }

  /** Writes arriving while a transaction is in flight go together (ca/group-commit.ts; see txn). */
  readonly #group = new GroupCommit<PendingWrite>((batch) => this.#writeBatch(batch));
  /** Writes and the transactions that carried them (writes / txns = the grouping factor). */
  readonly commitStats = { writes: 0, txns: 0 };

  /**
   * One batch of queued writes: cut into transactions of disjoint keys and at most TXN_OPS operations, in
   * arrival order. Each write settles as its transaction lands, so an etcd failure later in the batch does
   * not un-resolve one already written.
   */
  async #writeBatch(batch: Queued<PendingWrite>[]): Promise<void> {
    let i = 0;
    while (i < batch.length) {
      const group: Queued<PendingWrite>[] = [];
      const keys = new Set<string>();
      let size = 0;
      for (; i < batch.length; i++) {
        const p = batch[i]!.item;
        const touched = [...p.writes.map((w) => this.prefix + w.key), ...p.compares.map((c) => c.key)];
        const n = p.writes.length + p.compares.length;
        if (group.length && (size + n > TXN_OPS || touched.some((k) => keys.has(k)))) break;
        group.push(batch[i]!);
        for (const k of touched) keys.add(k);
        size += n;
      }
      if (group.length > 1 && (await this.#commit(group.map((q) => q.item)))) {
        for (const q of group) q.resolve();
        continue;
      }
      // One write, or a group in which someone's comparison failed: each on its own, so only losers are refused.
      for (const q of group) {
        if (await this.#commit([q.item])) q.resolve();
        else {
          // Another replica won: fetch what it wrote, so the caller's retry decides on it (the watch may lag).
          await this.refresh(q.item.compares.map((c) => c.key.slice(this.prefix.length))).catch(() => {});
          q.reject(storeConflict(q.item.conditions.find((x) => x.expect !== undefined)?.what ?? 'a record'));
        }
      }
    }
  }

  /** One etcd transaction for `group`; false when a comparison failed (nothing written). */
  async #commit(group: PendingWrite[]): Promise<boolean> {
    const c = this.client;
    let txn = c.if(this.prefix + 'secrets', 'Version', '>', -1); // always true: a transaction needs one comparison
    for (const p of group) {
      for (const cmp of p.compares) txn = cmp.mod === 0 ? txn.and(cmp.key, 'Create', '==', 0) : txn.and(cmp.key, 'Mod', '==', cmp.mod);
    }
    const writes = group.flatMap((p) => p.writes);
    const ops = writes.map((w) => (w.value === null ? c.delete().key(this.prefix + w.key) : c.put(this.prefix + w.key).value(JSON.stringify(w.value))));
    const res = await this.call('write', () => txn.then(...ops).commit());
    if (!res.succeeded) return false;
    this.commitStats.writes += group.length;
    this.commitStats.txns += 1;
    const rev = Number(res.header.revision);
    if (rev <= this.mirror.rev) return true; // the watch delivered it (and maybe newer writes) already
    for (const w of writes) {
      const key = this.prefix + w.key;
      if (w.value === null) this.mirror.deletedAt(key, rev);
      else {
        const raw = JSON.stringify(w.value);
        this.mirror.set(key, { raw, value: JSON.parse(raw), mod: rev });
      }
    }
    for (const w of writes) this.mirror.emit(this.prefix + w.key);
    return true;
  }

  /** Re-reads `keys` (relative to the prefix) from etcd into memory: read-your-writes across replicas. */
  async refresh(keys: string[]): Promise<void> {
    for (const k of keys) {
      const key = this.prefix + k;
      const res = await this.client.get(key).exec();
      const kv = res.kvs[0];
      const held = this.mirror.entry(key);
      if (!kv) {
        if (held && held.mod <= Number(res.header.revision)) this.mirror.deletedAt(key, Number(res.header.revision));
      } else if (!held || held.mod < Number(kv.mod_revision)) {
        this.mirror.set(key, parseEntry(kv, this.prefix));
        this.mirror.emit(key);
      }
    }
  }

  /** etcd failures become STORE_UNAVAILABLE (the CA refuses, clearly); our own errors pass through. */
  async call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (cause) {
      if (cause instanceof HitlessError) throw cause;
      this.log?.error('store.etcd_unavailable', { what, err: String((cause as Error).message).slice(0, 200) });
      throw this.#unavailable(what, cause);
    }
  }

  #unavailable(what: string, cause: unknown): HitlessError {
    return new HitlessError('STORE_UNAVAILABLE', `the etcd store is unavailable (${what}): ${String((cause as Error).message).slice(0, 120)}`, {
      cause,
      hint: "check that a quorum of etcd members is up and reachable ('etcdctl endpoint health'); the CA issues nothing until it is",
    });
  }

  #noQuorum = false;

  /** The verdict of ca/store-availability.ts: while false, writes are refused at once (see txn). */
  setQuorum(available: boolean): void {
    this.#noQuorum = !available;
  }
}
