// /metrics on real processes: a CA and an agent started with --metrics-listen, scraped over HTTP while
// things happen to them. Values must move with the events: a refused join counts under its reason; a root
// rotation moves the phase gauge, makes the agent renew (counters on both sides, a later not-after) and
// finishes with the old root listed as retired. Every page passes `promtool check metrics`.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { tmpDir } from '../helpers/tmp.js';
import { startCa, type TestCa } from '../helpers/cluster.js';
import { freePort, runCli } from '../helpers/proc.js';
import { startAgent, type TestAgent } from '../helpers/agents.js';
import { scrape, sample, assertExpositionValid, promtoolPath, PROMTOOL_MISSING } from '../helpers/prometheus.js';
import { formatJoinToken, generateSecret } from '../../shared/join-token.js';

let dir: Awaited<ReturnType<typeof tmpDir>>;
let ca: TestCa;
let agent: TestAgent;
let caPort: number;
let agentPort: number;

before(async () => {
  dir = await tmpDir();
  ca = await startCa(dir.path, { nodeCertTtl: '60s', serveArgs: ['--metrics-listen', '127.0.0.1:0'] });
  caPort = (await ca.daemon.waitFor('metrics.listening')).port as number;
  agent = startAgent(dir.path, 'a0', { ca: ca.address, token: ca.init.tokens.worker, port: await freePort(), extra: ['--metrics-listen', '127.0.0.1:0'] });
  agentPort = (await agent.daemon.waitFor('metrics.listening', { timeoutMs: 30_000 })).port as number;
  await agent.daemon.waitFor('renewal.scheduled');
});

after(async () => {
  await agent?.daemon.stop();
  await ca?.daemon.stop();
  await dir?.cleanup();
});

test('both pages pass promtool check metrics and show the identity and the fleet', { skip: promtoolPath() ? false : PROMTOOL_MISSING }, async () => {
  const [caText, agentText] = await Promise.all([scrape(caPort), scrape(agentPort)]);
  await assertExpositionValid(caText);
  await assertExpositionValid(agentText);
  assert.equal(sample(caText, 'hitless_ca_nodes', { role: 'worker', state: 'active' }), 1);
  assert.equal(sample(caText, 'hitless_ca_joins_total', { result: 'issued' }), 1);
  assert.equal(sample(caText, 'hitless_ca_root_rotation_phase', { phase: 'idle' }), 1);
  assert.ok(sample(caText, 'process_resident_memory_bytes')! > 0, 'prom-client default process metrics');
  assert.equal(sample(caText, 'hitless_agent_cert_expiry_timestamp_seconds'), undefined, 'a CA page has no agent series');
  const status = await agent.status();
  assert.equal(sample(agentText, 'hitless_agent_cert_expiry_timestamp_seconds'), Date.parse(status.notAfter) / 1000);
  assert.ok(sample(agentText, 'hitless_agent_next_renewal_timestamp_seconds')! > Date.now() / 1000);
  assert.equal(sample(agentText, 'hitless_agent_trust_bundle_roots'), 1);
  assert.equal(sample(caText, 'hitless_ca_nodes'), 1);
});

test('only GET /metrics is served', async () => {
  const base = `http://127.0.0.1:${caPort}`;
  assert.equal((await fetch(`${base}/`)).status, 404);
  assert.equal((await fetch(`${base}/metrics`, { method: 'POST', body: 'x' })).status, 405);
});

test('a refused join counts under its reason', async () => {
  const reason = { result: 'refused', reason: 'INVALID_JOIN_TOKEN' };
  const before = sample(await scrape(caPort), 'hitless_ca_joins_total', reason) ?? 0;
  const wrongSecret = formatJoinToken({ rootDigest: ca.init.rootDigest, secret: generateSecret() });
  const r = await runCli('agent', ['run', '--ca', ca.address, '--state-dir', `${dir.path}/refused`, '--listen', '127.0.0.1:0', '--token', wrongSecret]);
  assert.notEqual(r.code, 0, r.stderr);
  assert.equal(sample(await scrape(caPort), 'hitless_ca_joins_total', reason), before + 1);
});

