// Root rotation with real processes: a CA (40 s certificates) and three agents in a full heartbeat mesh.
// At every phase the streams opened before the rotation stay the same streams with 0 errors, and the
// agents' probes (fresh handshakes every 500 ms between every pair) never fail.
// 40 s, not less: nodes renew at 50-80 % of the lifetime, so the last 20 % (8 s) is the margin a renewal and
// the streams' move have before the certificate expires. With 20 s (4 s of margin) a loaded machine let a
// renewal land late and a stream was ended at its certificate's expiry. Nothing here waits for a lifetime to
// run out except the last case, which by then has (the earlier cases take longer than 40 s).
// Each case checks its own interval (stream starts, errors and failed probes counted from its start), reads
// the current join token from the CA, and starts from an idle rotation: one failing case does not fail the next.
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
import { meshUp, startAgent, type TestAgent } from '../helpers/agents.js';
import { parseCertificate } from '../../shared/pki/certs.js';
import type { StoredIdentity } from '../../agent/identity-store.js';
import type { AgentStatus } from '../../agent/agent-status.js';

let dir: Awaited<ReturnType<typeof tmpDir>>;
let ca: TestCa;
const mesh: TestAgent[] = [];
let down: TestAgent;
/** The worker token `ca init` printed; a finished rotation replaces it. */
let firstToken: string;

interface RotationJson { phase: string; blocking: { node_id: string; connected: boolean }[]; to_root_fingerprint: string; current_root_fingerprint: string; worker_token: string }
const rotate = (...args: string[]) => runCli('ca', ['rotate-root', '--state-dir', ca.stateDir, ...args]);
const rotationStatus = () => runJson<RotationJson>('ca', ['rotate-root', '--status', '--json', '--state-dir', ca.stateDir]);
const identityOf = async (a: TestAgent) => JSON.parse(await readFile(join(a.stateDir, 'identity.json'), 'utf8')) as StoredIdentity;

before(async () => {
  dir = await tmpDir();
  ca = await startCa(dir.path, { nodeCertTtl: '40s' });
  const ports = [await freePort(), await freePort(), await freePort()];
  for (const [i, port] of ports.entries()) {
    mesh.push(startAgent(dir.path, `m${i}`, { ca: ca.address, token: ca.init.tokens.worker, port, peers: ports.filter((p) => p !== port) }));
  }
  down = startAgent(dir.path, 'down', { ca: ca.address, token: ca.init.tokens.worker, port: await freePort() });
  await meshUp(mesh);
  await down.daemon.waitFor('agent.listening');
  firstToken = ca.init.tokens.worker;
});

after(async () => {
  await Promise.all([...mesh, down].map((a) => a.daemon.stop()));
  await ca?.daemon.stop();
  await dir?.cleanup();
});

type Counts = { starts: number; errors: number; probesFailed: number }[][];
const countsOf = (statuses: AgentStatus[]): Counts => statuses.map((s) => s.peers.map((p) => ({ starts: p.streamStarts, errors: p.streamErrors, probesFailed: p.probesFailed })));
/** The mesh's stream and probe counters at the start of a case (probes may have failed while peers started). */
const hitlessMark = async (): Promise<Counts> => countsOf(await Promise.all(mesh.map((a) => a.status())));

/**
 * The promise, since `mark`: the streams are the same streams (no new start), unbroken, and no fresh handshake
 * failed. The first case also checks that every stream is the first one (1 start): together the cases cover the
 * whole file, and a case after a failed one is not failed by the earlier damage.
 */
async function assertHitless(mark: Counts, opts: { firstStreams?: boolean } = {}): Promise<AgentStatus[]> {
  const statuses = await Promise.all(mesh.map((a) => a.status()));
  for (const [i, s] of statuses.entries()) {
    assert.equal(s.peers.length, 2);
    for (const [j, p] of s.peers.entries()) {
      const m = mark[i]![j]!;
      if (opts.firstStreams) assert.equal(p.streamStarts, 1, `${s.nodeId} → ${p.address}: stream starts`);
      assert.equal(p.streamStarts - m.starts, 0, `${s.nodeId} → ${p.address}: streams started during this case`);
      assert.equal(p.streamErrors - m.errors, 0, `${s.nodeId} → ${p.address}: stream errors (${p.lastError ?? ''})`);
      assert.equal(p.probesFailed - m.probesFailed, 0, `${s.nodeId} → ${p.address}: fresh handshakes (probes) failed: ${p.lastProbeError ?? ''}`);
    }
  }
  return statuses;
}

