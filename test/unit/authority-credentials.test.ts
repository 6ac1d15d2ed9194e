// Proves what a leaked credential is still worth at the Authority, with a real store and a FakeClock:
// limited join tokens (expiry, use count spent atomically with the join, revocation, hashed at rest), one
// public key per live node, renewals only from the newest certificate (the previous one until the newest is
// seen; anything older refused and logged as a possible compromise), and the join/renewal rate limits.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HitlessError, type ErrorCode } from '../../shared/errors.js';
import type { Logger } from '../../shared/log.js';
import { formatJoinToken, generateSecret, parseJoinToken, rootDigest } from '../../shared/join-token.js';
import { generateKeyPairPem } from '../../shared/pki/keys.js';
import { createCsrDer } from '../../shared/pki/csr.js';
import { pemToDer } from '../../shared/pki/pem.js';
import { Authority, type CredentialLimits, type IssuedNodeCert, type TrustState } from '../../ca/authority.js';
import { LevelStore } from '../../ca/store.js';
import { FailureRateLimiter } from '../../ca/rate-limiter.js';
import { FakeClock } from '../helpers/unit-fake-clock.js';
import { makeRoot, HOUR_MS } from '../helpers/unit-pki.js';

const CLUSTER = 'testcluster0000000000000';
const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

type Line = { level: string; event: string } & Record<string, unknown>;
function captureLogger(lines: Line[]): Logger {
  const at = (level: string) => (event: string, fields?: Record<string, unknown>) => void lines.push({ level, event, ...fields });
  const log: Logger = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), child: () => log };
  return log;
}

async function makeCa(limits?: CredentialLimits) {
  const clock = new FakeClock();
  const dir = await mkdtemp(join(tmpdir(), 'hl-creds-'));
  const store = await LevelStore.open(join(dir, 'store'));
  cleanups.push(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });
  const root = await makeRoot(clock.now());
  const secrets = { worker: generateSecret(), manager: generateSecret() };
  await store.putJoinSecrets(secrets);
  const digest = rootDigest(pemToDer(root.certPem));
  const trust: TrustState = { rootsPem: [root.certPem], crossSignedPem: [], version: 1, signer: root.signer, tokenRootPem: root.certPem, retired: [] };
  const lines: Line[] = [];
  const limiter = new FailureRateLimiter(clock);
  const config = { version: 1 as const, clusterId: CLUSTER, nodeCertTtlMs: HOUR_MS, backdateMs: 60_000, createdAt: clock.now().toISOString() };
  const authority = new Authority({ store, clock, log: captureLogger(lines), config, trust, limiter, limits });
  return { authority, store, clock, lines, digest, worker: formatJoinToken({ rootDigest: digest, secret: secrets.worker }), manager: formatJoinToken({ rootDigest: digest, secret: secrets.manager }) };
}

const csr = () => createCsrDer(generateKeyPairPem().privateKeyPem);
const der = (issued: IssuedNodeCert) => pemToDer(issued.chainPem[0]!);
function isCode(code: ErrorCode, message?: RegExp) {
  return (err: unknown) => {
    assert.ok(err instanceof HitlessError, `not a HitlessError: ${String(err)}`);
    assert.equal(err.code, code, err.message);
    if (message) assert.match(err.message, message);
    return true;
  };
}

test('a limited token joins its role until its uses are spent; each use is in the store with the join', async () => {
  const ca = await makeCa();
  const { token, record } = await ca.authority.tokens.create({ role: 'manager', ttlMs: HOUR_MS, uses: 2, rootDigest: ca.digest });
  assert.equal(parseJoinToken(token).secret.slice(0, 8), record.id);
  const first = await ca.authority.join({ joinToken: token, csrDer: await csr(), source: 's' });
  assert.equal(first.role, 'manager');
  assert.equal((await ca.store.getJoinToken(record.id))?.usesLeft, 1);
  await ca.authority.join({ joinToken: token, csrDer: await csr(), source: 's' });
  const nodes = (await ca.store.listNodes()).length;
  await assert.rejects(ca.authority.join({ joinToken: token, csrDer: await csr(), source: 's' }), isCode('INVALID_JOIN_TOKEN', /used 2 times/));
  assert.equal((await ca.store.listNodes()).length, nodes);
  // At rest: the hash, never the secret.
  const stored = JSON.stringify(await ca.store.getJoinToken(record.id));
  assert.ok(!stored.includes(parseJoinToken(token).secret.slice(8)), stored);
});

