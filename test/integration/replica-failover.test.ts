// CA replicas in `npm test` (the short version of test/ha/): one real etcd member, two `ca serve --etcd`
// replicas, two agents with `--ca LEADER,OTHER` in a heartbeat pair on 20 s certificates. The leader replica,
// the one both agents use, is SIGKILLed. Proven:
//  - the other replica is elected leader (lease 2 s);
//  - every agent renews again, through the survivor (the only live CA): the survivor finds the node and the
//    certificate the dead replica wrote, from etcd — the cluster state is shared, not per replica;
//  - every agent's CA watch reconnects to the survivor and its status names it;
//  - the peer streams opened at the start are the same streams, with 0 errors; no certificate expired.
// What this does not cover (the long runs, `npm run test:ha`): a 3-member etcd losing a member, a root rotation
// finishing on a new leader, evidence across replicas, two replicas racing for one key.
// Overlap: test/integration/ca-failover.test.ts moves agents between addresses of one embedded CA (restarted
// elsewhere); test/integration/store-contract-etcd.test.ts proves the etcd store alone. Neither runs replicas.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { etcdMissing } from '../helpers/etcd.js';
import { startHaCa, type HaCa, type Replica } from '../helpers/ha.js';
import { startAgent, type TestAgent } from '../helpers/agents.js';
import { freePort } from '../helpers/proc.js';
import { tmpDir } from '../helpers/tmp.js';

const skip = etcdMissing();
let dir: Awaited<ReturnType<typeof tmpDir>>;
let ha: HaCa;
let leader: Replica;
let other: Replica;
const pair: TestAgent[] = [];

before(async () => {
  if (skip) return;
  dir = await tmpDir();
  ha = await startHaCa(dir.path, { etcdMembers: 1, replicas: 2, nodeCertTtl: '20s' });
  leader = await ha.leader();
  other = ha.replicas.find((r) => r !== leader)!;
  // The leader first: both agents join and watch through the replica that is killed.
  const cas = `${leader.address},${other.address}`;
  const ports = [await freePort(), await freePort()];
  for (const [i, port] of ports.entries()) {
    pair.push(startAgent(dir.path, `a${i}`, { ca: cas, token: ha.init.tokens.worker, port, peers: [ports[1 - i]!] }));
  }
  await Promise.all(pair.map((a) => a.daemon.waitFor('peer.stream_up', { timeoutMs: 60_000 })));
});

after(async () => {
  if (skip) return;
  await Promise.all(pair.map((a) => a.daemon.stop().catch(() => {})));
  await ha?.stop();
  await dir?.cleanup();
});

test('SIGKILL of the leader replica: the other leads, agents renew and watch through it, peer streams unbroken', { skip }, async (t) => {
  for (const a of pair) assert.equal((await a.status()).ca.address, leader.address, `${a.name} starts on the leader`);
  const marks = pair.map((a) => a.daemon.events.length);
  const survivorMark = other.daemon.events.length;
  const killedAt = Date.now();
  await leader.daemon.stop('SIGKILL');

  assert.equal(await ha.leader(), other, 'the surviving replica leads');
  const renewed = await Promise.all(pair.map((a, i) => a.daemon.waitFor('identity.renewed', { after: marks[i], timeoutMs: 45_000 })));
  // The survivor issued each of those certificates (a renewal of a node the dead replica registered).
  for (const e of renewed) await other.daemon.waitFor('node.renewed', { after: survivorMark, where: (r) => r.serial === e.serial });
  await Promise.all(pair.map((a, i) => a.daemon.waitFor('ca_watch.connected', { after: marks[i], where: (e) => e.ca === other.address, timeoutMs: 30_000 })));

  for (const [i, a] of pair.entries()) {
    const expired = a.daemon.events.filter((e) => e.event === 'identity.expired' || e.event === 'identity.expired_rejoining');
    assert.equal(expired.length, 0, `${a.name}: no certificate expired`);
    const s = await a.status();
    assert.equal(s.ca.address, other.address, `${a.name} now uses the survivor`);
    assert.equal(s.ca.watchAddress, other.address, `${a.name}'s CA watch is on the survivor`);
    const [p] = s.peers;
    assert.ok(p, `${a.name} has a peer`);
    assert.equal(p.streamStarts, 1, `${a.name} → ${p.address}: stream starts`);
    assert.equal(p.streamErrors, 0, `${a.name} → ${p.address}: stream errors (${p.lastError ?? ''})`);
    assert.equal(p.heartbeatsLost, 0, `${a.name} → ${p.address}: heartbeats lost`);
    t.diagnostic(`${a.name}: renewed through ${other.name} ${Date.parse(String(renewed[i]!.time)) - killedAt} ms after the SIGKILL of ${leader.name}`);
  }
});
