// Figure 10: renewals per second on etcd (issue 10), next to the embedded store, in the same run. A real 3-member
// etcd cluster, `ca init --etcd` and 3 `ca serve --etcd` replicas; the same closed loops as figure 2 (16 nodes
// renewing over mTLS as fast as the CA answers), first all through one replica, then spread over the three.
// Everything shares the machine's cores (3 etcd members, 3 CAs, the load generator), so besides the rates the
// CPU seconds the CA replicas and the etcd members spent per certificate are reported, from /proc.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { CaClient, staticConnection } from '../../agent/ca-client.js';
import { BIN, ROOT, runJson } from '../helpers/proc.js';
import { tmpDir, writePassphrase } from '../helpers/tmp.js';
import { etcdMissing, startEtcd } from '../helpers/etcd.js';
import { fetchRoots, joinNode, type TestNode } from '../helpers/node-identity.js';
import type { InitJson } from '../helpers/cluster.js';
import { BENCH_CREDENTIAL_LIMITS, benchE2e, loops } from './e2e.js';

export interface HaRun {
  embedded: number;
  oneReplica: number;
  threeReplicas: number;
  /** CPU seconds per 1,000 certificates: CA replicas, etcd members (three-replica loop). */
  caCpuPer1k: number;
  etcdCpuPer1k: number;
  /** etcd's database size after the run, and the nodes (records) it holds. */
  dbBytes: number;
}

/** utime + stime of a process, in seconds (Linux /proc). */
async function cpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function startReplica(args: string[]): Promise<{ child: ChildProcess; address: string }> {
  const child = spawn(process.execPath, [BIN.ca, 'serve', ...args, '--listen', '127.0.0.1:0', ...BENCH_CREDENTIAL_LIMITS], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
  const lines = createInterface({ input: child.stderr! });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`ca serve --etcd exited (${code}) before listening`)));
    lines.on('line', (line) => {
      const m = /"event":"ca\.listening".*"port":(\d+)/.exec(line);
      if (m) resolve(Number(m[1]));
    });
  });
  lines.close();
  child.stderr!.resume();
  return { child, address: `127.0.0.1:${port}` };
}

export async function benchHa(opts: { concurrency: number; durationMs: number; runs: number; csrs: Uint8Array[]; log: (l: string) => void }): Promise<{ ok: true; runs: HaRun[] } | { ok: false; reason: string }> {
  const missing = etcdMissing();
  if (missing) return { ok: false, reason: missing };
  const runs: HaRun[] = [];
  for (let r = 0; r < opts.runs; r++) {
    const embedded = (await benchE2e({ concurrency: opts.concurrency, durationMs: opts.durationMs, runs: 1, csrs: opts.csrs }))[0]!.perSec;
    const dir = await tmpDir();
    const etcd = await startEtcd(join(dir.path, 'etcd'), 3);
    const replicas: { child: ChildProcess; address: string }[] = [];
    const clients: CaClient[] = [];
    try {
      const pass = await writePassphrase(dir.path);
      const etcdArgs = ['--etcd', etcd.endpoints.join(','), '--passphrase-file', pass];
      const init = await runJson<InitJson>('ca', ['init', ...etcdArgs, '--json', '--node-cert-ttl', '6h']);
      for (let i = 0; i < 3; i++) replicas.push(await startReplica([...etcdArgs, '--state-dir', join(dir.path, `r${i}`)]));
      const roots = await fetchRoots(replicas[0]!.address);
      const nodes: TestNode[] = [];
      for (let i = 0; i < opts.concurrency; i++) nodes.push(await joinNode(replicas[i % 3]!.address, init.tokens.worker, roots));
      const clientsOn = (pick: (i: number) => number) =>
        nodes.map((n, i) => {
          const c = new CaClient(replicas[pick(i)]!.address, staticConnection(roots, { keyPem: n.keyPem, chainPem: n.cert.chain_pem }));
          clients.push(c);
          return c;
        });
      const one = clientsOn(() => 0);
      const three = clientsOn((i) => i % 3);
      await loops(one, opts.csrs, 500);
      await loops(three, opts.csrs, 500);
      let start = performance.now();
      const oneCerts = await loops(one, opts.csrs, opts.durationMs);
      const oneReplica = oneCerts / ((performance.now() - start) / 1000);
      const pids = { ca: replicas.map((x) => x.child.pid!), etcd: etcd.members.map((m) => m.child.pid!) };
      const cpu = async (list: number[]) => (await Promise.all(list.map(cpuSeconds))).reduce((a, b) => a + b, 0);
      const [ca0, etcd0] = [await cpu(pids.ca), await cpu(pids.etcd)];
      start = performance.now();
      const threeCerts = await loops(three, opts.csrs, opts.durationMs);
      const threeReplicas = threeCerts / ((performance.now() - start) / 1000);
      const [ca1, etcd1] = [await cpu(pids.ca), await cpu(pids.etcd)];
      const client = new Etcd3({ hosts: etcd.endpoints });
      const dbBytes = Number((await client.maintenance.status()).dbSize);
      client.close();
      const run = { embedded, oneReplica, threeReplicas, caCpuPer1k: ((ca1 - ca0) / threeCerts) * 1000, etcdCpuPer1k: ((etcd1 - etcd0) / threeCerts) * 1000, dbBytes };
      opts.log(`ha run ${r + 1}: ${JSON.stringify(run)}`);
      runs.push(run);
    } finally {
      for (const c of clients) c.close();
      await Promise.all(replicas.map((x) => new Promise((res) => (x.child.exitCode !== null ? res(null) : (x.child.once('exit', res), x.child.kill('SIGTERM'))))));
      await etcd.stop();
      await dir.cleanup();
    }
  }
  return { ok: true, runs };
}
