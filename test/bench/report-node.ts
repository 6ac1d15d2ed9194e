// Figure 6's report client on node:http2: the fallback when no suitable curl is installed (report-curl.ts says
// why curl is the default), or with HITLESS_BENCH_REPORT_CLIENT=node.
//
// Each report: an mTLS connection of its own to the CA's port with the node's new key and chain, then one
// ReportLiveCredentials on it naming the issuing roots of the node's leaf and of the CA certificate that this
// connection's handshake presented (agent/live-credentials.ts names the roots of every live connection's two
// certificates the same way). A minimal gRPC unary client on node:http2 (framing by hand, messages
// (de)serialized by the service definition that grpc-js uses): real TLS 1.3, real HTTP/2, the CA's real gRPC
// server and handler — without a grpc-js channel (resolver, load balancer, subchannel pool) per simulated node.
// The node's secure context (its key and chain) is made once per report, as a new connection of a real agent
// makes one. One saving a real agent does not make: the CA's certificate is checked here once per distinct
// certificate (chain to a root of the bundle by signature, the name `hitless-ca`, validity) rather than by
// OpenSSL on every connection — 10,000 connections see the same one or two CA certificates, and OpenSSL's
// per-context bundle parsing plus Node's detailed peer-certificate object cost this process ~2.5 ms a report.
// The handshake itself is complete on both sides (the CA's CertificateVerify is checked by TLS as always).
import { connect as tlsConnect, createSecureContext } from 'node:tls';
import type { X509Certificate } from 'node:crypto';
import { connect as h2Connect, constants as h2, type ClientHttp2Session } from 'node:http2';
import { CA_SERVER_NAME } from '../../shared/identity.js';
import { issuingRoot } from '../../shared/pki/chain.js';
import { joinPem, pemToDer } from '../../shared/pki/pem.js';
import { protos } from '../../proto/load.js';
import type { ReportClient, ReportRequest } from './report-clients.js';

/** Reports in flight at once: below the CA's 64 connections per source without an authenticated call yet. */
const CONCURRENCY = 32;

const REPORT = protos().nodeCa.hitless.v1.NodeCaService.service.ReportLiveCredentials;
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

async function report(host: string, port: number, r: ReportRequest): Promise<string[]> {
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
    await Promise.race([unary(session, REPORT.path, message), failed]);
    return [...roots];
  } finally {
    clearTimeout(timer);
    session.close();
  }
}

export class NodeReports implements ReportClient {
  readonly name = `node:http2 (Node ${process.version}, OpenSSL ${process.versions.openssl})`;
  readonly stats = { connections: 0 };
  #inFlight = 0;
  readonly #waiting: (() => void)[] = [];
  readonly #idle: (() => void)[] = [];

  constructor(
    readonly host: string,
    readonly port: number,
  ) {}

  async report(req: ReportRequest): Promise<string[]> {
    if (this.#inFlight >= CONCURRENCY) await new Promise<void>((res) => this.#waiting.push(res));
    this.#inFlight++;
    try {
      this.stats.connections++;
      return await report(this.host, this.port, req);
    } finally {
      this.#inFlight--;
      const next = this.#waiting.shift();
      if (next) next();
      else if (!this.#inFlight) for (const f of this.#idle.splice(0)) f();
    }
  }

  idle(): Promise<void> {
    return this.#inFlight ? new Promise((res) => this.#idle.push(res)) : Promise.resolve();
  }

  close(): void {}
}
