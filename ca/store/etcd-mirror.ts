// The etcd store's in-memory copy of every record under its prefix (ca/store/etcd.ts loads it with readPrefix and
// keeps it current from its watch and its own writes): reads are local, a certificate serial finds its node at
// once, and subscribers (ca/replica.ts) hear of every record that changed.
import type { Etcd3, IKeyValue } from 'etcd3';
import { HitlessError } from '../../shared/errors.js';
import type { Logger } from '../../shared/log.js';
import { escapedPrefix } from '../../shared/untrusted.js';
import { isJoinTokenRecord, isOperatorRecord, type CertRecord } from './records.js';

/** Records per range page when the whole prefix is read. */
const PAGE = 1000;

/** A record changed: `kind` is the first key segment (nodes, certs, tokens, rotation, secrets...), `id` the rest. */
export interface StoreChange {
  kind: string;
  id: string;
}

/** One record as etcd holds it: its JSON text, the parsed value and its mod revision. */
export interface Entry {
  raw: string;
  value: unknown;
  mod: number;
}

/** certs/<nodeId>: the node's newest certificate record and the one before it. */
export interface CertPair {
  current: CertRecord;
  previous?: CertRecord;
}

export class EtcdMirror {
  /** Full etcd key → record. */
  readonly #kv = new Map<string, Entry>();
  /** serial → nodeId, for the certificate pairs in #kv. */
  readonly #serials = new Map<string, string>();
  readonly #listeners = new Set<(change: StoreChange) => void>();
  /**
   * Keys this replica found deleted (its own write, or a read) → that revision, kept until the watch has delivered
   * it. The watch can lag behind our own writes (it reconnects to another member after one dies): without this,
   * a put older than our delete, delivered late, brought the record back — a finished rotation's
   * rotation/current reappeared on the new leader and its trust went back to the two-root bundle.
   */
  readonly #deletedAt = new Map<string, number>();
  #rev = 0;

  constructor(
    private readonly prefix: string,
    private readonly log: Logger | undefined,
  ) {}

  /** The newest revision the watch has delivered (our own writes older than this are already applied). */
  get rev(): number {
    return this.#rev;
  }

