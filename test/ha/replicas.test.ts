// CA replicas on etcd (issue 10): a real 3-member etcd cluster and 3 `ca serve --etcd` replicas. One cluster is
// served by all of them (join on one, renew on another, admin on a third), one replica leads, a removal on one
// replica is never overwritten by a renewal on another, one key backs one live node even when two replicas are
// asked at the same instant, and when the leader replica and an etcd member are
// SIGKILLed the others keep issuing and a new leader takes over.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { etcdMissing } from '../helpers/etcd.js';
import { startHaCa, type HaCa } from '../helpers/ha.js';
import { fetchRoots, joinNode, renewNode, type TestNode } from '../helpers/node-identity.js';
import { runCli, runJson } from '../helpers/proc.js';
import { CaClient, staticConnection } from '../../agent/ca-client.js';
import { generateKeyPairPem } from '../../shared/pki/keys.js';
import { createCsrDer } from '../../shared/pki/csr.js';
import { tmpDir } from '../helpers/tmp.js';

const skip = etcdMissing();
let dir: Awaited<ReturnType<typeof tmpDir>>;
let ha: HaCa;

before(async () => {
  if (skip) return;
  dir = await tmpDir();
  ha = await startHaCa(dir.path, { etcdMembers: 3, replicas: 3 });
});
after(async () => {
  if (skip) return;
  await ha?.stop();
  await dir?.cleanup();
});

const errCode = (err: unknown) => (err as { code?: string }).code;

test('replicas on etcd: one cluster served by every replica, one leader, failover of a replica and an etcd member', { skip }, async () => {
  const [r0, r1, r2] = ha.replicas as [typeof ha.replicas[0], typeof ha.replicas[0], typeof ha.replicas[0]];
  const roots = await fetchRoots(r0.address);
  assert.deepEqual(await fetchRoots(r2.address), roots, 'every replica serves the same root');

  // Join on r0, renew on r1, renew again on r2: one shared record of the node.
  let node: TestNode = await joinNode(r0.address, ha.init.tokens.worker, roots);
  const nodeId = node.cert.node_id;
  node = await renewNode(r1.address, node, roots);
  node = await renewNode(r2.address, node, roots);
  const listed = await runJson<{ node_id: string; serial: string }[]>('ca', ['nodes', '--json', '--state-dir', r0.stateDir]);
  const rec = listed.find((n) => n.node_id === nodeId);
  assert.equal(rec?.serial, node.cert.serial, 'admin on r0 sees the serial r2 issued');

  // One key backs one live node across replicas: a key joined on r0 is refused on r1 once r1 holds the node.
  const key = generateKeyPairPem().privateKeyPem;
  const csr = await createCsrDer(key);
  const first = new CaClient(r0.address, staticConnection(roots));
  const keyed = await first.issue(ha.init.tokens.worker, csr).finally(() => first.close());
  for (const deadline = Date.now() + 20_000; ; ) {
    const seen = await runJson<{ node_id: string }[]>('ca', ['nodes', '--json', '--state-dir', r1.stateDir]);
    if (seen.some((n) => n.node_id === keyed.node_id)) break;
    assert.ok(Date.now() < deadline, 'r1 lists the node joined on r0 within 20 s');
  }
  const second = new CaClient(r1.address, staticConnection(roots));
  await assert.rejects(second.issue(ha.init.tokens.worker, csr).finally(() => second.close()), (err: unknown) => errCode(err) === 'ALREADY_EXISTS');

  // ... and two joins with one fresh key on two replicas at the same instant (neither has seen the other's
  // write: the watch cannot decide it): etcd's comparison on the key's claim lets exactly one commit.
  for (let round = 0; round < 3; round++) {
    const raceCsr = await createCsrDer(generateKeyPairPem().privateKeyPem);
    const clients = [r0, r1].map((r) => new CaClient(r.address, staticConnection(roots)));
    const results = await Promise.allSettled(clients.map((c) => c.issue(ha.init.tokens.worker, raceCsr).finally(() => c.close())));
    assert.deepEqual(results.map((r) => r.status).sort(), ['fulfilled', 'rejected'], `round ${round}: exactly one of two simultaneous joins with one key succeeds`);
    const refused = (results.find((r) => r.status === 'rejected') as PromiseRejectedResult).reason;
    assert.equal(errCode(refused), 'ALREADY_EXISTS', String(refused));
    assert.match(String((refused as Error).message), /already backs/);
  }

  // Exactly one leader.
  const leader = await ha.leader();

  // Each replica needs its own state dir: a second one on r1's is refused before it touches anything.
  const clash = await runCli('ca', ['serve', '--etcd', ha.etcd.endpoints.join(','), '--etcd-prefix', '/hitless-test/', '--state-dir', r1.stateDir, '--passphrase-file', ha.passphraseFile, '--listen', '127.0.0.1:0']);
  assert.equal(clash.code, 1, clash.stderr);
  assert.match(clash.stderr, /another 'ca serve' is running with --state-dir/);
  assert.match(clash.stderr, /hint: give each replica its own --state-dir/);

  // A removal on one replica wins over a renewal on another: the renewal is refused (NODE_REMOVED, or ABORTED
  // if it decided on the record just before the removal reached it), never re-activating the node.
  const victim = await joinNode(r1.address, ha.init.tokens.worker, roots);
  const removed = await runCli('ca', ['remove-node', victim.cert.node_id, '--state-dir', r2.stateDir]);
  assert.equal(removed.code, 0, removed.stderr);
  await assert.rejects(renewNode(r0.address, victim, roots), (err: unknown) => ['NODE_REMOVED', 'STORE_CONFLICT'].includes(errCode(err)!));
  const after = await runJson<{ node_id: string }[]>('ca', ['nodes', '--json', '--state-dir', r1.stateDir]);
  assert.ok(!after.some((n) => n.node_id === victim.cert.node_id), 'the removed node stays removed');

  // SIGKILL the leader replica and one etcd member: the other replicas keep issuing, one of them leads.
  const lostAt = Date.now();
  await leader.daemon.stop('SIGKILL');
  await ha.etcd.members[0]!.kill('SIGKILL');
  const others = ha.replicas.filter((r) => r !== leader);
  for (const r of others) node = await renewNode(r.address, node, roots);
  const next = await ha.leader(30_000);
  assert.notEqual(next, leader);
  const tookOverMs = Date.now() - lostAt;
  process.stdout.write(`# leader replica + etcd member SIGKILLed: renewals on the 2 other replicas succeeded; new leader ${next.name} after ${tookOverMs} ms (lease 2s)\n`);
});
