// Proves verifyChain accepts good and cross-signed paths and names the right reason for every way a chain can fail.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { importKeyPair, SIGNING_ALGORITHM, webcrypto, x509, x509CertInfo } from '../helpers/x509-reference.js';
import { generateKeyPairPem } from '../../shared/pki/keys.js';
import { decodeCertificate, normalizeSerial, parseCertificate, randomSerial, sha256Hex, type CertInfo } from '../../shared/pki/certs.js';
import { pemToDer } from '../../shared/pki/pem.js';
import { X509Certificate } from 'node:crypto';
import { crossSignRoot } from '../../shared/pki/roots.js';
import { toPem } from '../../shared/pki/pem.js';
import { verifyChain, type ChainFailure, type ChainInput } from '../../shared/pki/chain.js';
import { makeLeaf, makeRoot, HOUR_MS, type TestRoot } from '../helpers/unit-pki.js';

const AT = new Date('2030-03-01T00:00:00.000Z');
const at = (deltaMs: number) => new Date(AT.getTime() + deltaMs);

interface Issuer {
  name: string;
  keys: CryptoKeyPair;
}

/** Any certificate, built directly: `ca` sets BasicConstraints; keyUsage defaults to what a CA or leaf needs. */
async function makeCert(opts: {
  subject: string;
  issuer?: Issuer; // self-signed when absent
  ca: boolean;
  keyUsage?: number;
  notBefore?: Date;
  notAfter?: Date;
}): Promise<{ pem: string; self: Issuer }> {
  const keys = await importKeyPair(generateKeyPairPem().privateKeyPem);
  const issuer = opts.issuer ?? { name: opts.subject, keys };
  const usage = opts.keyUsage ?? (opts.ca ? x509.KeyUsageFlags.keyCertSign : x509.KeyUsageFlags.digitalSignature);
  const cert = await x509.X509CertificateGenerator.create(
    {
      serialNumber: randomSerial().toString('hex'),
      subject: opts.subject,
      issuer: issuer.name,
      notBefore: opts.notBefore ?? at(-HOUR_MS),
      notAfter: opts.notAfter ?? at(HOUR_MS),
      publicKey: keys.publicKey,
      signingKey: issuer.keys.privateKey,
      signingAlgorithm: SIGNING_ALGORITHM,
      extensions: [new x509.BasicConstraintsExtension(opts.ca, undefined, true), new x509.KeyUsagesExtension(usage, true)],
    },
    webcrypto,
  );
  return { pem: toPem(cert.rawData, 'CERTIFICATE'), self: { name: opts.subject, keys } };
}

async function expectFailure(input: ChainInput, reason: ChainFailure): Promise<void> {
  const result = await verifyChain(input);
  assert.equal(result.ok, false, `expected ${reason}, chain verified`);
  if (!result.ok) {
    assert.equal(result.reason, reason, result.detail);
    assert.ok(result.detail.length > 0);
  }
}

let root: TestRoot;
let leafPem: string;

before(async () => {
  root = await makeRoot(AT);
  leafPem = (await makeLeaf(root, AT)).chainPem[0]!;
});

test('a leaf issued by a trusted root verifies, returning leaf, root and path', async () => {
  const result = await verifyChain({ leaf: leafPem, roots: [root.certPem], at: AT });
  assert.ok(result.ok, result.ok ? '' : result.detail);
  assert.equal(result.leaf.fingerprint, parseCertificate(leafPem).fingerprint);
  assert.equal(result.root.fingerprint, parseCertificate(root.certPem).fingerprint);
  assert.deepEqual(result.path.map((c) => c.fingerprint), [result.leaf.fingerprint, result.root.fingerprint]);
});

