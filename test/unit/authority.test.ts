// Proves the Authority's decisions: tokens decide the join role, failures are rate-limited per source, and authentication fails closed with the role read from the store.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { counterValue, metrics } from '../../shared/metrics.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HitlessError, type ErrorCode } from '../../shared/errors.js';
import { silentLogger } from '../../shared/log.js';
import { formatJoinToken, generateSecret, parseJoinToken, rootDigest } from '../../shared/join-token.js';
import { generateKeyPairPem } from '../../shared/pki/keys.js';
import { parseCertificate } from '../../shared/pki/certs.js';
import { createCsrDer } from '../../shared/pki/csr.js';
import { pemToDer } from '../../shared/pki/pem.js';
import { verifyChain } from '../../shared/pki/chain.js';
import { issueCaServerCert, issueLeaf } from '../../ca/issuer.js';
import { Authority, type IssuedNodeCert, type TrustState } from '../../ca/authority.js';
import { LevelStore } from '../../ca/store.js';
import { FailureRateLimiter } from '../../ca/rate-limiter.js';
import type { ClusterConfig } from '../../ca/config.js';
import { FakeClock, FAKE_CLOCK_EPOCH } from '../helpers/unit-fake-clock.js';
import { makeRoot, spkiOf, HOUR_MS, type TestRoot } from '../helpers/unit-pki.js';

const TTL_MS = HOUR_MS;
const BACKDATE_MS = 60_000;
const CLUSTER = 'testcluster0000000000000';

interface TestCa {
  authority: Authority;
  store: LevelStore;
  clock: FakeClock;
  root: TestRoot;
  tokens: { worker: string; manager: string };
}

const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

/** A CA as `ca init` + `ca serve` assemble it, on a fresh store, with time under the test's control. */
async function makeCa(opts: { rootNotAfter?: Date } = {}): Promise<TestCa> {
  const clock = new FakeClock();
  const dir = await mkdtemp(join(tmpdir(), 'hl-unit-'));
  const store = await LevelStore.open(join(dir, 'store'));
  cleanups.push(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });
  const root = await makeRoot(clock.now(), { notAfter: opts.rootNotAfter });
  const secrets = { worker: generateSecret(), manager: generateSecret() };
  await store.putJoinSecrets(secrets);
  const digest = rootDigest(pemToDer(root.certPem));
  const trust: TrustState = { rootsPem: [root.certPem], crossSignedPem: [], version: 1, signer: root.signer, tokenRootPem: root.certPem, retired: [] };
  const config: ClusterConfig = {
    version: 1,
    clusterId: CLUSTER,
    nodeCertTtlMs: TTL_MS,
    backdateMs: BACKDATE_MS,
    createdAt: clock.now().toISOString(),
  };
  const limiter = new FailureRateLimiter(clock);
  const authority = new Authority({ store, clock, log: silentLogger, config, trust, limiter });
  return {
    authority,
    store,
    clock,
    root,
    tokens: {
      worker: formatJoinToken({ rootDigest: digest, secret: secrets.worker }),
      manager: formatJoinToken({ rootDigest: digest, secret: secrets.manager }),
    },
  };
}

const csr = () => createCsrDer(generateKeyPairPem().privateKeyPem);
const der = (issued: IssuedNodeCert) => pemToDer(issued.chainPem[0]!);

function isCode(code: ErrorCode) {
  return (err: unknown) => {
    assert.ok(err instanceof HitlessError, `not a HitlessError: ${String(err)}`);
    assert.equal(err.code, code, err.message);
    return true;
  };
}

async function joinWith(ca: TestCa, token: string, source = '10.0.0.1'): Promise<IssuedNodeCert> {
  return ca.authority.join({ joinToken: token, csrDer: await csr(), source });
}

