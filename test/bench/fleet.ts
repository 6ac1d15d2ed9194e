// Figures 6 and 7: the CA with a fleet of 10,000 simulated nodes. The CA is the real one (serveCa in this
// process: level store with fsync'd group commits, the rotation manager, authority, fast issuance); the
// nodes are simulated in-process — they call the authority directly with their real certificates and CSRs
// instead of over gRPC, so these figures measure the CA's own capacity, not 10,000 TLS connections on one
// 2-core machine (figure 2 is the over-the-wire rate). Every node gets keys of its own, made before the clock
// starts: the CA refuses a key that backs another live node.
import { pemToDer } from '../../shared/pki/pem.js';
import { maxConnectionAgeMs } from '../../shared/connection-age.js';
import { NODE_CERT_TTL } from '../../ca/config.js';
import { parseCertificate } from '../../shared/pki/certs.js';
import { startModuleWorker } from '../../shared/ts-worker.js';
import type { ReportReply, ReportRequest } from './report-worker.js';
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

interface SimNode { nodeId: string; der: Uint8Array; chainPem: string[] }

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

/** A fresh key and its CSR per node (untimed preparation): the key signs the node's report connection. */
function freshKeys(n: number): { keyPem: string; csrDer: Uint8Array }[] {
  return Array.from({ length: n }, () => {
    const keyPem = generateKeyPairPem().privateKeyPem;
    return { keyPem, csrDer: createCsrDer(keyPem) };
  });
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
    nodes[i] = { nodeId: issued.nodeId, der: pemToDer(issued.chainPem[0]!), chainPem: [...issued.chainPem] };
  });
  return nodes;
}

