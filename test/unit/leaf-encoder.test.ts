// Our own certificate bytes against the reference: for the same inputs, the certificate template
// (shared/pki/template.ts, through ca/issuer.ts) must produce a TBSCertificate byte-identical to the one
// @peculiar/x509 builds (test/helpers/x509-reference.ts), its signature must verify, the reported CertInfo
// must equal what x509 parses, and openssl must accept the result. CSRs (shared/pki/csr.ts) likewise. Inputs are
// random (seeded per run and printed on failure): keys, ids of varying length and alphabet (PrintableString
// vs UTF8String, short vs long-form DER lengths), validity across the 2050 UTCTime/GeneralizedTime switch,
// serials with and without the top bit, and roots with different subjects.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, createPublicKey, generateKeyPairSync, randomBytes, verify } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { createSigner, issueCaServerCert, issueLeaf, type Signer } from '../../ca/issuer.js';
import { createCsrDer, validateCsr } from '../../shared/pki/csr.js';
import { generateKeyPairPem } from '../../shared/pki/keys.js';
import { parseCertificate } from '../../shared/pki/certs.js';
import { createCsrWithX509, issueCaServerCertWithX509, issueLeafWithX509, validateCsrWithX509, x509CertInfo } from '../helpers/x509-reference.js';
import { createRootCertificate } from '../../shared/pki/roots.js';
import { TAG, bytesOf, children, readRoot } from '../../shared/pki/der.js';

