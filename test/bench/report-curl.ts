// Figure 6's report client on curl (the default when a suitable curl is installed; report-node.ts otherwise).
//
// Why curl: each simulated node's report is one fresh mTLS connection with that node's key and chain, and on
// this 2-core machine the load generator competes with the CA for the cores (in a real fleet each node is its
// own machine). curl (libcurl + OpenSSL 3 + nghttp2) makes the same connection for ~3/4 of the CPU of Node's
// client (report-node.ts; figure 6j measures the ratio in every run: 0.76 in a quick run at load 9-13), and
// OpenSSL verifies the CA's certificate on every connection (chain to the anchor, the name `hitless-ca`,
// validity) as a real agent does, where the Node client checks each distinct CA certificate once. What is left
// is mostly OpenSSL 3.0 decoding keys and certificates (perf: OSSL_DECODER_CTX_new_for_pkey ~1/3 of curl's
// CPU): the node's key, its chain, the anchor and the CA's chain, on every connection, since every connection
// is another node's.
//
// How: reports queue here; one curl process runs a batch of them (`--parallel`, one transfer per report,
// each with its own --cert/--key, so no connection can be shared: `%{num_connects}` must be 1), at most
// CURL_PROCESSES × PER_PROCESS connections in flight. A curl process costs ~15 ms of CPU to start (OpenSSL's
// configuration and providers), so reports are batched (at least MIN_BATCH, or whatever waited COALESCE_MS).
// The transfers' settings are curl's config language on its stdin (`-K -`); the node's key goes to a file
// of its own in a private directory (0700; files 0600, removed as soon as the transfer is done) and only its
// path appears in the config: key bytes are never in an argument or the environment.
//
// What each report proves: the request names the roots of the node's leaf and of the CA certificate of the
// report's own connection (agent/live-credentials.ts: the root that issued that certificate). The body is sent
// on the connection, so that root must be known before the handshake: each transfer gets ONE root of the
// node's bundle as its only trust anchor (`--cacert`), newest first; if TLS refuses the CA's certificate under
// it (curl exit 60), the report is made again on a new connection pinned to the next root, until one verifies
// or none does (a failure). Newest first matters during a rotation: the CA then presents [leaf(B), X] with X =
// B cross-signed by A (ca/root-rotation.ts), which verifies under A too; a leaf of A never verifies under B
// (nothing cross-signs the old root). So the first root that verifies is the one that issued the CA's leaf.
// The gRPC status comes from the response's trailers (`%header{grpc-status}`, which also finds it in a
// Trailers-Only response) and must be 0; HTTP/2 and a 200 are checked too.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CA_SERVER_NAME } from '../../shared/identity.js';
import { issuingRoot } from '../../shared/pki/chain.js';
import { joinPem, pemToDer } from '../../shared/pki/pem.js';
import { parseCertificate } from '../../shared/pki/certs.js';
import { escapedPrefix } from '../../shared/untrusted.js';
import { protos } from '../../proto/load.js';
import type { ReportClient, ReportRequest } from './report-clients.js';

/** curl processes at once, and transfers in flight in each: 32 connections at most, as the Node client. */
const CURL_PROCESSES = 2;
const PER_PROCESS = 16;
/** A batch waits for this many reports, or COALESCE_MS after the first of them, whichever comes first. */
const MIN_BATCH = 32;
const COALESCE_MS = 50;
/** Reports per curl process at most (so many key files exist at once per process). */
const MAX_BATCH = 256;
const DEADLINE_S = 30;
/** %header{} (the trailers' grpc-status) came with curl 7.84.0. */
const MIN_VERSION = [7, 84, 0];

const REPORT = protos().nodeCa.hitless.v1.NodeCaService.service.ReportLiveCredentials;

