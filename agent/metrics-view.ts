// What an agent shows Prometheus at scrape time (shared/metrics.ts `AgentSnapshot`): read from the same status
// `agent status` prints, so the two never disagree.
import type { AgentSnapshot } from '../shared/metrics.js';
import type { AgentStatus } from './agent-status.js';

export function agentSnapshot(s: AgentStatus): AgentSnapshot {
  return {
    notAfterMs: Date.parse(s.notAfter),
    nextRenewalMs: s.nextRenewalAt ? Date.parse(s.nextRenewalAt) : undefined,
    consecutiveFailures: s.failedAttempts,
    bundleVersion: s.trustBundle.version,
    roots: s.trustBundle.roots.length,
    caWatchConnected: s.caWatchConnected,
    ca: { address: s.ca.address, addresses: s.ca.addresses },
    peers: s.peers.map((p) => ({ address: p.address, connected: p.connected, maxGapMs: p.maxGapMs })),
  };
}