test('a root rotation moves the phase gauge and renews the agent: counters, not-after and bundle follow', async () => {
  const [ca0, ag0] = await Promise.all([scrape(caPort), scrape(agentPort)]);
  const renewed0 = sample(ca0, 'hitless_ca_renewals_total', { result: 'issued' }) ?? 0;
  const agentOk0 = sample(ag0, 'hitless_agent_renewals_total', { result: 'ok' }) ?? 0;
  const notAfter0 = sample(ag0, 'hitless_agent_cert_expiry_timestamp_seconds')!;
  const bundle0 = sample(ag0, 'hitless_agent_trust_bundle_version')!;
  const mark = agent.daemon.events.length;
  const caMark = ca.daemon.events.length;
  const r = await runCli('ca', ['rotate-root', '--detach', '--state-dir', ca.stateDir]);
  assert.equal(r.code, 0, r.stderr);
  const during = await scrape(caPort);
  assert.equal(sample(during, 'hitless_ca_root_rotation_phase', { phase: 'idle' }), 0);
  assert.equal((sample(during, 'hitless_ca_root_rotation_phase', { phase: 'rotating' }) ?? 0) + (sample(during, 'hitless_ca_root_rotation_phase', { phase: 'converged' }) ?? 0), 1);
  assert.ok(sample(during, 'hitless_ca_root_rotation_started_timestamp_seconds')! > 0);
  assert.equal(sample(during, 'hitless_ca_root_rotation_nodes', { progress: 'total' }), 1);

  await agent.daemon.waitFor('identity.renewed', { after: mark, timeoutMs: 30_000 });
  const [ca1, ag1] = await Promise.all([scrape(caPort), scrape(agentPort)]);
  assert.ok(sample(ca1, 'hitless_ca_renewals_total', { result: 'issued' })! > renewed0, 'the CA counted the renewal');
  assert.ok((sample(ca1, 'hitless_ca_issuance_duration_seconds_count', { kind: 'renewal' }) ?? 0) > 0);
  assert.ok(sample(ag1, 'hitless_agent_renewals_total', { result: 'ok' })! > agentOk0, 'the agent counted the renewal');
  assert.ok(sample(ag1, 'hitless_agent_cert_expiry_timestamp_seconds')! > notAfter0, 'the not-after moved');
  assert.equal(sample(ag1, 'hitless_agent_renewal_consecutive_failures'), 0);
  await agent.daemon.waitFor('trust_bundle.updated', { after: mark, timeoutMs: 30_000 });
  assert.ok(sample(await scrape(agentPort), 'hitless_agent_trust_bundle_version')! > bundle0, 'the agent holds the rotation bundle');

  await ca.daemon.waitFor('root_rotation.finished', { after: caMark, timeoutMs: 60_000 });
  const done = await scrape(caPort);
  assert.equal(sample(done, 'hitless_ca_root_rotation_phase', { phase: 'idle' }), 1);
  assert.equal(sample(done, 'hitless_ca_root_rotation_transitions_total', { step: 'finished' }), 1);
  assert.ok(sample(done, 'hitless_ca_retired_root_grace_end_timestamp_seconds')! > Date.now() / 1000, 'the old root is retired, with its grace end');
  assert.equal(sample(done, 'hitless_ca_retired_root_nodes'), 0, 'the only node moved to the new root');
  assert.ok(sample(done, 'hitless_ca_store_commit_duration_seconds_count')! > 0);

  // Every step of the rotation is in the audit log too, after the request that started it.
  const audit = await runCli('ca', ['audit', 'show', '--json', '--state-dir', ca.stateDir]);
  assert.equal(audit.code, 0, audit.stderr);
  const events = audit.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { event: string }).event);
  const steps = events.filter((e) => e.startsWith('root_rotation.'));
  assert.deepEqual(steps, ['root_rotation.started', 'root_rotation.requested', 'root_rotation.converged', 'root_rotation.finished']);
});
