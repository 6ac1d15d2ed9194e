// Proves the CA accepts only well-formed, self-signed P-256 CSRs (INVALID_CSR otherwise) and that issued leaves carry exactly the CA-chosen fields.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createPublicKey, generateKeyPairSync, webcrypto as nodeWebcrypto } from 'node:crypto';
import { HitlessError } from '../../shared/errors.js';
import { importKeyPair, SIGNING_ALGORITHM, webcrypto as hitlessCrypto, x509 } from '../helpers/x509-reference.js';
import { generateKeyPairPem } from '../../shared/pki/keys.js';
import { normalizeSerial, parseCertificate } from '../../shared/pki/certs.js';
import { createCsrDer } from '../../shared/pki/csr.js';
import { verifyChain } from '../../shared/pki/chain.js';
import { CA_SERVER_NAME, CA_SERVER_OU } from '../../shared/identity.js';
import { createSigner, issueCaServerCert, issueLeaf, nodeSpiffeId, type IssuedLeaf } from '../../ca/issuer.js';
import { MAX_CSR_BYTES, validateCsr } from '../../shared/pki/csr.js';
import { makeRoot, spkiOf, HOUR_MS, type TestRoot } from '../helpers/unit-pki.js';

const nodeCrypto = nodeWebcrypto as unknown as Crypto;
const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';
const AT = new Date('2030-06-01T12:00:00.000Z');
const NOT_BEFORE = new Date('2030-06-01T11:59:00.000Z');
const NOT_AFTER = new Date('2030-06-01T18:00:00.000Z');

/** RFC 5280 §4.2.1.2 method 1: SHA-1 of the subjectPublicKey BIT STRING (for P-256, the last 65 bytes of the SPKI). */
function rfc5280KeyId(spkiDer: Uint8Array): string {
  return createHash('sha1').update(spkiDer.subarray(spkiDer.length - 65)).digest('hex');
}

async function csrFor(
  keys: CryptoKeyPair,
  signingAlgorithm: Algorithm | EcdsaParams | RsaHashedImportParams,
  crypto: Crypto = nodeCrypto,
): Promise<Uint8Array> {
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({ name: 'CN=x', keys, signingAlgorithm }, crypto);
  return new Uint8Array(csr.rawData);
}

async function rsa512Csr(): Promise<Uint8Array> {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 512 });
  const alg = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
  const keys = {
    privateKey: await nodeWebcrypto.subtle.importKey('pkcs8', rsa.privateKey.export({ format: 'der', type: 'pkcs8' }), alg, true, ['sign']),
    publicKey: await nodeWebcrypto.subtle.importKey('spki', rsa.publicKey.export({ format: 'der', type: 'spki' }), alg, true, ['verify']),
  };
  return csrFor(keys, alg);
}

async function p384Csr(): Promise<Uint8Array> {
  const keys = await nodeWebcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-384' }, true, ['sign', 'verify']);
  return csrFor(keys, { name: 'ECDSA', hash: 'SHA-384' });
}

/** A well-formed CSR that embeds one P-256 key but is signed by another: no proof of possession. */
async function foreignSignedCsr(): Promise<Uint8Array> {
  const a = await importKeyPair(generateKeyPairPem().privateKeyPem);
  const b = await importKeyPair(generateKeyPairPem().privateKeyPem);
  return csrFor({ publicKey: a.publicKey, privateKey: b.privateKey }, SIGNING_ALGORITHM, hitlessCrypto);
}

function cert(leaf: IssuedLeaf): x509.X509Certificate {
  return new x509.X509Certificate(leaf.chainPem[0]!);
}

let root: TestRoot;
const nodeKey = generateKeyPairPem();
const nodeSpki = createPublicKey(nodeKey.publicKeyPem).export({ format: 'der', type: 'spki' });
let leaf: IssuedLeaf;

before(async () => {
  root = await makeRoot(AT);
  leaf = await issueLeaf(root.signer, {
    spkiDer: nodeSpki,
    nodeId: 'n0de1d',
    role: 'worker',
    clusterId: 'c1uster',
    notBefore: NOT_BEFORE,
    notAfter: NOT_AFTER,
  });
});

test('validateCsr accepts a P-256 CSR and returns its public key', async () => {
  const der = await createCsrDer(nodeKey.privateKeyPem);
  assert.ok(der.byteLength < MAX_CSR_BYTES);
  const key = await validateCsr(der);
  assert.deepEqual(Buffer.from(key.spkiDer), nodeSpki);
});

