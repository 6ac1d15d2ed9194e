// Worker thread of figure 6 (fleet.ts): the simulated nodes' side of their evidence reports. Each request is
// one node's report: an mTLS connection of its own to the CA's port with the node's new key and chain (as
// agent/node-agent.ts #sendEvidence makes it), a GetTrustBundle on it to read the CA certificate the connection
// presents (what the node's watch would run on), then ReportLiveCredentials naming the issuing roots of the
// node's leaf and of that CA certificate (agent/live-credentials.ts). On a thread of its own so that the
// clients' TLS work (10,000 handshakes) runs beside the CA's event loop rather than on it, as it would on
// 10,000 machines; both still share this machine's cores.
// Messages in: ReportRequest; out: ReportReply (same id).
import { parentPort, workerData } from 'node:worker_threads';
import type { ClientUnaryCall } from '@grpc/grpc-js';
import { CaClient, staticConnection } from '../../agent/ca-client.js';
import { unaryCall } from '../../shared/grpc/call.js';
import { issuingRoot } from '../../shared/pki/chain.js';
import { pemToDer } from '../../shared/pki/pem.js';

export interface ReportRequest { id: number; keyPem: string; chainPem: string[]; rootsPem: string[]; bundleVersion: number }
export interface ReportReply { id: number; roots?: string[]; error?: string }

const { address } = workerData as { address: string };
/** The CA's certificate is the same on most connections: its root is looked up once per certificate. */
const rootOf = new Map<string, string | undefined>();

async function report(r: ReportRequest): Promise<string[]> {
  const client = new CaClient(address, staticConnection(r.rootsPem, { keyPem: r.keyPem, chainPem: r.chainPem }));
  try {
    let first: ClientUnaryCall | undefined;
    await unaryCall((o, cb) => (first = client.raw.GetTrustBundle({}, o, cb)), 30_000);
    const caRaw = first?.getAuthContext()?.sslPeerCertificate?.raw;
    const caKey = caRaw ? `${caRaw.toString('base64')}|${r.rootsPem.length}` : '';
    if (caRaw && !rootOf.has(caKey)) rootOf.set(caKey, issuingRoot(new Uint8Array(caRaw), r.rootsPem));
    const roots = new Set<string>();
    for (const root of [issuingRoot(pemToDer(r.chainPem[0]!), r.rootsPem), caRaw ? rootOf.get(caKey) : undefined]) {
      if (!root) throw new Error('a certificate of the report connection chains to no root of the bundle');
      roots.add(root);
    }
    await unaryCall((o, cb) => client.raw.ReportLiveCredentials({ bundle_version: String(r.bundleVersion), issuer_root_fingerprints: [...roots] }, o, cb), 30_000);
    return [...roots];
  } finally {
    client.close();
  }
}

parentPort!.on('message', (r: ReportRequest) => {
  report(r).then(
    (roots) => parentPort!.postMessage({ id: r.id, roots } satisfies ReportReply),
    (err: unknown) => parentPort!.postMessage({ id: r.id, error: (err as Error).message } satisfies ReportReply),
  );
});