test('join: the worker token makes a worker, the manager token a manager', async () => {
  const ca = await makeCa();
  for (const role of ['worker', 'manager'] as const) {
    const issued = await joinWith(ca, ca.tokens[role]);
    assert.equal(issued.role, role);
    assert.equal(issued.clusterId, CLUSTER);
    assert.match(issued.nodeId, /^[0-9a-z]{25}$/);
    const leaf = parseCertificate(issued.chainPem[0]!);
    assert.deepEqual(leaf.subject, { commonName: issued.nodeId, organizationalUnits: [role], organization: CLUSTER });
    assert.equal(leaf.serial, issued.serial);
    const record = await ca.store.getNode(issued.nodeId);
    assert.equal(record?.role, role);
    assert.equal(record?.serial, issued.serial);
    assert.equal((await ca.store.getCert(issued.serial))?.nodeId, issued.nodeId);
  }
});

test('join: validity is now - backdate .. now + TTL, and the chain verifies against the bundle', async () => {
  const ca = await makeCa();
  const now = ca.clock.nowMs;
  const issued = await joinWith(ca, ca.tokens.worker);
  const leaf = parseCertificate(issued.chainPem[0]!);
  assert.equal(leaf.notBefore.getTime(), now - BACKDATE_MS);
  assert.equal(leaf.notAfter.getTime(), now + TTL_MS);
  assert.equal(issued.notAfter.getTime(), now + TTL_MS);
  assert.equal(issued.issuedAt.getTime(), now);
  assert.deepEqual(issued.bundle, { rootsPem: [ca.root.certPem], crossSignedPem: [], version: 1 });
  const chain = await verifyChain({ leaf: issued.chainPem[0]!, roots: issued.bundle.rootsPem, at: ca.clock.now() });
  assert.ok(chain.ok);
});

test('join: a leaf never outlives the key that signed it', async () => {
  const rootNotAfter = new Date(FAKE_CLOCK_EPOCH.getTime() + 10 * 60_000); // root expires before now + TTL
  const ca = await makeCa({ rootNotAfter });
  const issued = await joinWith(ca, ca.tokens.worker);
  assert.equal(issued.notAfter.getTime(), rootNotAfter.getTime());
});

test('join: wrong secret, another cluster\'s digest, or a malformed token is INVALID_JOIN_TOKEN and stores nothing', async () => {
  const ca = await makeCa();
  const { rootDigest: digest } = parseJoinToken(ca.tokens.worker);
  const otherRoot = await makeRoot(ca.clock.now());
  const cases: [string, string][] = [
    ['wrong secret', formatJoinToken({ rootDigest: digest, secret: generateSecret() })],
    ['another root digest, right secret', formatJoinToken({ rootDigest: rootDigest(pemToDer(otherRoot.certPem)), secret: parseJoinToken(ca.tokens.worker).secret })],
    ['malformed', 'SWMTKN-1-abc'],
    ['empty', ''],
  ];
  for (const [name, token] of cases) {
    await assert.rejects(joinWith(ca, token, `src-${name}`), isCode('INVALID_JOIN_TOKEN'), name);
  }
  assert.deepEqual(await ca.store.listNodes(), []);
});

test('join: the 11th wrong attempt from one source is RATE_LIMITED, even with a good token; another source is unaffected', async () => {
  const ca = await makeCa();
  const wrong = formatJoinToken({ rootDigest: parseJoinToken(ca.tokens.worker).rootDigest, secret: generateSecret() });
  for (let i = 0; i < 10; i++) await assert.rejects(joinWith(ca, wrong, 'attacker'), isCode('INVALID_JOIN_TOKEN'), `attempt ${i + 1}`);
  const limited = await counterValue(metrics.limitRejections, { limit: 'failed_joins_per_source' });
  await assert.rejects(joinWith(ca, wrong, 'attacker'), isCode('RATE_LIMITED'));
  assert.equal(await counterValue(metrics.limitRejections, { limit: 'failed_joins_per_source' }), limited + 1, 'counted as a limit rejection');
  await assert.rejects(joinWith(ca, ca.tokens.worker, 'attacker'), isCode('RATE_LIMITED'));
  // Another source is untouched, and gets the ordinary answers.
  await assert.rejects(joinWith(ca, wrong, 'honest'), isCode('INVALID_JOIN_TOKEN'));
  assert.equal((await joinWith(ca, ca.tokens.worker, 'honest')).role, 'worker');
  // The attacker regains one attempt every 5 s.
  ca.clock.advance(5_000);
  assert.equal((await joinWith(ca, ca.tokens.worker, 'attacker')).role, 'worker');
});