async function renew(authority: Authority, node: SimNode, csr: Uint8Array): Promise<void> {
  const issued = await authority.renew({ peerDer: node.der, csrDer: csr, bundleVersion: authority.trust.version });
  node.der = pemToDer(issued.chainPem[0]!);
  node.chainPem = [...issued.chainPem];
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

async function withCluster<T>(fn: (stateDir: string, token: string) => Promise<T>, nodeCertTtl = `${NODE_CERT_TTL.defaultMs / 3_600_000}h`): Promise<T> {
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
 * Figure 6's clusters run with the default certificate lifetime (6 h, `ca init` without --node-cert-ttl) and
 * the default connection age (its tenth, capped at 30 min). The rotation's timer (1.5 x that age, 45 min) is
 * only the upper bound for nodes that never report; the simulated nodes report as agents do, so the rotation
 * finishes on their evidence. On etcd the same.
 */
export const ROTATION_BENCH_TTL_MS = NODE_CERT_TTL.defaultMs;
/** The finish's upper bound for these clusters (s): what figure 6a would be without the nodes' evidence. */
export const ROTATION_BENCH_UPPER_BOUND_S = connectionCycleMs(maxConnectionAgeMs(ROTATION_BENCH_TTL_MS)) / 1000;

export interface RotationRun {
  /** StartRootRotation to converged (every node re-issued under the new root, bundle acknowledged). */
  convergedS: number;
  /** StartRootRotation to finished (bundle {new}, tokens swapped): what the operator waits for. */
  finishedS: number;
  /** ReportLiveCredentials calls made over mTLS (one per node, plus any sent again: see resent). */
  reports: number;
  /** Reports sent again because the CA's own certificate on the report's connection still chained to the old root. */
  resent: number;
  /** Failed report calls (retried; target 0). */
  reportFailures: number;
}

/**
 * Figure 6: root rotation of `n` connected nodes with the default certificate lifetime. Each simulated node
 * behaves as an agent does (agent/ca-watch.ts, agent/live-credentials.ts):
 *  - on a bundle change it acknowledges the bundle, as its watch stream re-established with known_version does
 *    (in-process, like the renewals below: the watch itself is simulated by authority.watching);
 *  - asked to renew, it renews with its own new key (authority.renew in-process, as figure 7), and then reports
 *    its rotation evidence over the wire: one ReportLiveCredentials on an mTLS connection of its own to the CA's
 *    port, with its new certificate, naming the roots that issued the certificates it uses — its own and the
 *    CA's as that connection presented it (what its watch would run on). A report that still names the old
 *    root (the CA's certificate not re-issued yet) is sent again 500 ms later, as the agent's reporter would.
 *    The nodes' side of the reports runs on a worker thread (report-worker.ts), beside the CA's event loop.
 * Measured from `StartRootRotation` to converged and to finished. The CA finishes on evidence as soon as every
 * node has reported no old root; the 1.5 x connection-age timer (ROTATION_BENCH_UPPER_BOUND_S) is not waited.
 */
export async function benchRootRotation(opts: { nodes: number; runs: number }): Promise<RotationRun[]> {
  const results: RotationRun[] = [];
  for (let r = 0; r < opts.runs; r++) results.push(await withCluster((stateDir, token) => rotateOnce(stateDir, token, opts)));
  return results;
}

const cpuS = (since: NodeJS.CpuUsage) => {
  const u = process.cpuUsage(since);
  return ((u.user + u.system) / 1e6).toFixed(1);
};

/** Report calls in flight at once: below the CA's 64 connections per source without a node certificate yet. */
const REPORT_CONCURRENCY = 32;

async function rotateOnce(stateDir: string, token: string, opts: { nodes: number }): Promise<RotationRun> {
  const ca = await startCa(stateDir);
  const admin = await adminClient(stateDir);
  type Status = { converged_at: string; phase: string; nodes_reissued: number; last_finished_at: string; waiting_for: unknown[] };
  const status = () => call<Status>((o, cb) => admin.GetRootRotationStatus({}, o, cb));
  const counts = { reports: 0, resent: 0, reportFailures: 0 };
  let stopping = false;
  let stopAcks = async () => {};
  let stopWorker = async (): Promise<unknown> => undefined;
  let lastReportAt = 0;
  try {
    const nodes = await joinFleet(ca.authority, token, opts.nodes);
    const keys = freshKeys(nodes.length);
    const byId = new Map(nodes.map((n, i) => [n.nodeId, { node: n, key: keys[i]! }]));
    for (const n of nodes) ca.authority.watching(n.nodeId, 1);
    const authority = ca.authority;
    const address = `127.0.0.1:${ca.port}`;

    // A bundle change reaches every node's watch, which acknowledges it (see above).
    let acked = 0;
    let acking: Promise<void> = Promise.resolve();
    authority.on('trust', () => {
      const version = authority.trust.version;
      if (version <= acked || stopping) return;
      acked = version;
      acking = pool(nodes, 256, async (n) => {
        if (!stopping) await authority.acknowledgeBundle(n.nodeId, version);
      }).catch((err: unknown) => console.error('simulated acknowledgement failed:', err));
    });
    stopAcks = () => acking;

    // Report slots (REPORT_CONCURRENCY) handed out in order.
    let inFlight = 0;
    const waiting: (() => void)[] = [];
    const slot = async () => {
      if (inFlight >= REPORT_CONCURRENCY) await new Promise<void>((res) => waiting.push(res));
      inFlight++;
    };
    const release = () => {
      inFlight--;
      waiting.shift()?.();
    };
    const oldRoot = parseCertificate(authority.trust.tokenRootPem).fingerprint;
    // The nodes' side of the reports runs on a worker thread (report-worker.ts).
    const worker = startModuleWorker(new URL('./report-worker.ts', import.meta.url), { workerData: { address } });
    stopWorker = () => worker.terminate();
    let nextId = 0;
    const replies = new Map<number, (r: ReportReply) => void>();
    worker.on('message', (r: ReportReply) => {
      replies.get(r.id)?.(r);
      replies.delete(r.id);
    });
    /** One node's report; sent again 500 ms later while it names the old root or fails (as the agent's reporter would). */
    const report = async (node: SimNode, keyPem: string): Promise<void> => {
      for (let attempt = 0; !stopping; attempt++) {
        await slot();
        const bundle = authority.trust;
        const id = nextId++;
        counts.reports++;
        const reply = await new Promise<ReportReply>((resolve) => {
          replies.set(id, resolve);
          worker.postMessage({ id, keyPem, chainPem: node.chainPem, rootsPem: bundle.rootsPem, bundleVersion: bundle.version } satisfies ReportRequest);
        }).finally(release);
        lastReportAt = performance.now();
        if (reply.error !== undefined) {
          counts.reportFailures++;
          if (counts.reportFailures <= 5) console.error(`simulated report of ${node.nodeId} failed (attempt ${attempt + 1}): ${reply.error}`);
        } else if (reply.roots!.includes(oldRoot)) {
          counts.resent++;
        } else {
          return;
        }
        await new Promise((res) => setTimeout(res, 500));
      }
    };

    // Each node renews with its own new key (asked twice, it renews to the same key: its own, which is allowed).
    const reported = new Set<string>();
    authority.on('renew-requested', (nodeId: string) => {
      const sim = byId.get(nodeId);
      if (!sim) return;
      void renew(authority, sim.node, sim.key.csrDer)
        .then(() => {
          if (reported.has(nodeId)) return;
          reported.add(nodeId);
          return report(sim.node, sim.key.keyPem);
        })
        .catch((err: unknown) => console.error('simulated renewal failed:', err));
    });
    const start = performance.now();
    const cpu0 = process.cpuUsage();
    await call((o, cb) => admin.StartRootRotation({ root_cert_pem: '', root_key_pem: '', root_subject: '' }, o, cb));
    let convergedS: number | undefined;
    for (;;) {
      const s = await status();
      if (s.converged_at && convergedS === undefined) convergedS = (performance.now() - start) / 1000;
      if (s.phase === 'idle' && s.last_finished_at) break;
      if (performance.now() - start > 900_000) throw new Error(`rotation not finished after 900 s (${s.nodes_reissued} re-issued, ${s.waiting_for?.length ?? '?'} nodes' evidence awaited)`);
      await new Promise((res) => setTimeout(res, 50)); // status poll period: the resolution of this figure
    }
    const result = { convergedS: convergedS ?? (performance.now() - start) / 1000, finishedS: (performance.now() - start) / 1000, ...counts };
    process.stderr.write(`[bench] root rotation of ${nodes.length} nodes: converged ${result.convergedS.toFixed(1)} s, last report ${((lastReportAt - start) / 1000).toFixed(1)} s, finished ${result.finishedS.toFixed(1)} s (timer bound ${ROTATION_BENCH_UPPER_BOUND_S} s); ${counts.reports} reports, ${counts.resent} resent, ${counts.reportFailures} failed; process CPU (CA and simulated nodes) ${cpuS(cpu0)} s\n`);
    await logEtcdSize(stateDir, `root rotation (${nodes.length} nodes; converged ${result.convergedS.toFixed(1)} s, finished ${result.finishedS.toFixed(1)} s)`);
    return result;
  } finally {
    stopping = true;
    await stopAcks();
    await stopWorker();
    admin.close();
    await ca.stop();
  }
}
