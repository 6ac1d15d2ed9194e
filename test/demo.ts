// The README's main command: a local CA and three agents on loopback, peered in a ring, with short certificates.
// Prints every renewal as it happens and, every few seconds, each agent's per-peer counters: stream starts stay
// at 1 and errors at 0 while the serials change. After a while it also rotates the root (`ca rotate-root`)
// under the running traffic: the ROOTS column goes from {A} to {A,B} to {B}, and still nothing is cut.
// Ctrl-C stops everything cleanly: the terminal sends SIGINT to the whole process group (this script, the CA and
// the agents), and this script also forwards SIGTERM to its children so that `kill <pid>` of the demo alone
// stops them too. The daemons count a second signal within 2 s of the first as the same stop
// (shared/daemon.ts), so the pair ends in a clean stop and exit code 0 everywhere.
//
//   npm run demo                      # 30 s certificates, a root rotation at +40 s, runs until Ctrl-C
//   npm run demo -- --ttl 60s --duration 120s --root-rotation off
import { parseArgs } from 'node:util';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDuration } from '../shared/duration.js';
import { initCa } from './helpers/cluster.js';
import { freePort, runCli, spawnDaemon, type Daemon, type LogEvent } from './helpers/proc.js';
import { startAgent, type TestAgent } from './helpers/agents.js';
import type { AgentStatus } from '../agent/agent-status.js';
import { fetchStatus } from '../agent/status-server.js';

const { values } = parseArgs({
  options: {
    ttl: { type: 'string', default: '30s' },
    agents: { type: 'string', default: '3' },
    duration: { type: 'string' },
    every: { type: 'string', default: '5s' },
    'root-rotation': { type: 'string', default: '40s' },
  },
});
const count = Math.max(2, Number(values.agents));
const NAMES = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot'];
const t0 = Date.now();
const stamp = () => `+${((Date.now() - t0) / 1000).toFixed(1).padStart(6)}s`;
const short = (s?: string) => (s ? s.slice(0, 8) : '-');

// The stop handlers come first: a Ctrl-C while the cluster is still starting also waits for the children
// (which got the same SIGINT) instead of leaving them orphaned.
let ca: Daemon | undefined;
const agents: TestAgent[] = [];
let timer: NodeJS.Timeout | undefined;
let rotation: NodeJS.Timeout | undefined;
let stopping = false;
/** Per child: resolves once its output has been read to the end and printed (its last lines come after 'exit'). */
const drained: Promise<void>[] = [];
process.on('SIGINT', () => void stop('signal'));
process.on('SIGTERM', () => void stop('signal'));
/** Startup steps after a stop began: never resolves, so nothing more is started (stop() exits the process). */
const unlessStopping = <T>(p: Promise<T>): Promise<T> => p.then((v) => (stopping ? new Promise<T>(() => {}) : v), (err: unknown) => (stopping ? new Promise<T>(() => {}) : Promise.reject(err)));

let dir: string | undefined;
dir = await mkdtemp(join(tmpdir(), 'hitless-demo-'));
console.log(`hitless demo: CA + ${count} agents, ${values.ttl} node certificates, state in ${dir}`);
const { init, stateDir, passphraseFile } = await unlessStopping(initCa(dir, { nodeCertTtl: values.ttl }));
// Spawned here rather than through serveCa() so that a stop during its start already knows the process.
ca = spawnDaemon('ca', ['serve', '--state-dir', stateDir, '--passphrase-file', passphraseFile, '--listen', '127.0.0.1:0']);
follow('ca', ca);
const port = (await unlessStopping(ca.waitFor('ca.listening'))).port as number;
console.log(`${stamp()}  CA listening on 127.0.0.1:${port}, cluster ${init.clusterId}`);

const ports = await unlessStopping(Promise.all(Array.from({ length: count }, () => freePort())));
for (const [i, p] of ports.entries()) {
  const agent = startAgent(dir, NAMES[i] ?? `agent${i}`, { ca: `127.0.0.1:${port}`, token: init.tokens.worker, port: p, peers: [ports[(i + 1) % count]!] });
  agents.push(agent);
  follow(agent.name, agent.daemon);
}

