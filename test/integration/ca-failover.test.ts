// Agents with several --ca addresses, with real processes: one CA state dir served by one `ca serve` at a time
// (level allows one process per store), moved from port A to port B, and a dead address listed first.
//  - a0 runs with --ca DEAD,A,B: it joins through A (DEAD is skipped: a failover at bootstrap);
//  - a1 runs with --ca B,A while only A serves: it joins through A too;
//  - the CA moves from A to B: both agents' CA watches reconnect to B, both renew through B (a1 wraps around its
//    list), and the heartbeat streams between them never break (1 start, 0 errors).
// Certificates live 20 s so that the renewal after the move comes within seconds (at 50-80 % of the lifetime).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { tmpDir } from '../helpers/tmp.js';
import { initCa, serveCa } from '../helpers/cluster.js';
import { freePort, runCli, type Daemon } from '../helpers/proc.js';
import { startAgent, type TestAgent } from '../helpers/agents.js';
import type { InitJson } from '../helpers/cluster.js';

let dir: Awaited<ReturnType<typeof tmpDir>>;
let ca: { init: InitJson; stateDir: string; passphraseFile: string };
let caDaemon: Daemon | undefined;
let A: string, B: string, DEAD: string;
const agents: TestAgent[] = [];

before(async () => {
  dir = await tmpDir();
  ca = await initCa(dir.path, { nodeCertTtl: '20s' });
  [A, B, DEAD] = await Promise.all([freePort(), freePort(), freePort()]).then((ports) => ports.map((p) => `127.0.0.1:${p}`));
  caDaemon = (await serveCa(ca.stateDir, ca.passphraseFile, [], A)).daemon;
  const [p0, p1] = [await freePort(), await freePort()];
  agents.push(
    startAgent(dir.path, 'a0', { ca: `${DEAD},${A},${B}`, token: ca.init.tokens.worker, port: p0, peers: [p1] }),
    startAgent(dir.path, 'a1', { ca: B, token: ca.init.tokens.worker, port: p1, peers: [p0], extra: ['--ca', A] }),
  );
  await Promise.all(agents.map((a) => a.daemon.waitFor('peer.stream_up', { timeoutMs: 60_000 })));
  await Promise.all(agents.map((a) => a.daemon.waitFor('ca_watch.connected', { timeoutMs: 60_000 })));
});

after(async () => {
  await Promise.all(agents.map((a) => a.daemon.stop()));
  await caDaemon?.stop();
  await dir?.cleanup();
});

test('a dead address first: the agent joins through the next one and stays there', async () => {
  const [s0, s1] = await Promise.all(agents.map((a) => a.status()));
  assert.deepEqual([s0!.ca.address, s0!.ca.watchAddress, s0!.ca.addresses], [A, A, [DEAD, A, B]]);
  assert.ok(s0!.ca.failovers >= 1, 'DEAD was skipped');
  const moved = await agents[0]!.daemon.waitFor('ca.failover');
  assert.deepEqual([moved.from, moved.to, moved.operation], [DEAD, A, 'bundle']);
  assert.deepEqual([s1!.ca.address, s1!.ca.addresses], [A, [B, A]], 'a1 joined through its second address');
  const joined = await agents[0]!.daemon.waitFor('identity.joined');
  assert.equal(joined.ca, A);
});

test('the CA moves from A to B: watches reconnect to B, renewals continue through B, peer streams never break', async (t) => {
  const marks = agents.map((a) => a.daemon.events.length);
  assert.equal(await caDaemon!.stop(), 0);
  caDaemon = undefined;
  caDaemon = (await serveCa(ca.stateDir, ca.passphraseFile, [], B)).daemon;
  const servingAt = Date.parse(String((await caDaemon.waitFor('ca.listening')).time));
  const onB = (e: Record<string, unknown>) => e.ca === B;
  const watches = await Promise.all(agents.map((a, i) => a.daemon.waitFor('ca_watch.connected', { after: marks[i], where: onB, timeoutMs: 60_000 })));
  const renewals = await Promise.all(agents.map((a, i) => a.daemon.waitFor('identity.renewed', { after: marks[i], timeoutMs: 60_000 })));
  // Figures for the note: from B serving to each agent's watch on B (the renewal point is random in 50-80 %).
  const since = (e: Record<string, unknown>) => Date.parse(String(e.time)) - servingAt;
  t.diagnostic(`watch on B after ${watches.map(since).join(', ')} ms; renewed after ${renewals.map(since).join(', ')} ms`);
  for (const [i, a] of agents.entries()) {
    const s = await a.status();
    assert.deepEqual([s.ca.address, s.ca.watchAddress, s.caWatchConnected], [B, B, true], a.name);
    assert.ok(s.renewals >= 1, `${a.name} renewed`);
    assert.equal(s.peers[0]!.streamStarts, 1, `${a.name}: the heartbeat stream opened before the move is still the only one`);
    assert.equal(s.peers[0]!.streamErrors, 0, `${a.name}: no peer stream error`);
    const failovers = a.daemon.events.slice(marks[i]).filter((e) => e.event === 'ca.failover');
    assert.ok(failovers.some((e) => e.from === A), `${a.name} left A: ${JSON.stringify(failovers)}`);
  }
  const text = await runCli('agent', ['status', '--state-dir', agents[1]!.stateDir]);
  assert.match(text.stdout, new RegExp(`^ca +${B} \\(1 of ${B}, ${A}; \\d+ failovers\\)`, 'm'));
  assert.match(text.stdout, new RegExp(`^ca watch +connected to ${B}$`, 'm'));
});
