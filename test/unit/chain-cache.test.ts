// The CA's cache of verified client chains: a hit needs the same certificate, the trust it was verified under (or
// a later one that still has the root which signed the leaf itself) and a `now` inside the certificate's
// validity; any other trust change forgets the entry; it is bounded.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { ChainCache } from '../../ca/chain-cache.js';
import type { CertInfo } from '../../shared/pki/certs.js';
import { parseCertificate } from '../../shared/pki/certs.js';
import { FAKE_CLOCK_EPOCH } from '../helpers/unit-fake-clock.js';
import { makeRoot, type TestRoot } from '../helpers/unit-pki.js';

const leaf = (n: number): CertInfo => ({
  der: Uint8Array.of(n), serial: String(n), subject: { organizationalUnits: [] }, subjectName: '', issuerName: '',
  notBefore: new Date('2030-01-01T00:00:00Z'), notAfter: new Date('2030-01-01T06:00:00Z'), isCa: false, fingerprint: '', spkiFingerprint: '',
});
const AT = new Date('2030-01-01T01:00:00Z');
const der = (n: number) => Uint8Array.of(n);

let rootA: TestRoot;
let rootB: TestRoot;
let A: string;
let B: string;
before(async () => {
  rootA = await makeRoot(FAKE_CLOCK_EPOCH, { subject: 'CN=root A' });
  rootB = await makeRoot(FAKE_CLOCK_EPOCH, { subject: 'CN=root B' });
  A = parseCertificate(rootA.certPem).fingerprint;
  B = parseCertificate(rootB.certPem).fingerprint;
});

test('a verified chain is found again for the same certificate and trust, only within its validity', () => {
  const cache = new ChainCache();
  const trust = { rootsPem: [rootA.certPem] };
  cache.set(der(1), trust, leaf(1), A);
  assert.equal(cache.get(der(1), trust, AT)?.serial, '1');
  assert.equal(cache.get(der(2), trust, AT), undefined, 'other certificate');
  assert.equal(cache.get(der(1), trust, new Date('2030-01-01T06:00:01Z')), undefined, 'expired');
  assert.equal(cache.get(der(1), trust, new Date('2029-12-31T23:59:59Z')), undefined, 'not yet valid');
  assert.equal(cache.get(der(1), { rootsPem: [rootB.certPem] }, AT), undefined, 'a trust without its root');
});

test('across a trust change only leaves signed directly by a root the new trust keeps are remembered', () => {
  const cache = new ChainCache();
  const onlyA = { rootsPem: [rootA.certPem] };
  cache.set(der(1), onlyA, leaf(1), A); // signed by root A itself
  cache.set(der(2), onlyA, leaf(2)); // verified through an intermediate: no direct root
  const both = { rootsPem: [rootA.certPem, rootB.certPem] }; // a rotation's {A, B}: a new trust object
  assert.equal(cache.get(der(1), both, AT)?.serial, '1', 'A is still a root');
  assert.equal(cache.get(der(2), both, AT), undefined, 'a chain through an intermediate is verified again');
  cache.set(der(3), both, leaf(3), B);
  const signedByB = { ...both }; // same roots, new signer: again a new trust object
  assert.equal(cache.get(der(1), signedByB, AT)?.serial, '1');
  assert.equal(cache.get(der(3), signedByB, AT)?.serial, '3');
  const onlyB = { rootsPem: [rootB.certPem] }; // the rotation finished: A is gone
  assert.equal(cache.get(der(1), onlyB, AT), undefined, 'a leaf of the dropped root is verified again');
  assert.equal(cache.get(der(3), onlyB, AT)?.serial, '3');
  assert.equal(cache.get(der(1), onlyA, AT), undefined, 'forgotten entries do not come back with an older trust');
});

test('a trust with none of the roots empties the cache; the cache is bounded', () => {
  const cache = new ChainCache(2);
  const a = { rootsPem: [rootA.certPem] };
  const b = { rootsPem: [rootB.certPem] };
  cache.set(der(1), a, leaf(1), A);
  cache.set(der(2), b, leaf(2), B);
  assert.equal(cache.get(der(1), a, AT), undefined, 'entries of a root the trust dropped are gone');
  cache.set(der(3), b, leaf(3), B);
  cache.set(der(4), b, leaf(4), B);
  assert.equal(cache.get(der(2), b, AT), undefined, 'oldest entry evicted');
  assert.equal(cache.get(der(4), b, AT)?.serial, '4');
});