test('join: successful joins never count against a source', async () => {
  const ca = await makeCa();
  for (let i = 0; i < 15; i++) await joinWith(ca, ca.tokens.worker, 'busy');
  assert.equal((await ca.store.listNodes()).length, 15);
});

test('join: a good token with a bad CSR is INVALID_CSR and stores nothing', async () => {
  const ca = await makeCa();
  await assert.rejects(ca.authority.join({ joinToken: ca.tokens.worker, csrDer: new Uint8Array([1, 2, 3]), source: 's' }), isCode('INVALID_CSR'));
  assert.deepEqual(await ca.store.listNodes(), []);
});

test('authenticate without a certificate is UNTRUSTED_PEER', async () => {
  const ca = await makeCa();
  await assert.rejects(ca.authority.authenticate(undefined), isCode('UNTRUSTED_PEER'));
});

test('authenticate returns the identity of an issued certificate', async () => {
  const ca = await makeCa();
  const issued = await joinWith(ca, ca.tokens.worker);
  const id = await ca.authority.authenticate(der(issued));
  assert.deepEqual(id, { nodeId: issued.nodeId, role: 'worker', serial: issued.serial, notAfter: issued.notAfter });
});

test('the role comes from the store, not from the presented certificate', async () => {
  const ca = await makeCa();
  const issued = await joinWith(ca, ca.tokens.worker);
  assert.deepEqual(parseCertificate(issued.chainPem[0]!).subject.organizationalUnits, ['worker']);
  const record = (await ca.store.getNode(issued.nodeId))!;
  await ca.store.putNode({ ...record, role: 'manager' });

  assert.equal((await ca.authority.authenticate(der(issued))).role, 'manager');
  const renewed = await ca.authority.renew({ peerDer: der(issued), csrDer: await csr() });
  assert.equal(renewed.role, 'manager');
  assert.deepEqual(parseCertificate(renewed.chainPem[0]!).subject.organizationalUnits, ['manager']);
});

test('renew: new serial and key for the same node; the node record follows', async () => {
  const ca = await makeCa();
  const issued = await joinWith(ca, ca.tokens.worker);
  const joinedAt = (await ca.store.getNode(issued.nodeId))!.joinedAt;
  ca.clock.advance(30 * 60_000);
  const renewed = await ca.authority.renew({ peerDer: der(issued), csrDer: await csr() });
  assert.equal(renewed.nodeId, issued.nodeId);
  assert.equal(renewed.role, 'worker');
  assert.notEqual(renewed.serial, issued.serial);
  assert.notEqual(parseCertificate(renewed.chainPem[0]!).spkiFingerprint, parseCertificate(issued.chainPem[0]!).spkiFingerprint);
  assert.equal(renewed.notAfter.getTime(), ca.clock.nowMs + TTL_MS);

  const record = await ca.store.getNode(issued.nodeId);
  assert.equal(record?.serial, renewed.serial);
  assert.equal(record?.notAfter, renewed.notAfter.toISOString());
  assert.equal(record?.issuedAt, ca.clock.now().toISOString());
  assert.equal(record?.joinedAt, joinedAt);
  assert.equal((await ca.store.getCert(renewed.serial))?.nodeId, issued.nodeId);
  assert.equal((await ca.authority.authenticate(der(renewed))).serial, renewed.serial);
});

test('renew: a bad CSR is INVALID_CSR and the record is unchanged', async () => {
  const ca = await makeCa();
  const issued = await joinWith(ca, ca.tokens.worker);
  const before = await ca.store.getNode(issued.nodeId);
  await assert.rejects(ca.authority.renew({ peerDer: der(issued), csrDer: new Uint8Array(0) }), isCode('INVALID_CSR'));
  assert.deepEqual(await ca.store.getNode(issued.nodeId), before);
});

