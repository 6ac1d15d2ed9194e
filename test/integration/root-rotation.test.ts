// Root rotation with real processes: a CA (20 s certificates) and three agents in a full heartbeat mesh.
// At every phase the streams opened before the rotation stay the same streams with 0 errors, and the
// agents' probes (fresh handshakes every 500 ms between every pair) never fail.
//  - a node down during the rotation blocks it; status shows it; removing that node lets it finish;
//  - a node joining mid-rotation gets a new-root certificate and both roots;
//  - issued chains verify with openssl against the old root during the rotation, the new root after;
//  - old join tokens stop working;
//  - abort mid-rotation returns the fleet to the current root;
//  - a CA killed mid-rotation resumes it after restart;
//  - a node whose certificate expired while it was down is told so, and re-joins with the new token.
// (--force and a down node's recovery with its own key: root-rotation-recovery.test.ts.)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tmpDir } from '../helpers/tmp.js';
import { startCa, type TestCa } from '../helpers/cluster.js';
import { freePort, run, runCli, runJson } from '../helpers/proc.js';
import { startAgent, type TestAgent } from '../helpers/agents.js';
import { parseCertificate } from '../../shared/pki/certs.js';
import type { StoredIdentity } from '../../agent/identity-store.js';
import type { AgentStatus } from '../../agent/agent-status.js';

let dir: Awaited<ReturnType<typeof tmpDir>>;
let ca: TestCa;
const mesh: TestAgent[] = [];
let down: TestAgent;
let probeMarks: number[] = [];

interface RotationJson { phase: string; blocking: { node_id: string; connected: boolean }[]; to_root_fingerprint: string; current_root_fingerprint: string; worker_token: string }
const rotate = (...args: string[]) => runCli('ca', ['rotate-root', '--state-dir', ca.stateDir, ...args]);
const rotationStatus = () => runJson<RotationJson>('ca', ['rotate-root', '--status', '--json', '--state-dir', ca.stateDir]);
const identityOf = async (a: TestAgent) => JSON.parse(await readFile(join(a.stateDir, 'identity.json'), 'utf8')) as StoredIdentity;

before(async () => {
  dir = await tmpDir();
  ca = await startCa(dir.path, { nodeCertTtl: '20s' });
  const ports = [await freePort(), await freePort(), await freePort()];
  for (const [i, port] of ports.entries()) {
    mesh.push(startAgent(dir.path, `m${i}`, { ca: ca.address, token: ca.init.tokens.worker, port, peers: ports.filter((p) => p !== port) }));
  }
  down = startAgent(dir.path, 'down', { ca: ca.address, token: ca.init.tokens.worker, port: await freePort() });
  await Promise.all(mesh.map((a) => a.daemon.waitFor('peer.stream_up', { nth: 2, timeoutMs: 30_000 })));
  await down.daemon.waitFor('agent.listening');
  probeMarks = (await Promise.all(mesh.map((a) => a.status()))).map((s) => s.peers.reduce((n, p) => n + p.probesFailed, 0));
});

after(async () => {
  await Promise.all([...mesh, down].map((a) => a.daemon.stop()));
  await ca?.daemon.stop();
  await dir?.cleanup();
});

/** The promise: the streams from the start are the only streams, unbroken, and no fresh handshake failed. */
async function assertHitless(): Promise<AgentStatus[]> {
  const statuses = await Promise.all(mesh.map((a) => a.status()));
  for (const [i, s] of statuses.entries()) {
    assert.equal(s.peers.length, 2);
    for (const p of s.peers) {
      assert.equal(p.streamStarts, 1, `${s.nodeId} → ${p.address}: stream starts`);
      assert.equal(p.streamErrors, 0, `${s.nodeId} → ${p.address}: stream errors (${p.lastError ?? ''})`);
    }
    const failed = s.peers.reduce((n, p) => n + p.probesFailed, 0);
    assert.equal(failed - probeMarks[i]!, 0, `${s.nodeId}: fresh handshakes (probes) failed: ${s.peers.map((p) => p.lastProbeError).join(' | ')}`);
  }
  return statuses;
}

/** Resolves once the agent's stored certificate chains to `fingerprint` (a renewal in flight may predate it). */
async function renewedUnder(a: TestAgent, fingerprint: string, after: number): Promise<StoredIdentity> {
  for (let n = 1; ; n++) {
    await a.daemon.waitFor('identity.renewed', { after, nth: n, timeoutMs: 30_000 });
    const id = await identityOf(a);
    if (await chainEndsAt(id, fingerprint)) return id;
  }
}

