// Proves the MemoryCertificateProvider's publishing contract with grpc-js: a bad update (mismatched key,
// bad PEM, empty chain or bundle) throws INVALID_ARGUMENT and changes nothing; a good one reaches every
// identity and CA listener; a listener added later is called asynchronously, with the value current at
// delivery; removed listeners hear nothing; updateTrust keeps the identity. Server credentials built from it
// refuse TLS session resumption (SSL_OP_NO_TICKET on every context: shared/grpc/no-resumption.ts).
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { constants as cryptoConstants } from 'node:crypto';
import type { SecureContextOptions } from 'node:tls';
import { HitlessError, type ErrorCode } from '../../shared/errors.js';
import { joinPem } from '../../shared/pki/pem.js';
import { MemoryCertificateProvider, type Credentials } from '../../shared/grpc/certificate-provider.js';
import { FAKE_CLOCK_EPOCH } from '../helpers/unit-fake-clock.js';
import { makeLeaf, makeRoot, type TestRoot } from '../helpers/unit-pki.js';

type IdUpdate = grpc.experimental.IdentityCertificateUpdate | null;
type CaUpdate = grpc.experimental.CaCertificateUpdate | null;

function isCode(code: ErrorCode) {
  return (err: unknown) => {
    assert.ok(err instanceof HitlessError, `not a HitlessError: ${String(err)}`);
    assert.equal(err.code, code, err.message);
    return true;
  };
}

const tick = () => new Promise<void>((r) => process.nextTick(r));

let rootA: TestRoot;
let rootB: TestRoot;
/** Two good credential sets (different keys, different roots) and one with a's chain and b's key. */
let a: Credentials;
let b: Credentials;
let mismatched: Credentials;

before(async () => {
  rootA = await makeRoot(FAKE_CLOCK_EPOCH, { subject: 'CN=root A' });
  rootB = await makeRoot(FAKE_CLOCK_EPOCH, { subject: 'CN=root B' });
  const leafA = await makeLeaf(rootA, FAKE_CLOCK_EPOCH, { nodeId: 'node-a' });
  const leafB = await makeLeaf(rootB, FAKE_CLOCK_EPOCH, { nodeId: 'node-b' });
  a = { chainPem: leafA.chainPem, keyPem: leafA.key.privateKeyPem, trustPem: [rootA.certPem] };
  b = { chainPem: leafB.chainPem, keyPem: leafB.key.privateKeyPem, trustPem: [rootB.certPem] };
  mismatched = { ...a, keyPem: b.keyPem };
});

/** Records every call of one identity and one CA listener. */
function listen(p: MemoryCertificateProvider) {
  const rec = { id: [] as IdUpdate[], ca: [] as CaUpdate[] };
  const idListener = (u: IdUpdate) => void rec.id.push(u);
  const caListener = (u: CaUpdate) => void rec.ca.push(u);
  p.addIdentityCertificateListener(idListener);
  p.addCaCertificateListener(caListener);
  return { rec, idListener, caListener };
}

const certOf = (u: IdUpdate | undefined) => u?.certificate.toString();
const caOf = (u: CaUpdate | undefined) => u?.caCertificate.toString();

test('a good update publishes to identity and CA listeners, sets current, and emits "update"', async () => {
  const p = new MemoryCertificateProvider();
  const { rec } = listen(p);
  await tick();
  assert.equal(rec.id.length + rec.ca.length, 0, 'nothing delivered before the first update');
  const events: unknown[] = [];
  p.on('update', (c) => events.push(c));
  p.update(a);
  assert.equal(rec.id.length, 1);
  assert.equal(rec.ca.length, 1);
  assert.equal(certOf(rec.id[0]), joinPem(a.chainPem));
  assert.equal(rec.id[0]?.privateKey.toString(), a.keyPem);
  assert.equal(caOf(rec.ca[0]), joinPem(a.trustPem));
  assert.deepEqual(p.current, { chainPem: [...a.chainPem], keyPem: a.keyPem, trustPem: [...a.trustPem] });
  assert.deepEqual(events, [p.current]);
});

