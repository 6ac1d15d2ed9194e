// The Authority facing damaged state and impossible acknowledgements: a store error on the join path is the
// CA's failure, never charged to the caller's failed-join budget; bundle versions beyond the current one
// (RenewNodeCertificate.bundle_version, WatchTrustBundle.known_version) are INVALID_ARGUMENT naming the current one.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HitlessError, isHitlessError } from '../../shared/errors.js';
import { silentLogger } from '../../shared/log.js';
import { formatJoinToken, generateSecret, rootDigest } from '../../shared/join-token.js';
import { generateKeyPairPem } from '../../shared/pki/keys.js';
import { createCsrDer } from '../../shared/pki/csr.js';
import { pemToDer } from '../../shared/pki/pem.js';
import { Authority, type TrustState } from '../../ca/authority.js';
import { LevelStore } from '../../ca/store.js';
import { FailureRateLimiter } from '../../ca/rate-limiter.js';
import { FakeClock } from '../helpers/unit-fake-clock.js';
import { makeRoot, HOUR_MS } from '../helpers/unit-pki.js';

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function makeCa() {
  const clock = new FakeClock();
  const dir = await mkdtemp(join(tmpdir(), 'hl-unit-'));
  dirs.push(dir);
  const store = await LevelStore.open(join(dir, 'store'));
  const root = await makeRoot(clock.now());
  const secrets = { worker: generateSecret(), manager: generateSecret() };
  await store.putJoinSecrets(secrets);
  const trust: TrustState = { rootsPem: [root.certPem], crossSignedPem: [], version: 3, signer: root.signer, tokenRootPem: root.certPem, retired: [] };
  const limiter = new FailureRateLimiter(clock);
  const config = { version: 1 as const, clusterId: 'testcluster0000000000000', nodeCertTtlMs: HOUR_MS, backdateMs: 60_000, createdAt: clock.now().toISOString() };
  const authority = new Authority({ store, clock, log: silentLogger, config, trust, limiter });
  const token = formatJoinToken({ rootDigest: rootDigest(pemToDer(root.certPem)), secret: secrets.worker });
  return { authority, store, limiter, token };
}

const csr = () => createCsrDer(generateKeyPairPem().privateKeyPem);

test('store errors on the join path are not failed join attempts: the source is never rate-limited for them', async () => {
  const { authority, store, limiter, token } = await makeCa();
  await store.close(); // every read now fails as a store I/O error would
  for (let i = 0; i < 20; i++) {
    await assert.rejects(
      authority.join({ joinToken: token, csrDer: await csr(), source: '10.0.0.1' }),
      (err: unknown) => !isHitlessError(err, 'RATE_LIMITED') && !isHitlessError(err, 'INVALID_JOIN_TOKEN'),
    );
  }
  assert.doesNotThrow(() => limiter.check('10.0.0.1'), 'the source still has its whole failure budget');
});

test('a wrong token still counts: the 11th is RATE_LIMITED', async () => {
  const { authority, store } = await makeCa();
  const wrong = formatJoinToken({ rootDigest: 'x'.repeat(50).replace(/x/g, '0'), secret: generateSecret() });
  for (let i = 0; i < 10; i++) {
    await assert.rejects(authority.join({ joinToken: wrong, csrDer: await csr(), source: '10.0.0.2' }), (e: unknown) => isHitlessError(e, 'INVALID_JOIN_TOKEN'));
  }
  await assert.rejects(authority.join({ joinToken: wrong, csrDer: await csr(), source: '10.0.0.2' }), (e: unknown) => isHitlessError(e, 'RATE_LIMITED'));
  await store.close();
});

test('bundle versions beyond the current one are INVALID_ARGUMENT naming the current version; up to it they pass', async () => {
  const { authority, store, token } = await makeCa();
  const joined = await authority.join({ joinToken: token, csrDer: await csr(), source: '10.0.0.3' });
  const beyond = (err: unknown) => {
    assert.ok(err instanceof HitlessError, String(err));
    assert.equal(err.code, 'INVALID_ARGUMENT');
    assert.equal(err.message, 'acknowledged trust bundle version 4 is beyond the current version 3');
    return true;
  };
  await assert.rejects(authority.acknowledgeBundle(joined.nodeId, 4), beyond);
  await assert.rejects(authority.renew({ peerDer: pemToDer(joined.chainPem[0]!), csrDer: await csr(), bundleVersion: 4 }), beyond);
  assert.throws(() => authority.checkAcknowledgedVersion(Number('18446744073709551615')), /beyond the current version 3/);
  assert.equal((await store.getNode(joined.nodeId))?.bundleVersion, 3, 'nothing recorded');
  await authority.acknowledgeBundle(joined.nodeId, 3);
  await authority.renew({ peerDer: pemToDer(joined.chainPem[0]!), csrDer: await csr(), bundleVersion: 3 });
  await store.close();
});
