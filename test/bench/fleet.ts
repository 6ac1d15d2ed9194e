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
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ReportClients, type ReportReply } from './report-clients.js';
import { connectionCycleMs } from '../../ca/root-rotation.js';
import { createLogger, type Logger } from '../../shared/log.js';
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

async function startCa(stateDir: string, log: Logger = createLogger({ level: 'warn' })): Promise<RunningCa> {
  // warn: one info line per issuance would make this a benchmark of the terminal.
  return serveCa(
    // HITLESS_TEST_STORE=etcd: the same figures with the cluster in etcd (one member per cluster; test/helpers/cluster.ts).
    { stateDir, listen: '127.0.0.1:0', passphrase: PASSPHRASE, credentialLimits: { joinsPerToken: UNBOUNDED, joinsOverall: UNBOUNDED }, etcd: testEtcdConnection(stateDir) },
    { clock: systemClock, log },
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
  /** ReportLiveCredentials calls made over mTLS during the rotation (one per node, plus any sent again: see resent). */
  reports: number;
  /** Reports sent again because the CA's own certificate on the report's connection still chained to the old root. */
  resent: number;
  /** Failed report calls (retried; target 0). */
  reportFailures: number;
  /** Reports answered by the time the rotation converged (they compete with the renewals for the cores). */
  reportsAtConverged: number;
  /** Renewals done during the rotation (one per node; a node asked twice renews once). */
  renewals: number;
  /** CPU of the CA's process (its event loop and CSR workers; the simulated nodes' glue is negligible), start to converged and start to finished, s. */
  caCpuConvergedS: number;
  caCpuFinishedS: number;
  /** CPU of the report client process over the rotation (its own and its curl processes'), s. */
  clientCpuS: number;
  /** What made the report connections (report-clients.ts), and its counts at the end (connections, re-pinned, processes). */
  client: string;
  clientStats: Record<string, number>;
  /** The isolated report pass after the rotation: reports sent, CA CPU and client CPU per report (ms). */
  pass: { reports: number; caMsPerReport: number; clientMsPerReport: number; seconds: number };
  /** With curl: its CPU per report and the Node client's, from alternating chunks of reports after the pass (ms). */
  compared?: { reports: number; curlMs: number; nodeMs: number };
}

/** Reports per client in the comparison (in COMPARE_CHUNKS alternating chunks), and the chunks. */
const COMPARE_REPORTS = 600;
const COMPARE_CHUNKS = 3;

/**
 * The two report clients' CPU per report, measured the same way at the same time: chunks of reports from the
 * sample alternate between the curl client and a Node client process (the guide: a comparison is a ratio of two
 * figures from the same run), so a change in the machine's load hits both alike.
 */
async function compareClients(curl: ReportClients, address: string, sample: SimNode[], report: (n: SimNode, via: ReportClients) => Promise<ReportReply>): Promise<RotationRun['compared']> {
  const node = new ReportClients(address, 'node');
  try {
    await node.ready;
    const per = Math.max(1, Math.floor(Math.min(COMPARE_REPORTS, sample.length) / COMPARE_CHUNKS));
    const used = { curl: 0, node: 0 };
    for (let c = 0; c < COMPARE_CHUNKS; c++) {
      for (const [name, via] of [['curl', curl], ['node', node]] as const) {
        const chunk = sample.slice(c * per, (c + 1) * per);
        const before = await via.cpuS();
        await Promise.all(chunk.map((n) => report(n, via)));
        used[name] += (await via.cpuS()) - before;
      }
    }
    const n = per * COMPARE_CHUNKS;
    return { reports: n, curlMs: (used.curl * 1000) / n, nodeMs: (used.node * 1000) / n };
  } finally {
    await node.stop();
  }
}

/**
 * HITLESS_BENCH_PROFILE=DIR: CPU profiles of this process (the CA) over the rotation (start to finished) and over
 * the isolated report pass, written to DIR as .cpuprofile files (open them in Chrome DevTools). Off by default.
 */
async function profiled<T>(what: string, fn: () => Promise<T>): Promise<T> {
  const dir = process.env.HITLESS_BENCH_PROFILE;
  if (!dir) return fn();
  const { Session } = await import('node:inspector/promises');
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  try {
    return await fn();
  } finally {
    const { profile } = await session.post('Profiler.stop');
    await writeFile(join(dir, `fig6-${what}-${Date.now()}.cpuprofile`), JSON.stringify(profile));
    session.disconnect();
  }
}

/** CPU time of this process since `since`, in seconds. */
const cpuSince = (since: NodeJS.CpuUsage) => {
  const u = process.cpuUsage(since);
  return (u.user + u.system) / 1e6;
};

/** Reports of the isolated pass that measures the CA's CPU per report alone (after the rotation). */
const PASS_REPORTS = 2_000;

/** The CA's log at warn, plus the instants of the rotation's converged and finished events (no status polling). */
function rotationLog(): { log: Logger; converged: Promise<number>; finished: Promise<number>; onConverged: (fn: () => void) => void } {
  const base = createLogger({ level: 'warn' });
  let converged!: (t: number) => void;
  let finished!: (t: number) => void;
  const hooks: (() => void)[] = [];
  const out = {
    converged: new Promise<number>((res) => (converged = res)),
    finished: new Promise<number>((res) => (finished = res)),
    onConverged: (fn: () => void) => hooks.push(fn),
  };
  const wrap = (l: Logger): Logger => ({
    ...l,
    info: (event, fields) => {
      if (event === 'root_rotation.converged') {
        converged(performance.now());
        for (const h of hooks) h();
      } else if (event === 'root_rotation.finished') finished(performance.now());
      l.info(event, fields);
    },
    child: (f) => wrap(l.child(f)),
  });
  return { ...out, log: wrap(base) };
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
 *    The nodes' side of the reports runs in a child process (report-main.ts), so this process's CPU is the CA's.
 * Measured from `StartRootRotation` to the CA's `root_rotation.converged` and `root_rotation.finished` log events.
 * The CA finishes on evidence as soon as every node has reported no old root; the 1.5 x connection-age timer
 * (ROTATION_BENCH_UPPER_BOUND_S) is not waited. After the rotation, an isolated pass of reports (PASS_REPORTS
 * nodes report again, nothing else running) gives the CA's CPU per report alone.
 */
export async function benchRootRotation(opts: { nodes: number; runs: number }): Promise<RotationRun[]> {
  const results: RotationRun[] = [];
  for (let r = 0; r < opts.runs; r++) results.push(await withCluster((stateDir, token) => rotateOnce(stateDir, token, opts)));
  return results;
}

async function rotateOnce(stateDir: string, token: string, opts: { nodes: number }): Promise<RotationRun> {
  const events = rotationLog();
  const ca = await startCa(stateDir, events.log);
  const admin = await adminClient(stateDir);
  type Status = { phase: string; nodes_reissued: number; waiting_for: unknown[] };
  const status = () => call<Status>((o, cb) => admin.GetRootRotationStatus({}, o, cb));
  const counts = { reports: 0, resent: 0, reportFailures: 0, renewals: 0 };
  let stopping = false;
  let stopAcks = async () => {};
  const clients = new ReportClients(`127.0.0.1:${ca.port}`);
  let lastReportAt = 0;
  try {
    await clients.ready;
    const nodes = await joinFleet(ca.authority, token, opts.nodes);
    const keys = freshKeys(nodes.length);
    const byId = new Map(nodes.map((n, i) => [n.nodeId, { node: n, key: keys[i]! }]));
    for (const n of nodes) ca.authority.watching(n.nodeId, 1);
    const authority = ca.authority;

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

    let answered = 0;
    const oldRoot = parseCertificate(authority.trust.tokenRootPem).fingerprint;
    const reportOnce = async (node: SimNode, keyPem: string, via = clients): Promise<ReportReply> => {
      const bundle = authority.trust;
      const reply = await via.report({ keyPem, chainPem: node.chainPem, rootsPem: bundle.rootsPem, bundleVersion: bundle.version });
      if (reply.error !== undefined) {
        counts.reportFailures++;
        if (counts.reportFailures <= 5) console.error(`simulated report of ${node.nodeId} failed: ${reply.error}`);
      }
      return reply;
    };
    /** One node's report; sent again 500 ms later while it names the old root or fails (as the agent's reporter would). */
    const report = async (node: SimNode, keyPem: string): Promise<void> => {
      while (!stopping) {
        counts.reports++;
        const reply = await reportOnce(node, keyPem);
        answered++;
        lastReportAt = performance.now();
        if (reply.error === undefined && !reply.roots!.includes(oldRoot)) return;
        if (reply.error === undefined) counts.resent++;
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
          counts.renewals++;
          reported.add(nodeId);
          return report(sim.node, sim.key.keyPem);
        })
        .catch((err: unknown) => console.error('simulated renewal failed:', err));
    });
    const clientCpu0 = await clients.cpuS();
    let cpuConverged = 0;
    let reportsAtConverged = 0;
    const start = performance.now();
    const cpu0 = process.cpuUsage();
    events.onConverged(() => {
      cpuConverged = cpuSince(cpu0);
      reportsAtConverged = answered;
    });
    let finishedAt: number | undefined;
    await profiled('rotation', async () => {
      await call((o, cb) => admin.StartRootRotation({ root_cert_pem: '', root_key_pem: '', root_subject: '' }, o, cb));
      // The times come from the CA's log events; the status is read only if the deadline passes (a status at
      // 10,000 nodes costs the CA ~0.1 s of CPU: it lists and serializes every node still blocking).
      let deadline: NodeJS.Timeout | undefined;
      const late = new Promise<'late'>((res) => (deadline = setTimeout(() => res('late'), 900_000)));
      try {
        if ((await Promise.race([events.finished, late])) === 'late') {
          const s = await status();
          throw new Error(`rotation not finished after 900 s (${s.nodes_reissued} re-issued, ${s.waiting_for?.length ?? '?'} nodes' evidence awaited)`);
        }
        finishedAt = await events.finished;
      } finally {
        clearTimeout(deadline);
      }
    });
    if (finishedAt === undefined) throw new Error('unreachable: the rotation loop ends when finished');
    const caCpuFinishedS = cpuSince(cpu0);
    const clientCpuS = (await clients.cpuS()) - clientCpu0;
    const convergedAt = await events.converged;
    await acking;

    // The isolated pass: nodes report again (their current certificate and bundle), nothing else running.
    const sample = nodes.slice(0, Math.min(PASS_REPORTS, nodes.length));
    const passCpu0 = process.cpuUsage();
    const passClient0 = await clients.cpuS();
    const passStart = performance.now();
    const failuresBefore = counts.reportFailures;
    await profiled('report-pass', () => Promise.all(sample.map((n) => reportOnce(n, byId.get(n.nodeId)!.key.keyPem))));
    const passSeconds = (performance.now() - passStart) / 1000;
    const caPassS = cpuSince(passCpu0);
    const end = await clients.cpu();
    const pass = {
      reports: sample.length - (counts.reportFailures - failuresBefore),
      caMsPerReport: (caPassS * 1000) / sample.length,
      clientMsPerReport: ((end.s - passClient0) * 1000) / sample.length,
      seconds: passSeconds,
    };
    const compared = clients.client.startsWith('curl') ? await compareClients(clients, `127.0.0.1:${ca.port}`, sample, (n, via) => reportOnce(n, byId.get(n.nodeId)!.key.keyPem, via)) : undefined;

    const result: RotationRun = {
      convergedS: (convergedAt - start) / 1000,
      finishedS: (finishedAt - start) / 1000,
      ...counts,
      reportsAtConverged,
      caCpuConvergedS: cpuConverged,
      caCpuFinishedS,
      clientCpuS,
      client: clients.client,
      clientStats: end.stats,
      pass,
      compared,
    };
    process.stderr.write(
      `[bench] root rotation of ${nodes.length} nodes: converged ${result.convergedS.toFixed(1)} s, last report ${((lastReportAt - start) / 1000).toFixed(1)} s, finished ${result.finishedS.toFixed(1)} s (timer bound ${ROTATION_BENCH_UPPER_BOUND_S} s); ${reportsAtConverged} reports answered by converged; ` +
        `${counts.renewals} renewals, ${counts.reports} reports, ${counts.resent} resent, ${counts.reportFailures} failed; ` +
        `CA process CPU ${cpuConverged.toFixed(1)} s to converged, ${caCpuFinishedS.toFixed(1)} s to finished; report clients' process CPU ${clientCpuS.toFixed(1)} s; ` +
        `isolated pass of ${sample.length} reports in ${passSeconds.toFixed(1)} s: CA ${pass.caMsPerReport.toFixed(2)} ms CPU per report, clients ${pass.clientMsPerReport.toFixed(2)} ms; ` +
        `report clients: ${clients.client}, ${Object.entries(end.stats).map(([k, v]) => `${v} ${k}`).join(', ')} (rotation and pass)` +
        (compared ? `; alternating ${compared.reports} + ${compared.reports} reports: curl ${compared.curlMs.toFixed(2)} ms, node:http2 ${compared.nodeMs.toFixed(2)} ms CPU per report` : '') +
        '\n',
    );
    await logEtcdSize(stateDir, `root rotation (${nodes.length} nodes; converged ${result.convergedS.toFixed(1)} s, finished ${result.finishedS.toFixed(1)} s)`);
    return result;
  } finally {
    stopping = true;
    await stopAcks();
    await clients.stop();
    admin.close();
    await ca.stop();
  }
}
