import type { AgentStatus } from './agent-status.js';

/** Human-readable `agent status`. */
export function formatStatus(s: AgentStatus): string {
  const lines = [
    `node        ${s.nodeId} (${s.role}) in cluster ${s.clusterId}`,
    `serial      ${s.serial}`,
    `issued      ${s.issuedAt}`,
    `not after   ${s.notAfter}`,
    `clock skew  ${s.clockSkewMs === undefined ? '-' : `${s.clockSkewMs >= 0 ? '+' : ''}${(s.clockSkewMs / 1000).toFixed(1)}s (this node minus the CA, measured at the last issuance)`}`,
    `next renew  ${s.nextRenewalAt ?? '-'} (${s.renewer}${s.failedAttempts ? `, ${s.failedAttempts} failed attempts` : ''}; ${s.renewals} renewals so far)`,
    `trust       v${s.trustBundle.version}: ${s.trustBundle.roots.join(', ')}`,
    `ca          ${s.ca.address}${s.ca.addresses.length > 1 ? ` (${s.ca.addresses.indexOf(s.ca.address) + 1} of ${s.ca.addresses.join(', ')}; ${s.ca.failovers} failovers)` : ''}${s.ca.failures ? `, ${s.ca.failures} transport failures in a row` : ''}`,
    `ca watch    ${s.caWatchConnected ? `connected to ${s.ca.watchAddress ?? '?'}` : 'disconnected'}`,
    `listening   port ${s.listen.port}`,
  ];
  // Rotation evidence: the roots behind every live connection and stream of this node (both ends).
  const live = s.liveCredentials;
  if (live) {
    const last = live.lastReport ? `reported v${live.lastReport.bundleVersion} at ${live.lastReport.at}` : 'not reported yet';
    const roots = live.roots.length ? live.roots.map((r) => `sha256:${r.slice(0, 16)}…`).join(', ') : '-';
    lines.push(`live roots  ${roots} (${live.uses} live connections/streams; ${last}${live.unknown ? `; ${live.unknown} certificate(s) of an unknown root` : ''}${live.lastReportError ? `; last report failed: ${live.lastReportError}` : ''})`);
    if (live.roots.length > 1) {
      for (const r of live.roots) lines.push(`  sha256:${r.slice(0, 16)}…  e.g. ${(live.byRoot[r] ?? []).join('; ')}`);
    }
  }
  if (s.peers.length) {
    const rows = [['PEER', 'NODE', 'STREAM STARTS', 'ERRORS', 'REFRESHES', 'LOST', 'MAX GAP', 'PEER SERIAL (STREAM)', 'OUR SERIAL (STREAM)', 'PEER SERIAL (NEW CONN)']];
    for (const p of s.peers) {
      rows.push([p.address, (p.peerNodeId ?? '-').slice(0, 10), String(p.streamStarts), String(p.streamErrors), String(p.refreshes), String(p.heartbeatsLost), `${p.maxGapMs}ms`, p.streamPeerSerial ?? '-', p.streamSelfSerial ?? '-', p.probePeerSerial ?? '-']);
    }
    const w = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
    lines.push('', ...rows.map((r) => r.map((c, i) => c.padEnd(w[i]!)).join('  ').trimEnd()));
  }
  return lines.join('\n') + '\n';
}
