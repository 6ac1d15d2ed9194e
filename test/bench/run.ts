// `npm run bench`: every figure of the benchmark suite in one run, printed as one table and written as JSON.
//
//   npm run bench                      all figures (~25 minutes on 2 cores; figure 6, three 10,000-node rotations, ~13)
//   npm run bench -- --only 1,4        some figures
//   npm run bench -- --quick           fewer and shorter runs (a smoke check of the suite, not numbers to quote)
//   npm run bench -- --out FILE        where the JSON goes (default bench-results.json)
//
// Each figure is the median of several runs with min and max. Comparisons (ours vs cfssl, ours vs the
// OpenSSL bound) are ratios of figures measured in this same run, on this same machine, so a busy or slow
// machine moves both sides. Run it on an otherwise idle machine: the suite uses every core.
import 'reflect-metadata';
import { writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import { figure, median, table, type Figure } from './report.js';
import { issuanceAllCores, issuanceFixture, issuanceLoop } from './issuance.js';
import { opensslSpeed } from './openssl-speed.js';
import { benchE2e } from './e2e.js';
import { benchCfssl } from './cfssl.js';
import { benchSoak } from './soak.js';
import { benchRenewalStorm, benchRootRotation, ROTATION_BENCH_UPPER_BOUND_S } from './fleet.js';
import { benchFootprint } from './footprint.js';
import { benchAttack } from './attack.js';
import { benchHa, type HaRun } from './ha.js';
import { CA_PORT_LIMITS } from '../../shared/grpc/limits.js';

const { values } = parseArgs({
  options: {
    only: { type: 'string' },
    quick: { type: 'boolean', default: false },
    out: { type: 'string', default: 'bench-results.json' },
    runs: { type: 'string' },
    nodes: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (values.help) {
  console.log('usage: npm run bench -- [--only 1,2,...] [--quick] [--runs N] [--nodes N] [--out bench-results.json]\n--runs: runs per figure (default 3, --quick 1); --nodes: fleet size of figures 6 and 7 (default 10,000, --quick 1,000).\nFigures: 1 in-process issuance, 2 end-to-end issuance, 3 cfssl serve, 4 OpenSSL bound, 5 hitless soak, 6 root rotation of 10,000 nodes, 7 renewal storm of 10,000 nodes, 8 agent footprint, 9 renewals while 1,000 unauthenticated connections hold half-open calls, 10 renewals on etcd through 1 and 3 replicas.\nFigure 6 report clients: curl when installed (Debian package curl, 7.84+ with HTTP2), else node:http2; HITLESS_BENCH_REPORT_CLIENT=curl|node picks one, HITLESS_BENCH_REPORT_NICE=0..19 their priority (default 10).');
  process.exit(0);
}
const only = values.only ? new Set(values.only.split(',').map((s) => Number(s.trim()))) : undefined;
if (only && [...only].some((n) => !(n >= 1 && n <= 10))) {
  console.error(`--only takes figure numbers 1 to 10, got "${values.only}"`);
  process.exit(2);
}
const want = (n: number) => !only || only.has(n);
const quick = values.quick;
/** A positive integer flag, or the default; anything else exits 2 with the flag named. */
function countFlag(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 1) {
    console.error(`--${name} takes a positive whole number, got "${text}"`);
    process.exit(2);
  }
  return n;
}
const RUNS = countFlag('runs', values.runs, quick ? 1 : 3);
const ISSUE_MS = quick ? 500 : 2000;
const E2E_MS = quick ? 1000 : 3000;
const CONCURRENCY = 16; // e2e clients and cfssl clients alike
const FLEET = countFlag('nodes', values.nodes, quick ? 1000 : 10_000);

const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);
const figures: Figure[] = [];
const raw: Record<string, unknown> = {};
const add = (f: Figure) => {
  figures.push(f);
  log(`${f.id} ${f.what}: median ${f.median.toFixed(2)} ${f.unit} (runs ${f.runs.map((r) => r.toFixed(2)).join(', ')})`);
};
/** Pairs run i of `a` with run i of `b`: a comparison made within the same run of the suite. */
const ratioRuns = (a: number[], b: number[]) => a.slice(0, Math.min(a.length, b.length)).map((x, i) => x / b[i]!);

const fixture = await issuanceFixture();

// 4 first: it is the yardstick figure 1 is compared with.
let bound: number[] | undefined;
if (want(4) || want(1)) {
  const speeds = Array.from({ length: RUNS }, () => opensslSpeed(quick ? 1 : 2));
  raw.openssl = speeds;
  bound = speeds.map((s) => s.boundPerSec);
  if (want(4)) {
    add(figure('4a', `openssl speed ecdsap256 sign (${speeds[0]!.version})`, 'ops/s', speeds.map((s) => s.signPerSec)));
    add(figure('4b', 'openssl speed ecdsap256 verify', 'ops/s', speeds.map((s) => s.verifyPerSec)));
    add(figure('4c', 'bound: 1 verify + 1 sign per certificate, one core', 'certs/s', bound));
  }
}

let oneCore: number[] | undefined;
if (want(1)) {
  await issuanceLoop(fixture.signer, fixture.csrs, 300); // JIT warm-up
  oneCore = [];
  for (let r = 0; r < RUNS; r++) oneCore.push(await issuanceLoop(fixture.signer, fixture.csrs, ISSUE_MS));
  const reference = [await issuanceLoop(fixture.signer, fixture.csrs, ISSUE_MS, true)];
  const allCores: number[] = [];
  for (let r = 0; r < RUNS; r++) allCores.push(await issuanceAllCores(fixture, ISSUE_MS));
  add(figure('1a', 'in-process issuance, fast path, one core', 'certs/s', oneCore, { target: '>= 4,000', met: median(oneCore) >= 4000 }));
  add(figure('1b', 'in-process issuance, @peculiar/x509 reference path, one core', 'certs/s', reference));
  add(figure('1c', `in-process issuance, fast path, all cores (${availableParallelism()} worker threads)`, 'certs/s', allCores));
  add(figure('1d', 'fast path / reference path', 'x', [median(oneCore) / reference[0]!]));
  const frac = ratioRuns(oneCore, bound!).map((x) => x * 100);
  add(figure('4d', 'one-core issuance as a fraction of the OpenSSL bound (1a / 4c)', '%', frac, { target: '>= 35 %', met: median(frac) >= 35 }));
}

let e2e: number[] | undefined;
if (want(2)) {
  const runs = await benchE2e({ concurrency: CONCURRENCY, durationMs: E2E_MS, runs: RUNS, csrs: fixture.csrs });
  raw.e2e = runs;
  e2e = runs.map((r) => r.perSec);
  add(figure('2', `end-to-end renewals over mTLS gRPC, real ca serve + durable store, ${CONCURRENCY} clients`, 'certs/s', e2e));
  // The cost of metrics on the renewal path: pairs of runs, each on a fresh CA, one plain and one with
  // --metrics-listen scraped every second, alternating so that a change in machine load hits both alike.
  const plain: number[] = [];
  const scraped: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    plain.push((await benchE2e({ concurrency: CONCURRENCY, durationMs: E2E_MS, runs: 1, csrs: fixture.csrs }))[0]!.perSec);
    scraped.push((await benchE2e({ concurrency: CONCURRENCY, durationMs: E2E_MS, runs: 1, csrs: fixture.csrs, scrapeEveryMs: 1000 }))[0]!.perSec);
  }
  raw.e2eMetrics = { plain, scraped };
  add(figure('2m', 'figure 2 with --metrics-listen, scraped every second (fresh CA per run)', 'certs/s', scraped));
  const pairs = scraped.map((m, i) => m / plain[i]!);
  add(figure('2r', 'with metrics / without, pairs of runs alternating on fresh CAs', 'x', pairs, { target: '>= 0.95', met: median(pairs) >= 0.95 }));
}

if (want(3)) {
  const r = await benchCfssl({ concurrency: CONCURRENCY, durationMs: E2E_MS, runs: RUNS, log });
  raw.cfssl = r;
  if (r.ok) {
    const cf = r.runs.map((x) => x.perSec);
    add(figure('3', `cfssl serve /api/v1/cfssl/sign, ${CONCURRENCY} clients (${r.version.split(',')[0]})`, 'certs/s', cf));
    if (e2e) {
      const ratio = ratioRuns(e2e, cf);
      add(figure('3r', 'end-to-end / cfssl serve (2 / 3)', 'x', ratio, { target: '>= 1.0', met: median(ratio) >= 1 }));
    }
  } else {
    log(`figure 3 skipped: ${r.reason}`);
    figures.push({ ...figure('3', 'cfssl serve', 'certs/s', [NaN]), note: `skipped: ${r.reason}` });
  }
}

if (want(5)) {
  // 250 streams pinging every 250 ms between agents that each run in a process of their own, one agent per core
  // (2 to 4), the CA's signing and the driver in this process (soak.ts), as production runs them; every stream
  // moves to a new connection at each GOAWAY and twice per rotation step. At 100 ms pings (5g, no target) the
  // agents carry 2.5 times the messages.
  const SOAK_PING_MS = 250;
  const results = [];
  for (let r = 0; r < RUNS; r++) results.push(await benchSoak({ heartbeatMs: SOAK_PING_MS, log: quick ? () => {} : (l) => log(l) }));
  raw.soak = results;
  const s0 = results[0]!;
  const what = `${s0.agents} agents, ${s0.streams} streams, ${s0.leafRotations} leaf + ${s0.rootRotation ? 1 : 0} root rotations, pings every ${s0.heartbeatMs} ms`;
  const errors = results.map((s) => s.streamErrors + s.streamEnds);
  add(figure('5a', `soak (${what}): stream errors + streams down at the end`, 'streams', errors, { target: '0', met: Math.max(...errors) === 0 }));
  const untrusted = results.map((s) => s.untrustedStreamsMax);
  add(figure('5h', `soak: streams on an expired or untrusted certificate, max over ${results.map((s) => s.untrustedSamples).join('/')} samples (1 s apart; up to ${Math.max(...results.map((s) => s.untrustedSampledLegsMax))} live legs each; A dropped on evidence ${results.map((s) => (s.finishWaitMs / 1000).toFixed(1)).join('/')} s after the last leaf(B))`, 'streams', untrusted, { target: '0', met: Math.max(...untrusted) === 0 }));
  add(figure('5i', `soak: stream refreshes (make-before-break moves; ${results.map((s) => s.refreshFailures).join('/')} failed, ${results.map((s) => s.heartbeatsLost).join('/')} heartbeats lost)`, 'count', results.map((s) => s.refreshes)));
  add(figure('5b', `soak: failed handshakes (fresh WhoAmI + pooled reconnects; slowest probe ${results.map((s) => (s.freshHandshakeMaxMs / 1000).toFixed(1)).join('/')} s)`, 'count', results.map((s) => s.freshHandshakeFailures + s.reconnectFailures), { target: '0', met: results.every((s) => s.freshHandshakeFailures + s.reconnectFailures === 0) }));
  add(figure('5c', 'soak: reconnects of shared channels (GOAWAY at max age)', 'count', results.map((s) => s.reconnects)));
  add(figure('5d', 'soak: largest gap between heartbeats', 'ms', results.map((s) => s.maxGapMs)));
  const stall = results.map((s) => s.maxGapMs - s.heartbeatMs);
  add(figure('5e', 'soak: largest heartbeat stall (gap beyond the ping cadence)', 'ms', stall, { target: '<= 100', met: median(stall) <= 100 }));
  // A renewal between steps happens only when a step ran past half the 30 s leaves' life: the machine starved.
  // CPU per heartbeat: all the soak's processes' CPU while measuring per pong received (independent of load).
  const where = s0.agentProcesses ? "an agent's process" : 'the soak process (all agents in one)';
  add(figure('5f', `soak: worst event-loop delay of ${where} (CA+driver process ${results.map((s) => Math.round(s.coordinatorLoopMaxDelayMs)).join('/')} ms; CPU ${results.map((s) => s.cpuPerHeartbeatUs).join('/')} µs a heartbeat; leaves renewed because a step ran late: ${results.map((s) => s.lateRenewals).join('/')})`, 'ms', results.map((s) => s.eventLoopMaxDelayMs)));
  if (!quick) {
    const sat = await benchSoak({ heartbeatMs: 100, log: () => {} });
    raw.soakSaturated = sat;
    add(figure('5g', `soak at saturation (pings every 100 ms): stall beyond cadence; errors ${sat.streamErrors + sat.streamEnds}, event-loop delay ${Math.round(sat.eventLoopMaxDelayMs)} ms`, 'ms', [sat.maxGapMs - sat.heartbeatMs]));
  }
}

if (want(6)) {
  const runs = await benchRootRotation({ nodes: FLEET, runs: RUNS });
  raw.rootRotation = runs;
  const fin = runs.map((x) => x.finishedS);
  const bound = ROTATION_BENCH_UPPER_BOUND_S.toLocaleString('en-US');
  add(figure('6a', `root rotation of ${FLEET.toLocaleString('en-US')} nodes, default 6 h certificates: start to finished (on the nodes' evidence; timer bound ${bound} s)`, 's', fin, { target: '<= 60', met: median(fin) <= 60 }));
  add(figure('6b', 'root rotation: start to converged (all re-issued + bundles acknowledged)', 's', runs.map((x) => x.convergedS)));
  add(figure('6c', 'root rotation: converged to finished (the last evidence reports)', 's', runs.map((x) => x.finishedS - x.convergedS)));
  add(figure('6d', `root rotation: ReportLiveCredentials calls over mTLS (${FLEET.toLocaleString('en-US')} nodes; failed ${runs.map((x) => x.reportFailures).join('/')})`, 'calls', runs.map((x) => x.reports)));
  // The CA's own CPU (its process: the report clients run in a child process, the simulated renewals are calls).
  const pass = runs[0]!.pass.reports.toLocaleString('en-US');
  add(figure('6e', `root rotation: CA process CPU per node, start to finished (renewal, 2 bundle acknowledgements, report, ticks)`, 'ms', runs.map((x) => (x.caCpuFinishedS * 1000) / x.renewals)));
  add(figure('6f', `CA process CPU per ReportLiveCredentials (mTLS handshake + call; isolated pass of ${pass} reports after the rotation)`, 'ms', runs.map((x) => x.pass.caMsPerReport)));
  add(figure('6g', 'root rotation: CA process CPU per node besides its report (6e less 6f: renewal, acknowledgements, ticks)', 'ms', runs.map((x) => (x.caCpuFinishedS * 1000 - x.reports * x.pass.caMsPerReport) / x.renewals)));
  add(figure('6h', `report clients' CPU per report (the load generator: ${runs[0]!.client.split(' (')[0]}, helper processes included; same pass)`, 'ms', runs.map((x) => x.pass.clientMsPerReport)));
  const compared = runs.map((x) => x.compared).filter((c) => c !== undefined);
  if (compared.length) {
    add(figure('6i', `node:http2 report client's CPU per report (alternating chunks with curl, ${compared[0]!.reports} reports each, after the pass)`, 'ms', compared.map((c) => c.nodeMs)));
    add(figure('6j', 'report client CPU per report, curl / node:http2 (the same alternating chunks)', 'x', compared.map((c) => c.curlMs / c.nodeMs)));
  }
}

if (want(7)) {
  const secs = await benchRenewalStorm({ nodes: FLEET, runs: RUNS });
  add(figure('7', `renewal storm: ${FLEET.toLocaleString('en-US')} nodes renew right after a CA restart`, 's', secs, { target: '<= 10', met: median(secs) <= 10 }));
}

if (want(8)) {
  // The agent as the shipped unit runs it (agent/systemd/hitless-agent.service): `node --lite-mode`, V8 without its optimizing compilers; the agent's hot paths (TLS, ECDSA, hashing) are
  // native. Then the same agents under plain `node`, right after on the same machine, for the ratio 8e.
  const window = { runs: RUNS, windowMs: quick ? 3000 : 10_000, settleMs: quick ? 1000 : 15_000 };
  const shipped = await benchFootprint({ ...window, nodeArgs: ['--lite-mode'] });
  const plain = await benchFootprint(window);
  raw.footprint = shipped;
  raw.footprintPlainNode = plain;
  const rss = (s: typeof shipped) => s.map((x) => x.rssMb);
  const cpu = (s: typeof shipped) => s.map((x) => x.cpuPercent);
  add(figure('8a', 'agent RSS, idle, 1 peer stream each way, as the unit runs it (node --lite-mode)', 'MB', rss(shipped), { target: '<= 60', met: median(rss(shipped)) <= 60 }));
  add(figure('8b', 'agent CPU, idle (1 s heartbeats and probes), as the unit runs it', '% core', cpu(shipped), { target: '~0 (<= 1)', met: median(cpu(shipped)) <= 1 }));
  add(figure('8c', 'agent RSS, idle, under plain node (bin/agent run)', 'MB', rss(plain)));
  add(figure('8d', 'agent CPU, idle, under plain node', '% core', cpu(plain)));
  add(figure('8e', 'agent RSS as shipped / plain node (8a / 8c, medians)', '%', [(median(rss(shipped)) / median(rss(plain))) * 100]));
}

if (want(9)) {
  const ATTACK = 1000;
  const runs = await benchAttack({ connections: ATTACK, concurrency: CONCURRENCY, windowMs: quick ? 2000 : 8000, runs: RUNS, csrs: fixture.csrs, log });
  raw.attack = runs;
  const pct = runs.map((r) => r.ratio * 100);
  add(figure('9a', `renewals, ${CONCURRENCY} nodes, no attack (same runs as 9b)`, 'certs/s', runs.map((r) => r.unloadedPerSec)));
  add(figure('9b', `renewals while ${ATTACK.toLocaleString('en-US')} unauthenticated connections hold half-open calls (timeouts 60 s/30 s, see attack.ts)`, 'certs/s', runs.map((r) => r.loadedPerSec)));
  add(figure('9c', 'renewal rate under attack / without (9b / 9a, per run)', '%', pct, { target: '>= 90', met: median(pct) >= 90 }));
  add(figure('9d', 'CA CPU per renewal, no attack', 'ms', runs.map((r) => r.cpuMsPerRenewalUnloaded)));
  add(figure('9e', 'CA CPU per renewal under attack (attack handling included)', 'ms', runs.map((r) => r.cpuMsPerRenewalLoaded)));
  add(figure('9f', 'CA RSS before the attack', 'MB', runs.map((r) => r.rssMbBefore)));
  add(figure('9g', `CA RSS, largest sample under attack (${ATTACK} connections of the ${CA_PORT_LIMITS.maxConnections.toLocaleString('en-US')} allowed)`, 'MB', runs.map((r) => r.rssMbMaxUnderAttack)));
}

if (want(10)) {
  const r = await benchHa({ concurrency: CONCURRENCY, durationMs: E2E_MS, runs: RUNS, csrs: fixture.csrs, log });
  raw.ha = r;
  if (r.ok) {
    const haRuns = r.runs;
    const pick = (f: (x: HaRun) => number) => haRuns.map(f);
    add(figure('10a', `renewals, embedded store (fresh CA, same run as 10b/10c), ${CONCURRENCY} clients`, 'certs/s', pick((x) => x.embedded)));
    add(figure('10b', 'renewals through 1 replica on a 3-member etcd', 'certs/s', pick((x) => x.oneReplica)));
    add(figure('10c', 'renewals spread over 3 replicas on the same etcd', 'certs/s', pick((x) => x.threeReplicas)));
    add(figure('10d', '1 replica on etcd / embedded (10b / 10a, per run)', 'x', pick((x) => x.oneReplica / x.embedded)));
    add(figure('10e', '3 replicas / 1 replica (10c / 10b, per run; all on this machine)', 'x', pick((x) => x.threeReplicas / x.oneReplica)));
    add(figure('10f', 'CPU of the 3 CA replicas per 1,000 renewals (10c)', 's', pick((x) => x.caCpuPer1k)));
    add(figure('10g', 'CPU of the 3 etcd members per 1,000 renewals (10c)', 's', pick((x) => x.etcdCpuPer1k)));
    add(figure('10h', 'etcd database size after the run (uncompacted: every renewal is a revision)', 'MB', pick((x) => x.dbBytes / 1e6)));
  } else {
    log(`figure 10 skipped: ${r.reason}`);
    figures.push({ ...figure('10', 'renewals on etcd', 'certs/s', [NaN]), note: `skipped: ${r.reason}` });
  }
}

const machine = { cpus: cpus().length, model: cpus()[0]?.model, memGb: Math.round(totalmem() / 2 ** 30), node: process.version };
const header = `hitless bench — ${new Date().toISOString()} — ${machine.cpus} × ${machine.model}, ${machine.memGb} GB, Node ${machine.node}${quick ? ' — QUICK (not for quoting)' : ''}`;
process.stdout.write(`\n${header}\n\n${table(figures)}`);
await writeFile(values.out!, JSON.stringify({ machine, quick, figures, raw }, null, 2) + '\n');
log(`wrote ${values.out}`);
// Worker threads, gRPC channels and timers of the figures are closed; exit without waiting on stragglers.
process.exit(0);