/**
 * A case that starts a rotation needs none in progress. One is left over only when an earlier case failed
 * mid-rotation: finish it with --force (reported as a diagnostic) so this case tests its own step.
 */
async function idleRotation(t: { diagnostic(m: string): void }): Promise<void> {
  const status = await rotationStatus();
  if (status.phase === 'idle') return;
  t.diagnostic(`a rotation was left ${status.phase} by an earlier case: finishing it with --force`);
  const forced = await rotate('--force');
  assert.equal(forced.code, 0, forced.stderr);
  assert.equal((await rotationStatus()).phase, 'idle');
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

/** `openssl verify` of the identity's chain, at `at` (when the node held it: a busy machine may run openssl later). */
async function opensslVerify(id: StoredIdentity, rootPem: string, name: string, at = new Date()): Promise<{ code: number | null; out: string }> {
  const [leaf, ...tail] = id.chainPem;
  const files = { root: join(dir.path, `${name}-root.pem`), leaf: join(dir.path, `${name}-leaf.pem`), untrusted: join(dir.path, `${name}-untrusted.pem`) };
  await writeFile(files.root, rootPem);
  await writeFile(files.leaf, leaf!);
  const args = ['verify', '-attime', String(Math.floor(at.getTime() / 1000)), '-CAfile', files.root];
  if (tail.length) {
    await writeFile(files.untrusted, tail.join(''));
    args.push('-untrusted', files.untrusted);
  }
  const r = await run('openssl', [...args, files.leaf]);
  return { code: r.code, out: r.stdout + r.stderr };
}

/** A node that joined with the current token and was stopped (so it cannot renew): it holds a rotation open. */
async function stoppedNode(name: string): Promise<string> {
  const a = startAgent(dir.path, name, { ca: ca.address, token: (await rotationStatus()).worker_token, port: await freePort() });
  await a.daemon.waitFor('agent.listening');
  const id = (await identityOf(a)).nodeId;
  assert.equal(await a.daemon.stop(), 0);
  return id;
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
  const counts = await hitlessMark();
  const marks = mesh.map((a) => a.daemon.events.length);
  const started = await rotate('--detach', '--json');
  assert.equal(started.code, 0, started.stderr);
  newFingerprint = (JSON.parse(started.stdout) as RotationJson).to_root_fingerprint;
  const ids = await Promise.all(mesh.map((a, i) => renewedUnder(a, newFingerprint, marks[i]!)));
  const readAt = new Date();
  for (const id of ids) {
    assert.equal(id.chainPem.length, 2, 'leaf + cross-signed new root');
    const v = await opensslVerify(id, oldRootPem, `during-${id.nodeId}`, readAt);
    assert.equal(v.code, 0, `openssl verify against the OLD root during the rotation: ${v.out}`);
  }
  const status = await rotationStatus();
  assert.equal(status.phase, 'rotating');
  assert.deepEqual(status.blocking.map((b) => [b.node_id, b.connected]), [[downId, false]]);
  const human = await rotate('--status');
  assert.match(human.stdout, new RegExp(`${downId}.*NOT CONNECTED`));
  await assertHitless(counts, { firstStreams: true });
});

