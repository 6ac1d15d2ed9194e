// Proves the CA end to end with the real `ca` binary, real TLS/gRPC and a real level store:
// init → serve → join with a token → renew over mTLS with a fresh key → chains verify with openssl;
// every refusal (wrong token, other cluster, bad CSR, foreign or missing client cert, removed node) returns
// the right status and leaves the store unchanged; admin commands work over the socket; tokens rotate;
// a restart keeps nodes and tokens; a second serve on the same directory fails cleanly.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { generateKeyPairSync, webcrypto as nodeWebcrypto } from 'node:crypto';
import { status } from '@grpc/grpc-js';
import { x509 } from '../helpers/x509-reference.js';
import { generateKeyPairPem } from '../../shared/pki/keys.js';
import { parseCertificate } from '../../shared/pki/certs.js';
import { createCsrDer } from '../../shared/pki/csr.js';
import { createRootCertificate } from '../../shared/pki/roots.js';
import { CaClient, staticConnection } from '../../agent/ca-client.js';
import { tmpDir } from '../helpers/tmp.js';
import { startCa, initCa, type TestCa } from '../helpers/cluster.js';
import { runCli, runJson, run, spawnDaemon } from '../helpers/proc.js';
import { fetchRoots, joinNode, renewNode, writeChain, type TestNode } from '../helpers/node-identity.js';
import { refused } from '../helpers/grpc-refusal.js';

let dir: Awaited<ReturnType<typeof tmpDir>>;
let ca: TestCa;
let roots: string[];
let worker: TestNode;

interface NodeJson { node_id: string; role: string; serial: string; not_after: string }
const nodes = () => runJson<NodeJson[]>('ca', ['nodes', '--state-dir', ca.stateDir, '--json']);

before(async () => {
  dir = await tmpDir();
  ca = await startCa(dir.path);
  roots = await fetchRoots(ca.address);
});

after(async () => {
  await ca?.daemon.stop();
  await dir?.cleanup();
});

test('a node joins with the worker token and gets a CA-chosen identity that openssl verifies', async () => {
  worker = await joinNode(ca.address, ca.init.tokens.worker, roots);
  const c = worker.cert;
  assert.equal(c.role, 'NODE_ROLE_WORKER');
  assert.equal(c.cluster_id, ca.init.clusterId);
  assert.match(c.node_id, /^[0-9a-z]{25}$/);
  const leaf = parseCertificate(c.chain_pem[0]!);
  assert.equal(leaf.subject.commonName, c.node_id);
  assert.deepEqual(leaf.subject.organizationalUnits, ['worker']);
  assert.equal(leaf.subject.organization, ca.init.clusterId);
  assert.equal(leaf.serial, c.serial);
  assert.equal(leaf.isCa, false);
  const lifetimeMs = leaf.notAfter.getTime() - Date.parse(c.issued_at);
  assert.ok(Math.abs(lifetimeMs - 3_600_000) < 2_000, `lifetime ${lifetimeMs}`);
  const verify = await run('openssl', ['verify', '-CAfile', ca.init.paths.rootCert, await writeChain(dir.path, 'joined', worker)]);
  assert.equal(verify.code, 0, verify.stderr);
  assert.match(verify.stdout, /: OK/);
  const listed = await nodes();
  assert.deepEqual(listed.map((n) => [n.node_id, n.role, n.serial]), [[c.node_id, 'NODE_ROLE_WORKER', c.serial]]);
});

test('renewal over mTLS with a fresh key keeps the identity and role, changes serial and key', async () => {
  const renewed = await renewNode(ca.address, worker, roots);
  assert.equal(renewed.cert.node_id, worker.cert.node_id);
  assert.equal(renewed.cert.role, 'NODE_ROLE_WORKER');
  assert.notEqual(renewed.cert.serial, worker.cert.serial);
  const oldKey = parseCertificate(worker.cert.chain_pem[0]!).spkiFingerprint;
  assert.notEqual(parseCertificate(renewed.cert.chain_pem[0]!).spkiFingerprint, oldKey);
  const verify = await run('openssl', ['verify', '-CAfile', ca.init.paths.rootCert, await writeChain(dir.path, 'renewed', renewed)]);
  assert.equal(verify.code, 0, verify.stderr);
  assert.equal((await nodes()).find((n) => n.node_id === worker.cert.node_id)?.serial, renewed.cert.serial);
  worker = renewed;
});

