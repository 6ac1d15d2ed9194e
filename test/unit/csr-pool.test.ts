// Proves the CSR worker pool answers exactly as the inline check does (same SPKI, same typed errors), really
// runs on worker threads, falls back to the calling thread when its workers are busy, and survives a worker dying.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { CsrWorkerPool, inlineCsrChecker } from '../../ca/csr-pool.js';
import { generateKeyPairPem } from '../../shared/pki/keys.js';
import { createCsrDer } from '../../shared/pki/csr.js';
import { x509, webcrypto } from '../helpers/x509-reference.js';
import { silentLogger } from '../../shared/log.js';

const pool = new CsrWorkerPool(silentLogger, 1).start();
after(() => pool.close());

async function rsaCsr(): Promise<Uint8Array> {
  const alg = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256', publicExponent: new Uint8Array([1, 0, 1]), modulusLength: 1024 };
  const keys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as CryptoKeyPair;
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({ name: 'CN=x', keys, signingAlgorithm: alg }, webcrypto);
  return new Uint8Array(csr.rawData);
}

async function outcome(p: Promise<Uint8Array>): Promise<string> {
  try {
    return `ok ${Buffer.from(await p).toString('hex')}`;
  } catch (err) {
    return `${(err as { code?: string }).code} ${(err as Error).message}`;
  }
}

test('a pool not started yet (a CA before it listens) checks on the calling thread and runs no thread', async () => {
  const idle = new CsrWorkerPool(silentLogger, 2);
  try {
    assert.equal(idle.workers.length, 0);
    assert.ok((await outcome(idle.check(await createCsrDer(generateKeyPairPem().privateKeyPem)))).startsWith('ok '));
    assert.deepEqual(idle.stats, { inline: 1, offloaded: 0 });
  } finally {
    await idle.close();
  }
  assert.equal(idle.start().workers.length, 0, 'a closed pool starts no thread');
});

test('armed with startOnBacklog, the threads start once that many checks wait, not before', async () => {
  const armed = new CsrWorkerPool(silentLogger, 1);
  try {
    armed.startOnBacklog(3);
    const csr = await createCsrDer(generateKeyPairPem().privateKeyPem);
    assert.ok((await outcome(armed.check(csr))).startsWith('ok '));
    assert.equal(armed.workers.length, 0, 'one check at a time: the main thread keeps up');
    const burst = [armed.check(csr), armed.check(csr)];
    assert.equal(armed.workers.length, 0, 'two waiting');
    burst.push(armed.check(csr));
    assert.equal(armed.workers.length, 1, 'the third waiting check starts the thread');
    for (const p of burst) assert.ok((await outcome(p)).startsWith('ok '));
  } finally {
    await armed.close();
  }
});

test('the pool gives the same answer as the inline check, on a worker thread', async () => {
  await pool.whenReady();
  const good = await createCsrDer(generateKeyPairPem().privateKeyPem);
  const tampered = Uint8Array.from(good, (b, i) => (i === good.length - 2 ? b ^ 1 : b));
  const inputs = [good, tampered, await rsaCsr(), new Uint8Array([0x30, 0x01, 0x00]), new Uint8Array(0), new Uint8Array(5000)];
  const inline = inlineCsrChecker();
  const before = pool.stats.offloaded;
  for (const der of inputs) assert.equal(await outcome(pool.check(der)), await outcome(inline.check(der)));
  assert.ok((await outcome(pool.check(good))).startsWith('ok '));
  assert.ok(pool.stats.offloaded - before >= inputs.length - 1, 'all but the oversize input went to the worker');
});

test('when its workers are busy the caller checks CSRs itself, and all answers arrive', async () => {
  await pool.whenReady();
  const csrs = await Promise.all(Array.from({ length: 8 }, () => createCsrDer(generateKeyPairPem().privateKeyPem)));
  const inlineBefore = pool.stats.inline;
  const results = await Promise.all(Array.from({ length: 200 }, (_, i) => pool.check(csrs[i % csrs.length]!)));
  assert.equal(results.length, 200);
  assert.ok(pool.stats.inline > inlineBefore, 'some checks ran on the calling thread');
});

test('a worker that dies fails only its in-flight checks and is replaced', async () => {
  await pool.whenReady();
  const good = await createCsrDer(generateKeyPairPem().privateKeyPem);
  const dead = pool.workers[0]!;
  const inFlight = Array.from({ length: 20 }, () => pool.check(good));
  await dead.terminate();
  const settled = await Promise.allSettled(inFlight);
  assert.ok(settled.some((r) => r.status === 'rejected'), 'checks in flight on the dead worker are failed, not left hanging');
  await pool.whenReady();
  assert.notEqual(pool.workers[0], dead);
  assert.ok((await outcome(pool.check(good))).startsWith('ok '));
});
