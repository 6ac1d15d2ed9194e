// Child process of figure 6 (fleet.ts): the simulated nodes' side of their evidence reports, in a process of
// its own so that the CA's process CPU is the CA's alone (the guide: where a load generator shares the cores,
// report the server's own CPU per operation).
//
// Each request is one node's report: an mTLS connection of its own to the CA's port with the node's new key and
// chain, verified as the agent verifies the CA (the roots of its bundle, the name `hitless-ca`), then one
// ReportLiveCredentials on it naming the issuing roots of the node's leaf and of the CA certificate that this
// connection's handshake presented (agent/live-credentials.ts names the roots of every live connection's two
// certificates the same way). The client is a minimal gRPC unary client on node:http2 (framing by hand, messages
// (de)serialized by the service definition that grpc-js uses): real TLS 1.3, real HTTP/2, the CA's real gRPC
// server and handler — without a grpc-js channel (resolver, load balancer, subchannel pool) per simulated node.
// The node's secure context (its key and chain) is made once per report, as a new connection of a real agent
// makes one. One saving a real agent does not make: the CA's certificate is checked here once per distinct
// certificate (chain to a root of the bundle by signature, the name `hitless-ca`, validity) rather than by
// OpenSSL on every connection — 10,000 connections see the same one or two CA certificates, and OpenSSL's
// per-context bundle parsing plus Node's detailed peer-certificate object cost this process ~2.5 ms a report.
// The handshake itself is complete on both sides (the CA's CertificateVerify is checked by TLS as always).
//
// Messages in (IPC): ReportRequest | { cpu: true }; out: ReportReply (same id) | { cpuUs }.
import { connect as tlsConnect, createSecureContext } from 'node:tls';
import type { X509Certificate } from 'node:crypto';
import { connect as h2Connect, constants as h2, type ClientHttp2Session } from 'node:http2';
import { CA_SERVER_NAME } from '../../shared/identity.js';
import { issuingRoot } from '../../shared/pki/chain.js';
import { joinPem, pemToDer } from '../../shared/pki/pem.js';
import { protos } from '../../proto/load.js';

export interface ReportRequest { id: number; keyPem: string; chainPem: string[]; rootsPem: string[]; bundleVersion: number }
export interface ReportReply { id: number; roots?: string[]; error?: string }

const [host, portText] = (process.env.HITLESS_BENCH_CA ?? '').split(':');
const port = Number(portText);
if (!host || !(port > 0)) throw new Error('HITLESS_BENCH_CA must be host:port');

const REPORT = protos().nodeCa.hitless.v1.NodeCaService.service.ReportLiveCredentials;
const PATH = REPORT.path;
const DEADLINE_MS = 30_000;

/** The CA certificates seen, per bundle: the root each chains to, or why it is refused. */
const caChecked = new Map<string, { root: string } | { error: string }>();

/** The check TLS would make of the CA's certificate (see the header), once per certificate and bundle. */
function checkCa(cert: X509Certificate, rootsPem: string[]): string {
  const key = `${cert.fingerprint256}|${rootsPem.join()}`;
  let verdict = caChecked.get(key);
  if (!verdict) {
    const root = issuingRoot(new Uint8Array(cert.raw), rootsPem);
    verdict = !root
      ? { error: 'the CA certificate chains to no root of the bundle' }
      : cert.checkHost(CA_SERVER_NAME) === undefined
        ? { error: `the CA certificate does not name ${CA_SERVER_NAME}` }
        : { root };
    caChecked.set(key, verdict);
  }
  const now = Date.now();
  if (now < Date.parse(cert.validFrom) || now > Date.parse(cert.validTo)) throw new Error('the CA certificate is not valid now');
  if ('error' in verdict) throw new Error(verdict.error);
  return verdict.root;
}

/** One unary call on `session`: gRPC length-prefixed message out, status from the trailers (or headers). */
function unary(session: ClientHttp2Session, path: string, message: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const frame = Buffer.alloc(5 + message.length);
    frame.writeUInt32BE(message.length, 1);
    message.copy(frame, 5);
    const req = session.request({
      [h2.HTTP2_HEADER_METHOD]: 'POST',
      [h2.HTTP2_HEADER_PATH]: path,
      [h2.HTTP2_HEADER_AUTHORITY]: CA_SERVER_NAME,
      'content-type': 'application/grpc',
      te: 'trailers',
      'grpc-timeout': `${DEADLINE_MS}m`,
    });
    const chunks: Buffer[] = [];
    let status: string | undefined;
    let detail = '';
    const take = (h: Record<string, unknown>) => {
      if (h['grpc-status'] !== undefined) {
        status = String(h['grpc-status']);
        detail = decodeURIComponent(String(h['grpc-message'] ?? ''));
      }
    };
    req.on('response', take);
    req.on('trailers', take);
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('error', reject);
    req.on('end', () => {
      if (status === undefined) return reject(new Error('no grpc-status in the response'));
      if (status !== '0') return reject(new Error(`grpc status ${status}: ${detail}`));
      const body = Buffer.concat(chunks);
      resolve(body.subarray(5, 5 + (body.length >= 5 ? body.readUInt32BE(1) : 0)));
    });
    req.end(frame);
  });
}

async function report(r: ReportRequest): Promise<string[]> {
  const secureContext = createSecureContext({ key: r.keyPem, cert: joinPem(r.chainPem) });
  let caCert: X509Certificate | undefined;
  const session = h2Connect(`https://${CA_SERVER_NAME}:${port}`, {
    createConnection: () => {
      // rejectUnauthorized: false only because checkCa() makes the chain check (see the header).
      const socket = tlsConnect({ host, port, secureContext, servername: CA_SERVER_NAME, ALPNProtocols: ['h2'], rejectUnauthorized: false });
      socket.once('secureConnect', () => (caCert = socket.getPeerX509Certificate()));
      return socket;
    },
  });
  const timer = setTimeout(() => session.destroy(new Error(`report not answered within ${DEADLINE_MS} ms`)), DEADLINE_MS);
  try {
    const failed = new Promise<never>((_, reject) => session.once('error', reject));
    failed.catch(() => {});
    await Promise.race([new Promise((res) => session.once('connect', res)), failed]);
    if (!caCert) throw new Error('the CA presented no certificate');
    const roots = new Set<string>();
    for (const root of [issuingRoot(pemToDer(r.chainPem[0]!), r.rootsPem), checkCa(caCert, r.rootsPem)]) {
      if (!root) throw new Error('a certificate of the report connection chains to no root of the bundle');
      roots.add(root);
    }
    const message = REPORT.requestSerialize({ bundle_version: String(r.bundleVersion), issuer_root_fingerprints: [...roots] });
    await Promise.race([unary(session, PATH, message), failed]);
    return [...roots];
  } finally {
    clearTimeout(timer);
    session.close();
  }
}

process.on('message', (m: ReportRequest | { cpu: true }) => {
  if ('cpu' in m) {
    const u = process.cpuUsage();
    process.send!({ cpuUs: u.user + u.system });
    return;
  }
  report(m).then(
    (roots) => process.send!({ id: m.id, roots } satisfies ReportReply),
    (err: unknown) => process.send!({ id: m.id, error: (err as Error).message } satisfies ReportReply),
  );
});
process.on('disconnect', () => process.exit(0));
process.send!({ ready: true });
