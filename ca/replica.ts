// A replica follows what other replicas write (etcd watch → EtcdStore.subscribe) and tells its own listeners
// through the Authority's events, so every agent's WatchTrustBundle stream hears of a change whichever replica
// made it:
//   rotation/*, cluster/root   → the trust is re-read (loadTrust) and, if it changed, Authority.setTrust():
//                                watch streams push the new bundle, the CA's own TLS identity follows.
//   nodes/<id>                 → the node's key enters the one-key-per-live-node index (ca/key-index.ts);
//                                with removedAt, 'node-removed': streams push the removed-node list.
// Trust reloads are serialized and coalesced (a burst of rotation writes costs one unseal).
import type { Logger } from '../shared/log.js';
import type { Authority, TrustState } from './authority.js';
import type { EtcdStore, StoreChange } from './store/etcd.js';

export function followStore(d: { store: EtcdStore; authority: Authority; loadTrust: () => Promise<TrustState>; log: Logger }): () => void {
  const { store, authority, log } = d;
  const announced = new Set<string>();
  void store.listNodes().then((nodes) => nodes.forEach((n) => n.removedAt && announced.add(n.nodeId)));
  // `reloading` is cleared in the same synchronous step as the last look at `again`: a change reported after
  // that look starts a new reload. (Clearing it in a .finally() left a microtask-wide gap in which a change
  // reported by the store's watch handler set `again` for a loop that had already ended: a lost wake-up, and
  // a replica kept an old trust after a rotation finished elsewhere.)
  let reloading = false;
  let again = false;

  const reload = async (): Promise<void> => {
    for (;;) {
      again = false;
      try {
        const next = await d.loadTrust();
        if (next.version < authority.trust.version) {
          // Bundle versions only grow (a finish or abort takes the next one). A lower one is a read from between
          // two writes of a step this replica took meanwhile — a finish replaces the root, then clears the
          // rotation; a follow that read in between came back after the finish's own setTrust and put the
          // two-root bundle back (seen on a new leader in test/ha/failover.test.ts). The later write's own change
          // event reloads again.
          log.info('ca.trust_follow_stale', { version: next.version, holding: authority.trust.version });
        } else if (!sameTrust(next, authority.trust)) {
          log.info('ca.trust_followed', { version: next.version, from: authority.trust.version });
          authority.setTrust(next);
        }
      } catch (err) {
        log.error('ca.trust_follow_failed', { err: String((err as Error).message).slice(0, 200) });
      }
      if (!again) {
        reloading = false;
        return;
      }
    }
  };

  const onChange = (c: StoreChange): void => {
    if (c.kind === 'rotation' || (c.kind === 'cluster' && c.id === 'root')) {
      if (reloading) {
        again = true;
        return;
      }
      reloading = true;
      void reload();
      return;
    }
    if (c.kind === 'nodes') {
      void store.getNode(c.id).then(async (n) => {
        if (!n) return;
        await authority.nodeWrittenElsewhere(n);
        if (!n.removedAt || announced.has(c.id)) return;
        announced.add(c.id);
        authority.emit('node-removed', c.id);
      }).catch((err: unknown) => log.warn('ca.node_follow_failed', { nodeId: c.id, err: String((err as Error).message).slice(0, 200) }));
    }
  };
  return store.subscribe(onChange);
}

/** Same bundle, same signing root: nothing for streams or the TLS identity to do. */
function sameTrust(a: TrustState, b: TrustState): boolean {
  return (
    a.version === b.version &&
    a.tokenRootPem === b.tokenRootPem &&
    a.signer.rootFingerprint === b.signer.rootFingerprint &&
    a.rootsPem.join() === b.rootsPem.join() &&
    a.crossSignedPem.join() === b.crossSignedPem.join() &&
    a.retired.map((r) => r.rootPem + r.until).join() === b.retired.map((r) => r.rootPem + r.until).join()
  );
}