test('validateCsr refuses anything else with INVALID_CSR', async (t) => {
  const good = await createCsrDer(generateKeyPairPem().privateKeyPem);
  const corrupted = Buffer.from(good);
  corrupted[corrupted.length - 5]! ^= 0xff; // inside the ECDSA signature's s
  const cases: [string, () => Promise<Uint8Array> | Uint8Array][] = [
    ['empty', () => new Uint8Array(0)],
    ['oversize (limit + 1 bytes)', () => new Uint8Array(MAX_CSR_BYTES + 1)],
    ['oversize, even when it is a valid CSR padded out', () => Buffer.concat([good, Buffer.alloc(MAX_CSR_BYTES)])],
    ['garbage DER', () => new Uint8Array([0x30, 0x03, 1, 2, 3])],
    ['random bytes', () => new Uint8Array(300).fill(0xa5)],
    ['a certificate instead of a CSR', () => parseCertificate(root.certPem).der],
    ['truncated CSR', () => good.subarray(0, good.length - 20)],
    ['RSA-512 key', rsa512Csr],
    ['ECDSA P-384 key', p384Csr],
    ['corrupted signature', () => corrupted],
    ['signed by a key other than the one it carries', foreignSignedCsr],
  ];
  for (const [name, make] of cases) {
    await t.test(name, async () => {
      const der = await make();
      await assert.rejects(validateCsr(der), (err: unknown) => {
        assert.ok(err instanceof HitlessError, `not a HitlessError: ${String(err)}`);
        assert.equal(err.code, 'INVALID_CSR');
        return true;
      });
    });
  }
});

test('validateCsr names the refused key type', async () => {
  await assert.rejects(validateCsr(await rsa512Csr()), /RSA 512-bit/);
  await assert.rejects(validateCsr(await p384Csr()), /ECDSA P-384/);
});

test('leaf subject is CN=node id, OU=role, O=cluster and the issuer is the root', () => {
  const c = cert(leaf);
  assert.deepEqual(c.subjectName.toJSON(), [{ CN: ['n0de1d'] }, { OU: ['worker'] }, { O: ['c1uster'] }]);
  assert.equal(c.issuer, new x509.X509Certificate(root.certPem).subject);
  assert.deepEqual(leaf.info.subject, { commonName: 'n0de1d', organizationalUnits: ['worker'], organization: 'c1uster' });
});

test('leaf SANs are exactly DNS=<node id> and the SPIFFE URI', () => {
  const san = cert(leaf).getExtension(x509.SubjectAlternativeNameExtension);
  assert.ok(san);
  assert.deepEqual(san.names.toJSON(), [
    { type: 'dns', value: 'n0de1d' },
    { type: 'url', value: 'spiffe://c1uster/node/n0de1d' },
  ]);
  assert.equal(nodeSpiffeId('c1uster', 'n0de1d'), 'spiffe://c1uster/node/n0de1d');
});

test('leaf key usage is digitalSignature only, critical', () => {
  const ku = cert(leaf).getExtension(x509.KeyUsagesExtension);
  assert.ok(ku);
  assert.equal(ku.usages, x509.KeyUsageFlags.digitalSignature);
  assert.equal(ku.critical, true);
});

test('leaf extended key usage is serverAuth + clientAuth', () => {
  const eku = cert(leaf).getExtension(x509.ExtendedKeyUsageExtension);
  assert.ok(eku);
  assert.deepEqual([...eku.usages].sort(), [SERVER_AUTH, CLIENT_AUTH].sort());
});

test('leaf basic constraints are CA:false, critical', () => {
  const bc = cert(leaf).getExtension(x509.BasicConstraintsExtension);
  assert.ok(bc);
  assert.equal(bc.ca, false);
  assert.equal(bc.critical, true);
  assert.equal(leaf.info.isCa, false);
});

test("leaf SKI is the CSR key's identifier and AKI is the root's SKI", () => {
  const c = cert(leaf);
  assert.equal(c.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId, rfc5280KeyId(nodeSpki));
  const rootSki = new x509.X509Certificate(root.certPem).getExtension(x509.SubjectKeyIdentifierExtension)?.keyId;
  assert.ok(rootSki);
  assert.equal(c.getExtension(x509.AuthorityKeyIdentifierExtension)?.keyId, rootSki);
  const rootSpki = createPublicKey(root.keyPem).export({ format: 'der', type: 'spki' });
  assert.equal(rootSki, rfc5280KeyId(rootSpki));
});