test('a limited token stops at its expiry and at its revocation; a wrong secret with a valid id is refused', async () => {
  const ca = await makeCa();
  const a = await ca.authority.tokens.create({ role: 'worker', ttlMs: 60_000, uses: 10, rootDigest: ca.digest });
  await ca.authority.join({ joinToken: a.token, csrDer: await csr(), source: 's' });
  ca.clock.advance(60_000);
  await assert.rejects(ca.authority.join({ joinToken: a.token, csrDer: await csr(), source: 's' }), isCode('INVALID_JOIN_TOKEN', /expired at/));
  const b = await ca.authority.tokens.create({ role: 'worker', ttlMs: HOUR_MS, uses: 10, rootDigest: ca.digest });
  const forged = b.token.slice(0, -17) + '0'.repeat(17);
  await assert.rejects(ca.authority.join({ joinToken: forged, csrDer: await csr(), source: 't' }), isCode('INVALID_JOIN_TOKEN', /wrong or rotated secret/));
  await ca.authority.tokens.revoke(b.record.id);
  await assert.rejects(ca.authority.join({ joinToken: b.token, csrDer: await csr(), source: 'u' }), isCode('INVALID_JOIN_TOKEN', /revoked at/));
});

test('concurrent joins cannot overspend a limited token: 12 at once with 3 uses make 3 nodes', async () => {
  const ca = await makeCa();
  const { token, record } = await ca.authority.tokens.create({ role: 'worker', ttlMs: HOUR_MS, uses: 3, rootDigest: ca.digest });
  const csrs = await Promise.all(Array.from({ length: 12 }, csr));
  const results = await Promise.allSettled(csrs.map((c, i) => ca.authority.join({ joinToken: token, csrDer: c, source: `s${i}` })));
  assert.equal(results.filter((r) => r.status === 'fulfilled').length, 3);
  assert.equal((await ca.store.listNodes()).length, 3);
  assert.equal((await ca.store.getJoinToken(record.id))?.usesLeft, 0);
});

test('one key backs one live node: 20 joins with one CSR make 1 node; the key is free again once that node is removed', async () => {
  const ca = await makeCa();
  const one = await csr();
  const results = await Promise.allSettled(Array.from({ length: 20 }, () => ca.authority.join({ joinToken: ca.worker, csrDer: one, source: 's' })));
  const ok = results.filter((r): r is PromiseFulfilledResult<IssuedNodeCert> => r.status === 'fulfilled');
  assert.equal(ok.length, 1);
  for (const r of results) if (r.status === 'rejected') isCode('ALREADY_EXISTS', /already backs a live node/)(r.reason);
  assert.equal((await ca.store.listNodes()).length, 1);
  // Duplicates are not wrong tokens: the source is not throttled for them.
  assert.ok((await ca.authority.join({ joinToken: ca.worker, csrDer: await csr(), source: 's' })).nodeId);
  // Renewing another node onto that key is refused as well.
  const other = await ca.authority.join({ joinToken: ca.worker, csrDer: await csr(), source: 's' });
  await assert.rejects(ca.authority.renew({ peerDer: der(other), csrDer: one }), isCode('ALREADY_EXISTS'));
  await ca.authority.removeNode(ok[0]!.value.nodeId);
  assert.ok((await ca.authority.join({ joinToken: ca.worker, csrDer: one, source: 's' })).nodeId);
});

