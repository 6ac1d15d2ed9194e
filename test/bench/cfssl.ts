// Comparison point: the signing throughput of CloudFlare's `cfssl serve` (the signer Docker SwarmKit embeds) on
// this machine, measured over its HTTP API the way a client would use it, so our CA's figures have a baseline
// from the same run. The CA and its profile match what we issue: ECDSA P-256, 6 h leaves, digital signature +
// server auth + client auth. cfssl is installed from Debian's `golang-cfssl` when it is not on PATH; when that
// cannot be done the benchmark is skipped with a reason rather than failing the whole suite.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile, readFile } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { x509, webcrypto } from '../helpers/x509-reference.js';
import { freePort } from '../helpers/proc.js';

export interface CfsslResult { ok: true; version: string; concurrency: number; runs: { certs: number; seconds: number; perSec: number }[] }
export interface CfsslSkipped { ok: false; reason: string }

const POOL_SIZE = 256; // distinct CSRs, so cfssl cannot benefit from any per-request caching
const WARMUP_MS = 300; // lets Go's runtime and the keep-alive connections settle before timing
const READY_DEADLINE_MS = 15_000;

interface Run { code: number | null; stdout: string; stderr: string; error?: string }

/** Runs a command to completion; never rejects (a missing binary comes back as `error`). */
function run(cmd: string, args: string[], env?: NodeJS.ProcessEnv): Promise<Run> {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: env ?? process.env });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d));
    p.stderr.on('data', (d: Buffer) => (stderr += d));
    p.once('error', (e) => resolve({ code: null, stdout, stderr, error: e.message }));
    p.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const lastLines = (s: string, n = 3): string => s.trim().split('\n').slice(-n).join(' | ');

/** `cfssl version` output on one line, or undefined when cfssl is not runnable. */
async function cfsslVersion(): Promise<string | undefined> {
  const r = await run('cfssl', ['version']);
  return r.code === 0 ? r.stdout.trim().split('\n').map((l) => l.trim()).filter(Boolean).join(', ') : undefined;
}

