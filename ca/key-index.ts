// One public key backs at most one live node. The index maps the SHA-256 of a key to the node whose newest
// certificate carries it, built from the store's node records once and kept current by the Authority (which
// serializes every check-then-issue per key). A record is the truth: an index entry counts only while its
// node is live (not removed, newest certificate unexpired) and still carries that key.
// This index answers early and for this process; the store's issuing write is what makes it hold across CA
// replicas (a per-key claim, compare-and-set: ca/store/etcd.ts keys/<spkiSha256>, ca/store/level-nodes.ts in memory).
import type { CaStore, NodeRecord } from './store.js';

export class LiveKeyIndex {
  #index: Promise<Map<string, string>> | undefined;

  constructor(private readonly store: CaStore) {}

  #keys(): Promise<Map<string, string>> {
    this.#index ??= this.store.listNodes().then((nodes) => {
      const index = new Map<string, string>();
      for (const n of nodes) if (n.spkiSha256 && !n.removedAt) index.set(n.spkiSha256, n.nodeId);
      return index;
    });
    return this.#index;
  }

  /** The live node other than `self` whose newest certificate carries the key, if any. */
  async otherHolder(spkiSha256: string, self: string | undefined, now: Date): Promise<string | undefined> {
    const holderId = (await this.#keys()).get(spkiSha256);
    if (!holderId || holderId === self) return undefined;
    const holder = await this.store.getNode(holderId);
    const live = holder && !holder.removedAt && holder.spkiSha256 === spkiSha256 && Date.parse(holder.notAfter) > now.getTime();
    return live ? holderId : undefined;
  }

  /** `nodeId`'s newest certificate now carries `spkiSha256`; its previous key (if other) is dropped. */
  async issued(nodeId: string, spkiSha256: string, previous: NodeRecord | undefined): Promise<void> {
    const keys = await this.#keys();
    keys.set(spkiSha256, nodeId);
    const old = previous?.spkiSha256;
    if (old && old !== spkiSha256 && keys.get(old) === nodeId) keys.delete(old);
  }

  /** The node was removed: its key is free again. */
  async removed(node: NodeRecord): Promise<void> {
    if (node.spkiSha256 && (await this.#keys()).get(node.spkiSha256) === node.nodeId) (await this.#keys()).delete(node.spkiSha256);
  }
}
