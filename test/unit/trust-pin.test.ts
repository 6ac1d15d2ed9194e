// Proves pinTrustBundle's rule for bundles fetched over an unauthenticated connection: the root named by the
// join token's digest must be present, and any other root is accepted only with a cross-signature of it by
// that pinned root. Substituted roots, extra roots, cross-signs by another key or in the wrong direction are
// UNTRUSTED_PEER; the order of roots in the bundle does not matter.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { HitlessError, type ErrorCode } from '../../shared/errors.js';
import { rootDigest } from '../../shared/join-token.js';
import { pemToDer } from '../../shared/pki/pem.js';
import { crossSignRoot } from '../../shared/pki/roots.js';
import { pinTrustBundle, type PinnedBundle } from '../../agent/trust-pin.js';
import { FAKE_CLOCK_EPOCH } from '../helpers/unit-fake-clock.js';
import { HOUR_MS, makeRoot, type TestRoot } from '../helpers/unit-pki.js';

const NOW = FAKE_CLOCK_EPOCH;

function isCode(code: ErrorCode) {
  return (err: unknown) => {
    assert.ok(err instanceof HitlessError, `not a HitlessError: ${String(err)}`);
    assert.equal(err.code, code, err.message);
    return true;
  };
}

const digest = (r: TestRoot) => rootDigest(pemToDer(r.certPem));

let A: TestRoot; // the pinned root
let B: TestRoot; // the next root (rotation in progress)
let C: TestRoot; // an unrelated root with its own subject
let impostor: TestRoot; // an unrelated key using A's subject name
let expiredB: TestRoot;
let bByA: string; // genuine cross-sign of B by A
let bByC: string; // "cross-sign" of B by C
let bByImpostor: string;
let aByB: string; // the wrong direction
let expiredBByA: string;

before(async () => {
  A = await makeRoot(NOW, { subject: 'CN=root A' });
  B = await makeRoot(NOW, { subject: 'CN=root B' });
  C = await makeRoot(NOW, { subject: 'CN=root C' });
  impostor = await makeRoot(NOW, { subject: 'CN=root A' });
  expiredB = await makeRoot(NOW, {
    subject: 'CN=root B',
    notBefore: new Date(NOW.getTime() - 48 * HOUR_MS),
    notAfter: new Date(NOW.getTime() - 24 * HOUR_MS),
  });
  bByA = await crossSignRoot(B.certPem, A.certPem, A.keyPem);
  bByC = await crossSignRoot(B.certPem, C.certPem, C.keyPem);
  bByImpostor = await crossSignRoot(B.certPem, impostor.certPem, impostor.keyPem);
  aByB = await crossSignRoot(A.certPem, B.certPem, B.keyPem);
  expiredBByA = await crossSignRoot(expiredB.certPem, A.certPem, A.keyPem);
});

const bundle = (rootsPem: string[], crossSignedPem: string[] = [], version = 7) => ({ rootsPem, crossSignedPem, version });

test('accepted bundles', async () => {
  const cases: { name: string; in: () => ReturnType<typeof bundle>; want: () => PinnedBundle }[] = [
    { name: 'the pinned root alone', in: () => bundle([A.certPem]), want: () => bundle([A.certPem]) },
    {
      name: 'pinned A and B, with B cross-signed by A',
      in: () => bundle([A.certPem, B.certPem], [bByA]),
      want: () => bundle([A.certPem, B.certPem], [bByA]),
    },
    {
      name: 'the same, roots in the other order (the pinned root comes first in the result)',
      in: () => bundle([B.certPem, A.certPem], [bByA]),
      want: () => bundle([A.certPem, B.certPem], [bByA]),
    },
    {
      name: 'a bogus cross-sign beside the genuine one, genuine first',
      in: () => bundle([B.certPem, A.certPem], [bByA, bByC]),
      want: () => bundle([A.certPem, B.certPem], [bByA]),
    },
    {
      name: 'cross-signs of roots that are not in the bundle are dropped',
      in: () => bundle([A.certPem], [bByA]),
      want: () => bundle([A.certPem]),
    },
  ];
  for (const c of cases) {
    assert.deepEqual(await pinTrustBundle(c.in(), digest(A), NOW), c.want(), c.name);
  }
});

test('rejected bundles are UNTRUSTED_PEER', async () => {
  const cases: { name: string; in: () => ReturnType<typeof bundle>; pin?: () => TestRoot }[] = [
    { name: 'empty bundle', in: () => bundle([]) },
    { name: 'a root not matching the digest (swapped root)', in: () => bundle([B.certPem]) },
    { name: 'an impostor with the pinned root\'s subject but another key', in: () => bundle([impostor.certPem]) },
    { name: 'A and B without a cross-sign', in: () => bundle([A.certPem, B.certPem]) },
    { name: 'B and A without a cross-sign', in: () => bundle([B.certPem, A.certPem]) },
    { name: 'A and B with a "cross-sign" of B made by unrelated C', in: () => bundle([A.certPem, B.certPem], [bByC]) },
    { name: 'the same, roots in the other order', in: () => bundle([B.certPem, A.certPem], [bByC]) },
    { name: 'A and B, B "cross-signed" by a key posing under A\'s name', in: () => bundle([A.certPem, B.certPem], [bByImpostor]) },
    { name: 'A, B and C with only B cross-signed', in: () => bundle([A.certPem, B.certPem, C.certPem], [bByA]) },
    { name: 'cross-sign in the wrong direction (A by B) while A is pinned', in: () => bundle([A.certPem, B.certPem], [aByB]) },
    { name: 'pinned B, with only B cross-signed by A (A is not vouched for by B)', in: () => bundle([A.certPem, B.certPem], [bByA]), pin: () => B },
    { name: 'a cross-sign that has expired', in: () => bundle([A.certPem, expiredB.certPem], [expiredBByA]) },
  ];
  for (const c of cases) {
    await assert.rejects(pinTrustBundle(c.in(), digest((c.pin ?? (() => A))()), NOW), isCode('UNTRUSTED_PEER'), c.name);
  }
});

test('B is accepted when the pin is B and the bundle carries A cross-signed by B', async () => {
  const got = await pinTrustBundle(bundle([A.certPem, B.certPem], [aByB]), digest(B), NOW);
  assert.deepEqual(got, bundle([B.certPem, A.certPem], [aByB]));
});
