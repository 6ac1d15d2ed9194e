// The store contract (test/helpers/store-contract.ts) on the etcd backend, against one real etcd member this
// file starts (each case under its own key prefix), plus what only a shared store must do: replicas see each
// other's writes, lose races cleanly, keep per-node data bounded, and refuse to write without etcd.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { EtcdStore, type StoreChange } from '../../ca/store/etcd.js';
import type { CaStore } from '../../ca/store/records.js';
import { HitlessError } from '../../shared/errors.js';
import { cert, node, storeContract } from '../helpers/store-contract.js';
import { etcdMissing, startEtcd, type EtcdCluster } from '../helpers/etcd.js';
import { tmpDir } from '../helpers/tmp.js';

const skip = etcdMissing();
let dir: Awaited<ReturnType<typeof tmpDir>>;
let etcd: EtcdCluster;
let n = 0;

before(async () => {
  if (skip) return;
  dir = await tmpDir();
  etcd = await startEtcd(dir.path, 1);
});
after(async () => {
  if (skip) return;
  await etcd?.stop();
  await dir.cleanup();
});

const open = (prefix: string) => EtcdStore.open({ endpoints: etcd.endpoints, prefix });

if (skip) {
  test('etcd store contract', { skip }, () => {});
} else {
  storeContract('etcd', {
    fresh: () => open(`/t${n++}/`),
    reopen: async (s: CaStore) => {
      const prefix = (s as EtcdStore).prefix;
      await s.close();
      return open(prefix);
    },
  });
}

/** Resolves when `store` reports a change matching `match` (a watch event), or rejects after the deadline. */
function changed(store: EtcdStore, match: (c: StoreChange) => boolean, timeoutMs = 10_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      stop();
      reject(new Error('no matching change within the deadline'));
    }, timeoutMs);
    const stop = store.subscribe((c) => {
      if (!match(c)) return;
      clearTimeout(timer);
      stop();
      resolve();
    });
  });
}

test('etcd: two replicas see each other’s writes through the watch, and a write decided on a stale record loses', { skip }, async () => {
  const a = await open('/replicas/');
  const b = await open('/replicas/');
  try {
    const n1 = node('n1');
    const seen = changed(b, (c) => c.kind === 'nodes' && c.id === 'n1');
    await a.recordIssued(n1, cert(n1), { expectNode: null });
    await seen;
    assert.deepEqual(await b.getNode('n1'), n1);
    assert.equal((await b.getCert(n1.serial))?.nodeId, 'n1');
    // b decides on n1; a renews it first. b's write is refused by etcd (or by b itself once its watch caught up).
    const renewed = node('n1', { serial: 'n1-s2' });
    await a.recordIssued(renewed, cert(renewed), { expectNode: n1 });
    await assert.rejects(b.putNode({ ...n1, removedAt: 'now' }, n1), (err: unknown) => err instanceof HitlessError && err.code === 'STORE_CONFLICT');
    // After a conflict the loser holds the winner's record, so its retry decides on the current one.
    assert.equal((await b.getNode('n1'))?.serial, 'n1-s2');
    await b.putNode({ ...renewed, removedAt: 'now' }, renewed);
    assert.equal((await b.getNode('n1'))?.removedAt, 'now');
  } finally {
    await a.close();
    await b.close();
  }
});

test('etcd: per-node data stays bounded (newest and previous certificate only) and is measured', { skip }, async (t) => {
  const s = await open('/size/');
  try {
    const nodes = 200;
    const renewals = 5;
    for (let i = 0; i < nodes; i++) {
      // Realistic sizes: 32-hex-char ids and serials, 64-hex-char fingerprints, ISO dates.
      const id = i.toString(16).padStart(32, '0');
      // Every join and renewal with a fresh key (as the agent does): the node's key claim moves each time.
      const spki = (r: number) => 'cd' + (i * 16 + r).toString(16).padStart(62, '0');
      let prev = node(id, { serial: `${'5'.repeat(30)}${i.toString(16).padStart(8, '0')}00`, issuerRoot: 'ab'.repeat(32), spkiSha256: spki(0) });
      await s.recordIssued(prev, cert(prev), { expectNode: null });
      for (let r = 1; r <= renewals; r++) {
        const next = { ...prev, serial: prev.serial.slice(0, -2) + r.toString(16).padStart(2, '0'), fallbackSerial: prev.serial, bundleVersion: 1, spkiSha256: spki(r) };
        await s.recordIssued(next, cert(next), { expectNode: prev });
        prev = next;
      }
    }
    const res = await s.client.getAll().prefix('/size/').exec();
    const keys = res.kvs.length;
    const bytes = res.kvs.reduce((sum, kv) => sum + kv.key.length + kv.value.length, 0);
    assert.equal(keys, nodes * 3, 'one node record, one certificate pair and one key claim per node, however many renewals');
    const first = '5'.repeat(30) + '0'.repeat(8);
    assert.equal(await s.getCert(first + '00'), undefined, 'a superseded certificate two renewals back is gone');
    assert.ok(await s.getCert(first + '04'), 'the previous certificate is kept');
    const perNode = bytes / nodes;
    t.diagnostic(`etcd live data: ${perNode.toFixed(0)} bytes/node (keys+values, ${keys / nodes} keys/node); 100,000 nodes ≈ ${((perNode * 100_000) / 1e6).toFixed(1)} MB of live data`);
  } finally {
    await s.close();
  }
});