  /**
   * Everything, as read at revision `rev` (load, or reload after the watch could not resume). Returns the keys
   * whose record this changed (added, gone, or another revision): after a reload they are what the watch would
   * have reported, and the caller emits them (a removal missed in the gap must still reach ca/replica.ts).
   */
  replace(loaded: Map<string, Entry>, rev: number): string[] {
    const before = new Map([...this.#kv].map(([key, e]) => [key, e.mod]));
    this.#kv.clear();
    this.#serials.clear();
    for (const [key, entry] of loaded) this.set(key, entry);
    this.#rev = rev;
    // A delete of ours newer than the snapshot still holds.
    for (const [key, at] of this.#deletedAt) {
      if (at > rev) this.delete(key);
      else this.#deletedAt.delete(key);
    }
    const changed: string[] = [];
    for (const [key, e] of this.#kv) if (before.get(key) !== e.mod) changed.push(key);
    for (const key of before.keys()) if (!this.#kv.has(key)) changed.push(key);
    return changed;
  }

  /** `key` is gone as of revision `rev` (our own write deleted it, or a read at `rev` found nothing). */
  deletedAt(key: string, rev: number): void {
    this.delete(key);
    if (rev > this.#rev) this.#deletedAt.set(key, Math.max(rev, this.#deletedAt.get(key) ?? 0));
  }

  /** A watch event; subscribers hear of it unless we already hold that revision (our own write). */
  apply(kv: IKeyValue, deleted: boolean): void {
    const mod = Number(kv.mod_revision);
    if (mod > this.#rev) this.#rev = mod;
    const key = kv.key.toString();
    const gone = this.#deletedAt.get(key);
    for (const [k, at] of this.#deletedAt) if (at <= this.#rev) this.#deletedAt.delete(k);
    // Older than what we hold: a late event of the lagging watch (our own newer write or delete stands).
    if (gone !== undefined && mod <= gone) return;
    const current = this.#kv.get(key);
    if (current && current.mod >= mod) return;
    if (deleted) this.delete(key);
    else this.set(key, parseEntry(kv, this.prefix));
    this.emit(key);
  }

  subscribe(listener: (change: StoreChange) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Tells every subscriber that the record at (full) `key` changed; a subscriber that throws is logged. */
  emit(key: string): void {
    if (!this.#listeners.size) return;
    const rel = key.slice(this.prefix.length);
    const slash = rel.indexOf('/');
    const change: StoreChange = slash < 0 ? { kind: rel, id: '' } : { kind: rel.slice(0, slash), id: rel.slice(slash + 1) };
    for (const l of this.#listeners) {
      try {
        l(change);
      } catch (err) {
        this.log?.error('store.listener_failed', { err: String((err as Error).message) });
      }
    }
  }

  entry(key: string): Entry | undefined {
    return this.#kv.get(key);
  }

  entries(): IterableIterator<[string, Entry]> {
    return this.#kv.entries();
  }

  nodeOfSerial(serial: string): string | undefined {
    return this.#serials.get(serial);
  }

  set(key: string, entry: Entry): void {
    this.delete(key);
    this.#kv.set(key, entry);
    if (key.startsWith(this.prefix + 'certs/')) {
      const pair = entry.value as CertPair;
      const nodeId = key.slice(this.prefix.length + 'certs/'.length);
      for (const c of [pair.current, pair.previous]) if (c) this.#serials.set(c.serial, nodeId);
    }
  }

  delete(key: string): void {
    const old = this.#kv.get(key);
    if (!old) return;
    this.#kv.delete(key);
    if (key.startsWith(this.prefix + 'certs/')) {
      const pair = old.value as CertPair;
      for (const c of [pair.current, pair.previous]) if (c) this.#serials.delete(c.serial);
    }
  }

  /** The value at `key` under the prefix. */
  get<T>(key: string): T | undefined {
    return this.#kv.get(this.prefix + key)?.value as T | undefined;
  }

  /** Every value whose key under the prefix starts with `sub`. */
  list<T>(sub: string): T[] {
    const p = this.prefix + sub;
    const out: T[] = [];
    for (const [key, e] of this.#kv) if (key.startsWith(p)) out.push(e.value as T);
    return out;
  }
}

/** The first key after every key that starts with `prefix`. */
function prefixEnd(prefix: string): string {
  const b = Buffer.from(prefix);
  b[b.length - 1]! += 1;
  return b.toString();
}

export function parseEntry(kv: IKeyValue, prefix: string): Entry {
  const raw = kv.value.toString();
  const rel = kv.key.toString().slice(prefix.length);
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (cause) {
    // Damage fails closed, loudly: a record we cannot read is never guessed at.
    throw corrupt(rel, 'is not JSON', raw, cause);
  }
  // Credentials decide who may join and who may administer: a record of the wrong shape is refused here (as the
  // level store does at open), not met later as a TypeError in the middle of a join or an admin call.
  if (rel.startsWith('tokens/') && !isJoinTokenRecord(value, rel.slice('tokens/'.length))) throw corrupt(rel, 'is not a join token record', raw);
  if (rel.startsWith('operators/') && !isOperatorRecord(value, rel.slice('operators/'.length))) throw corrupt(rel, 'is not an operator record', raw);
  return { raw, value, mod: Number(kv.mod_revision) };
}

/** STORE_CORRUPT naming the record (its key and a short escaped prefix of its value: never a whole secret). */
function corrupt(rel: string, what: string, raw: string, cause?: unknown): HitlessError {
  return new HitlessError('STORE_CORRUPT', `etcd record ${escapedPrefix(rel)} ${what}: ${escapedPrefix(raw)}`, {
    cause,
    hint: 'restore the etcd cluster from a snapshot (etcdctl snapshot restore), or delete the damaged record if it is not needed; see README "High availability"',
  });
}

/** Every record under `prefix`, read in pages at one revision (a consistent snapshot), and that revision. */
export async function readPrefix(client: Etcd3, prefix: string): Promise<{ loaded: Map<string, Entry>; rev: number }> {
  const end = prefixEnd(prefix);
  let start = prefix;
  let rev: number | undefined;
  const loaded = new Map<string, Entry>();
  for (;;) {
    let range = client.getAll().inRange({ start, end }).sort('Key', 'Ascend').limit(PAGE);
    if (rev !== undefined) range = range.revision(rev);
    const res = await range.exec();
    rev ??= Number(res.header.revision);
    for (const kv of res.kvs) loaded.set(kv.key.toString(), parseEntry(kv, prefix));
    if (!res.more || res.kvs.length === 0) break;
    start = res.kvs[res.kvs.length - 1]!.key.toString() + '\0';
  }
  return { loaded, rev };
}
