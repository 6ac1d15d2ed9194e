// Agent lifecycle with real processes. Certificates live 60 s: an agent's first failed renewal comes at
// 50-80 % of its lifetime, so the outage below (a CA restart: ~2 s idle, ~4 s on a busy 2-core CI box, plus up
// to 2 s of channel reconnect backoff) must fit in the remaining 20 %. With 20 s certificates it did not
// always, and the agents' certificates expired mid-test (the node then rightly has to re-join).
//  - the CA stopped across the agents' renewal points: the agents keep serving their streams, retry with
//    backoff, and renew once the CA is back, with no stream cut;
//  - an agent restart reuses its stored identity (same node id, no token needed) and keeps renewing;
//  - a token whose root digest is not the CA's is refused before anything is sent to the CA;
//  - --cert-out files are replaced on rotation and --on-rotate runs.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { tmpDir } from '../helpers/tmp.js';
import { startCa, type TestCa } from '../helpers/cluster.js';
import { freePort, runCli } from '../helpers/proc.js';
import { startAgent, type TestAgent } from '../helpers/agents.js';
import { parseCertificate } from '../../shared/pki/certs.js';

let dir: Awaited<ReturnType<typeof tmpDir>>;
let ca: TestCa;
const agents: TestAgent[] = [];

before(async () => {
  dir = await tmpDir();
  ca = await startCa(dir.path, { nodeCertTtl: '60s' });
  const [p0, p1] = [await freePort(), await freePort()];
  agents.push(
    startAgent(dir.path, 'a0', { ca: ca.address, token: ca.init.tokens.worker, port: p0, peers: [p1] }),
    startAgent(dir.path, 'a1', {
      ca: ca.address, token: ca.init.tokens.worker, port: p1, peers: [p0],
      extra: ['--cert-out', join(dir.path, 'out'), '--on-rotate', `echo rotated >> ${join(dir.path, 'rotations.txt')}`],
    }),
  );
  await Promise.all(agents.map((a) => a.daemon.waitFor('peer.stream_up', { timeoutMs: 30_000 })));
});

after(async () => {
  await Promise.all(agents.map((a) => a.daemon.stop()));
  await ca?.daemon.stop();
  await dir?.cleanup();
});

test('CA down across the renewal point: agents keep serving, back off, renew when it returns', async () => {
  const marks = agents.map((a) => a.daemon.events.length);
  await ca.daemon.stop();
  await Promise.all(agents.map((a, i) => a.daemon.waitFor('renewal.failed', { after: marks[i], timeoutMs: 60_000 })));
  const restartMarks = agents.map((a) => a.daemon.events.length);
  await ca.restart();
  await Promise.all(agents.map((a, i) => a.daemon.waitFor('identity.renewed', { after: restartMarks[i], timeoutMs: 30_000 })));
  // identity.renewed is logged before a1 writes --cert-out (disk I/O, under load long enough for a status call to
  // land in between and still see the failed attempts); cert_out.written is the renewal's last step.
  await agents[1]!.daemon.waitFor('cert_out.written', { after: restartMarks[1], timeoutMs: 30_000 });
  for (const s of await Promise.all(agents.map((a) => a.status()))) {
    assert.equal(s.failedAttempts, 0);
    assert.equal(s.peers[0]!.streamStarts, 1, 'the stream opened before the outage is still the only one');
    assert.equal(s.peers[0]!.streamErrors, 0);
  }
});

test('--cert-out holds the current key pair and --on-rotate ran', async () => {
  const status = await agents[1]!.status();
  const out = join(dir.path, 'out');
  const cert = parseCertificate(await readFile(join(out, 'node.crt'), 'utf8'));
  assert.equal(cert.serial, status.serial);
  assert.equal((await stat(join(out, 'node.key'))).mode & 0o777, 0o600);
  const rotations = (await readFile(join(dir.path, 'rotations.txt'), 'utf8')).trim().split('\n');
  assert.ok(rotations.length >= 1);
});

test('an agent restart reuses its identity without a token', async () => {
  const a = agents[0]!;
  const before = await a.status();
  assert.equal(await a.daemon.stop(), 0);
  // It renews right after the start (test hook: the agent's own renewal path, moved earlier) with the identity
  // it loaded, instead of at 50-80 % of the 60 s lifetime: up to 48 s of waiting on the clock for the same proof.
  const again = startAgent(dir.path, 'a0', { ca: ca.address, port: a.port, peers: [agents[1]!.port], env: { HITLESS_TEST_RENEW_AT_START: '1' } });
  agents[0] = again;
  const loaded = await again.daemon.waitFor('identity.loaded');
  assert.equal(loaded.nodeId, before.nodeId);
  const renewed = await again.daemon.waitFor('identity.renewed', { timeoutMs: 60_000 });
  assert.equal(renewed.nodeId, before.nodeId);
  assert.equal(renewed.previousSerial, before.serial, 'renewed from the identity it loaded');
  assert.equal((await stat(join(again.stateDir, 'identity.json'))).mode & 0o777, 0o600);
});

test('a token with a wrong root digest is refused, and nothing is stored', async () => {
  const forged = ca.init.tokens.worker.replace(/-[0-9a-z]{50}-/, '-' + '7'.repeat(50) + '-');
  const r = await runCli('agent', ['run', '--ca', ca.address, '--token', forged, '--state-dir', join(dir.path, 'forged'), '--listen', '127.0.0.1:0']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /does not contain the root named by the join token's digest.*\(UNTRUSTED_PEER\)/);
  await assert.rejects(stat(join(dir.path, 'forged', 'identity.json')), { code: 'ENOENT' });
});
