// Rotation evidence on the agent (agent/live-credentials.ts): certificates are attributed to the root that
// signed them (a cross-signed leaf to its own root, not to the cross-signer), a server connection is charged
// with our certificate as it was when the connection was accepted, and the reporter sends on change only,
// holds back what it cannot attribute, and retries failures. Fake clock, real certificates.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LiveCredentials, EvidenceReporter, type EvidenceReport, type LiveUse } from '../../agent/live-credentials.js';
import { issuingRoot } from '../../shared/pki/chain.js';
import { parseCertificate } from '../../shared/pki/certs.js';
import { createSigner } from '../../ca/issuer.js';
import { crossSignRoot } from '../../shared/pki/roots.js';
import { silentLogger as log } from '../../shared/log.js';
import { FakeClock } from '../helpers/unit-fake-clock.js';
import { makeLeaf, makeRoot } from '../helpers/unit-pki.js';

const AT = new Date('2030-01-01T00:00:00Z');

async function pki() {
  // Same subject for both roots, as ca rotate-root makes them: only the signature tells them apart.
  const a = await makeRoot(AT, { subject: 'CN=hitless root CA' });
  const b = await makeRoot(AT, { subject: 'CN=hitless root CA' });
  const cross = await crossSignRoot(b.certPem, a.certPem, a.keyPem);
  const bSigner = { ...b, signer: await createSigner(b.certPem, b.keyPem, [cross]) };
  const leafA = await makeLeaf(a, AT);
  const leafB = await makeLeaf(bSigner, AT);
  const fp = (pem: string) => parseCertificate(pem).fingerprint;
  return { a, b, cross, leafA, leafB, A: fp(a.certPem), B: fp(b.certPem) };
}

test('issuingRoot names the root whose key signed the certificate, whatever the subject names say', async () => {
  const { a, b, leafA, leafB, A, B } = await pki();
  assert.equal(issuingRoot(leafA.chainPem[0]!, [a.certPem, b.certPem]), A);
  assert.equal(issuingRoot(leafB.chainPem[0]!, [a.certPem, b.certPem]), B);
  assert.equal(leafB.chainPem.length, 2, 'a leaf of B travels with the cross-sign');
  assert.equal(issuingRoot(leafB.chainPem[0]!, [a.certPem]), undefined, 'the cross-signer did not sign the leaf');
  assert.equal(issuingRoot('not a certificate', [a.certPem]), undefined);
});

test('the view lists the roots of every live use, both ends, and counts what it cannot attribute', async () => {
  const { a, b, leafA, leafB, A, B } = await pki();
  const live = new LiveCredentials();
  live.noteRoots([a.certPem]);
  let uses: LiveUse[] = [{ what: 'peer x heartbeat', side: 'client', own: leafA.chainPem[0], peer: leafB.chainPem[0] }];
  live.addSource(() => uses);
  assert.deepEqual(live.view().roots, [A]);
  assert.equal(live.view().unknown, 1, 'B not known yet: the peer end cannot be attributed');
  live.noteRoots([a.certPem, b.certPem]);
  const v = live.view();
  assert.deepEqual(v.roots, [A, B].sort());
  assert.equal(v.unknown, 0, 'a root learnt later names what it signed');
  assert.deepEqual(v.byRoot[B], ['peer x heartbeat (client, peer)']);
  // The bundle drops A: certificates of A stay attributable (roots are remembered), so they are never "clean".
  live.noteRoots([b.certPem]);
  assert.deepEqual(live.view().roots, [A, B].sort());
  uses = [{ what: 'peer x heartbeat', side: 'client', own: leafB.chainPem[0], peer: leafB.chainPem[0] }];
  assert.deepEqual(live.view().roots, [B]);
});

test('a server connection is charged with our certificate as it was when the connection was accepted', async () => {
  const { leafA, leafB } = await pki();
  const live = new LiveCredentials();
  live.noteOwn(leafA.chainPem[0]!, 1_000);
  live.noteOwn(leafB.chainPem[0]!, 5_000);
  assert.equal(live.ownAt(999), leafA.chainPem[0], 'before the first: the oldest we know');
  assert.equal(live.ownAt(4_999), leafA.chainPem[0]);
  assert.equal(live.ownAt(5_000), leafB.chainPem[0]);
});

test('the reporter sends on change only, holds back what it cannot attribute, and retries failures', async () => {
  const { a, b, leafA, leafB, A, B } = await pki();
  const clock = new FakeClock(AT);
  const live = new LiveCredentials();
  live.noteRoots([a.certPem]);
  let uses: LiveUse[] = [{ what: 'w', side: 'client', own: leafA.chainPem[0] }];
  live.addSource(() => uses);
  let version = 1;
  let session: number | undefined = 1;
  const sent: EvidenceReport[] = [];
  let fail = 0;
  const reporter = new EvidenceReporter({
    live, clock, log,
    bundleVersion: () => version,
    caSession: () => session,
    send: async (r) => {
      if (fail > 0) {
        fail--;
        throw new Error('CA unreachable');
      }
      sent.push(r);
    },
  });
  const run = async (ms: number) => {
    for (let t = 0; t < ms; t += 50) await clock.advanceAsync(50);
  };
  reporter.start();
  await run(2_000);
  assert.deepEqual(sent, [{ bundleVersion: 1, roots: [A] }], 'one report while nothing changes');
  version = 2;
  await run(1_000);
  assert.deepEqual(sent.at(-1), { bundleVersion: 2, roots: [A] });
  uses = [{ what: 'w', side: 'client', own: leafA.chainPem[0], peer: leafB.chainPem[0] }];
  await run(2_000);
  assert.equal(sent.length, 2, 'a certificate of a root we do not know: held back, never reported as clean');
  live.noteRoots([a.certPem, b.certPem]);
  fail = 2;
  await run(5_000);
  assert.equal(reporter.reportFailures, 2);
  assert.deepEqual(sent.at(-1), { bundleVersion: 2, roots: [A, B].sort() }, 'sent once the CA answers');
  const n = sent.length;
  session = 2; // a new watch stream: the CA may have restarted and lost what it knew
  await run(1_000);
  assert.equal(sent.length, n + 1);
  session = undefined; // no watch: the CA is unreachable, nothing is sent
  uses = [{ what: 'w', side: 'client', own: leafB.chainPem[0], peer: leafB.chainPem[0] }];
  await run(1_000);
  assert.equal(sent.length, n + 1);
  session = 3;
  await run(1_000);
  assert.deepEqual(sent.at(-1), { bundleVersion: 2, roots: [B] });
  await reporter.stop();
});