async function chainEndsAt(id: StoredIdentity, rootFingerprint: string): Promise<boolean> {
  const { verifyChain } = await import('../../shared/pki/chain.js');
  const root = id.bundle.rootsPem.find((r) => parseCertificate(r).fingerprint === rootFingerprint);
  if (!root) return false;
  return (await verifyChain({ leaf: id.chainPem[0]!, roots: [root], at: new Date() })).ok;
}

async function opensslVerify(id: StoredIdentity, rootPem: string, name: string): Promise<{ code: number | null; out: string }> {
  const [leaf, ...tail] = id.chainPem;
  const files = { root: join(dir.path, `${name}-root.pem`), leaf: join(dir.path, `${name}-leaf.pem`), untrusted: join(dir.path, `${name}-untrusted.pem`) };
  await writeFile(files.root, rootPem);
  await writeFile(files.leaf, leaf!);
  const args = ['verify', '-CAfile', files.root];
  if (tail.length) {
    await writeFile(files.untrusted, tail.join(''));
    args.push('-untrusted', files.untrusted);
  }
  const r = await run('openssl', [...args, files.leaf]);
  return { code: r.code, out: r.stdout + r.stderr };
}

let oldRootPem: string;
let newFingerprint: string;
let downId: string;
let downNotAfter: Date;

test('a down node blocks the rotation; status names it; the live fleet is re-issued under the new root', async () => {
  oldRootPem = await readFile(ca.init.paths.rootCert, 'utf8');
  const downIdentity = await identityOf(down);
  downId = downIdentity.nodeId;
  downNotAfter = new Date(downIdentity.notAfter);
  assert.equal(await down.daemon.stop(), 0);
  const marks = mesh.map((a) => a.daemon.events.length);
  const started = await rotate('--detach', '--json');
  assert.equal(started.code, 0, started.stderr);
  newFingerprint = (JSON.parse(started.stdout) as RotationJson).to_root_fingerprint;
  const ids = await Promise.all(mesh.map((a, i) => renewedUnder(a, newFingerprint, marks[i]!)));
  for (const id of ids) {
    assert.equal(id.chainPem.length, 2, 'leaf + cross-signed new root');
    const v = await opensslVerify(id, oldRootPem, `during-${id.nodeId}`);
    assert.equal(v.code, 0, `openssl verify against the OLD root during the rotation: ${v.out}`);
  }
  const status = await rotationStatus();
  assert.equal(status.phase, 'rotating');
  assert.deepEqual(status.blocking.map((b) => [b.node_id, b.connected]), [[downId, false]]);
  const human = await rotate('--status');
  assert.match(human.stdout, new RegExp(`${downId}.*NOT CONNECTED`));
  await assertHitless();
});

test('a node joining mid-rotation gets a new-root certificate and trusts both roots', async () => {
  const joiner = startAgent(dir.path, 'joiner', { ca: ca.address, token: ca.init.tokens.worker, port: await freePort() });
  try {
    await joiner.daemon.waitFor('agent.listening');
    const id = await identityOf(joiner);
    assert.equal(id.bundle.rootsPem.length, 2);
    assert.ok(await chainEndsAt(id, newFingerprint), 'issued by the new root');
  } finally {
    await joiner.daemon.stop();
    await runCli('ca', ['remove-node', (await identityOf(joiner)).nodeId, '--state-dir', ca.stateDir]);
  }
});

