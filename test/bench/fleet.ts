// Figures 6 and 7: the CA with a fleet of 10,000 simulated nodes. The CA is the real one (serveCa in this
// process: level store with fsync'd group commits, the rotation manager, authority, fast issuance); the
// nodes are simulated in-process — they call the authority directly with their real certificates and CSRs
// instead of over gRPC, so these figures measure the CA's own capacity, not 10,000 TLS connections on one
// 2-core machine (figure 2 is the over-the-wire rate). Every node gets keys of its own, made before the clock
// starts: the CA refuses a key that backs another live node.
import { pemToDer } from '../../shared/pki/pem.js';
import { maxConnectionAgeMs } from '../../shared/connection-age.js';
import { parseDuration } from '../../shared/duration.js';
import { connectionCycleMs } from '../../ca/root-rotation.js';
import { createLogger } from '../../shared/log.js';
import { systemClock } from '../../shared/clock.js';
import { serveCa, type RunningCa } from '../../ca/commands/serve.js';
import { adminClient, call } from '../../ca/admin-client.js';
import { generateKeyPairPem } from '../../shared/pki/keys.js';
import { createCsrDer } from '../../shared/pki/csr.js';
import { initCa, testEtcdConnection } from '../helpers/cluster.js';
import { Etcd3 } from 'etcd3';
import { tmpDir } from '../helpers/tmp.js';
import type { Authority } from '../../ca/authority.js';

const PASSPHRASE = 'test passphrase, not secret';

interface SimNode { nodeId: string; der: Uint8Array }

/** 10,000 joins with one token in seconds is the point of these figures: the join rates are lifted (renewals keep their default). */
const UNBOUNDED = { count: 1_000_000_000, perMs: 1000 };

async function startCa(stateDir: string): Promise<RunningCa> {
  // warn: one info line per issuance would make this a benchmark of the terminal.
  return serveCa(
    // HITLESS_TEST_STORE=etcd: the same figures with the cluster in etcd (one member per cluster; test/helpers/cluster.ts).
    { stateDir, listen: '127.0.0.1:0', passphrase: PASSPHRASE, credentialLimits: { joinsPerToken: UNBOUNDED, joinsOverall: UNBOUNDED }, etcd: testEtcdConnection(stateDir) },
    { clock: systemClock, log: createLogger({ level: 'warn' }) },
  );
}

/** One CSR for a fresh key per node (untimed preparation). */
function freshCsrs(n: number): Uint8Array[] {
  return Array.from({ length: n }, () => createCsrDer(generateKeyPairPem().privateKeyPem));
}

/** Runs `fn` over `items` with at most `limit` in flight. */
async function pool<T>(items: T[], limit: number, fn: (item: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i]!, i);
    }
  }));
}

async function joinFleet(authority: Authority, token: string, n: number): Promise<SimNode[]> {
  const nodes: SimNode[] = new Array(n);
  const csrs = freshCsrs(n);
  await pool([...Array(n).keys()], 256, async (i) => {
    const issued = await authority.join({ joinToken: token, csrDer: csrs[i]!, source: `sim-${i}` });
    nodes[i] = { nodeId: issued.nodeId, der: pemToDer(issued.chainPem[0]!) };
  });
  return nodes;
}

async function renew(authority: Authority, node: SimNode, csr: Uint8Array): Promise<void> {
  const issued = await authority.renew({ peerDer: node.der, csrDer: csr, bundleVersion: authority.trust.version });
  node.der = pemToDer(issued.chainPem[0]!);
}

/** On etcd: its database size now (the figures' "etcd size after"), logged; undefined on the embedded store. */
async function logEtcdSize(stateDir: string, what: string): Promise<void> {
  const conn = testEtcdConnection(stateDir);
  if (!conn) return;
  const client = new Etcd3({ hosts: conn.endpoints });
  try {
    const st = await client.maintenance.status();
    const keys = await client.getAll().prefix('/hitless/').count();
    process.stderr.write(`[bench] etcd after ${what}: db ${(Number(st.dbSize) / 1e6).toFixed(1)} MB, ${keys} keys under /hitless/\n`);
  } finally {
    client.close();
  }
}

async function withCluster<T>(fn: (stateDir: string, token: string) => Promise<T>, nodeCertTtl = '6h'): Promise<T> {
  const dir = await tmpDir();
  try {
    const { stateDir, init } = await initCa(dir.path, { nodeCertTtl });
    return await fn(stateDir, init.tokens.worker);
  } finally {
    await dir.cleanup();
  }
}

/**
 * Figure 7: `n` nodes joined; the CA restarts (new process state, empty caches, store from disk); then all
 * nodes renew at once. Seconds from the restarted CA serving until every node holds its new certificate.
 */
