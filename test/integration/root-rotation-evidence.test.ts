// Root rotations finish on evidence, with real processes and the default-like certificate lifetime (6 h, so a
// 30-minute max connection age: the upper-bound timer is 45 minutes after convergence). A CA and three agents
// in a full heartbeat mesh; each agent reports which roots issued the certificates on its live connections and
// streams (ReportLiveCredentials), and the CA finishes — and aborts — as soon as every live node's report no
// longer names the old root. Each test asserts *why* it finished (the CA's `root_rotation.finishing` event says
// `on: evidence`, never `timer`): with a 45-minute timer, finishing at all within the test's deadline proves it.
// After the finish no live connection or stream of any agent involves the old root, and the streams from the
// start are still the only streams: 0 errors, 0 heartbeats lost, 0 failed probes (fresh handshakes).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { tmpDir } from '../helpers/tmp.js';
import { startCa, type TestCa } from '../helpers/cluster.js';
import { freePort, runCli, type LogEvent } from '../helpers/proc.js';
import { meshUp, startAgent, type TestAgent } from '../helpers/agents.js';
import type { AgentStatus } from '../../agent/agent-status.js';

let dir: Awaited<ReturnType<typeof tmpDir>>;
let ca: TestCa;
const mesh: TestAgent[] = [];
/** Probes that failed before the tests (a peer not listening yet at startup). */
let probeMarks: number[] = [];

interface RotationJson { phase: string; to_root_fingerprint: string; from_root_fingerprint: string; current_root_fingerprint: string; worker_token: string }
const rotate = (...args: string[]) => runCli('ca', ['rotate-root', '--state-dir', ca.stateDir, ...args]);

before(async () => {
  dir = await tmpDir();
  ca = await startCa(dir.path, { nodeCertTtl: '6h' });
  const ports = [await freePort(), await freePort(), await freePort()];
  for (const [i, port] of ports.entries()) {
    mesh.push(startAgent(dir.path, `m${i}`, { ca: ca.address, token: ca.init.tokens.worker, port, peers: ports.filter((p) => p !== port) }));
  }
  await meshUp(mesh);
  probeMarks = (await Promise.all(mesh.map((a) => a.status()))).flatMap((s) => s.peers.map((p) => p.probesFailed));
});

after(async () => {
  await Promise.all(mesh.map((a) => a.daemon.stop()));
  await ca?.daemon.stop();
  await dir?.cleanup();
});

async function assertHitless(): Promise<AgentStatus[]> {
  const statuses = await Promise.all(mesh.map((a) => a.status()));
  let n = 0;
  for (const s of statuses) {
    assert.equal(s.peers.length, 2);
    for (const p of s.peers) {
      const failedBefore = probeMarks[n++] ?? 0;
      const what = `${s.nodeId} → ${p.address}`;
      assert.equal(p.streamStarts, 1, `${what}: stream starts`);
      assert.equal(p.streamErrors, 0, `${what}: stream errors (${p.lastError ?? ''})`);
      assert.equal(p.heartbeatsLost, 0, `${what}: heartbeats lost`);
      assert.equal(p.probesFailed - failedBefore, 0, `${what}: failed probes (${p.lastProbeError ?? ''})`);
    }
  }
  return statuses;
}

const at = (e: LogEvent) => Date.parse(String(e.time));

/** Runs one rotation step to its end (finished or aborted) and returns the CA's events of it. */
async function untilEnded(caMark: number, end: 'root_rotation.finished' | 'root_rotation.aborted') {
  // The failure bound only: the upper-bound timer would fire 45 minutes after convergence.
  const ended = await ca.daemon.waitFor(end, { after: caMark, timeoutMs: 90_000 });
  const finishing = await ca.daemon.waitFor('root_rotation.finishing', { after: caMark });
  const converged = await ca.daemon.waitFor('root_rotation.converged', { after: caMark });
  return { ended, finishing, converged };
}