test('DER input and extra unrelated roots do not change the result', async () => {
  const other = await makeRoot(AT, { subject: 'CN=other root' });
  const result = await verifyChain({
    leaf: parseCertificate(leafPem).der,
    roots: [other.certPem, parseCertificate(root.certPem).der],
    at: AT,
  });
  assert.ok(result.ok);
  assert.equal(result.root.fingerprint, parseCertificate(root.certPem).fingerprint);
});

test('validity boundaries are inclusive: valid exactly at notBefore and at notAfter', async () => {
  const info = parseCertificate(leafPem);
  assert.ok((await verifyChain({ leaf: leafPem, roots: [root.certPem], at: info.notBefore })).ok);
  assert.ok((await verifyChain({ leaf: leafPem, roots: [root.certPem], at: info.notAfter })).ok);
});

test('a leaf used after notAfter is EXPIRED', async () => {
  const info = parseCertificate(leafPem);
  await expectFailure({ leaf: leafPem, roots: [root.certPem], at: new Date(info.notAfter.getTime() + 1) }, 'EXPIRED');
});

test('a leaf used before notBefore is NOT_YET_VALID', async () => {
  const info = parseCertificate(leafPem);
  await expectFailure({ leaf: leafPem, roots: [root.certPem], at: new Date(info.notBefore.getTime() - 1) }, 'NOT_YET_VALID');
});

test("an expired root fails the chain even while the leaf is valid", async () => {
  const shortRoot = await makeRoot(AT, { notBefore: at(-2 * HOUR_MS), notAfter: at(-HOUR_MS + 1000) });
  const leaf = await makeLeaf(shortRoot, AT, { notBefore: at(-2 * HOUR_MS), notAfter: at(HOUR_MS) });
  await expectFailure({ leaf: leaf.chainPem[0]!, roots: [shortRoot.certPem], at: AT }, 'EXPIRED');
});

test('a leaf of a root with another name is UNKNOWN_ISSUER', async () => {
  const other = await makeRoot(AT, { subject: 'CN=other root' });
  await expectFailure({ leaf: leafPem, roots: [other.certPem], at: AT }, 'UNKNOWN_ISSUER');
  await expectFailure({ leaf: leafPem, roots: [], at: AT }, 'UNKNOWN_ISSUER');
});

test('a root with the same name but another key is BAD_SIGNATURE', async () => {
  const impostor = await makeRoot(AT); // same default subject, different key
  assert.equal(parseCertificate(impostor.certPem).subjectName, parseCertificate(root.certPem).subjectName);
  await expectFailure({ leaf: leafPem, roots: [impostor.certPem], at: AT }, 'BAD_SIGNATURE');
});

test('with both the impostor and the real root trusted, the real one is found', async () => {
  const impostor = await makeRoot(AT);
  assert.ok((await verifyChain({ leaf: leafPem, roots: [impostor.certPem, root.certPem], at: AT })).ok);
});

test('a certificate signed by a non-CA leaf is ISSUER_NOT_CA', async (t) => {
  const caRoot = await makeCert({ subject: 'CN=nc root', ca: true });
  const notCa = await makeCert({ subject: 'CN=plain leaf', issuer: caRoot.self, ca: false });
  const child = await makeCert({ subject: 'CN=child', issuer: notCa.self, ca: false });
  await t.test('non-CA leaf as an intermediate', () =>
    expectFailure({ leaf: child.pem, intermediates: [notCa.pem], roots: [caRoot.pem], at: AT }, 'ISSUER_NOT_CA'));
  await t.test('non-CA leaf trusted as a root', () => expectFailure({ leaf: child.pem, roots: [notCa.pem], at: AT }, 'ISSUER_NOT_CA'));
  await t.test('CA:true without keyCertSign', async () => {
    const noSign = await makeCert({ subject: 'CN=no keyCertSign', ca: true, keyUsage: x509.KeyUsageFlags.cRLSign });
    const leaf = await makeCert({ subject: 'CN=leaf', issuer: noSign.self, ca: false });
    await expectFailure({ leaf: leaf.pem, roots: [noSign.pem], at: AT }, 'ISSUER_NOT_CA');
  });
});