/** Finds cfssl, installing Debian's golang-cfssl if needed. Returns the version, or why it is not available. */
async function ensureCfssl(log: (line: string) => void): Promise<{ version: string } | { reason: string }> {
  const found = await cfsslVersion();
  if (found) return { version: found };
  if (process.getuid?.() !== 0) return { reason: 'cfssl is not on PATH and installing golang-cfssl needs root' };
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = () => run('apt-get', ['install', '-y', '-q', 'golang-cfssl'], env);
  log('cfssl: not on PATH, installing golang-cfssl with apt-get');
  const t0 = performance.now();
  let r = await install();
  if (r.error) return { reason: `cfssl is not on PATH and apt-get is unavailable (${r.error})` };
  if (r.code !== 0) {
    // A fresh machine has empty package lists: refresh them once and retry.
    log('cfssl: apt-get install failed, running apt-get update and retrying');
    const u = await run('apt-get', ['update', '-q'], env);
    if (u.code !== 0) return { reason: `apt-get update failed: ${lastLines(u.stderr || u.stdout)}` };
    r = await install();
  }
  if (r.code !== 0) return { reason: `apt-get install golang-cfssl failed: ${lastLines(r.stderr || r.stdout)}` };
  log(`cfssl: golang-cfssl installed in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const version = await cfsslVersion();
  return version ? { version } : { reason: 'golang-cfssl installed but `cfssl version` does not run' };
}

/** One JSON POST over the given agent; resolves with the status and the raw body. */
function postJson(agent: Agent, port: number, path: string, body: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Signs one CSR; throws with cfssl's answer unless it is `success: true` with a certificate. */
async function signOnce(agent: Agent, port: number, body: string): Promise<void> {
  const res = await postJson(agent, port, '/api/v1/cfssl/sign', body);
  let parsed: { success?: boolean; result?: { certificate?: string } } | undefined;
  try {
    parsed = JSON.parse(res.body) as typeof parsed;
  } catch {
    /* reported below */
  }
  if (res.status !== 200 || !parsed?.success || !parsed.result?.certificate?.includes('BEGIN CERTIFICATE')) {
    throw new Error(`cfssl sign failed: HTTP ${res.status}: ${res.body.slice(0, 300)}`);
  }
}

/** CPU seconds (user + system) a process has used so far, from /proc; undefined off Linux. */
async function cpuSeconds(pid: number | undefined): Promise<number | undefined> {
  if (pid === undefined) return undefined;
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // fields after "pid (comm) "
    return (Number(f[11]) + Number(f[12])) / 100; // utime + stime, in clock ticks (100 Hz on Linux)
  } catch {
    return undefined;
  }
}

/** Polls cfssl's cheap `info` endpoint until it answers, the process dies, or the deadline passes. */
async function waitReady(child: ChildProcess, agent: Agent, port: number, stderr: () => string): Promise<void> {
  const deadline = performance.now() + READY_DEADLINE_MS;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`cfssl serve exited early: ${lastLines(stderr())}`);
    try {
      const r = await postJson(agent, port, '/api/v1/cfssl/info', '{}');
      if (r.status === 200) return;
    } catch {
      /* not listening yet */
    }
    if (performance.now() > deadline) throw new Error(`cfssl serve did not answer within ${READY_DEADLINE_MS} ms: ${lastLines(stderr())}`);
    await new Promise((r) => setTimeout(r, 50)); // short retry interval, bounded by the deadline above
  }
}

/** Runs `concurrency` request loops over the pool for `ms`; returns how many certificates were issued. */
async function signFor(agent: Agent, port: number, bodies: string[], concurrency: number, ms: number): Promise<number> {
  const end = performance.now() + ms;
  let next = 0;
  let certs = 0;
  let failed = false; // the first failure stops every loop, so the error surfaces at once
  const loop = async () => {
    while (!failed && performance.now() < end) {
      const body = bodies[next++ % bodies.length]!;
      try {
        await signOnce(agent, port, body);
      } catch (e) {
        failed = true;
        throw e;
      }
      certs++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, loop));
  return certs;
}

export async function benchCfssl(opts: { concurrency: number; durationMs: number; runs: number; log?: (line: string) => void }): Promise<CfsslResult | CfsslSkipped> {
  const log = opts.log ?? (() => {});
  const found = await ensureCfssl(log);
  if ('reason' in found) return { ok: false, reason: found.reason };
  log(`cfssl: ${found.version}`);

  const dir = await mkdtemp(join(tmpdir(), 'hitless-cfssl-'));
  // maxSockets = concurrency: each request loop keeps its own keep-alive connection.
  const agent = new Agent({ keepAlive: true, maxSockets: opts.concurrency });
  let child: ChildProcess | undefined;
  const killChild = () => child?.pid !== undefined && child.exitCode === null && process.kill(child.pid, 'SIGKILL');
  process.once('exit', killChild); // never leave the server behind, even if our caller exits abruptly
  try {
    // The CA: ECDSA P-256, self-signed by cfssl itself.
    const caCsr = { CN: 'hitless bench cfssl CA', key: { algo: 'ecdsa', size: 256 } };
    await writeFile(join(dir, 'ca-csr.json'), JSON.stringify(caCsr));
    const init = await run('cfssl', ['gencert', '-initca', join(dir, 'ca-csr.json')]);
    if (init.code !== 0) throw new Error(`cfssl gencert -initca failed: ${lastLines(init.stderr)}`);
    const ca = JSON.parse(init.stdout) as { cert: string; key: string };
    await writeFile(join(dir, 'ca.pem'), ca.cert);
    await writeFile(join(dir, 'ca-key.pem'), ca.key, { mode: 0o600 });
    // The default profile mirrors our node certificates: 6 h, signature + TLS server and client.
    const config = { signing: { default: { expiry: '6h', usages: ['digital signature', 'server auth', 'client auth'] } } };
    await writeFile(join(dir, 'config.json'), JSON.stringify(config));

    const port = await freePort();
    const args = ['serve', '-address', '127.0.0.1', '-port', String(port), '-ca', join(dir, 'ca.pem'), '-ca-key', join(dir, 'ca-key.pem'), '-config', join(dir, 'config.json')];
    child = spawn('cfssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let serveErr = '';
    // cfssl logs every request to stderr: keep only a tail for error messages.
    child.stderr!.on('data', (d: Buffer) => (serveErr = (serveErr + d).slice(-4000)));
    child.once('error', (e) => (serveErr += `\n${e.message}`));

    // The CSR pool is built before anything is timed: distinct P-256 keys, CN=node-<i>.
    const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
    const bodies = await Promise.all(
      Array.from({ length: POOL_SIZE }, async (_, i) => {
        const keys = await webcrypto.subtle.generateKey(alg, false, ['sign', 'verify']);
        const csr = await x509.Pkcs10CertificateRequestGenerator.create({ name: `CN=node-${i}`, keys, signingAlgorithm: alg });
        return JSON.stringify({ certificate_request: csr.toString('pem') });
      }),
    );

    await waitReady(child, agent, port, () => serveErr);
    log(`cfssl: serving on 127.0.0.1:${port}, ${POOL_SIZE} CSRs, concurrency ${opts.concurrency}`);
    await signFor(agent, port, bodies, opts.concurrency, WARMUP_MS);

    const runs: CfsslResult['runs'] = [];
    for (let i = 0; i < opts.runs; i++) {
      const cpu0 = await cpuSeconds(child.pid);
      const own0 = process.cpuUsage();
      const t0 = performance.now();
      const certs = await signFor(agent, port, bodies, opts.concurrency, opts.durationMs);
      const seconds = (performance.now() - t0) / 1000;
      const own = process.cpuUsage(own0);
      const cpu1 = await cpuSeconds(child.pid);
      runs.push({ certs, seconds, perSec: certs / seconds });
      // Cores used by cfssl and by this client over the run: on a small machine the HTTP client competes with
      // the server for the same cores, which this makes visible.
      const server = cpu0 !== undefined && cpu1 !== undefined ? `cfssl ${((cpu1 - cpu0) / seconds).toFixed(2)} cores, ` : '';
      const client = `client ${((own.user + own.system) / 1e6 / seconds).toFixed(2)} cores`;
      log(`cfssl: run ${i + 1}/${opts.runs}: ${certs} certs in ${seconds.toFixed(2)} s = ${(certs / seconds).toFixed(0)}/s (${server}${client})`);
    }
    return { ok: true, version: found.version, concurrency: opts.concurrency, runs };
  } finally {
    agent.destroy();
    if (child?.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((r) => child!.once('exit', () => r()));
      child.kill('SIGTERM');
      // cfssl exits at once on SIGTERM; SIGKILL it if it has not within a bounded wait.
      const timer = setTimeout(() => child!.kill('SIGKILL'), 2000);
      await exited;
      clearTimeout(timer);
    }
    process.removeListener('exit', killChild);
    await rm(dir, { recursive: true, force: true });
  }
}