test('a node joining mid-rotation gets a new-root certificate and trusts both roots', async () => {
  // Mid-rotation the tokens in use are still the first ones (`--status` already shows the next token).
  const joiner = startAgent(dir.path, 'joiner', { ca: ca.address, token: firstToken, port: await freePort() });
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
  const counts = await hitlessMark();
  const marks = mesh.map((a) => a.daemon.events.length);
  const caMark = ca.daemon.events.length;
  const removed = await runCli('ca', ['remove-node', downId, '--state-dir', ca.stateDir]);
  assert.equal(removed.code, 0, removed.stderr);
  await ca.daemon.waitFor('root_rotation.finished', { after: caMark, timeoutMs: 45_000 });
  await Promise.all(mesh.map((a, i) => a.daemon.waitFor('trust_bundle.updated', { after: marks[i], where: (e) => e.roots === 1, timeoutMs: 20_000 })));
  const status = await rotationStatus();
  assert.equal(status.phase, 'idle');
  assert.equal(status.current_root_fingerprint, newFingerprint);
  assert.notEqual(status.worker_token, firstToken);
  const oldToken = await runCli('agent', ['run', '--ca', ca.address, '--token', firstToken, '--state-dir', join(dir.path, 'late'), '--listen', '127.0.0.1:0']);
  assert.equal(oldToken.code, 1);
  assert.match(oldToken.stderr, /root named by the join token's digest|predates the last root rotation/);
  const newRootPem = await readFile(ca.init.paths.rootCert, 'utf8');
  assert.equal(parseCertificate(newRootPem).fingerprint, newFingerprint);
  // Each node's certificate (issued under the new root during the rotation) verifies against the new root
  // alone. No wait for a renewal after the finish: a chain issued after a finish (the leaf alone) is checked
  // with openssl in supplied-root.test.ts.
  const readAt = new Date();
  for (const id of await Promise.all(mesh.map(identityOf))) {
    const v = await opensslVerify({ ...id, chainPem: [id.chainPem[0]!] }, newRootPem, `after-${id.nodeId}`, readAt);
    assert.equal(v.code, 0, `openssl verify against the NEW root after the rotation: ${v.out}`);
  }
  await assertHitless(counts);
});

test('abort mid-rotation returns the fleet to the current root', async (t) => {
  await idleRotation(t);
  const counts = await hitlessMark();
  // A stopped node holds the rotation open (it cannot renew), so the abort surely lands mid-rotation however
  // fast the live fleet converges; it is removed once the abort is under way, which lets the abort finish.
  const blockerId = await stoppedNode('blocker');
  const current = (await rotationStatus()).current_root_fingerprint;
  const marks = mesh.map((a) => a.daemon.events.length);
  const started = JSON.parse((await rotate('--detach', '--json')).stdout) as RotationJson;
  await Promise.all(mesh.map((a, i) => renewedUnder(a, started.to_root_fingerprint, marks[i]!)));
  await assertHitless(counts);
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
  await assertHitless(counts);
});

test('a CA killed mid-rotation resumes it after restart', async (t) => {
  await idleRotation(t);
  const counts = await hitlessMark();
  // A stopped node holds the rotation open, so the kill surely lands mid-rotation. (Killing "after convergence"
  // raced the finish: a converged rotation finishes on evidence 1-3 s later, before the kill on a busy machine.)
  const blockerId = await stoppedNode('blocker-kill');
  const marks = mesh.map((a) => a.daemon.events.length);
  const started = JSON.parse((await rotate('--detach', '--json')).stdout) as RotationJson;
  // Killed once every live node holds a fresh new-root certificate (40 s: a slow restart does not outlast it;
  // a certificate that expires while the CA is away is the expired-node path below, not resumption).
  await Promise.all(mesh.map((a, i) => renewedUnder(a, started.to_root_fingerprint, marks[i]!)));
  await ca.daemon.stop('SIGKILL');
  await ca.restart();
  const resumed = await rotationStatus();
  assert.equal(resumed.phase, 'rotating', 'the restarted CA holds the rotation it was killed in');
  assert.equal(resumed.to_root_fingerprint, started.to_root_fingerprint);
  assert.ok(resumed.blocking.some((b) => b.node_id === blockerId), `the stopped node still blocks it: ${JSON.stringify(resumed.blocking)}`);
  const removed = await runCli('ca', ['remove-node', blockerId, '--state-dir', ca.stateDir]);
  assert.equal(removed.code, 0, removed.stderr);
  await ca.daemon.waitFor('root_rotation.finished', { timeoutMs: 45_000 });
  const status = await rotationStatus();
  assert.equal(status.phase, 'idle');
  assert.equal(status.current_root_fingerprint, started.to_root_fingerprint);
  for (const a of mesh) assert.ok(await chainEndsAt(await identityOf(a), started.to_root_fingerprint));
  await assertHitless(counts);
});

test('a node whose certificate expired while it was down is told how to recover, and re-joins with the new token', async () => {
  // The condition under test is "the certificate has expired": there is no event to wait on but the clock.
  const left = downNotAfter.getTime() + 1000 - Date.now();
  if (left > 0) await new Promise((r) => setTimeout(r, left));
  const stale = await runCli('agent', ['run', '--ca', ca.address, '--state-dir', down.stateDir, '--listen', '127.0.0.1:0']);
  assert.equal(stale.code, 1);
  assert.match(stale.stderr, /expired at .*it cannot be renewed \(CERT_EXPIRED\)/);
  assert.match(stale.stderr, /hint: re-join: run the agent again with --token/);
  down = startAgent(dir.path, 'down', { ca: ca.address, token: (await rotationStatus()).worker_token, port: down.port });
  await down.daemon.waitFor('identity.expired_rejoining');
  await down.daemon.waitFor('agent.listening');
  const id = await identityOf(down);
  assert.notEqual(id.nodeId, downId, 'a re-joined node gets a new id');
  const current = (await rotationStatus()).current_root_fingerprint;
  assert.deepEqual(id.bundle.rootsPem.map((r) => parseCertificate(r).fingerprint), [current]);
  assert.ok(await chainEndsAt(id, current));
});
