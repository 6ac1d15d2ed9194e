// A replica without an etcd quorum cannot issue, and its gRPC health says so (ca/store-availability.ts): a real
// 3-member etcd, one `ca serve --etcd` replica, two members frozen with SIGSTOP (a hung VM or a partition: the
// members neither answer nor close their connections). The replica logs `store.unavailable` with a hint,
// health Check turns NOT_SERVING, renewals are refused at once as STORE_UNAVAILABLE (gRPC UNAVAILABLE: agents
// move to another replica); once the members run again, `store.available`,
// SERVING, and the same node renews.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { Health, checkHealth } from '../helpers/health-client.js';
import { etcdMissing, type EtcdMember } from '../helpers/etcd.js';
import { startHaCa, type HaCa } from '../helpers/ha.js';
import { fetchRoots, joinNode, renewNode } from '../helpers/node-identity.js';
import { tmpDir } from '../helpers/tmp.js';

const skip = etcdMissing();
let dir: Awaited<ReturnType<typeof tmpDir>>;
let ha: HaCa;
let frozen: EtcdMember[] = [];

before(async () => {
  if (skip) return;
  dir = await tmpDir();
  ha = await startHaCa(dir.path, { etcdMembers: 3, replicas: 1 });
});
after(async () => {
  if (skip) return;
  for (const m of frozen) m.child.kill('SIGCONT');
  await ha?.stop();
  await dir?.cleanup();
});

test('without an etcd quorum a replica says NOT_SERVING and refuses renewals as UNAVAILABLE; with it back, SERVING and renewing', { skip }, async () => {
  const r0 = ha.replicas[0]!;
  const roots = await fetchRoots(r0.address);
  let node = await joinNode(r0.address, ha.init.tokens.worker, roots);
  const health = new Health(r0.address, grpc.credentials.createSsl(Buffer.from(roots.join('\n'))), { 'grpc.ssl_target_name_override': 'hitless-ca' });
  const check = () => checkHealth(health, 'hitless.v1.NodeCaService');
  try {
    assert.equal(await check(), 'SERVING');

    const before = r0.daemon.events.length;
    frozen = [ha.etcd.members[1]!, ha.etcd.members[2]!];
    for (const m of frozen) m.child.kill('SIGSTOP');
    const down = await r0.daemon.waitFor('store.unavailable', { timeoutMs: 60_000, after: before });
    assert.match(String(down.hint), /quorum/);
    assert.equal(await check(), 'NOT_SERVING');
    await assert.rejects(renewNode(r0.address, node, roots), (err: unknown) => {
      // UNAVAILABLE on the wire, typed by the agent's client: at once, not after a deadline.
      assert.equal((err as { code?: unknown }).code, 'STORE_UNAVAILABLE', String(err));
      assert.match(String(err), /no quorum/);
      return true;
    });

    const downAt = r0.daemon.events.length;
    for (const m of frozen) m.child.kill('SIGCONT');
    frozen = [];
    await r0.daemon.waitFor('store.available', { timeoutMs: 60_000, after: downAt });
    assert.equal(await check(), 'SERVING');
    node = await renewNode(r0.address, node, roots);
    assert.ok(node.cert.serial);
  } finally {
    health.close();
  }
});