export async function benchRenewalStorm(opts: { nodes: number; runs: number }): Promise<number[]> {
  return withCluster(async (stateDir, token) => {
    let ca = await startCa(stateDir);
    const nodes = await joinFleet(ca.authority, token, opts.nodes);
    const seconds: number[] = [];
    for (let r = 0; r < opts.runs; r++) {
      await ca.stop();
      const csrs = freshCsrs(nodes.length);
      ca = await startCa(stateDir);
      const start = performance.now();
      await Promise.all(nodes.map((node, i) => renew(ca.authority, node, csrs[i]!)));
      seconds.push((performance.now() - start) / 1000);
      await logEtcdSize(stateDir, `renewal storm run ${r + 1} (${nodes.length} nodes in ${seconds.at(-1)!.toFixed(2)} s)`);
    }
    await ca.stop();
    return seconds;
  });
}

/**
 * Figure 6's clusters: 40 s certificates, so connections cycle within 4 s (max age = TTL / 10). On etcd 3 min:
 * joining 10,000 nodes there takes longer than 40 s on this machine, and the first ones would expire before
 * the rotation asks them to renew.
 */
export const ROTATION_BENCH_TTL = process.env.HITLESS_TEST_STORE === 'etcd' ? '3m' : '40s';
export const ROTATION_BENCH_CYCLE_S = connectionCycleMs(maxConnectionAgeMs(parseDuration(ROTATION_BENCH_TTL, 'ttl'))) / 1000;

/**
 * Figure 6: root rotation of `n` connected nodes. Each simulated node renews when the CA asks it to (the
 * CA's window of outstanding requests paces them) and acknowledges the bundle with its renewal. Measured from
 * `StartRootRotation` to converged (every node re-issued under the new root, its bundle acknowledged: the
 * work) and to finished (bundle {new}, tokens swapped: what the operator waits for). Finishing waits 1.5 max
 * connection ages after convergence so that connections made with old certificates cycle. Each run has a
 * fresh cluster with 40 s certificates, so that wait is ROTATION_BENCH_CYCLE_S (6 s) of every "finished" figure (in production it is
 * 1.5 x min(TTL/10, 30 min): configuration, not work).
 */
export async function benchRootRotation(opts: { nodes: number; runs: number }): Promise<{ convergedS: number; finishedS: number }[]> {
  const results: { convergedS: number; finishedS: number }[] = [];
  for (let r = 0; r < opts.runs; r++) results.push(await withCluster((stateDir, token) => rotateOnce(stateDir, token, opts), ROTATION_BENCH_TTL));
  return results;
}

async function rotateOnce(stateDir: string, token: string, opts: { nodes: number }): Promise<{ convergedS: number; finishedS: number }> {
  const ca = await startCa(stateDir);
  const admin = await adminClient(stateDir);
  type Status = { converged_at: string; phase: string; nodes_reissued: number; last_finished_at: string };
  const status = () => call<Status>((o, cb) => admin.GetRootRotationStatus({}, o, cb));
  try {
    const nodes = await joinFleet(ca.authority, token, opts.nodes);
    const csrs = freshCsrs(nodes.length);
    const byId = new Map(nodes.map((n, i) => [n.nodeId, { node: n, csr: csrs[i]! }]));
    for (const n of nodes) ca.authority.watching(n.nodeId, 1);
    // Each node renews with its own new key (asked twice, it renews to the same key: its own, which is allowed).
    ca.authority.on('renew-requested', (nodeId: string) => {
      const sim = byId.get(nodeId);
      if (sim) void renew(ca.authority, sim.node, sim.csr).catch((err: unknown) => console.error('simulated renewal failed:', err));
    });
    const start = performance.now();
    await call((o, cb) => admin.StartRootRotation({ root_cert_pem: '', root_key_pem: '', root_subject: '' }, o, cb));
    let convergedS: number | undefined;
    for (;;) {
      const s = await status();
      if (s.converged_at && convergedS === undefined) convergedS = (performance.now() - start) / 1000;
      if (s.phase === 'idle' && s.last_finished_at) break;
      if (performance.now() - start > 300_000) throw new Error(`rotation not finished after 300 s (${s.nodes_reissued} re-issued)`);
      await new Promise((res) => setTimeout(res, 50)); // status poll period: the resolution of this figure
    }
    const result = { convergedS: convergedS!, finishedS: (performance.now() - start) / 1000 };
    await logEtcdSize(stateDir, `root rotation (${nodes.length} nodes; converged ${result.convergedS.toFixed(1)} s, finished ${result.finishedS.toFixed(1)} s)`);
    return result;
  } finally {
    admin.close();
    await ca.stop();
  }
}