test('removing the down node lets the rotation finish: bundle {new}, old tokens refused, streams intact', async () => {
  const marks = mesh.map((a) => a.daemon.events.length);
  const caMark = ca.daemon.events.length;
  const removed = await runCli('ca', ['remove-node', downId, '--state-dir', ca.stateDir]);
  assert.equal(removed.code, 0, removed.stderr);
  await ca.daemon.waitFor('root_rotation.finished', { after: caMark, timeoutMs: 45_000 });
  await Promise.all(mesh.map((a, i) => a.daemon.waitFor('trust_bundle.updated', { after: marks[i], where: (e) => e.roots === 1, timeoutMs: 20_000 })));
  const status = await rotationStatus();
  assert.equal(status.phase, 'idle');
  assert.equal(status.current_root_fingerprint, newFingerprint);
  assert.notEqual(status.worker_token, ca.init.tokens.worker);
  const oldToken = await runCli('agent', ['run', '--ca', ca.address, '--token', ca.init.tokens.worker, '--state-dir', join(dir.path, 'late'), '--listen', '127.0.0.1:0']);
  assert.equal(oldToken.code, 1);
  assert.match(oldToken.stderr, /root named by the join token's digest|predates the last root rotation/);
  const newRootPem = await readFile(ca.init.paths.rootCert, 'utf8');
  assert.equal(parseCertificate(newRootPem).fingerprint, newFingerprint);
  const renewed = await Promise.all(mesh.map((a, i) => a.daemon.waitFor('identity.renewed', { after: marks[i], timeoutMs: 30_000 }).then(() => identityOf(a))));
  for (const id of renewed) {
    const v = await opensslVerify({ ...id, chainPem: [id.chainPem[0]!] }, newRootPem, `after-${id.nodeId}`);
    assert.equal(v.code, 0, `openssl verify against the NEW root after the rotation: ${v.out}`);
  }
  await assertHitless();
  ca.init.tokens.worker = status.worker_token;
});

test('abort mid-rotation returns the fleet to the current root', async () => {
  // A stopped node holds the rotation open (it cannot renew), so the abort surely lands mid-rotation however
  // fast the live fleet converges; it is removed once the abort is under way, which lets the abort finish.
  const blocker = startAgent(dir.path, 'blocker', { ca: ca.address, token: ca.init.tokens.worker, port: await freePort() });
  await blocker.daemon.waitFor('agent.listening');
  const blockerId = (await identityOf(blocker)).nodeId;
  assert.equal(await blocker.daemon.stop(), 0);
  const current = (await rotationStatus()).current_root_fingerprint;
  const marks = mesh.map((a) => a.daemon.events.length);
  const started = JSON.parse((await rotate('--detach', '--json')).stdout) as RotationJson;
  await Promise.all(mesh.map((a, i) => renewedUnder(a, started.to_root_fingerprint, marks[i]!)));
  await assertHitless();
  const caMark = ca.daemon.events.length;
  const aborting = rotate('--abort'); // waits until the fleet is back
  await ca.daemon.waitFor('root_rotation.aborting', { after: caMark });
  const removed = await runCli('ca', ['remove-node', blockerId, '--state-dir', ca.stateDir]);
  assert.equal(removed.code, 0, removed.stderr);
  const aborted = await aborting;
  assert.equal(aborted.code, 0, aborted.stderr);
  assert.match(aborted.stdout, /aborted/);
  const status = await rotationStatus();
  assert.equal(status.phase, 'idle');
  assert.equal(status.current_root_fingerprint, current);
  for (const a of mesh) assert.ok(await chainEndsAt(await identityOf(a), current));
  await assertHitless();
});

test('a CA killed mid-rotation resumes it after restart', async () => {
  const caMark = ca.daemon.events.length;
  const started = JSON.parse((await rotate('--detach', '--json')).stdout) as RotationJson;
  // Killed once the CA has re-issued every node and seen its bundle acknowledged ("converged"; finishing
  // still waits for connections to cycle, push {new} and swap tokens, >= 3 s later). Killing earlier, while
  // a node sits at its own renewal point (20 % of a 20 s life left), could outlast that node's certificate on
  // a busy machine: that is the expired-node path tested below, not resumption.
  await ca.daemon.waitFor('root_rotation.converged', { after: caMark, timeoutMs: 30_000 });
  await ca.daemon.stop('SIGKILL');
  await ca.restart();
  await ca.daemon.waitFor('root_rotation.finished', { timeoutMs: 45_000 });
  const status = await rotationStatus();
  assert.equal(status.current_root_fingerprint, started.to_root_fingerprint);
  await assertHitless();
  ca.init.tokens.worker = status.worker_token;
});

test('a node whose certificate expired while it was down is told how to recover, and re-joins with the new token', async () => {
  // The condition under test is "the certificate has expired": there is no event to wait on but the clock.
  const left = downNotAfter.getTime() + 1000 - Date.now();
  if (left > 0) await new Promise((r) => setTimeout(r, left));
  const stale = await runCli('agent', ['run', '--ca', ca.address, '--state-dir', down.stateDir, '--listen', '127.0.0.1:0']);
  assert.equal(stale.code, 1);
  assert.match(stale.stderr, /expired at .*it cannot be renewed \(CERT_EXPIRED\)/);
  assert.match(stale.stderr, /hint: re-join: run the agent again with --token/);
  down = startAgent(dir.path, 'down', { ca: ca.address, token: ca.init.tokens.worker, port: down.port });
  await down.daemon.waitFor('identity.expired_rejoining');
  await down.daemon.waitFor('agent.listening');
  const id = await identityOf(down);
  assert.notEqual(id.nodeId, downId, 'a re-joined node gets a new id');
  const current = (await rotationStatus()).current_root_fingerprint;
  assert.deepEqual(id.bundle.rootsPem.map((r) => parseCertificate(r).fingerprint), [current]);
  assert.ok(await chainEndsAt(id, current));
});