/** The curl to use, or why there is none: version 7.84+ with HTTP2 in its features. */
export function findCurl(env: NodeJS.ProcessEnv): { version: string } | { unavailable: string } {
  const r = spawnSync('curl', ['-q', '--version'], { env, encoding: 'utf8', timeout: 10_000 });
  if (r.error || r.status !== 0) return { unavailable: `curl not found or not runnable (${r.error?.message ?? `exit ${r.status}`}): install the Debian package curl` };
  const first = r.stdout.split('\n')[0] ?? '';
  const m = /^curl (\d+)\.(\d+)\.(\d+)/.exec(first);
  if (!m) return { unavailable: `unrecognized curl --version: ${escapedPrefix(first, 60)}` };
  const v = [Number(m[1]), Number(m[2]), Number(m[3])];
  const older = v.findIndex((x, i) => x !== MIN_VERSION[i]);
  if (older >= 0 && v[older]! < MIN_VERSION[older]!) return { unavailable: `curl ${v.join('.')} is older than ${MIN_VERSION.join('.')} (needs %header{} in --write-out)` };
  if (!/^Features:.*\bHTTP2\b/m.test(r.stdout)) return { unavailable: `curl ${v.join('.')} has no HTTP2 feature (needs nghttp2)` };
  const libs = ['OpenSSL', 'nghttp2'].map((lib) => new RegExp(`${lib}/[\\w.]+`).exec(first)?.[0]).filter(Boolean);
  return { version: `curl ${v.join('.')}${libs.length ? ` (${libs.join(', ')})` : ''}` };
}

interface Attempt {
  id: number;
  req: ReportRequest;
  /** The root of the node's own leaf (fingerprint). */
  leafRoot: string;
  /** Roots of the bundle still to pin, newest first; the first is this attempt's trust anchor. */
  candidates: { fingerprint: string; pem: string }[];
  resolve: (roots: string[]) => void;
  reject: (err: Error) => void;
  files: string[];
}

/**
 * The directory for the nodes' key files (mkdtemp: mode 0700): in /dev/shm when there is one — RAM, so the keys
 * never reach a disk, and a file there costs ~30 µs of CPU to write and remove where ext4 /tmp cost ~0.9 ms
 * (measured on this VM while other jobs wrote to the disk).
 */
function privateDir(): string {
  for (const base of ['/dev/shm', tmpdir()]) {
    try {
      return mkdtempSync(join(base, 'hitless-bench-reports-'));
    } catch {
      // not there or not writable: the next
    }
  }
  throw new Error('no writable directory for the report clients\' key files (tried /dev/shm and the temp directory)');
}