test('refusals return a clear status and change nothing in the store', async (t) => {
  const before = await nodes();
  const wrongSecret = ca.init.tokens.worker.replace(/-[0-9a-z]{25}$/, '-' + '0'.repeat(25));
  const otherDigest = ca.init.tokens.worker.replace(/-[0-9a-z]{50}-/, '-' + '1'.repeat(50) + '-');
  const join = (token: string, csr: Uint8Array) => {
    const client = new CaClient(ca.address, staticConnection(roots));
    return client.issue(token, csr).finally(() => client.close());
  };
  const goodCsr = await createCsrDer(generateKeyPairPem().privateKeyPem);

  await t.test('wrong secret', () => refused(join(wrongSecret, goodCsr), status.UNAUTHENTICATED, /not valid for this cluster/));
  await t.test('token of another cluster', () => refused(join(otherDigest, goodCsr), status.UNAUTHENTICATED, /another cluster/));
  await t.test('malformed token', () => refused(join('SWMTKN-1-abc', goodCsr), status.UNAUTHENTICATED, /malformed join token/));
  await t.test('garbage CSR', () => refused(join(ca.init.tokens.worker, new Uint8Array([0x30, 0x03, 1, 2, 3])), status.INVALID_ARGUMENT, /not a DER-encoded PKCS#10/));
  await t.test('oversize CSR', () => refused(join(ca.init.tokens.worker, new Uint8Array(5000)), status.INVALID_ARGUMENT, /exceeds the 4096-byte limit/));
  await t.test('RSA-512 CSR', async () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 512 });
    const alg = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
    const keys = {
      privateKey: await nodeWebcrypto.subtle.importKey('pkcs8', rsa.privateKey.export({ format: 'der', type: 'pkcs8' }), alg, true, ['sign']),
      publicKey: await nodeWebcrypto.subtle.importKey('spki', rsa.publicKey.export({ format: 'der', type: 'spki' }), alg, true, ['verify']),
    };
    const csr = await x509.Pkcs10CertificateRequestGenerator.create({ name: 'CN=x', keys, signingAlgorithm: alg }, nodeWebcrypto as unknown as Crypto);
    await refused(join(ca.init.tokens.worker, new Uint8Array(csr.rawData)), status.INVALID_ARGUMENT, /unsupported key type RSA 512-bit; node keys must be ECDSA P-256/);
  });
  await t.test('CSR whose signature does not match its key', async () => {
    const csr = Buffer.from(goodCsr);
    csr[csr.length - 5] = csr[csr.length - 5]! ^ 0xff; // inside the signature
    await refused(join(ca.init.tokens.worker, csr), status.INVALID_ARGUMENT, /signature|not a DER/);
  });
  await t.test('renewal without a client certificate', async () => {
    const client = new CaClient(ca.address, staticConnection(roots));
    await refused(client.renew(goodCsr).finally(() => client.close()), status.UNAUTHENTICATED, /needs the node certificate over mTLS/);
  });
  await t.test('renewal with a foreign CA certificate is treated exactly like no certificate', async () => {
    const foreign = await foreignNode(worker.cert.node_id, ca.init.clusterId);
    const client = new CaClient(ca.address, staticConnection(roots, foreign));
    await refused(client.renew(goodCsr).finally(() => client.close()), status.UNAUTHENTICATED, /needs the node certificate over mTLS/);
    // ...and, like no certificate, it may still fetch the bundle and join with a token.
    const joinClient = new CaClient(ca.address, staticConnection(roots, foreign));
    await refused(joinClient.issue(wrongSecret, goodCsr).finally(() => joinClient.close()), status.UNAUTHENTICATED, /not valid/);
  });
  await t.test('renewal with a valid certificate but a bad CSR', () =>
    refused(renewNode(ca.address, worker, roots, new Uint8Array([1, 2, 3])), status.INVALID_ARGUMENT, /invalid CSR/));

  assert.deepEqual(await nodes(), before);
});

/** A certificate for the same node id and cluster, from a CA that is not ours. */
async function foreignNode(nodeId: string, clusterId: string): Promise<{ keyPem: string; chainPem: string[] }> {
  const rootKey = generateKeyPairPem().privateKeyPem;
  const now = Date.now();
  const rootPem = await createRootCertificate({ privateKeyPem: rootKey, subject: 'CN=hitless root CA', notBefore: new Date(now - 60_000), notAfter: new Date(now + 3_600_000) });
  const { createSigner, issueLeaf } = await import('../../ca/issuer.js');
  const signer = await createSigner(rootPem, rootKey);
  const leafKey = generateKeyPairPem();
  const leaf = await issueLeaf(signer, {
    spkiDer: new Uint8Array(new x509.PublicKey(leafKey.publicKeyPem).rawData),
    nodeId,
    role: 'manager',
    clusterId,
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + 3_600_000),
  });
  return { keyPem: leafKey.privateKeyPem, chainPem: leaf.chainPem };
}

test('the manager token yields a manager; a manager certificate carries no admin rights', async () => {
  const manager = await joinNode(ca.address, ca.init.tokens.manager, roots);
  assert.equal(manager.cert.role, 'NODE_ROLE_MANAGER');
  const { caAdmin } = (await import('../../proto/load.js')).protos();
  const { unaryCall } = await import('../../shared/grpc/call.js');
  const adminAs = (node: TestNode) => {
    const c = staticConnection(roots, { keyPem: node.keyPem, chainPem: node.cert.chain_pem });
    return new caAdmin.hitless.v1.CaAdminService(ca.address, c.credentials, { ...c.options, 'grpc.use_local_subchannel_pool': 1 });
  };
  // Remote admin needs an operator credential (test/security/credentials.test.ts); node roles give none.
  const asManager = adminAs(manager);
  await refused(unaryCall((o, cb) => asManager.ListNodes({}, o, cb)).finally(() => asManager.close()), status.PERMISSION_DENIED, /manager certificate: node certificates .* carry no admin rights; .*ca operator create/);
  const asWorker = adminAs(worker);
  await refused(unaryCall((o, cb) => asWorker.ListNodes({}, o, cb)).finally(() => asWorker.close()), status.PERMISSION_DENIED, /worker certificate/);
});