test('after removeNode, renew and authenticate are NODE_REMOVED', async () => {
  const ca = await makeCa();
  const issued = await joinWith(ca, ca.tokens.worker);
  const removedEvents: string[] = [];
  ca.authority.on('node-removed', (id: string) => removedEvents.push(id));
  const removed = await ca.authority.removeNode(issued.nodeId);
  assert.equal(removed.removedAt, ca.clock.now().toISOString());
  assert.deepEqual(removedEvents, [issued.nodeId]);

  await assert.rejects(ca.authority.renew({ peerDer: der(issued), csrDer: await csr() }), isCode('NODE_REMOVED'));
  await assert.rejects(ca.authority.authenticate(der(issued)), isCode('NODE_REMOVED'));
  await assert.rejects(ca.authority.removeNode(issued.nodeId), isCode('NODE_REMOVED'));
  assert.deepEqual(await ca.authority.listNodes(), []);
  assert.ok((await ca.store.getNode(issued.nodeId))?.removedAt, 'kept as a tombstone');
});

test('removedNodeIds lists removed nodes only while their certificates can still be valid', async () => {
  const ca = await makeCa();
  const live = await joinWith(ca, ca.tokens.worker);
  const gone = await joinWith(ca, ca.tokens.worker);
  assert.deepEqual(await ca.authority.removedNodeIds(), []);
  await ca.authority.removeNode(gone.nodeId);
  assert.deepEqual(await ca.authority.removedNodeIds(), [gone.nodeId]);
  assert.deepEqual((await ca.authority.listNodes()).map((n) => n.nodeId), [live.nodeId]);
  ca.clock.advanceTo(gone.notAfter.getTime() - 1_000);
  assert.deepEqual(await ca.authority.removedNodeIds(), [gone.nodeId]);
  ca.clock.advance(2_000);
  assert.deepEqual(await ca.authority.removedNodeIds(), [], 'its last certificate has expired');
});

test('removedNodeIds lists the store once until a removal is announced (here or by another replica)', async () => {
  const ca = await makeCa();
  const a = await joinWith(ca, ca.tokens.worker);
  const b = await joinWith(ca, ca.tokens.worker);
  let listings = 0;
  const list = ca.store.listNodes.bind(ca.store);
  ca.store.listNodes = () => (listings++, list());
  for (let i = 0; i < 3; i++) assert.deepEqual(await ca.authority.removedNodeIds(), []);
  assert.equal(listings, 1, 'every watch event carries the list: it is not recomputed per event');
  await ca.authority.removeNode(a.nodeId);
  assert.deepEqual(await ca.authority.removedNodeIds(), [a.nodeId]);
  assert.equal(listings, 2);
  // Another replica removed b: its record arrives through the store, the announcement through the authority.
  const rb = (await ca.store.getNode(b.nodeId))!;
  await ca.store.putNode({ ...rb, removedAt: ca.clock.now().toISOString() }, rb);
  ca.authority.emit('node-removed', b.nodeId);
  assert.deepEqual((await ca.authority.removedNodeIds()).sort(), [a.nodeId, b.nodeId].sort());
  assert.equal(listings, 3);
  // A list computed while a removal was announced may predate it: it is returned but not kept.
  ca.authority.emit('node-removed', 'announced-first');
  const pending = ca.authority.removedNodeIds();
  ca.authority.emit('node-removed', 'announced-meanwhile');
  await pending;
  await ca.authority.removedNodeIds();
  assert.equal(listings, 5, 'listed again after the announcement');
  await ca.authority.removedNodeIds();
  assert.equal(listings, 5, 'and kept from then on');
});

test('removeNode of an unknown node is NOT_FOUND', async () => {
  const ca = await makeCa();
  await assert.rejects(ca.authority.removeNode('nosuchnode'), isCode('NOT_FOUND'));
});

test('a renewal racing a removal never resurrects the node', async () => {
  const ca = await makeCa();
  const issued = await joinWith(ca, ca.tokens.worker);
  const csrDer = await csr();
  await Promise.allSettled([ca.authority.renew({ peerDer: der(issued), csrDer }), ca.authority.removeNode(issued.nodeId)]);
  assert.ok((await ca.store.getNode(issued.nodeId))?.removedAt);
});