/** grpc-message is percent-encoded (gRPC over HTTP/2); a malformed one is shown as it came. */
function percentDecoded(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

export class CurlReports implements ReportClient {
  readonly name: string;
  readonly #dir = privateDir();
  readonly #url: string;
  readonly #resolve: string;
  readonly #env: NodeJS.ProcessEnv;
  readonly #pending: Attempt[] = [];
  readonly #running = new Set<ChildProcess>();
  readonly #idle: (() => void)[] = [];
  readonly #written = new Set<string>();
  readonly #bodies = new Map<string, string>();
  readonly #roots = new Map<string, { fingerprint: string; notBefore: number }>();
  #timer: NodeJS.Timeout | undefined;
  #nextId = 0;
  readonly stats = { connections: 0, repinned: 0, processes: 0 };

  constructor(host: string, port: number, version: string, env: NodeJS.ProcessEnv) {
    this.name = version;
    this.#url = `https://${CA_SERVER_NAME}:${port}${REPORT.path}`;
    this.#resolve = `${CA_SERVER_NAME}:${port}:${host}`;
    this.#env = env;
  }

  report(req: ReportRequest): Promise<string[]> {
    return new Promise((resolve, reject) => {
      // Newest root first (see the header): the later notBefore, else the later in the bundle (the CA lists
      // the rotation's new root after the old one: ca/root-rotation.ts rotationTrust).
      const roots = req.rootsPem.map((pem, i) => ({ pem, i, ...this.#root(pem) })).sort((x, y) => y.notBefore - x.notBefore || y.i - x.i);
      // In that order too for the node's own leaf: a renewed leaf is the newest root's, found with one signature
      // check instead of two (both roots carry the same name; the check was half of this process's CPU).
      const leafRoot = issuingRoot(pemToDer(req.chainPem[0]!), roots.map((r) => r.pem));
      if (!leafRoot) return reject(new Error("the node's certificate chains to no root of its bundle"));
      this.#pending.push({ id: this.#nextId++, req, leafRoot, candidates: roots, resolve, reject, files: [] });
      this.#pump();
    });
  }

  /** Resolves when no report is queued or in flight and every curl process has exited (its CPU is then counted). */
  idle(): Promise<void> {
    if (!this.#pending.length && !this.#running.size) return Promise.resolve();
    return new Promise((res) => this.#idle.push(res));
  }

  close(): void {
    for (const p of this.#running) p.kill();
    rmSync(this.#dir, { recursive: true, force: true });
  }

  #root(pem: string): { fingerprint: string; notBefore: number } {
    let r = this.#roots.get(pem);
    if (!r) {
      const info = parseCertificate(pem);
      this.#roots.set(pem, (r = { fingerprint: info.fingerprint, notBefore: info.notBefore.getTime() }));
    }
    return r;
  }

  #pump(): void {
    while (this.#pending.length && this.#running.size < CURL_PROCESSES) {
      if (this.#pending.length < MIN_BATCH) {
        this.#timer ??= setTimeout(() => {
          this.#timer = undefined;
          if (this.#pending.length && this.#running.size < CURL_PROCESSES) this.#run(this.#pending.splice(0, MAX_BATCH));
          this.#pump();
        }, COALESCE_MS);
        return;
      }
      this.#run(this.#pending.splice(0, MAX_BATCH));
    }
    if (!this.#pending.length && !this.#running.size) for (const f of this.#idle.splice(0)) f();
  }

  /** A file in the private directory, written once (roots and request bodies are shared by many reports). */
  #shared(name: string, data: string | Buffer): string {
    const path = join(this.#dir, name);
    if (!this.#written.has(name)) {
      writeFileSync(path, data, { mode: 0o600 });
      this.#written.add(name);
    }
    return path;
  }

  /** The request's file: one per distinct message (a bundle version and the roots named), made once. */
  #body(bundleVersion: number, roots: string[]): string {
    const key = `${bundleVersion} ${roots.join(' ')}`;
    let path = this.#bodies.get(key);
    if (!path) {
      const message = REPORT.requestSerialize({ bundle_version: String(bundleVersion), issuer_root_fingerprints: roots });
      const frame = Buffer.alloc(5 + message.length);
      frame.writeUInt32BE(message.length, 1);
      message.copy(frame, 5);
      path = this.#shared(`body-${this.#bodies.size}.bin`, frame);
      this.#bodies.set(key, path);
    }
    return path;
  }

  #config(a: Attempt): string {
    const anchor = a.candidates[0]!;
    const body = this.#body(a.req.bundleVersion, [...new Set([a.leafRoot, anchor.fingerprint])]);
    const cacert = this.#shared(`root-${anchor.fingerprint.replace(/[^0-9a-zA-Z]/g, '')}.pem`, anchor.pem);
    const cert = join(this.#dir, `node-${a.id}.pem`);
    const key = join(this.#dir, `node-${a.id}.key`);
    writeFileSync(cert, joinPem(a.req.chainPem), { mode: 0o600 });
    writeFileSync(key, a.req.keyPem, { mode: 0o600 });
    a.files = [cert, key];
    // One transfer: every option is per transfer in curl's config (options before `--next` apply to one).
    return [
      `url = "${this.#url}"`,
      'http2',
      `resolve = "${this.#resolve}"`,
      `cacert = "${cacert}"`,
      `cert = "${cert}"`,
      `key = "${key}"`,
      'header = "content-type: application/grpc"',
      'header = "te: trailers"',
      `header = "grpc-timeout: ${DEADLINE_S}S"`,
      `data-binary = "@${body}"`,
      'output = "/dev/null"',
      `max-time = ${DEADLINE_S}`,
      'no-sessionid',
      'silent',
      // One line per transfer, written when it ends; the id says which. errormsg last: it may hold spaces.
      `write-out = "r${a.id}\\t%{exitcode}\\t%{http_version}\\t%{response_code}\\t%{num_connects}\\t%{size_download}\\t%header{grpc-status}\\t%header{grpc-message}\\t%{errormsg}\\n"`,
    ].join('\n');
  }

  #run(batch: Attempt[]): void {
    if (!batch.length) return;
    const byId = new Map(batch.map((a) => [a.id, a]));
    let config: string;
    try {
      config = batch.map((a) => this.#config(a)).join('\nnext\n') + '\n';
    } catch (err) {
      for (const a of batch) this.#fail(a, err as Error);
      return;
    }
    // -q first: no ~/.curlrc. Only PATH in its environment (no proxy variables, nothing inherited).
    const child = spawn('curl', ['-q', '--parallel', '--parallel-immediate', '--parallel-max', String(PER_PROCESS), '-K', '-'], {
      env: this.#env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.#running.add(child);
    this.stats.processes++;
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr = (stderr + s).slice(0, 2000)));
    child.stdin!.on('error', () => {}); // an early exit shows up as missing lines below
    child.stdin!.end(config);
    // Lines end with \n only: a header value may carry a stray \r (curl 7.88 leaves one on an empty value), so
    // no readline (it splits at \r too); fields are trimmed.
    let partial = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop()!;
      for (const line of lines) {
        const f = line.split('\t').map((x) => x.trim());
        const a = /^r\d+$/.test(f[0] ?? '') && f.length >= 9 ? byId.get(Number(f[0]!.slice(1))) : undefined;
        if (!a) continue;
        byId.delete(a.id);
        this.#done(a, f);
      }
    });
    let exited = false;
    const finish = (why: string) => {
      if (exited) return;
      exited = true;
      this.#running.delete(child);
      for (const a of byId.values()) this.#fail(a, new Error(`curl ${why} without a result for this report${stderr ? `: ${escapedPrefix(stderr.trim(), 200)}` : ''}`));
      byId.clear();
      this.#pump();
    };
    child.once('error', (err) => finish(`failed (${err.message})`));
    // 'close': stdout is drained too, so every line written is read.
    child.once('close', (code, signal) => finish(`exited (${signal ?? code})`));
  }

  #removeFiles(a: Attempt): void {
    for (const f of a.files) {
      try {
        unlinkSync(f);
      } catch {
        // already gone
      }
    }
    a.files = [];
  }

  #done(a: Attempt, f: string[]): void {
    this.#removeFiles(a);
    this.stats.connections++;
    const [, exitcode, httpVersion, status, connects, size, grpcStatus, grpcMessage, errormsg] = f;
    if (exitcode === '60' && a.candidates.length > 1) {
      // TLS refused the CA's certificate under this root: pin the next root of the bundle (see the header).
      this.stats.repinned++;
      a.candidates.shift();
      this.#pending.unshift(a);
      return this.#pump();
    }
    if (exitcode !== '0') return this.#fail(a, new Error(`curl exit ${exitcode}: ${escapedPrefix(errormsg ?? '', 200)}`));
    if (httpVersion !== '2' || status !== '200') return this.#fail(a, new Error(`HTTP/${httpVersion} ${status} instead of HTTP/2 200`));
    if (connects !== '1') return this.#fail(a, new Error(`the report made ${connects} connections instead of one of its own`));
    if (grpcStatus === '') return this.#fail(a, new Error('no grpc-status in the response'));
    if (grpcStatus !== '0') return this.#fail(a, new Error(`grpc status ${grpcStatus}: ${escapedPrefix(percentDecoded(grpcMessage ?? ''), 200)}`));
    if (!(Number(size) >= 5)) return this.#fail(a, new Error(`the response carried ${size} bytes, not a gRPC message`));
    a.resolve([...new Set([a.leafRoot, a.candidates[0]!.fingerprint])]);
  }

  #fail(a: Attempt, err: Error): void {
    this.#removeFiles(a);
    a.reject(err);
  }
}