test('leaf serials are random, positive and 16 bytes', async () => {
  const again = await issueLeaf(root.signer, {
    spkiDer: spkiOf(nodeKey),
    nodeId: 'n0de1d',
    role: 'worker',
    clusterId: 'c1uster',
    notBefore: NOT_BEFORE,
    notAfter: NOT_AFTER,
  });
  assert.notEqual(again.info.serial, leaf.info.serial);
  for (const l of [leaf, again]) {
    const hex = cert(l).serialNumber;
    assert.equal(hex.length, 32, hex);
    const first = parseInt(hex.slice(0, 2), 16);
    assert.ok(first >= 0x01 && first <= 0x7f, `first serial octet ${hex.slice(0, 2)} must be 01..7f`);
    assert.equal(l.info.serial, normalizeSerial(hex));
  }
});

test('leaf validity is the requested notBefore/notAfter', () => {
  assert.equal(leaf.info.notBefore.getTime(), NOT_BEFORE.getTime());
  assert.equal(leaf.info.notAfter.getTime(), NOT_AFTER.getTime());
});

test('sub-second validity is truncated to the second, never extended', async () => {
  const l = await issueLeaf(root.signer, {
    spkiDer: spkiOf(nodeKey),
    nodeId: 'n',
    role: 'worker',
    clusterId: 'c',
    notBefore: new Date(NOT_BEFORE.getTime() + 999),
    notAfter: new Date(NOT_AFTER.getTime() + 500),
  });
  assert.equal(l.info.notBefore.getTime(), NOT_BEFORE.getTime());
  assert.equal(l.info.notAfter.getTime(), NOT_AFTER.getTime());
});

test('leaf chain verifies against the root and is signed ECDSA-SHA256', async () => {
  const result = await verifyChain({ leaf: leaf.chainPem[0]!, roots: [root.certPem], at: AT });
  assert.ok(result.ok, result.ok ? '' : result.detail);
  assert.equal(result.root.fingerprint, parseCertificate(root.certPem).fingerprint);
  assert.equal(result.leaf.serial, leaf.info.serial);
  assert.deepEqual(cert(leaf).signatureAlgorithm, { name: 'ECDSA', hash: { name: 'SHA-256' } });
});

test("the chain is [leaf, ...signer.chainTailPem]", async () => {
  assert.equal(leaf.chainPem.length, 1);
  const tail = ['-----BEGIN CERTIFICATE-----\nMA==\n-----END CERTIFICATE-----\n'];
  const signer = await createSigner(root.certPem, root.keyPem, tail);
  const l = await issueLeaf(signer, {
    spkiDer: spkiOf(nodeKey),
    nodeId: 'n',
    role: 'manager',
    clusterId: 'c',
    notBefore: NOT_BEFORE,
    notAfter: NOT_AFTER,
  });
  assert.deepEqual(l.chainPem.slice(1), tail);
  assert.equal(parseCertificate(l.chainPem[0]!).subject.organizationalUnits[0], 'manager');
});

test('CA server certificate: CN and only SAN hitless-ca, OU=ca, serverAuth only', async () => {
  const server = await issueCaServerCert(root.signer, {
    spkiDer: spkiOf(generateKeyPairPem()),
    clusterId: 'c1uster',
    notBefore: NOT_BEFORE,
    notAfter: new Date(AT.getTime() + HOUR_MS),
  });
  const c = cert(server);
  assert.equal(CA_SERVER_NAME, 'hitless-ca');
  assert.deepEqual(c.subjectName.toJSON(), [{ CN: [CA_SERVER_NAME] }, { OU: [CA_SERVER_OU] }, { O: ['c1uster'] }]);
  assert.deepEqual(c.getExtension(x509.SubjectAlternativeNameExtension)?.names.toJSON(), [{ type: 'dns', value: 'hitless-ca' }]);
  assert.deepEqual([...(c.getExtension(x509.ExtendedKeyUsageExtension)?.usages ?? [])], [SERVER_AUTH]);
  assert.equal(c.getExtension(x509.BasicConstraintsExtension)?.ca, false);
  const result = await verifyChain({ leaf: server.chainPem[0]!, roots: [root.certPem], at: AT });
  assert.ok(result.ok);
});