test('etcd: without etcd the store refuses to write (STORE_UNAVAILABLE), keeps answering reads from memory', { skip }, async () => {
  const d = await tmpDir();
  const lone = await startEtcd(d.path, 1);
  const s = await EtcdStore.open({ endpoints: lone.endpoints, prefix: '/down/', requestTimeoutMs: 1_000 });
  try {
    const n1 = node('n1');
    await s.recordIssued(n1, cert(n1), { expectNode: null });
    await lone.members[0]!.kill('SIGKILL');
    await assert.rejects(s.putNode({ ...n1, lastSeen: 'later' }, n1), (err: unknown) => {
      assert.ok(err instanceof HitlessError && err.code === 'STORE_UNAVAILABLE', String(err));
      assert.match(err.message, /etcd store is unavailable/);
      assert.match(err.hint ?? '', /quorum/);
      return true;
    });
    assert.deepEqual(await s.getNode('n1'), n1, 'reads answer from memory');
  } finally {
    await s.close();
    await lone.stop();
    await d.cleanup();
  }
});

test('etcd: compacting history keeps the store working: watches go on, a new replica loads', { skip }, async () => {
  const a = await open('/compact/');
  const b = await open('/compact/');
  try {
    for (let i = 0; i < 5; i++) await a.putNode(node(`n${i}`));
    await a.compact(a.revision);
    const seen = changed(b, (c) => c.id === 'late');
    await a.putNode(node('late'));
    await seen;
    const c = await open('/compact/');
    assert.equal((await c.listNodes()).length, 6);
    await c.close();
  } finally {
    await a.close();
    await b.close();
  }
});

test('etcd: concurrent writes share transactions (group commit), and a loser inside a group is refused alone', { skip }, async () => {
  const s = await open('/group/');
  try {
    const stale = node('x');
    await s.recordIssued(stale, cert(stale), { expectNode: null });
    await s.putNode({ ...stale, lastSeen: 'moved' }); // the record "x" was decided on is gone
    const before = { ...s.commitStats };
    const writes = Array.from({ length: 60 }, (_, i) => node(`g${i}`));
    const results = await Promise.allSettled([
      ...writes.map((n) => s.recordIssued(n, cert(n), { expectNode: null })),
      // Decided on the current record, then raced by another replica: fails etcd's comparison inside a group.
      (async () => {
        const current = (await s.getNode('x'))!;
        await s.client.put('/group/nodes/x').value(JSON.stringify({ ...current, lastSeen: 'other replica' }));
        return s.putNode({ ...current, lastSeen: 'mine' }, current);
      })(),
    ]);
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 60, 'every independent write landed');
    const lost = results.at(-1) as PromiseRejectedResult;
    assert.equal((lost.reason as HitlessError).code, 'STORE_CONFLICT');
    assert.equal((await s.listNodes()).length, 61);
    const txns = s.commitStats.txns - before.txns;
    assert.ok(txns < 40, `${s.commitStats.writes - before.writes} writes in ${txns} transactions`);
  } finally {
    await s.close();
  }
});

test('etcd: a join token or operator record of the wrong shape fails the open closed (STORE_CORRUPT naming the key)', { skip }, async () => {
  const s = await open('/shape/');
  try {
    for (const [key, value, what] of [
      ['tokens/abc', JSON.stringify({ id: 'abc', role: 'worker' }), /etcd record "tokens\/abc" is not a join token record/],
      ['operators/alice', JSON.stringify({ name: 'bob', serial: '01', notAfter: 'x' }), /etcd record "operators\/alice" is not an operator record/],
      ['tokens/x', 'not json', /etcd record "tokens\/x" is not JSON/],
    ] as const) {
      await s.client.put('/shape/' + key).value(value);
      await assert.rejects(open('/shape/'), (err: unknown) => {
        assert.ok(err instanceof HitlessError && err.code === 'STORE_CORRUPT', String(err));
        assert.match(err.message, what);
        assert.match(err.hint ?? '', /snapshot/);
        return true;
      });
      await s.client.delete().key('/shape/' + key);
    }
    const ok = await open('/shape/');
    await ok.close();
  } finally {
    await s.close();
  }
});

test('etcd: two replicas, two joins with one key at once: exactly one commits, the other is ALREADY_EXISTS and writes nothing', { skip }, async () => {
  const a = await open('/claims/');
  const b = await open('/claims/');
  try {
    for (let round = 0; round < 5; round++) {
      const key = `race-${round}`;
      const na = node(`a${round}`, { spkiSha256: key });
      const nb = node(`b${round}`, { spkiSha256: key });
      // Neither replica has seen the other's write when it decides: etcd's comparison on keys/<key> settles it.
      const results = await Promise.allSettled([a.recordIssued(na, cert(na), { expectNode: null }), b.recordIssued(nb, cert(nb), { expectNode: null })]);
      assert.deepEqual(results.map((r) => r.status).sort(), ['fulfilled', 'rejected'], `round ${round}`);
      const winner = results[0]!.status === 'fulfilled' ? na : nb;
      const loser = winner === na ? nb : na;
      const reason = (results.find((r) => r.status === 'rejected') as PromiseRejectedResult).reason as HitlessError;
      assert.equal(reason.code, 'ALREADY_EXISTS', String(reason));
      assert.match(reason.message, new RegExp(`already backs node ${winner.nodeId}`));
      const res = await a.client.get('/claims/nodes/' + loser.nodeId).exec();
      assert.equal(res.kvs.length, 0, 'the loser wrote nothing');
    }
  } finally {
    await a.close();
    await b.close();
  }
});
