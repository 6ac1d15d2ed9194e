// The CA's cache of verified client chains: a hit needs the same certificate, the same trust object and a
// `now` inside the certificate's validity; new trust empties it; it is bounded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ChainCache } from '../../ca/chain-cache.js';
import type { CertInfo } from '../../shared/pki/certs.js';

const leaf = (n: number): CertInfo => ({
  der: Uint8Array.of(n), serial: String(n), subject: { organizationalUnits: [] }, subjectName: '', issuerName: '',
  notBefore: new Date('2030-01-01T00:00:00Z'), notAfter: new Date('2030-01-01T06:00:00Z'), isCa: false, fingerprint: '', spkiFingerprint: '',
});
const AT = new Date('2030-01-01T01:00:00Z');

test('a verified chain is found again for the same certificate and trust, only within its validity', () => {
  const cache = new ChainCache();
  const trust = {};
  cache.set(Uint8Array.of(1), trust, leaf(1));
  assert.equal(cache.get(Uint8Array.of(1), trust, AT)?.serial, '1');
  assert.equal(cache.get(Uint8Array.of(2), trust, AT), undefined, 'other certificate');
  assert.equal(cache.get(Uint8Array.of(1), {}, AT), undefined, 'other trust');
  assert.equal(cache.get(Uint8Array.of(1), trust, new Date('2030-01-01T06:00:01Z')), undefined, 'expired');
  assert.equal(cache.get(Uint8Array.of(1), trust, new Date('2029-12-31T23:59:59Z')), undefined, 'not yet valid');
});

test('new trust empties the cache; the cache is bounded', () => {
  const cache = new ChainCache(2);
  const a = {};
  const b = {};
  cache.set(Uint8Array.of(1), a, leaf(1));
  cache.set(Uint8Array.of(2), b, leaf(2));
  assert.equal(cache.get(Uint8Array.of(1), a, AT), undefined, 'entries under the old trust are gone');
  cache.set(Uint8Array.of(3), b, leaf(3));
  cache.set(Uint8Array.of(4), b, leaf(4));
  assert.equal(cache.get(Uint8Array.of(2), b, AT), undefined, 'oldest entry evicted');
  assert.equal(cache.get(Uint8Array.of(4), b, AT)?.serial, '4');
});
