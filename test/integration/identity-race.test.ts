// An agent's identity changes one at a time (agent/identity-keeper.ts): a trust bundle that arrives while a
// renewal is still saving its new certificate is installed on top of that certificate, never on the one it
// replaced. The test hook HITLESS_TEST_SAVE_DELAY_MS holds every identity save for 4 s, so the bundle of a root
// rotation started during the renewal's save lands in that window for sure. Before the fix the bundle's install
// went on with the identity it had read and put the replaced certificate back, in memory and on disk; the CA,
// having seen the new one in use, then refused that certificate as superseded until it expired (a node locked
// out, seen with replicas failing over during a rotation: test/ha/failover.test.ts).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { tmpDir } from '../helpers/tmp.js';
import { startCa, type TestCa } from '../helpers/cluster.js';
import { freePort, runCli } from '../helpers/proc.js';
import { startAgent, type TestAgent } from '../helpers/agents.js';

const dir = await tmpDir();
let ca: TestCa | undefined;
let agent: TestAgent | undefined;
after(async () => {
  await agent?.daemon.stop();
  await ca?.daemon.stop();
  await dir.cleanup();
});

test('a trust bundle that arrives during a renewal is installed on the renewed certificate, not on the one it replaced', async () => {
  ca = await startCa(dir.path, { nodeCertTtl: '1h' });
  agent = startAgent(dir.path, 'a0', {
    ca: ca.address,
    token: ca.init.tokens.worker,
    port: await freePort(),
    env: { HITLESS_TEST_RENEW_AT_START: '1', HITLESS_TEST_SAVE_DELAY_MS: '4000' },
  });
  const joined = await agent.daemon.waitFor('identity.ready', { timeoutMs: 60_000 });
  // The renewal's save has begun (and is held): start a root rotation, whose first step pushes a new bundle.
  const saving = await agent.daemon.waitFor('test_hook.save_delayed', { where: (e) => e.serial !== joined.serial, timeoutMs: 60_000 });
  const started = await runCli('ca', ['rotate-root', '--detach', '--state-dir', ca.stateDir]);
  assert.equal(started.code, 0, started.stderr);
  const renewed = await agent.daemon.waitFor('identity.renewed', { where: (e) => e.serial === saving.serial, timeoutMs: 60_000 });
  const updated = await agent.daemon.waitFor('trust_bundle.updated', { where: (e) => e.roots === 2, timeoutMs: 60_000 });
  assert.ok(agent.daemon.events.indexOf(updated) > agent.daemon.events.indexOf(renewed), 'the bundle waited for the renewal');
  assert.equal(updated.serial, renewed.serial, 'the bundle was installed on the renewed certificate');
  assert.notEqual(updated.serial, joined.serial);
});
