// `ca rotate-root --cert new.crt --key new.key` with roots made by the real `openssl` CLI: a P-256 CA root
// completes a rotation (the agent ends up with a certificate of that root, openssl verifies it, the join
// tokens carry its digest); an RSA root, a non-CA certificate and a key of another certificate are refused
// with messages that say which, and change nothing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tmpDir } from '../helpers/tmp.js';
import { startCa, type TestCa } from '../helpers/cluster.js';
import { freePort, run, runCli, runJson } from '../helpers/proc.js';
import { startAgent, type TestAgent } from '../helpers/agents.js';
import { parseCertificate } from '../../shared/pki/certs.js';
import { rootDigest } from '../../shared/join-token.js';
import { pemToDer } from '../../shared/pki/pem.js';
import type { StoredIdentity } from '../../agent/identity-store.js';

let dir: Awaited<ReturnType<typeof tmpDir>>;
let ca: TestCa;
let agent: TestAgent;

interface RotationJson { phase: string; to_root_fingerprint: string; current_root_fingerprint: string; worker_token: string }
const rotate = (...args: string[]) => runCli('ca', ['rotate-root', '--state-dir', ca.stateDir, ...args]);
const rotationStatus = () => runJson<RotationJson>('ca', ['rotate-root', '--status', '--json', '--state-dir', ca.stateDir]);

/** `openssl req -x509` with a fresh key; returns the certificate and key paths. */
async function opensslRoot(name: string, newkey: string[], extra: string[] = []): Promise<{ cert: string; key: string }> {
  const cert = join(dir.path, `${name}.crt`);
  const key = join(dir.path, `${name}.key`);
  const r = await run('openssl', ['req', '-x509', ...newkey, '-nodes', '-days', '3650', '-subj', `/CN=${name}`, '-keyout', key, '-out', cert, ...extra]);
  assert.equal(r.code, 0, r.stderr);
  return { cert, key };
}
const P256 = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'];

before(async () => {
  dir = await tmpDir();
  ca = await startCa(dir.path, { nodeCertTtl: '20s' });
  agent = startAgent(dir.path, 'a', { ca: ca.address, token: ca.init.tokens.worker, port: await freePort() });
  await agent.daemon.waitFor('agent.listening');
});

after(async () => {
  await agent?.daemon.stop();
  await ca?.daemon.stop();
  await dir?.cleanup();
});

async function refused(files: { cert: string; key: string }, message: RegExp): Promise<void> {
  const r = await rotate('--cert', files.cert, '--key', files.key, '--detach', '--json');
  assert.equal(r.code, 2, `exit code; stderr: ${r.stderr}`);
  assert.match(r.stderr, message);
  assert.match(r.stderr, /INVALID_ARGUMENT/);
  assert.equal((await rotationStatus()).phase, 'idle', 'nothing started');
}

test('an RSA root is refused: hitless roots are P-256', async () => {
  await refused(await opensslRoot('rsa-root', ['-newkey', 'rsa:2048']), /supplied root has a rsa \(2048 bits\) key; hitless roots are ECDSA P-256/);
});

test('a P-384 root is refused', async () => {
  await refused(await opensslRoot('p384-root', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-384']), /supplied root has a EC secp384r1 key/);
});

test('a self-signed certificate that is not a CA is refused', async () => {
  const files = await opensslRoot('not-ca', P256, ['-addext', 'basicConstraints=critical,CA:FALSE']);
  await refused(files, /supplied root is not a CA certificate \(basicConstraints CA:TRUE is missing\)/);
});

test('a CA certificate whose keyUsage lacks keyCertSign is refused', async () => {
  const files = await opensslRoot('no-certsign', P256, ['-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,digitalSignature']);
  await refused(files, /keyUsage extension without keyCertSign/);
});

test('the key of another certificate is refused', async () => {
  const a = await opensslRoot('root-a', P256);
  const b = await opensslRoot('root-b', P256);
  await refused({ cert: a.cert, key: b.key }, /supplied root key does not belong to the supplied certificate/);
});

test('an openssl-made P-256 root completes a rotation', async () => {
  const files = await opensslRoot('openssl-root', P256);
  const rootPem = await readFile(files.cert, 'utf8');
  const fingerprint = parseCertificate(rootPem).fingerprint;
  const mark = agent.daemon.events.length;
  const started = await rotate('--cert', files.cert, '--key', files.key, '--detach', '--json');
  assert.equal(started.code, 0, started.stderr);
  assert.equal((JSON.parse(started.stdout) as RotationJson).to_root_fingerprint, fingerprint);
  // Finished: the CA now trusts only the supplied root and the agent's bundle says so.
  await ca.daemon.waitFor('root_rotation.finished', { timeoutMs: 60_000 });
  const done = await rotationStatus();
  assert.equal(done.phase, 'idle');
  assert.equal(done.current_root_fingerprint, fingerprint);
  assert.equal(await readFile(join(ca.stateDir, 'root.crt'), 'utf8'), rootPem, 'root.crt is the supplied certificate');
  // The agent renews under the supplied root; openssl verifies its leaf against the openssl-made root alone.
  for (let n = 1; ; n++) {
    await agent.daemon.waitFor('identity.renewed', { after: mark, nth: n, timeoutMs: 40_000 });
    const id = JSON.parse(await readFile(join(agent.stateDir, 'identity.json'), 'utf8')) as StoredIdentity;
    if (id.chainPem.length !== 1 || id.bundle.rootsPem.length !== 1) continue;
    assert.equal(parseCertificate(id.bundle.rootsPem[0]!).fingerprint, fingerprint);
    const leafFile = join(dir.path, 'leaf.pem');
    await writeFile(leafFile, id.chainPem[0]!);
    const v = await run('openssl', ['verify', '-CAfile', files.cert, leafFile]);
    assert.equal(v.code, 0, v.stdout + v.stderr);
    break;
  }
  const token = await runCli('ca', ['join-token', 'worker', '--quiet', '--state-dir', ca.stateDir]);
  assert.equal(token.code, 0, token.stderr);
  assert.ok(token.stdout.includes(rootDigest(pemToDer(rootPem))), 'join tokens carry the supplied root digest');
});