function follow(name: string, d: Daemon): void {
  let seen = 0;
  const tick = () => {
    for (; seen < d.events.length; seen++) {
      const e: LogEvent = d.events[seen]!;
      if (e.event === 'identity.ready') console.log(`${stamp()}  ${name.padEnd(8)} joined as ${short(String(e.nodeId))}, serial ${short(String(e.serial))}`);
      if (e.event === 'identity.renewed') {
        console.log(`${stamp()}  ${name.padEnd(8)} renewed   serial ${short(String(e.previousSerial))} -> ${short(String(e.serial))}  (renewal #${String(e.renewals)})`);
      }
      if (e.event === 'peer.stream_error') console.log(`${stamp()}  ${name.padEnd(8)} STREAM ERROR ${String(e.details)}`);
      if (e.event === `${name === 'ca' ? 'ca' : 'agent'}.stopped`) console.log(`${stamp()}  ${name.padEnd(8)} stopped cleanly`);
      if (String(e.event).endsWith('.stop_forced')) console.log(`${stamp()}  ${name.padEnd(8)} STOP FORCED: ${String(e.reason)}`);
      if (e.event === 'trust_bundle.updated') console.log(`${stamp()}  ${name.padEnd(8)} trust bundle v${String(e.version)}: ${String(e.roots)} root(s)`);
      if (name === 'ca' && String(e.event).startsWith('root_rotation.')) {
        const { time: _t, level: _l, component: _c, event, ...rest } = e;
        console.log(`${stamp()}  CA       ${event} ${JSON.stringify(rest, (_k, v: unknown) => (typeof v === 'string' && /^[0-9a-f]{64}$/.test(v) ? short(v) : v))}`);
      }
    }
  };
  d.child.stdout!.on('data', () => setImmediate(tick));
  d.child.stderr!.on('data', () => setImmediate(tick));
  drained.push(once(d.child, 'close').then(() => new Promise<void>((resolve) => setImmediate(() => (tick(), resolve())))));
}

async function table(): Promise<void> {
  const statuses = await Promise.all(agents.map((a) => fetchStatus<AgentStatus>(a.stateDir).catch(() => undefined)));
  // Per peer stream: the serials it runs on *now* (the peer's, and ours as the peer sees it) follow every
  // renewal and the rotation, while STREAM STARTS stays 1 and ERRORS/LOST 0: the stream moved, it never broke.
  // LIVE ROOTS goes A -> A+B -> B during a rotation, and the CA finishes once every agent shows B only.
  const rows = [['AGENT', 'SERIAL', 'RENEWALS', 'ROOTS', 'LIVE ROOTS', 'PEER', 'STREAM STARTS', 'ERRORS', 'REFRESHES', 'LOST', 'MAX GAP', 'PEER SERIAL ON STREAM', 'OUR SERIAL ON STREAM', 'PEER SERIAL ON NEW CONN']];
  statuses.forEach((s, i) => {
    const p = s?.peers[0];
    const peer = p ? NAMES[ports.indexOf(Number(p.address.split(':')[1]))] ?? p.address : '-';
    const roots = s ? s.trustBundle.roots.map((r) => short(r.replace(/^sha256:/, ''))).join('+') : '-';
    // The roots behind every live connection and stream of the agent (both ends): what it reports to the CA.
    const live = s?.liveCredentials ? s.liveCredentials.roots.map((r) => short(r)).join('+') || '-' : '-';
    rows.push([agents[i]!.name, short(s?.serial), String(s?.renewals ?? '-'), roots, live, peer, String(p?.streamStarts ?? '-'), String(p?.streamErrors ?? '-'),
      String(p?.refreshes ?? '-'), String(p?.heartbeatsLost ?? '-'), p ? `${p.maxGapMs}ms` : '-', short(p?.streamPeerSerial), short(p?.streamSelfSerial), short(p?.probePeerSerial)]);
  });
  const w = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  console.log('\n' + rows.map((r) => '    ' + r.map((c, i) => c.padEnd(w[i]!)).join('  ')).join('\n') + '\n');
}

await unlessStopping(Promise.all(agents.map((a) => a.daemon.waitFor('peer.stream_up', { timeoutMs: 60_000 }))));
console.log(`${stamp()}  all heartbeat streams up; Ctrl-C to stop\n`);
timer = setInterval(() => void table(), parseDuration(values.every, '--every'));

// The root rotation, started the way an operator would: `ca rotate-root --detach`, then watched via the log.
if (values['root-rotation'] !== 'off') {
  rotation = setTimeout(() => {
    console.log(`${stamp()}  operator: ca rotate-root (new root, cross-signed by the current one)`);
    void runCli('ca', ['rotate-root', '--detach', '--state-dir', stateDir]).then((r) => {
      if (r.code !== 0) console.log(`${stamp()}  ca rotate-root failed: ${r.stderr.trim()}`);
    });
  }, parseDuration(values['root-rotation']!, '--root-rotation'));
}

/**
 * Stops the children and exits 0 only if all of them stopped cleanly. On a signal the children are told at
 * once (SIGTERM): after a Ctrl-C they are already stopping (same process group), so the last table would only
 * show blank rows; a --duration stop prints it first.
 */
async function stop(why: 'signal' | 'duration'): Promise<void> {
  if (stopping) return;
  stopping = true;
  clearInterval(timer);
  clearTimeout(rotation);
  if (why === 'duration') await table();
  console.log(`${stamp()}  stopping agents and CA`);
  const codes = await Promise.all([...agents.map((a) => a.daemon.stop()), ...(ca ? [ca.stop()] : [])]);
  await Promise.all(drained);
  if (dir) await rm(dir, { recursive: true, force: true });
  console.log(`${stamp()}  stopped (exit codes ${codes.join(', ')})`);
  process.exit(codes.every((c) => c === 0) ? 0 : 1);
}
if (values.duration) setTimeout(() => void stop('duration'), parseDuration(values.duration, '--duration'));
