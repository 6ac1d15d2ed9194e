// Roots and cross-signs (shared/pki/roots.ts) against the reference: for the same key, subject, validity and
// serial, the TBSCertificate is byte-identical to the one @peculiar/x509 builds, the signature verifies
// (OpenSSL, through node:crypto), and operator subjects that are not RFC 4514 names are refused with a hint.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { HitlessError } from '../../shared/errors.js';
import { generateKeyPairPem } from '../../shared/pki/keys.js';
import { pemToDer } from '../../shared/pki/pem.js';
import { decodeCertificate, parseCertificate } from '../../shared/pki/certs.js';
import { TAG, bytesOf, children, readRoot } from '../../shared/pki/der.js';
import { createRootCertificate, crossSignRoot, parseDistinguishedName } from '../../shared/pki/roots.js';
import { createRootWithX509, crossSignWithX509, x509CertInfo } from '../helpers/x509-reference.js';

const tbsOf = (pem: string) => {
  const der = pemToDer(pem);
  return Buffer.from(bytesOf(der, children(der, readRoot(der, TAG.SEQUENCE))[0]!));
};

const SUBJECTS = [
  'CN=hitless root CA',
  'CN=hitless root CA, O=Example Fleet, C=DE',
  'CN=Wurzel-CA ü, OU=Betrieb, L=Köln, ST=NRW, C=DE',
  'CN=comma\\, inside, O=plus\\+sign',
  'CN=  spaced  ,O=x',
  'CN=key 🔐, O=\\#hash',
];
const VALIDITIES = [
  [new Date('2026-01-01T00:00:00Z'), new Date('2036-01-01T00:00:00Z')],
  [new Date('2045-06-01T12:34:56Z'), new Date('2060-06-01T12:34:56Z')], // across the 2050 UTCTime/GeneralizedTime switch
] as const;

test('roots are byte-identical to @peculiar/x509 before the signature, and self-signed', async () => {
  for (const subject of SUBJECTS) {
    for (const [notBefore, notAfter] of VALIDITIES) {
      const { privateKeyPem } = generateKeyPairPem();
      const ours = await createRootCertificate({ privateKeyPem, subject, notBefore, notAfter });
      const serialHex = parseCertificate(ours).serial.padStart(32, '0');
      const reference = await createRootWithX509({ privateKeyPem, subject, notBefore, notAfter, serialHex });
      assert.deepEqual(tbsOf(ours), tbsOf(reference), subject);
      assert.deepEqual(parseCertificate(ours), x509CertInfo(ours), subject);
      // The subject as CertInfo prints it reads back to the same Name (a rotation reuses the old root's subject).
      assert.deepEqual(Buffer.from(parseDistinguishedName(parseCertificate(ours).subjectName)), Buffer.from(decodeCertificate(pemToDer(ours)).subjectDer), subject);
      const x = new X509Certificate(ours);
      assert.ok(x.ca && x.verify(x.publicKey), `${subject}: OpenSSL reads a self-signed CA`);
      assert.ok(decodeCertificate(pemToDer(ours)).canIssue);
    }
  }
});

test('cross-signs are byte-identical to @peculiar/x509 before the signature, and signed by the old root', async () => {
  for (const [i, subject] of SUBJECTS.entries()) {
    const [notBefore, notAfter] = VALIDITIES[i % 2]!;
    const oldKey = generateKeyPairPem().privateKeyPem;
    const oldRoot = await createRootCertificate({ privateKeyPem: oldKey, subject: 'CN=old root, O=Example', notBefore, notAfter });
    const newRoot = await createRootCertificate({ privateKeyPem: generateKeyPairPem().privateKeyPem, subject, notBefore, notAfter });
    const ours = await crossSignRoot(newRoot, oldRoot, oldKey);
    const reference = await crossSignWithX509(newRoot, oldRoot, oldKey, parseCertificate(ours).serial.padStart(32, '0'));
    assert.deepEqual(tbsOf(ours), tbsOf(reference), subject);
    assert.deepEqual(parseCertificate(ours), x509CertInfo(ours), subject);
    assert.ok(new X509Certificate(ours).verify(new X509Certificate(oldRoot).publicKey), `${subject}: signed by the old root`);
    assert.deepEqual(decodeCertificate(pemToDer(ours)).subjectDer, decodeCertificate(pemToDer(newRoot)).subjectDer);
  }
});

test('a subject that is not an RFC 4514 name is refused with INVALID_ARGUMENT and a hint', () => {
  for (const [text, why] of [
    ['', /is empty/],
    ['hitless root', /has no "="/],
    ['CN=a, FOO=b', /unsupported attribute "FOO"/],
    ['CN=a+O=b', /multi-valued/],
    ['CN=', /CN is empty/],
    ['CN=a\\', /lone "\\"/],
    ['O=#0403616263', /BER in hex/],
  ] as const) {
    assert.throws(() => parseDistinguishedName(text), (err: unknown) => {
      assert.ok(err instanceof HitlessError && err.code === 'INVALID_ARGUMENT', String(err));
      assert.match(err.message, why);
      assert.match(err.hint ?? '', /RFC 4514/);
      return true;
    });
  }
});

test('hex escapes are UTF-8 bytes (RFC 4514): "\\F0\\9F\\94\\90" is the same Name as the character itself', () => {
  assert.deepEqual(parseDistinguishedName('CN=\\F0\\9F\\94\\90 \\2c x'), parseDistinguishedName('CN=🔐 \\, x'));
});