test('a removed node can no longer renew', async () => {
  const victim = await joinNode(ca.address, ca.init.tokens.worker, roots);
  const removed = await runCli('ca', ['remove-node', victim.cert.node_id, '--state-dir', ca.stateDir]);
  assert.equal(removed.code, 0, removed.stderr);
  const before = await nodes();
  assert.ok(!before.some((n) => n.node_id === victim.cert.node_id));
  await refused(renewNode(ca.address, victim, roots), status.PERMISSION_DENIED, /was removed/);
  assert.deepEqual(await nodes(), before);
  const again = await runCli('ca', ['remove-node', victim.cert.node_id, '--state-dir', ca.stateDir]);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /was removed at .* \(NODE_REMOVED\)/);
});

test('join-token --rotate invalidates the old token at once', async () => {
  const shown = await runCli('ca', ['join-token', 'worker', '--quiet', '--state-dir', ca.stateDir]);
  assert.equal(shown.stdout.trim(), ca.init.tokens.worker);
  const rotated = await runCli('ca', ['join-token', 'worker', '--rotate', '--quiet', '--state-dir', ca.stateDir]);
  assert.equal(rotated.code, 0, rotated.stderr);
  const fresh = rotated.stdout.trim();
  assert.notEqual(fresh, ca.init.tokens.worker);
  await refused(joinNode(ca.address, ca.init.tokens.worker, roots), status.UNAUTHENTICATED, /wrong or rotated secret/);
  assert.equal((await joinNode(ca.address, fresh, roots)).cert.role, 'NODE_ROLE_WORKER');
  ca.init.tokens.worker = fresh;
});

test('a second serve on the same state dir fails cleanly; the first keeps serving', async () => {
  const second = spawnDaemon('ca', ['serve', '--state-dir', ca.stateDir, '--passphrase-file', ca.passphraseFile, '--listen', '127.0.0.1:0']);
  assert.equal(await second.exited, 1);
  assert.match(second.output.join('\n'), /in use by another process \(STORE_LOCKED\)/);
  assert.ok((await nodes()).length > 0);
});

test('serve refuses a bad --csr-workers with a usage error and a hint; the running CA is untouched', async () => {
  const before = (await nodes()).length;
  const r = await runCli('ca', ['serve', '--csr-workers', 'many', '--state-dir', ca.stateDir, '--passphrase-file', ca.passphraseFile, '--listen', '127.0.0.1:0']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--csr-workers takes a whole number from 0 to 64, got "many" \(INVALID_ARGUMENT\)\nhint: /);
  assert.equal((await nodes()).length, before);
});

test('a restart keeps nodes and tokens, and renewal works across it', async () => {
  const beforeNodes = await nodes();
  const tokens = await runCli('ca', ['join-token', 'manager', '-q', '--state-dir', ca.stateDir]);
  await ca.restart();
  assert.deepEqual(await nodes(), beforeNodes);
  assert.equal((await runCli('ca', ['join-token', 'manager', '-q', '--state-dir', ca.stateDir])).stdout, tokens.stdout);
  worker = await renewNode(ca.address, worker, roots);
  assert.equal(worker.cert.role, 'NODE_ROLE_WORKER');
});

test('serve refuses a wrong passphrase and leaves the state as it was', async () => {
  const other = await tmpDir();
  try {
    const { stateDir } = await initCa(other.path);
    const before = await readFile(join(stateDir, 'root.key.enc'), 'utf8');
    // The unseal starts before the store opens (ca/root-key.ts RootKeyAhead); its failure must still come before
    // anything is written: no `ca.started` in the audit log.
    const auditBefore = await readFile(join(stateDir, 'audit.log'), 'utf8');
    const wrong = join(other.path, 'wrong');
    await (await import('node:fs/promises')).writeFile(wrong, 'not the passphrase at all\n', { mode: 0o600 });
    const r = await runCli('ca', ['serve', '--state-dir', stateDir, '--passphrase-file', wrong, '--listen', '127.0.0.1:0']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /wrong passphrase.*\(WRONG_PASSPHRASE\)/);
    assert.match(r.stderr, /hint: /);
    assert.equal(await readFile(join(stateDir, 'root.key.enc'), 'utf8'), before);
    assert.equal(await readFile(join(stateDir, 'audit.log'), 'utf8'), auditBefore);
  } finally {
    await other.cleanup();
  }
});
