// A node that is down for a whole root rotation, with real processes. The CA issues 10-minute certificates so
// that the down node's certificate is surely still valid when it returns: nothing here waits for a lifetime
// (--force finishes at once, and the returning node renews as soon as it sees the new bundle), so a long one
// costs nothing, while 60 s ran out on a loaded machine before the node came back. The node:
//  - blocks the rotation; `ca rotate-root --status` names it and says it is not connected;
//  - is left behind with `--force`, after which the bundle is {new} and the tokens carry the new digest;
//  - comes back, proves its still-valid key against the retired old root, and is re-issued under the new
//    root with bundle {new}: same node id, no token, no operator action.
// (The other way back, for a certificate that expired while down, is in root-rotation.test.ts.)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tmpDir } from '../helpers/tmp.js';
import { startCa, type TestCa } from '../helpers/cluster.js';
import { freePort, runCli, runJson } from '../helpers/proc.js';
import { startAgent, type TestAgent } from '../helpers/agents.js';
import { parseCertificate } from '../../shared/pki/certs.js';
import { verifyChain } from '../../shared/pki/chain.js';
import type { StoredIdentity } from '../../agent/identity-store.js';

let dir: Awaited<ReturnType<typeof tmpDir>>;
let ca: TestCa;
let down: TestAgent;

interface RotationJson { phase: string; blocking: { node_id: string; reason: string; connected: boolean }[]; excluded: string[]; to_root_fingerprint: string; current_root_fingerprint: string; worker_token: string }
const rotate = (...args: string[]) => runCli('ca', ['rotate-root', '--state-dir', ca.stateDir, ...args]);
const rotationStatus = () => runJson<RotationJson>('ca', ['rotate-root', '--status', '--json', '--state-dir', ca.stateDir]);
const identityOf = async (a: TestAgent) => JSON.parse(await readFile(join(a.stateDir, 'identity.json'), 'utf8')) as StoredIdentity;

before(async () => {
  dir = await tmpDir();
  ca = await startCa(dir.path, { nodeCertTtl: '10m' });
  down = startAgent(dir.path, 'down', { ca: ca.address, token: ca.init.tokens.worker, port: await freePort() });
  await down.daemon.waitFor('agent.listening');
  assert.equal(await down.daemon.stop(), 0);
});

after(async () => {
  await down?.daemon.stop();
  await ca?.daemon.stop();
  await dir?.cleanup();
});

let before_: StoredIdentity;
let newFingerprint: string;

test('the down node blocks the rotation and --status says why', async () => {
  before_ = await identityOf(down);
  const started = await rotate('--detach', '--json');
  assert.equal(started.code, 0, started.stderr);
  newFingerprint = (JSON.parse(started.stdout) as RotationJson).to_root_fingerprint;
  const status = await rotationStatus();
  assert.equal(status.phase, 'rotating');
  assert.deepEqual(status.blocking.map((b) => [b.node_id, b.connected]), [[before_.nodeId, false]]);
  const human = await rotate('--status');
  assert.equal(human.code, 0, human.stderr);
  assert.match(human.stdout, new RegExp(`${before_.nodeId}.*NOT CONNECTED`));
  assert.match(human.stdout, /--force/, 'the status tells the operator how to finish without it');
});

test('--force finishes without the down node: bundle {new}, new tokens printed, old ones refused', async () => {
  const oldToken = ca.init.tokens.worker;
  const forced = await rotate('--force');
  assert.equal(forced.code, 0, forced.stderr);
  assert.match(forced.stdout, /previous tokens STOPPED WORKING/);
  const status = await rotationStatus();
  assert.equal(status.phase, 'idle');
  assert.equal(status.current_root_fingerprint, newFingerprint);
  assert.notEqual(status.worker_token, oldToken);
  assert.match(forced.stdout, new RegExp(status.worker_token));
  const late = await runCli('agent', ['run', '--ca', ca.address, '--token', oldToken, '--state-dir', join(dir.path, 'late'), '--listen', '127.0.0.1:0']);
  assert.equal(late.code, 1);
  assert.match(late.stderr, /root named by the join token's digest|predates the last root rotation/);
});

test('the node comes back and recovers with its own key: same id, new-root certificate, bundle {new}', async () => {
  assert.ok(Date.parse(before_.notAfter) > Date.now(), `precondition: the down node's certificate is still valid (not after ${before_.notAfter})`);
  down = startAgent(dir.path, 'down', { ca: ca.address, port: down.port });
  await down.daemon.waitFor('identity.loaded');
  const adopted = await down.daemon.waitFor('trust_bundle.adopted_from_renewal', { timeoutMs: 30_000 });
  await down.daemon.waitFor('identity.renewed', { after: down.daemon.events.indexOf(adopted) });
  const after_ = await identityOf(down);
  assert.equal(after_.nodeId, before_.nodeId);
  assert.deepEqual(after_.bundle.rootsPem.map((r) => parseCertificate(r).fingerprint), [newFingerprint]);
  const chain = await verifyChain({ leaf: after_.chainPem[0]!, roots: after_.bundle.rootsPem, at: new Date() });
  assert.ok(chain.ok, 'the new certificate chains to the new root');
  const status = await rotationStatus();
  assert.deepEqual(status.blocking, []);
});
