// Figure 2: end-to-end issuance. The real `ca serve` process (its own level store, fsync'd writes, JSON logs)
// and N concurrent nodes, each on its own mTLS connection, renewing over gRPC with a CSR for a fresh key as
// fast as the CA answers. A certificate counts once the CA returned it — after its record was durably written.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { CaClient, staticConnection } from '../../agent/ca-client.js';
import { initCa } from '../helpers/cluster.js';
import { BIN, ROOT } from '../helpers/proc.js';
import { tmpDir } from '../helpers/tmp.js';
import { fetchRoots, joinNode } from '../helpers/node-identity.js';

export interface E2eCa {
  address: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

/**
 * The per-node renewal bound (default 5 per certificate lifetime) and the join rates are bounds on one node
 * and one token, which a closed loop of renewals by a handful of nodes would hit at once; the throughput
 * figures measure the CA's capacity, so they lift them (every other bound stays at its default).
 */
export const BENCH_CREDENTIAL_LIMITS = ['--renew-rate', '100000000/1s', '--join-rate-per-token', '100000000/1s', '--join-rate', '100000000/1s'];

/** `ca init` + `ca serve` in a temp dir; resolves once it listens. Its log is read, then drained unparsed. */
export async function startBenchCa(nodeCertTtl = '6h', serveArgs: string[] = []): Promise<E2eCa & { token: string; metricsPort?: number }> {
  const dir = await tmpDir();
  const { init, stateDir, passphraseFile } = await initCa(dir.path, { nodeCertTtl });
  // HITLESS_BENCH_CA_NODE_ARGS="--cpu-prof --cpu-prof-dir=DIR" profiles the CA (how the notes' profiles were made).
  const nodeArgs = process.env.HITLESS_BENCH_CA_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
  const child = spawn(
    process.execPath,
    [...nodeArgs, BIN.ca, 'serve', '--state-dir', stateDir, '--passphrase-file', passphraseFile, '--listen', '127.0.0.1:0', ...BENCH_CREDENTIAL_LIMITS, ...serveArgs],
    { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const lines = createInterface({ input: child.stderr! });
  let metricsPort: number | undefined;
  const port = await new Promise<number>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`ca serve exited (${code}) before listening`)));
    lines.on('line', (line) => {
      const metrics = /"event":"metrics\.listening".*"port":(\d+)/.exec(line);
      if (metrics) metricsPort = Number(metrics[1]);
      const m = /"event":"ca\.listening".*"port":(\d+)/.exec(line);
      if (m) resolve(Number(m[1]));
    });
  });
  lines.close();
  child.stderr!.resume();
  return {
    address: `127.0.0.1:${port}`,
    metricsPort,
    token: init.tokens.worker,
    child,
    async stop() {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
      await dir.cleanup();
    },
  };
}

export interface E2eRun { certs: number; seconds: number; perSec: number }

/** `concurrency` nodes join, then renew in closed loops for `durationMs`; several runs on one CA. */
export async function benchE2e(opts: { concurrency: number; durationMs: number; runs: number; csrs: Uint8Array[]; scrapeEveryMs?: number }): Promise<E2eRun[]> {
  // With scrapeEveryMs: the CA serves /metrics and is scraped that often during the runs (the cost of metrics).
  const ca = await startBenchCa('6h', opts.scrapeEveryMs ? ['--metrics-listen', '127.0.0.1:0'] : []);
  const scraping = opts.scrapeEveryMs
    ? setInterval(() => void fetch(`http://127.0.0.1:${ca.metricsPort}/metrics`).then((r) => r.text()).catch(() => {}), opts.scrapeEveryMs)
    : undefined;
  const clients: CaClient[] = [];
  try {
    const roots = await fetchRoots(ca.address);
    for (let i = 0; i < opts.concurrency; i++) {
      const node = await joinNode(ca.address, ca.token, roots);
      clients.push(new CaClient(ca.address, staticConnection(roots, { keyPem: node.keyPem, chainPem: node.cert.chain_pem })));
    }
    // Warm-up: connections up, JIT warm.
    await loops(clients, opts.csrs, 500);
    const runs: E2eRun[] = [];
    for (let r = 0; r < opts.runs; r++) {
      const start = performance.now();
      const certs = await loops(clients, opts.csrs, opts.durationMs);
      const seconds = (performance.now() - start) / 1000;
      runs.push({ certs, seconds, perSec: certs / seconds });
    }
    return runs;
  } finally {
    clearInterval(scraping);
    for (const c of clients) c.close();
    await ca.stop();
  }
}

export async function loops(clients: CaClient[], csrs: Uint8Array[], durationMs: number): Promise<number> {
  // Client i renews with csrs[i], csrs[i + n], …: with a pool that is a multiple of the client count no two
  // nodes ever use the same key (the CA refuses a key that backs another live node).
  if (csrs.length % clients.length !== 0) throw new Error(`the CSR pool (${csrs.length}) must be a multiple of the client count (${clients.length})`);
  const end = performance.now() + durationMs;
  let n = 0;
  await Promise.all(
    clients.map(async (c, i) => {
      for (let k = i; performance.now() < end; k += clients.length) {
        const cert = await c.renew(csrs[k % csrs.length]!);
        if (!cert.chain_pem.length) throw new Error('renewal returned no certificate');
        n++;
      }
    }),
  );
  return n;
}