test('current is a copy: mutating the caller\'s arrays afterwards changes nothing', () => {
  const p = new MemoryCertificateProvider();
  const chain = [...a.chainPem];
  p.update({ ...a, chainPem: chain });
  chain.push('junk');
  assert.deepEqual(p.current?.chainPem, a.chainPem);
});

test('bad updates throw INVALID_ARGUMENT and change nothing: not current, not the listeners', async () => {
  const cases: [string, Credentials][] = [
    ['key does not match the certificate', mismatched],
    ['empty chain', { ...a, chainPem: [] }],
    ['empty trust bundle', { ...a, trustPem: [] }],
    ['key is not PEM', { ...a, keyPem: 'not a key' }],
    ['certificate is not PEM', { ...a, chainPem: ['-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n'] }],
  ];
  for (const [name, creds] of cases) {
    // Before any good update.
    const fresh = new MemoryCertificateProvider();
    const l0 = listen(fresh);
    assert.throws(() => fresh.update(creds), isCode('INVALID_ARGUMENT'), name);
    assert.throws(() => fresh.validate(creds), isCode('INVALID_ARGUMENT'), `${name} (validate)`);
    assert.equal(fresh.current, undefined, name);
    await tick();
    assert.deepEqual(l0.rec, { id: [], ca: [] }, `${name}: no listener called`);

    // After a good update: the good one stays.
    const p = new MemoryCertificateProvider();
    p.update(b);
    const { rec } = listen(p);
    await tick();
    assert.equal(rec.id.length, 1, `${name}: initial delivery`);
    let updates = 0;
    p.on('update', () => updates++);
    assert.throws(() => p.update(creds), isCode('INVALID_ARGUMENT'), name);
    await tick();
    assert.equal(rec.id.length, 1, `${name}: identity listener not called`);
    assert.equal(rec.ca.length, 1, `${name}: CA listener not called`);
    assert.equal(updates, 0, `${name}: no update event`);
    assert.deepEqual(p.current, { chainPem: b.chainPem, keyPem: b.keyPem, trustPem: b.trustPem }, name);

    // A listener added now still gets the last good value.
    const late = listen(p);
    await tick();
    assert.equal(certOf(late.rec.id[0]), joinPem(b.chainPem), name);
  }
});

test('a listener added after an update is called asynchronously, not inside add*Listener', async () => {
  const p = new MemoryCertificateProvider();
  p.update(a);
  let idCalled = false;
  let caCalled = false;
  p.addIdentityCertificateListener(() => (idCalled = true));
  p.addCaCertificateListener(() => (caCalled = true));
  assert.equal(idCalled, false, 'identity listener not called synchronously');
  assert.equal(caCalled, false, 'CA listener not called synchronously');
  await tick();
  assert.equal(idCalled, true);
  assert.equal(caCalled, true);
});

test('the delayed delivery carries the latest value: add, update again before the tick → only the newer one', async () => {
  const p = new MemoryCertificateProvider();
  p.update(a);
  const { rec } = listen(p);
  p.update(b);
  await tick();
  assert.ok(rec.id.length >= 1 && rec.ca.length >= 1);
  for (const u of rec.id) assert.equal(certOf(u), joinPem(b.chainPem), 'never the superseded identity');
  for (const u of rec.ca) assert.equal(caOf(u), joinPem(b.trustPem), 'never the superseded roots');
});

test('removed listeners are not called (neither by updates nor by a pending first delivery)', async () => {
  const p = new MemoryCertificateProvider();
  p.update(a);
  const { rec, idListener, caListener } = listen(p);
  p.removeIdentityCertificateListener(idListener);
  p.removeCaCertificateListener(caListener);
  await tick();
  assert.deepEqual(rec, { id: [], ca: [] }, 'pending delivery dropped');

  const kept = listen(p);
  await tick();
  const before = kept.rec.id.length;
  p.removeIdentityCertificateListener(kept.idListener);
  p.update(b);
  await tick();
  assert.equal(kept.rec.id.length, before, 'removed identity listener not called');
  assert.equal(kept.rec.ca.length, 2, 'the CA listener still registered is called');
});