test('authenticate with a certificate from another root is UNTRUSTED_PEER', async () => {
  const ca = await makeCa();
  const issued = await joinWith(ca, ca.tokens.worker);
  const foreignRoot = await makeRoot(ca.clock.now()); // same subject name, other key
  const foreign = await issueLeaf(foreignRoot.signer, {
    spkiDer: spkiOf(generateKeyPairPem()),
    nodeId: issued.nodeId,
    role: 'manager',
    clusterId: CLUSTER,
    notBefore: new Date(ca.clock.nowMs - 60_000),
    notAfter: new Date(ca.clock.nowMs + TTL_MS),
  });
  await assert.rejects(ca.authority.authenticate(pemToDer(foreign.chainPem[0]!)), isCode('UNTRUSTED_PEER'));
  await assert.rejects(ca.authority.renew({ peerDer: pemToDer(foreign.chainPem[0]!), csrDer: await csr() }), isCode('UNTRUSTED_PEER'));
});

test('a certificate the CA just issued is not taken as verified once the trust changed (its root gone)', async () => {
  const ca = await makeCa();
  const issued = await joinWith(ca, ca.tokens.worker);
  assert.equal((await ca.authority.authenticate(der(issued))).serial, issued.serial); // remembered at issuance
  const other = await makeRoot(ca.clock.now());
  ca.authority.setTrust({ ...ca.authority.trust, rootsPem: [other.certPem], signer: other.signer, tokenRootPem: other.certPem, version: 2 });
  await assert.rejects(ca.authority.authenticate(der(issued)), isCode('UNTRUSTED_PEER'));
  // Issued under the new trust: authenticates (from what the issuance remembered, or by verification alike).
  const next = await joinWith(ca, formatJoinToken({ rootDigest: rootDigest(pemToDer(other.certPem)), secret: parseJoinToken(ca.tokens.worker).secret }));
  assert.equal((await ca.authority.authenticate(der(next))).serial, next.serial);
});

test('authenticate after the certificate expired is CERT_EXPIRED', async () => {
  const ca = await makeCa();
  const issued = await joinWith(ca, ca.tokens.worker);
  ca.clock.advanceTo(issued.notAfter);
  await ca.authority.authenticate(der(issued)); // valid through its last second
  ca.clock.advance(1_000);
  await assert.rejects(ca.authority.authenticate(der(issued)), isCode('CERT_EXPIRED'));
  await assert.rejects(ca.authority.renew({ peerDer: der(issued), csrDer: await csr() }), isCode('CERT_EXPIRED'));
});

test('authenticate with a valid certificate whose serial the CA never recorded is UNTRUSTED_PEER', async () => {
  const ca = await makeCa();
  const issued = await joinWith(ca, ca.tokens.worker);
  const unrecorded = await issueLeaf(ca.root.signer, {
    spkiDer: spkiOf(generateKeyPairPem()),
    nodeId: issued.nodeId,
    role: 'worker',
    clusterId: CLUSTER,
    notBefore: new Date(ca.clock.nowMs - 60_000),
    notAfter: new Date(ca.clock.nowMs + TTL_MS),
  });
  assert.ok((await verifyChain({ leaf: unrecorded.chainPem[0]!, roots: [ca.root.certPem], at: ca.clock.now() })).ok);
  await assert.rejects(ca.authority.authenticate(pemToDer(unrecorded.chainPem[0]!)), isCode('UNTRUSTED_PEER'));
});

test("authenticate refuses a recorded serial presented under another node's name", async () => {
  const ca = await makeCa();
  const a = await joinWith(ca, ca.tokens.worker);
  const b = await joinWith(ca, ca.tokens.worker);
  // Record A's serial as belonging to B: A's certificate must no longer authenticate A.
  const bRecord = (await ca.store.getNode(b.nodeId))!;
  const aCert = (await ca.store.getCert(a.serial))!;
  await ca.store.recordIssued(bRecord, { ...aCert, nodeId: b.nodeId });
  await assert.rejects(ca.authority.authenticate(der(a)), isCode('UNTRUSTED_PEER'));
});