/** Every agent holds the one-root bundle and none of its live connections or streams involves `oldRoot`. */
async function assertNothingOn(oldRoot: string, newRoot: string, marks: number[]): Promise<void> {
  await Promise.all(mesh.map((a, i) => a.daemon.waitFor('trust_bundle.updated', { after: marks[i], where: (e) => e.roots === 1, timeoutMs: 30_000 })));
  for (const s of await assertHitless()) {
    assert.deepEqual(s.trustBundle.roots, [`sha256:${newRoot}`]);
    const live = s.liveCredentials;
    assert.ok(!live.roots.includes(oldRoot), `${s.nodeId}: live connections on the old root: ${JSON.stringify(live.byRoot[oldRoot])}`);
    assert.ok(live.roots.includes(newRoot) && live.uses >= 4, `${s.nodeId}: live credentials tracked (${live.uses} uses, roots ${live.roots.join(',')})`);
    assert.equal(live.unknown, 0);
  }
}

test('with 6 h certificates a rotation finishes on evidence seconds after convergence, not 45 minutes later', async (t) => {
  const caMark = ca.daemon.events.length;
  const marks = mesh.map((a) => a.daemon.events.length);
  const started = await rotate('--detach', '--json');
  assert.equal(started.code, 0, started.stderr);
  const r = JSON.parse(started.stdout) as RotationJson;
  const { ended, finishing, converged } = await untilEnded(caMark, 'root_rotation.finished');
  const start = at(await ca.daemon.waitFor('root_rotation.started', { after: caMark }));
  assert.equal(finishing.on, 'evidence', `finished on ${String(finishing.on)} (waiting for ${JSON.stringify(finishing.waitingFor)})`);
  // Every renewal the rotation asked for happened under the new root: each agent renewed once at least.
  for (const [i, a] of mesh.entries()) await a.daemon.waitFor('identity.renewed', { after: marks[i] });
  t.diagnostic(`start -> converged ${at(converged) - start} ms, converged -> finished ${at(ended) - at(converged)} ms, start -> finished ${at(ended) - start} ms`);
  await assertNothingOn(r.from_root_fingerprint, r.to_root_fingerprint, marks);
});

test('an abort returns the fleet to the current root on evidence too', async (t) => {
  const before = JSON.parse((await rotate('--status', '--json')).stdout) as RotationJson;
  // A stopped node holds the rotation open (it cannot renew), so the abort surely lands mid-rotation however
  // fast the live fleet converges; it is removed once the abort is under way, which lets the abort finish.
  const blocker = startAgent(dir.path, 'blocker', { ca: ca.address, token: before.worker_token, port: await freePort() });
  await blocker.daemon.waitFor('agent.listening');
  const blockerId = (await blocker.status()).nodeId;
  assert.equal(await blocker.daemon.stop(), 0);
  const caMark = ca.daemon.events.length;
  const marks = mesh.map((a) => a.daemon.events.length);
  const started = await rotate('--detach', '--json');
  assert.equal(started.code, 0, started.stderr);
  const r = JSON.parse(started.stdout) as RotationJson;
  // Abort once the fleet runs on the new root (every agent renewed under it).
  await Promise.all(mesh.map((a, i) => a.daemon.waitFor('identity.renewed', { after: marks[i], timeoutMs: 30_000 })));
  const abortMark = ca.daemon.events.length;
  const aborted = await rotate('--abort', '--json');
  assert.equal(aborted.code, 0, aborted.stderr);
  assert.equal((await runCli('ca', ['remove-node', blockerId, '--state-dir', ca.stateDir])).code, 0);
  const { ended, finishing, converged } = await untilEnded(abortMark, 'root_rotation.aborted');
  assert.equal(finishing.on, 'evidence', `aborted on ${String(finishing.on)} (waiting for ${JSON.stringify(finishing.waitingFor)})`);
  t.diagnostic(`abort converged -> aborted ${at(ended) - at(converged)} ms`);
  assert.ok(caMark < abortMark);
  await assertNothingOn(r.to_root_fingerprint, before.current_root_fingerprint, marks);
});
