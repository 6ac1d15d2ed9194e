// What the CA shows Prometheus at scrape time (shared/metrics.ts `CaSnapshot`): counts over the in-memory
// node records, the expiry of every root and of the CA's own TLS certificate, retired roots with the nodes
// still on them, and the root rotation's progress. Read-only; nothing here is kept between scrapes except
// parsed root certificates (a handful, keyed by PEM).
import type { Clock } from '../shared/clock.js';
import type { CaSnapshot } from '../shared/metrics.js';
import { parseCertificate } from '../shared/pki/certs.js';
import type { Authority } from './authority.js';
import type { CaStore } from './store.js';
import type { RotationManager } from './rotation-manager.js';
import type { CaServerIdentity } from './server-identity.js';

export function caSnapshotSource(d: {
  authority: Authority;
  store: CaStore;
  rotation: RotationManager;
  identity: CaServerIdentity;
  clock: Clock;
}): () => Promise<CaSnapshot> {
  const parsed = new Map<string, { fingerprint: string; notAfterMs: number }>();
  const info = (pem: string) => {
    let hit = parsed.get(pem);
    if (!hit) {
      if (parsed.size > 32) parsed.clear(); // roots change a few times a year; the CA leaf twice a lifetime
      const c = parseCertificate(pem);
      hit = { fingerprint: c.fingerprint, notAfterMs: c.notAfter.getTime() };
      parsed.set(pem, hit);
    }
    return hit;
  };
  return async () => {
    const now = d.clock.now().getTime();
    const trust = d.authority.trust;
    const nodes = await d.store.listNodes();
    const counts = new Map<string, CaSnapshot['nodes'][number]>();
    const onRoot = new Map<string, number>();
    for (const n of nodes) {
      const state = n.removedAt ? 'removed' : Date.parse(n.notAfter) > now ? 'active' : 'expired';
      const key = `${n.role}/${state}`;
      const c = counts.get(key) ?? { role: n.role, state, count: 0 };
      c.count++;
      counts.set(key, c);
      if (state === 'active') onRoot.set(n.issuerRoot, (onRoot.get(n.issuerRoot) ?? 0) + 1);
    }
    const rotation = await d.rotation.status();
    const blockers = new Map<string, number>();
    for (const b of rotation.blocking) blockers.set(b.reason, (blockers.get(b.reason) ?? 0) + 1);
    const leaf = d.identity.provider.current?.chainPem[0];
    return {
      nodes: [...counts.values()],
      roots: trust.rootsPem.map(info),
      serverCertNotAfterMs: leaf ? info(leaf).notAfterMs : undefined,
      retired: trust.retired.map((r) => {
        const { fingerprint } = info(r.rootPem);
        return { fingerprint, untilMs: Date.parse(r.until), nodes: onRoot.get(fingerprint) ?? 0 };
      }),
      rotation: {
        phase: rotation.phase,
        converged: rotation.convergedAt !== undefined,
        startedAtMs: rotation.startedAt ? Date.parse(rotation.startedAt) : undefined,
        nodesTotal: rotation.nodesTotal,
        nodesReissued: rotation.nodesReissued,
        bundlesAcknowledged: rotation.bundlesAcknowledged,
        blockers: [...blockers].map(([reason, count]) => ({ reason, count })),
      },
    };
  };
}