test('an intermediate outside its validity fails the chain', async () => {
  const caRoot = await makeCert({ subject: 'CN=iv root', ca: true });
  const future = await makeCert({ subject: 'CN=future int', issuer: caRoot.self, ca: true, notBefore: at(HOUR_MS / 2) });
  const leaf = await makeCert({ subject: 'CN=leaf', issuer: future.self, ca: false });
  await expectFailure({ leaf: leaf.pem, intermediates: [future.pem], roots: [caRoot.pem], at: AT }, 'NOT_YET_VALID');
});

test('paths up to four links verify; a fifth is TOO_LONG', async () => {
  const caRoot = await makeCert({ subject: 'CN=deep root', ca: true });
  const ints: { pem: string; self: Issuer }[] = [];
  let parent = caRoot.self;
  for (let i = 1; i <= 4; i++) {
    const c = await makeCert({ subject: `CN=int ${i}`, issuer: parent, ca: true });
    ints.push(c);
    parent = c.self;
  }
  const leafUnder = async (n: number) => (await makeCert({ subject: 'CN=leaf', issuer: ints[n - 1]!.self, ca: false })).pem;
  const three = await verifyChain({ leaf: await leafUnder(3), intermediates: ints.map((c) => c.pem), roots: [caRoot.pem], at: AT });
  assert.ok(three.ok, three.ok ? '' : three.detail);
  assert.equal(three.path.length, 5);
  await expectFailure({ leaf: await leafUnder(4), intermediates: ints.map((c) => c.pem), roots: [caRoot.pem], at: AT }, 'TOO_LONG');
});

test('cross-signed path: a leaf of root B verifies against root A through cross(B by A)', async (t) => {
  const a = await makeRoot(AT, { subject: 'CN=root A' });
  const b = await makeRoot(AT, { subject: 'CN=root B' });
  const cross = await crossSignRoot(b.certPem, a.certPem, a.keyPem);
  const leaf = (await makeLeaf(b, AT)).chainPem[0]!;

  await t.test('the cross-sign keeps B subject and key, issued by A', () => {
    const c = parseCertificate(cross);
    const bInfo = parseCertificate(b.certPem);
    assert.equal(c.subjectName, bInfo.subjectName);
    assert.equal(c.spkiFingerprint, bInfo.spkiFingerprint);
    assert.equal(c.issuerName, parseCertificate(a.certPem).subjectName);
    assert.equal(c.isCa, true);
  });
  await t.test('verifies against [A] with the intermediate; the path ends at A', async () => {
    const result = await verifyChain({ leaf, intermediates: [cross], roots: [a.certPem], at: AT });
    assert.ok(result.ok, result.ok ? '' : result.detail);
    assert.equal(result.root.fingerprint, parseCertificate(a.certPem).fingerprint);
    assert.deepEqual(result.path.map((c) => c.fingerprint), [leaf, cross, a.certPem].map((p) => parseCertificate(p).fingerprint));
  });
  await t.test('without the intermediate: UNKNOWN_ISSUER', () => expectFailure({ leaf, roots: [a.certPem], at: AT }, 'UNKNOWN_ISSUER'));
  await t.test('B itself still verifies it directly', async () => {
    assert.ok((await verifyChain({ leaf, intermediates: [cross], roots: [b.certPem], at: AT })).ok);
  });
  await t.test('the cross-sign is not itself a trust anchor: a root C cannot use it', async () => {
    const c = await makeRoot(AT, { subject: 'CN=root C' });
    await expectFailure({ leaf, intermediates: [cross], roots: [c.certPem], at: AT }, 'UNKNOWN_ISSUER');
  });
});