const ITERATIONS = 300;
const seed = randomBytes(4).readUInt32BE();
let state = seed;
/** A small seeded PRNG (mulberry32) so that a failing input can be reproduced from the printed seed. */
function rand(): number {
  state = (state + 0x6d2b79f5) | 0;
  let t = Math.imul(state ^ (state >>> 15), 1 | state);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
const text = (alphabet: string, min: number, max: number) =>
  Array.from({ length: min + Math.floor(rand() * (max - min + 1)) }, () => pick([...alphabet])).join('');
const B36 = '0123456789abcdefghijklmnopqrstuvwxyz';
const PRINTABLE_EXTRA = "ABCXYZ -.:=?'()+,/";

const tbsOf = (der: Uint8Array) => bytesOf(der, children(der, readRoot(der, TAG.SEQUENCE))[0]!);

let signers: Signer[];

before(async () => {
  const subjects = ['CN=hitless root CA', 'CN=hitless root CA, O=Example Fleet, C=DE', 'CN=Wurzel-CA ü'];
  signers = await Promise.all(
    subjects.map(async (subject) => {
      const { privateKeyPem } = generateKeyPairPem();
      const certPem = await createRootCertificate({ privateKeyPem, subject, notBefore: new Date('2000-01-01T00:00:00Z'), notAfter: new Date('2199-01-01T00:00:00Z') });
      return createSigner(certPem, privateKeyPem);
    }),
  );
});

function randomRequest() {
  const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const start = Date.UTC(1995, 0, 1) + Math.floor(rand() * (Date.UTC(2120, 0, 1) - Date.UTC(1995, 0, 1)));
  const serial = randomBytes(16);
  serial[0] = rand() < 0.5 ? (serial[0]! & 0x7f) || 1 : (serial[0]! & 0x7f) | 0x40;
  return {
    spkiDer: new Uint8Array(publicKey.export({ format: 'der', type: 'spki' })),
    // Node ids are ours (25 base-36 chars); ids, roles and clusters of other shapes prove the encoder general.
    nodeId: rand() < 0.5 ? text(B36, 25, 25) : text(B36 + PRINTABLE_EXTRA, 1, 140),
    role: pick(['worker', 'manager', text(B36 + '_', 1, 12)]),
    clusterId: rand() < 0.8 ? text(B36, 25, 25) : text(B36, 1, 200),
    notBefore: new Date(start),
    notAfter: new Date(start + Math.floor(rand() * 400 * 86_400_000)),
    serial,
  };
}

test(`the fast path's TBSCertificate is byte-identical to @peculiar/x509's (${ITERATIONS} random inputs)`, async () => {
  for (let i = 0; i < ITERATIONS; i++) {
    const signer = pick(signers);
    const req = randomRequest();
    const fast = await issueLeaf(signer, req);
    const reference = await issueLeafWithX509(signer, req);
    const context = `seed ${seed}, iteration ${i}: ${JSON.stringify({ ...req, spkiDer: undefined, serial: req.serial.toString('hex') })}`;
    assert.deepEqual(Buffer.from(tbsOf(fast.info.der)), Buffer.from(tbsOf(reference.info.der)), context);
    const parsed = x509CertInfo(fast.chainPem[0]!);
    // subjectName is built without RFC 4514 escaping, which our own ids never need; compare it when the
    // random values are of that kind, and every other field always.
    const plain = [req.nodeId, req.role, req.clusterId].every((v) => /^[0-9A-Za-z_.:/?()'-]+$/.test(v));
    const { subjectName, ...rest } = fast.info;
    const { subjectName: parsedName, ...parsedRest } = parsed;
    assert.deepEqual(rest, parsedRest, `reported CertInfo differs from the parsed certificate (${context})`);
    if (plain) assert.equal(subjectName, parsedName, context);
    // The template reports what it encoded: exactly what the one decoder reads back, every field.
    assert.deepEqual(fast.info, parseCertificate(fast.chainPem[0]!), `reported CertInfo differs from the decoded one (${context})`);
    const tbs = tbsOf(fast.info.der);
    const signature = children(fast.info.der, readRoot(fast.info.der, TAG.SEQUENCE))[2]!;
    const sigBytes = fast.info.der.subarray(signature.start + 1, signature.end);
    assert.ok(verify('sha256', tbs, { key: createPublicKey(signer.certPem), dsaEncoding: 'der' }, sigBytes), `signature (${context})`);
    assert.ok(new X509Certificate(fast.chainPem[0]!).verify(createPublicKey(signer.certPem)), `node:crypto X509Certificate.verify (${context})`);
  }
});

test('openssl verify accepts fast-path certificates', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'hl-fast-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  for (let i = 0; i < 5; i++) {
    const signer = signers[i % signers.length]!;
    const now = new Date();
    const leaf = await issueLeaf(signer, { ...randomRequest(), serial: undefined, notBefore: new Date(now.getTime() - 60_000), notAfter: new Date(now.getTime() + 3_600_000), nodeId: text(B36, 25, 25), role: 'worker' });
    await writeFile(join(dir, 'root.pem'), signer.certPem);
    await writeFile(join(dir, 'leaf.pem'), leaf.chainPem[0]!);
    const r = spawnSync('openssl', ['verify', '-CAfile', join(dir, 'root.pem'), '-purpose', 'sslclient', join(dir, 'leaf.pem')], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /OK/);
  }
});

test('the native CSR check agrees with @peculiar/x509 on good and tampered CSRs', async () => {
  for (let i = 0; i < 50; i++) {
    const der = await createCsrDer(generateKeyPairPem().privateKeyPem);
    const fast = await validateCsr(der);
    const reference = await validateCsrWithX509(der);
    assert.deepEqual(Buffer.from(fast.spkiDer), Buffer.from(reference));
    // Flip one byte anywhere past the outer header: the fast check must refuse. (It is stricter than the
    // reference: x509 re-encodes the ECDSA signature leniently and has accepted some flipped bytes there.)
    const tampered = Buffer.from(der);
    const at = 10 + Math.floor(rand() * (tampered.length - 12));
    tampered[at] = tampered[at]! ^ (1 + Math.floor(rand() * 255));
    const fastOk = await validateCsr(tampered).then(() => true, () => false);
    assert.equal(fastOk, false, `seed ${seed}: tampered byte ${at} accepted by the fast check`);
  }
});

test(`the CA server certificate's TBSCertificate is byte-identical to @peculiar/x509's (${ITERATIONS / 10} random inputs)`, async () => {
  for (let i = 0; i < ITERATIONS / 10; i++) {
    const signer = pick(signers);
    const { spkiDer, clusterId, notBefore, notAfter } = randomRequest();
    const req = { spkiDer, clusterId, notBefore, notAfter };
    // issueCaServerCert picks its own serial: the reference is built with the same one.
    const ours = await issueCaServerCert(signer, req);
    const reference = await issueCaServerCertWithX509(signer, { ...req, serial: Buffer.from(ours.info.serial.padStart(32, '0'), 'hex') });
    const context = `seed ${seed}, iteration ${i}: ${JSON.stringify({ clusterId, notBefore, notAfter })}`;
    assert.deepEqual(Buffer.from(tbsOf(ours.info.der)), Buffer.from(tbsOf(reference.info.der)), context);
    assert.deepEqual(ours.info, x509CertInfo(ours.chainPem[0]!), context);
  }
});

test("createCsrDer: the request info is byte-identical to @peculiar/x509's, and x509 and openssl verify the request", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'hl-csr-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const infoOf = (der: Uint8Array) => Buffer.from(bytesOf(der, children(der, readRoot(der, TAG.SEQUENCE))[0]!));
  for (let i = 0; i < 20; i++) {
    const { privateKeyPem } = generateKeyPairPem();
    const ours = createCsrDer(privateKeyPem);
    assert.deepEqual(infoOf(ours), infoOf(await createCsrWithX509(privateKeyPem)));
    assert.deepEqual(Buffer.from(await validateCsrWithX509(ours)), createPublicKey(privateKeyPem).export({ format: 'der', type: 'spki' }));
    if (i < 3) {
      await writeFile(join(dir, 'req.der'), ours);
      const r = spawnSync('openssl', ['req', '-inform', 'DER', '-in', join(dir, 'req.der'), '-verify', '-noout'], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stdout + r.stderr);
      assert.match(r.stdout + r.stderr, /verif(y|ication) OK/i);
    }
  }
});
