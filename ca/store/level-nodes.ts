// The level store's node records in memory (ca/store.ts): every node record as last durably written, and the
// per-key claim that makes one public key back one live node (the etcd backend's keys/<spkiSha256>, here in
// memory: one process owns the store). Every authenticated call reads its node, and a rotation's reconciler
// scans all of them every tick; from LevelDB that cost 3 reads per renewal and a 10,000-record iteration per
// scan. A record is a few hundred bytes, so a million nodes is a few hundred MB.
import { holdsKey, keyAlreadyBacks, type NodeRecord } from './records.js';

export class LevelNodeCache {
  readonly #nodes = new Map<string, NodeRecord>();
  /** SPKI SHA-256 → the node whose newest durable record carries that key. */
  readonly #keyHolders = new Map<string, string>();
  /** SPKI SHA-256 → the node of an issuing write in flight, so two concurrent writes with one key cannot both be accepted. */
  readonly #keysInFlight = new Map<string, string>();

  get(nodeId: string): NodeRecord | undefined {
    return this.#nodes.get(nodeId);
  }

  values(): IterableIterator<NodeRecord> {
    return this.#nodes.values();
  }

  /** All node records (tombstones included), ordered by node id as LevelDB would list them. */
  list(): NodeRecord[] {
    return [...this.#nodes.values()].sort((a, b) => (a.nodeId < b.nodeId ? -1 : a.nodeId > b.nodeId ? 1 : 0));
  }

  /** Follows a durable node record (undefined: deleted), and the key index with it. */
  set(nodeId: string, node: NodeRecord | undefined): void {
    const old = this.#nodes.get(nodeId)?.spkiSha256;
    if (old && this.#keyHolders.get(old) === nodeId) this.#keyHolders.delete(old);
    if (node === undefined) this.#nodes.delete(nodeId);
    else {
      this.#nodes.set(nodeId, node);
      if (node.spkiSha256 && !node.removedAt) this.#keyHolders.set(node.spkiSha256, nodeId);
    }
  }

  /** Forgets every record (before a reload from disk); claims in flight stay with their writes. */
  clear(): void {
    this.#nodes.clear();
    this.#keyHolders.clear();
  }

  /**
   * Claims `spkiSha256` for `nodeId`'s issuing write, synchronously (before any await): of two concurrent writes
   * with one key, the second is refused, as is a key that another live node's certificate carries at `issuedAt`.
   * The caller releases the claim once its write settled.
   */
  claimKey(spkiSha256: string, nodeId: string, issuedAt: string): void {
    const inFlight = this.#keysInFlight.get(spkiSha256);
    if (inFlight !== undefined && inFlight !== nodeId) throw keyAlreadyBacks(inFlight);
    const holder = this.#keyHolders.get(spkiSha256);
    if (holder !== undefined && holder !== nodeId && holdsKey(this.#nodes.get(holder), spkiSha256, issuedAt)) throw keyAlreadyBacks(holder);
    this.#keysInFlight.set(spkiSha256, nodeId);
  }

  releaseKey(spkiSha256: string, nodeId: string): void {
    if (this.#keysInFlight.get(spkiSha256) === nodeId) this.#keysInFlight.delete(spkiSha256);
  }
}