test('renewal: the previous certificate works until the newest is seen; then it is refused and logged as a compromise', async () => {
  const ca = await makeCa();
  const a = await ca.authority.join({ joinToken: ca.worker, csrDer: await csr(), source: 's' });
  const b = await ca.authority.renew({ peerDer: der(a), csrDer: await csr() });
  // The response with b was "lost": the node retries with a, and that still works.
  const c = await ca.authority.renew({ peerDer: der(a), csrDer: await csr() });
  assert.equal((await ca.store.getNode(a.nodeId))?.fallbackSerial, a.serial);
  // b was never handed over successfully and is older than c: superseded.
  const before = await ca.store.getNode(a.nodeId);
  await assert.rejects(ca.authority.renew({ peerDer: der(b), csrDer: await csr() }), isCode('PERMISSION_DENIED', /superseded/));
  assert.deepEqual(await ca.store.getNode(a.nodeId), before, 'a refusal changes nothing');
  // c is seen in use (a watch stream authenticates with it): a is no longer accepted.
  await ca.authority.authenticate(der(c));
  assert.equal((await ca.store.getNode(a.nodeId))?.fallbackSerial, undefined);
  await assert.rejects(ca.authority.renew({ peerDer: der(a), csrDer: await csr() }), isCode('PERMISSION_DENIED', /superseded by a newer certificate/));
  const alarms = ca.lines.filter((l) => l.event === 'node.superseded_cert_used');
  assert.deepEqual(alarms.map((l) => [l.level, l.serial]), [['error', b.serial], ['error', a.serial]]);
  // The node itself, with its newest certificate, renews on.
  assert.equal((await ca.authority.renew({ peerDer: der(c), csrDer: await csr() })).nodeId, a.nodeId);
});

test('renewals per node are throttled with a retry hint; a renewal the CA asked for is exempt', async () => {
  const ca = await makeCa({ renewalsPerNode: { count: 2, perMs: HOUR_MS } });
  let cur = await ca.authority.join({ joinToken: ca.worker, csrDer: await csr(), source: 's' });
  cur = await ca.authority.renew({ peerDer: der(cur), csrDer: await csr() });
  cur = await ca.authority.renew({ peerDer: der(cur), csrDer: await csr() });
  await assert.rejects(ca.authority.renew({ peerDer: der(cur), csrDer: await csr() }), isCode('RATE_LIMITED', /renewals for this node .*retry in 1800s/));
  assert.ok(ca.lines.some((l) => l.event === 'limit.exceeded' && l.limit === 'renewals_per_node'));
  ca.authority.emit('renew-requested', cur.nodeId);
  cur = await ca.authority.renew({ peerDer: der(cur), csrDer: await csr() });
  await assert.rejects(ca.authority.renew({ peerDer: der(cur), csrDer: await csr() }), isCode('RATE_LIMITED'));
  ca.clock.advance(HOUR_MS / 2);
  assert.ok(await ca.authority.renew({ peerDer: der(cur), csrDer: await csr() }));
});

test('successful joins are limited per token and overall; refusals there do not throttle the source', async () => {
  const ca = await makeCa({ joinsPerToken: { count: 2, perMs: 60_000 }, joinsOverall: { count: 3, perMs: 60_000 } });
  await ca.authority.join({ joinToken: ca.worker, csrDer: await csr(), source: 's' });
  await ca.authority.join({ joinToken: ca.worker, csrDer: await csr(), source: 's' });
  await assert.rejects(ca.authority.join({ joinToken: ca.worker, csrDer: await csr(), source: 's' }), isCode('RATE_LIMITED', /joins_per_token.*retry in 30s/));
  await ca.authority.join({ joinToken: ca.manager, csrDer: await csr(), source: 's' });
  await assert.rejects(ca.authority.join({ joinToken: ca.manager, csrDer: await csr(), source: 's' }), isCode('RATE_LIMITED', /joins_overall/));
  // A failed join (bad CSR) gives its unit back.
  ca.clock.advance(20_000);
  await assert.rejects(ca.authority.join({ joinToken: ca.manager, csrDer: new Uint8Array([1]), source: 's' }), isCode('INVALID_CSR'));
  assert.ok(await ca.authority.join({ joinToken: ca.manager, csrDer: await csr(), source: 's' }));
  assert.equal((await ca.store.listNodes()).length, 4);
});
