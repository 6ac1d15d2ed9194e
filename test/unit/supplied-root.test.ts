// checkSuppliedRoot (ca rotate-root --cert/--key) at injected instants: an openssl-made P-256 root is accepted
// while valid with 30 days to spare; refused before its notBefore, after its notAfter, in its last 30 days;
// a cross-signed (not self-signed) CA, a leaf and garbage are refused with messages that say which.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { HitlessError } from '../../shared/errors.js';
import { crossSignRoot } from '../../shared/pki/roots.js';
import { checkSuppliedRoot } from '../../ca/supplied-root.js';
import { makeRoot, makeLeaf, HOUR_MS } from '../helpers/unit-pki.js';

const DAY_MS = 24 * HOUR_MS;
let dir: string;
let certPem: string;
let keyPem: string;
let notBefore: Date;
let notAfter: Date;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hl-unit-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '365',
    '-subj', '/CN=openssl root', '-keyout', join(dir, 'k.pem'), '-out', join(dir, 'c.pem')], { stdio: 'ignore' });
  certPem = await readFile(join(dir, 'c.pem'), 'utf8');
  keyPem = await readFile(join(dir, 'k.pem'), 'utf8');
  const x = new X509Certificate(certPem);
  notBefore = new Date(x.validFrom);
  notAfter = new Date(x.validTo);
});

after(() => rm(dir, { recursive: true, force: true }));

function refusedWith(re: RegExp) {
  return (err: unknown) => {
    assert.ok(err instanceof HitlessError, String(err));
    assert.equal(err.code, 'INVALID_ARGUMENT');
    assert.match(err.message, re);
    assert.ok(err.hint, 'has a hint');
    return true;
  };
}

test('accepted while valid with more than 30 days left', () => {
  checkSuppliedRoot(certPem, keyPem, new Date(notBefore.getTime() + DAY_MS));
  checkSuppliedRoot(certPem, keyPem, new Date(notAfter.getTime() - 31 * DAY_MS));
});

test('refused before notBefore, after notAfter, and in its last 30 days', () => {
  assert.throws(() => checkSuppliedRoot(certPem, keyPem, new Date(notBefore.getTime() - DAY_MS)), refusedWith(/is not valid before/));
  assert.throws(() => checkSuppliedRoot(certPem, keyPem, new Date(notAfter.getTime() + DAY_MS)), refusedWith(/expired at /));
  assert.throws(() => checkSuppliedRoot(certPem, keyPem, new Date(notAfter.getTime() - 29 * DAY_MS)), refusedWith(/valid for at least 30 more days/));
});

test('a cross-signed CA certificate is not self-signed', async () => {
  const now = new Date();
  const other = await makeRoot(now, { subject: 'CN=other root', notAfter: new Date(now.getTime() + 400 * DAY_MS) });
  const cross = await crossSignRoot(certPem, other.certPem, other.keyPem);
  assert.throws(() => checkSuppliedRoot(cross, keyPem, now), refusedWith(/is not self-signed: issued by "CN=other root"/));
});

test('a leaf, garbage and a bad key are refused', async () => {
  const now = new Date();
  const root = await makeRoot(now);
  const leaf = await makeLeaf(root, now);
  assert.throws(() => checkSuppliedRoot(leaf.chainPem[0]!, leaf.key.privateKeyPem, now), refusedWith(/is not a CA certificate/));
  assert.throws(() => checkSuppliedRoot('not a certificate', keyPem, now), refusedWith(/does not parse as a PEM X.509 certificate/));
  assert.throws(() => checkSuppliedRoot(certPem, 'not a key', now), refusedWith(/key does not parse/));
  assert.throws(() => checkSuppliedRoot(certPem, root.keyPem, now), refusedWith(/key does not belong to the supplied certificate/));
});