test('cross-signed path across a rotation where both roots share one subject', async () => {
  const oldRoot = await makeRoot(AT);
  const newRoot = await makeRoot(AT);
  const cross = await crossSignRoot(newRoot.certPem, oldRoot.certPem, oldRoot.keyPem);
  const leaf = (await makeLeaf(newRoot, AT)).chainPem[0]!;
  const result = await verifyChain({ leaf, intermediates: [cross], roots: [oldRoot.certPem], at: AT });
  assert.ok(result.ok, result.ok ? '' : result.detail);
  assert.equal(result.path.length, 3);
  // Without the cross-sign the old root's name matches but its key does not.
  await expectFailure({ leaf, roots: [oldRoot.certPem], at: AT }, 'BAD_SIGNATURE');
});

/** CertInfo as OpenSSL (node:crypto X509Certificate) reads the certificate: the second reference. */
function opensslCertInfo(pem: string): CertInfo {
  const x = new X509Certificate(pem);
  const subject = x.subject.split('\n');
  const get = (type: string) => subject.filter((l) => l.startsWith(`${type}=`)).map((l) => l.slice(type.length + 1));
  return {
    der: new Uint8Array(x.raw),
    serial: normalizeSerial(x.serialNumber),
    subject: { commonName: get('CN')[0], organizationalUnits: get('OU'), organization: get('O')[0] },
    subjectName: subject.join(', '),
    issuerName: x.issuer.split('\n').join(', '),
    notBefore: new Date(x.validFrom),
    notAfter: new Date(x.validTo),
    isCa: x.ca,
    fingerprint: x.fingerprint256.replaceAll(':', '').toLowerCase(),
    spkiFingerprint: sha256Hex(x.publicKey.export({ format: 'der', type: 'spki' })),
  };
}

test('the one decoder agrees with @peculiar/x509 and with OpenSSL on every field, for roots, cross-signs and leaves', async () => {
  const a = await makeRoot(AT, { subject: 'CN=hitless root CA, O=acme, OU=ops, C=DE' });
  const b = await makeRoot(AT);
  const pems = [a.certPem, b.certPem, await crossSignRoot(b.certPem, a.certPem, a.keyPem), (await makeCert({ subject: 'CN=odd', ca: false, notAfter: new Date('2051-01-01T00:00:00Z') })).pem];
  for (let i = 0; i < 40; i++) {
    const leaf = await makeLeaf(i % 2 ? a : b, at(i * 1000), { nodeId: `node${i}x`.padEnd(25, 'q'), role: i % 3 ? 'worker' : 'manager', clusterId: `cluster${i}` });
    pems.push(leaf.chainPem[0]!);
  }
  for (const pem of pems) {
    const info = parseCertificate(pem);
    assert.deepEqual(info, x509CertInfo(pem));
    assert.deepEqual(info, opensslCertInfo(pem));
  }
});

test('the DER path refuses what X509Certificate refuses: tampered signature or body, truncation, trailing bytes', async () => {
  const der = pemToDer(leafPem);
  const flip = (i: number) => Uint8Array.from(der, (b, j) => (j === i ? b ^ 0x01 : b));
  // The last byte is inside the signature; byte 40 is inside the TBSCertificate (the serial).
  for (const [what, bad] of [['signature', flip(der.length - 1)], ['body', flip(40)]] as const) {
    const r = await verifyChain({ leaf: bad, roots: [root.certPem], at: AT });
    assert.equal(r.ok, false, `tampered ${what} must not verify`);
  }
  assert.throws(() => decodeCertificate(der.subarray(0, der.length - 3)), /overruns|truncated/);
  assert.throws(() => decodeCertificate(Uint8Array.from([...der, 0])), /trailing/);
  // Not a certificate at all: the decoder declines, X509Certificate cannot parse it either.
  await expectFailure({ leaf: der.subarray(0, der.length - 3), roots: [root.certPem], at: AT }, 'MALFORMED');
  await expectFailure({ leaf: new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x01]), roots: [root.certPem], at: AT }, 'MALFORMED');
});
