// What `agent status` shows (and `--json` prints): the contract between the running agent (NodeAgent.status()),
// its status socket (agent/status-server.ts), the text format (agent/status-format.ts) and the metrics view.
import type { CaEndpointStatus } from './ca-failover.js';
import type { PeerCounters } from './peer-link.js';

export interface AgentStatus {
  nodeId: string;
  role: string;
  clusterId: string;
  serial: string;
  issuedAt: string;
  notAfter: string;
  nextRenewalAt?: string;
  /** Our clock minus the CA's, measured when the current certificate arrived (includes one network delay). */
  clockSkewMs?: number;
  renewer: string;
  renewals: number;
  failedAttempts: number;
  trustBundle: { version: number; roots: string[] };
  caWatchConnected: boolean;
  /** The CA address in use (and the watch's, while it is up), every --ca address, failovers so far. */
  ca: CaEndpointStatus & { watchAddress?: string };
  removedNodeIds: string[];
  listen: { port: number };
  peers: PeerCounters[];
  /**
   * Rotation evidence: the roots that issued the certificates (ours and the other end's) of every live
   * connection and stream of this node, and what was last reported to the CA (ReportLiveCredentials).
   */
  liveCredentials: {
    roots: string[];
    uses: number;
    unknown: number;
    byRoot: Record<string, string[]>;
    reportsSent: number;
    reportFailures: number;
    lastReport?: { bundleVersion: number; roots: string[]; at: string };
    lastReportError?: string;
  };
}