test('updateTrust replaces only the roots, keeps the identity, and notifies', async () => {
  const p = new MemoryCertificateProvider();
  assert.throws(() => p.updateTrust([rootB.certPem]), TypeError, 'before the first update');
  p.update(a);
  const { rec } = listen(p);
  await tick();
  p.updateTrust([rootA.certPem, rootB.certPem]);
  assert.deepEqual(p.current, { chainPem: a.chainPem, keyPem: a.keyPem, trustPem: [rootA.certPem, rootB.certPem] });
  assert.equal(caOf(rec.ca.at(-1)), joinPem([rootA.certPem, rootB.certPem]));
  assert.equal(certOf(rec.id.at(-1)), joinPem(a.chainPem));
  assert.equal(rec.id.at(-1)?.privateKey.toString(), a.keyPem);
  assert.throws(() => p.updateTrust([]), isCode('INVALID_ARGUMENT'), 'an empty bundle is refused');
  assert.deepEqual(p.current?.trustPem, [rootA.certPem, rootB.certPem]);
});

test('leafNotAfter follows the current leaf: undefined before the first update, the new leaf\'s after each change', async () => {
  const p = new MemoryCertificateProvider();
  assert.equal(p.leafNotAfter(), undefined);
  p.update(a);
  const first = p.leafNotAfter();
  assert.equal(first?.getTime(), new Date(FAKE_CLOCK_EPOCH.getTime() + 3_600_000).getTime());
  assert.equal(p.leafNotAfter(), first, 'parsed once per leaf: the same Date again');
  p.updateTrust([rootA.certPem, rootB.certPem]);
  assert.equal(p.leafNotAfter(), first, 'a trust change keeps the leaf');
  const later = await makeLeaf(rootA, FAKE_CLOCK_EPOCH, { nodeId: 'node-a', notAfter: new Date(FAKE_CLOCK_EPOCH.getTime() + 7_200_000) });
  p.update({ chainPem: later.chainPem, keyPem: later.key.privateKeyPem, trustPem: [rootA.certPem] });
  assert.equal(p.leafNotAfter()?.getTime(), FAKE_CLOCK_EPOCH.getTime() + 7_200_000);
  assert.throws(() => p.update(mismatched), isCode('INVALID_ARGUMENT'));
  assert.equal(p.leafNotAfter()?.getTime(), FAKE_CLOCK_EPOCH.getTime() + 7_200_000, 'a refused update changes nothing');
});

test('serverCredentials and channelCredentials build grpc credentials (smoke)', () => {
  const p = new MemoryCertificateProvider();
  p.update(a);
  for (const require of [true, false]) {
    assert.ok(p.serverCredentials(require) instanceof grpc.ServerCredentials);
  }
  const channel = p.channelCredentials(() => undefined);
  assert.ok(channel instanceof grpc.ChannelCredentials);
  assert.equal(channel._isSecure(), true);
});

test('server credentials put SSL_OP_NO_TICKET on every TLS context they hand grpc-js, at start and on each update', async () => {
  const p = new MemoryCertificateProvider();
  p.update(a);
  const creds = p.serverCredentials(false);
  const seen: (SecureContextOptions | null)[] = [];
  const watcher = (o: SecureContextOptions | null) => void seen.push(o);
  creds._addWatcher(watcher);
  await tick(); // the provider delivers to the wrapped credentials asynchronously
  p.updateTrust([rootA.certPem, rootB.certPem]);
  const heard = seen.length;
  creds._removeWatcher(watcher);
  p.update(b);
  await tick();
  assert.equal(seen.length, heard, 'a removed watcher hears nothing more');
  // grpc-js's provider credentials report null while they have a CA update but no identity yet (a server then
  // refuses connections for that instant): passed on as it is. Every usable context carries the option.
  const usable = [...seen, creds._getSecureContextOptions()].filter((o) => o !== null);
  assert.ok(usable.length >= 2, `${usable.length} usable contexts`);
  for (const o of usable) assert.equal((o.secureOptions ?? 0) & cryptoConstants.SSL_OP_NO_TICKET, cryptoConstants.SSL_OP_NO_TICKET);
  assert.equal(String(seen.at(-1)?.ca), joinPem([rootA.certPem, rootB.certPem]));
  assert.equal(String(seen.at(-1)?.cert), joinPem(a.chainPem));
  assert.deepEqual(creds._getConstructorOptions(), p.serverCredentials(false)._getConstructorOptions());
});