test('authenticate refuses our own certificates that are not node certificates of this cluster', async (t) => {
  const ca = await makeCa();
  const issued = await joinWith(ca, ca.tokens.worker);
  const validity = { notBefore: new Date(ca.clock.nowMs - 60_000), notAfter: new Date(ca.clock.nowMs + TTL_MS) };
  await t.test("the CA's own server certificate (OU=ca)", async () => {
    const server = await issueCaServerCert(ca.root.signer, { spkiDer: spkiOf(generateKeyPairPem()), clusterId: CLUSTER, ...validity });
    await assert.rejects(ca.authority.authenticate(pemToDer(server.chainPem[0]!)), isCode('UNTRUSTED_PEER'));
  });
  await t.test('a node certificate of another cluster id', async () => {
    const other = await issueLeaf(ca.root.signer, {
      spkiDer: spkiOf(generateKeyPairPem()),
      nodeId: issued.nodeId,
      role: 'worker',
      clusterId: 'othercluster',
      ...validity,
    });
    await assert.rejects(ca.authority.authenticate(pemToDer(other.chainPem[0]!)), isCode('UNTRUSTED_PEER'));
  });
});

test('joinTokens returns the current tokens; rotating the worker secret leaves the manager token alone', async () => {
  const ca = await makeCa();
  const current = await ca.authority.joinTokens();
  assert.deepEqual(current, { ...ca.tokens, rootDigest: parseJoinToken(ca.tokens.worker).rootDigest });
  assert.equal(current.rootDigest, ca.authority.currentRootDigest());

  const rotated = await ca.authority.joinTokens({ worker: true });
  assert.notEqual(rotated.worker, ca.tokens.worker);
  assert.equal(rotated.manager, ca.tokens.manager);
  assert.equal(rotated.rootDigest, current.rootDigest);
  assert.deepEqual(await ca.authority.joinTokens(), rotated, 'the rotation is stored');
  assert.equal((await ca.store.getJoinSecrets())?.worker, parseJoinToken(rotated.worker).secret);

  await assert.rejects(joinWith(ca, ca.tokens.worker), isCode('INVALID_JOIN_TOKEN'));
  assert.equal((await joinWith(ca, rotated.worker)).role, 'worker');
  assert.equal((await joinWith(ca, ca.tokens.manager)).role, 'manager');

  const both = await ca.authority.joinTokens({ worker: true, manager: true });
  assert.notEqual(both.worker, rotated.worker);
  assert.notEqual(both.manager, rotated.manager);
});

test('joinTokens on a store without secrets is CA_NOT_READY', async () => {
  const ca = await makeCa();
  const dir = await mkdtemp(join(tmpdir(), 'hl-unit-'));
  const empty = await LevelStore.open(join(dir, 'store'));
  cleanups.push(async () => {
    await empty.close();
    await rm(dir, { recursive: true, force: true });
  });
  const authority = new Authority({
    store: empty,
    clock: ca.clock,
    log: silentLogger,
    config: { version: 1, clusterId: CLUSTER, nodeCertTtlMs: TTL_MS, backdateMs: BACKDATE_MS, createdAt: '' },
    trust: ca.authority.trust,
    limiter: new FailureRateLimiter(ca.clock),
  });
  await assert.rejects(authority.joinTokens(), isCode('CA_NOT_READY'));
  // The CA's fault, not the caller's: not INVALID_JOIN_TOKEN (and not charged to the source's failure budget).
  await assert.rejects(authority.join({ joinToken: ca.tokens.worker, csrDer: await csr(), source: 's' }), isCode('CA_NOT_READY'));
});

test('setTrust replaces the bundle and tells listeners', async () => {
  const ca = await makeCa();
  const seen: TrustState[] = [];
  ca.authority.on('trust', (t: TrustState) => seen.push(t));
  const next: TrustState = { ...ca.authority.trust, version: 2 };
  ca.authority.setTrust(next);
  assert.deepEqual(seen, [next]);
  assert.equal(ca.authority.bundle().version, 2);
  assert.equal((await joinWith(ca, ca.tokens.worker)).bundle.version, 2);
});
