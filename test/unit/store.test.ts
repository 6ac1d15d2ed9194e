// Proves the CA store records, lists, persists and prunes node and certificate records, and refuses a second open of one path.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { HitlessError } from '../../shared/errors.js';
import { LevelStore, type CertRecord, type NodeRecord } from '../../ca/store.js';

const T0 = Date.parse('2030-01-01T00:00:00.000Z');
const iso = (deltaMs: number) => new Date(T0 + deltaMs).toISOString();
const H = 3_600_000;

function node(nodeId: string, serial: string, notAfterMs: number, extra: Partial<NodeRecord> = {}): NodeRecord {
  return {
    nodeId,
    role: 'worker',
    joinedAt: iso(0),
    serial,
    issuedAt: iso(0),
    notAfter: iso(notAfterMs),
    issuerRoot: 'ab'.repeat(32),
    lastSeen: iso(0),
    ...extra,
  };
}

function cert(serial: string, nodeId: string, notAfterMs: number): CertRecord {
  return { serial, nodeId, issuedAt: iso(0), notAfter: iso(notAfterMs), issuerRoot: 'ab'.repeat(32) };
}

let dir: string;
const open: LevelStore[] = [];

async function openStore(name: string): Promise<LevelStore> {
  const store = await LevelStore.open(join(dir, name));
  open.push(store);
  return store;
}

async function closeStore(store: LevelStore): Promise<void> {
  open.splice(open.indexOf(store), 1);
  await store.close();
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hl-unit-'));
});

after(async () => {
  for (const s of open.splice(0)) await s.close();
  await rm(dir, { recursive: true, force: true });
});

test('recordIssued stores the node and the certificate together', async () => {
  const store = await openStore('issued');
  assert.equal(await store.getNode('n1'), undefined);
  assert.equal(await store.getCert('01'), undefined);
  const n = node('n1', '01', H);
  const c = cert('01', 'n1', H);
  await store.recordIssued(n, c);
  assert.deepEqual(await store.getNode('n1'), n);
  assert.deepEqual(await store.getCert('01'), c);

  // A renewal replaces the node record and adds a certificate; the old certificate stays.
  const renewed = node('n1', '02', 2 * H, { issuedAt: iso(H / 2) });
  await store.recordIssued(renewed, cert('02', 'n1', 2 * H));
  assert.deepEqual(await store.getNode('n1'), renewed);
  assert.deepEqual(await store.getCert('01'), c);
  assert.equal((await store.getCert('02'))?.nodeId, 'n1');
});

test('listNodes returns every node record, tombstones included', async () => {
  const store = await openStore('list');
  assert.deepEqual(await store.listNodes(), []);
  await store.recordIssued(node('a', '0a', H), cert('0a', 'a', H));
  await store.recordIssued(node('b', '0b', H, { role: 'manager' }), cert('0b', 'b', H));
  await store.putNode(node('c', '0c', H, { removedAt: iso(1) }));
  const listed = await store.listNodes();
  assert.deepEqual(listed.map((n) => [n.nodeId, n.role, n.removedAt]).sort(), [
    ['a', 'worker', undefined],
    ['b', 'manager', undefined],
    ['c', 'worker', iso(1)],
  ]);
});

test('putNode overwrites a node record without touching certificates', async () => {
  const store = await openStore('putnode');
  await store.recordIssued(node('n', '0f', H), cert('0f', 'n', H));
  await store.putNode(node('n', '0f', H, { role: 'manager', removedAt: iso(5) }));
  assert.equal((await store.getNode('n'))?.role, 'manager');
  assert.equal((await store.getNode('n'))?.removedAt, iso(5));
  assert.equal((await store.getCert('0f'))?.nodeId, 'n');
});

test('join secrets and meta values round-trip', async () => {
  const store = await openStore('secrets');
  assert.equal(await store.getJoinSecrets(), undefined);
  await store.putJoinSecrets({ worker: 'w'.repeat(25), manager: 'm'.repeat(25) });
  assert.deepEqual(await store.getJoinSecrets(), { worker: 'w'.repeat(25), manager: 'm'.repeat(25) });
  await store.putJoinSecrets({ worker: 'x'.repeat(25), manager: 'm'.repeat(25) });
  assert.deepEqual(await store.getJoinSecrets(), { worker: 'x'.repeat(25), manager: 'm'.repeat(25) });
  await store.putMeta('k', { a: 1 });
  assert.deepEqual(await store.getMeta('k'), { a: 1 });
  assert.equal(await store.getMeta('missing'), undefined);
});

test('records survive close and reopen', async () => {
  const store = await openStore('persist');
  await store.recordIssued(node('p', '0e', H), cert('0e', 'p', H));
  await store.putJoinSecrets({ worker: 'w', manager: 'm' });
  await closeStore(store);
  const again = await openStore('persist');
  assert.equal((await again.getNode('p'))?.serial, '0e');
  assert.equal((await again.getCert('0e'))?.nodeId, 'p');
  assert.deepEqual(await again.getJoinSecrets(), { worker: 'w', manager: 'm' });
});

test('prune drops expired certificates and expired tombstones, never live nodes', async () => {
  const store = await openStore('prune');
  // live node whose newest certificate has long expired (offline): kept
  await store.recordIssued(node('live-old', '11', H), cert('11', 'live-old', H));
  // live node, current: kept, and its certificate too
  await store.recordIssued(node('live', '12', 10 * H), cert('12', 'live', 10 * H));
  // removed node whose certificates have expired: tombstone dropped
  await store.recordIssued(node('gone', '13', H), cert('13', 'gone', H));
  await store.putNode(node('gone', '13', H, { removedAt: iso(H / 2) }));
  // removed node whose certificate is still valid: tombstone kept, so its serial stays denied
  await store.recordIssued(node('removed-recent', '14', 10 * H), cert('14', 'removed-recent', 10 * H));
  await store.putNode(node('removed-recent', '14', 10 * H, { removedAt: iso(H) }));
  // an older certificate of the live node: dropped
  await store.recordIssued(node('live', '12', 10 * H), cert('10', 'live', H));

  const cutoff = new Date(T0 + 5 * H);
  assert.deepEqual(await store.prune(cutoff), { certs: 3, nodes: 1 });

  assert.ok(await store.getNode('live-old'));
  assert.ok(await store.getNode('live'));
  assert.equal(await store.getNode('gone'), undefined);
  assert.ok(await store.getNode('removed-recent'));
  for (const serial of ['10', '11', '13']) assert.equal(await store.getCert(serial), undefined, serial);
  for (const serial of ['12', '14']) assert.ok(await store.getCert(serial), serial);

  assert.deepEqual(await store.prune(cutoff), { certs: 0, nodes: 0 }, 'prune is idempotent');
});

test('prune keeps records that expire exactly at the cutoff', async () => {
  const store = await openStore('prune-edge');
  await store.recordIssued(node('e', '21', H), cert('21', 'e', H));
  await store.putNode(node('e', '21', H, { removedAt: iso(0) }));
  assert.deepEqual(await store.prune(new Date(T0 + H)), { certs: 0, nodes: 0 });
  assert.deepEqual(await store.prune(new Date(T0 + H + 1)), { certs: 1, nodes: 1 });
});

test('a second open of the same path in this process is STORE_LOCKED; the first handle keeps working', async () => {
  const first = await openStore('locked');
  await first.putJoinSecrets({ worker: 'w', manager: 'm' });
  await assert.rejects(LevelStore.open(join(dir, 'locked')), (err: unknown) => {
    assert.ok(err instanceof HitlessError, `not a HitlessError: ${String(err)}`);
    assert.equal(err.code, 'STORE_LOCKED');
    return true;
  });
  assert.deepEqual(await first.getJoinSecrets(), { worker: 'w', manager: 'm' });
  await first.recordIssued(node('after', '31', H), cert('31', 'after', H));
  assert.ok(await first.getNode('after'));
  // Once closed, the path can be opened again.
  await closeStore(first);
  const reopened = await openStore('locked');
  assert.ok(await reopened.getNode('after'));
});

test('the same directory spelled differently (trailing slash, relative path) is still STORE_LOCKED', async () => {
  // LevelDB's in-process lock table is keyed by the path string, and POSIX file locks never conflict within
  // one process: a second handle under another spelling would open, and closing it would drop the lock.
  const first = await openStore('spelled');
  const path = join(dir, 'spelled');
  for (const other of [path + '/', join(path, '.'), relative(process.cwd(), path)]) {
    await assert.rejects(LevelStore.open(other), (err: unknown) => err instanceof HitlessError && err.code === 'STORE_LOCKED', other);
  }
  await first.putJoinSecrets({ worker: 'w', manager: 'm' });
  assert.deepEqual(await first.getJoinSecrets(), { worker: 'w', manager: 'm' });
});

test('concurrent writes are grouped into few synced batches, each caller resolving once its record is durable', async () => {
  const path = join(dir, 'group-commit');
  const store = await LevelStore.open(path);
  const n = 300;
  await Promise.all(Array.from({ length: n }, (_, i) => store.recordIssued(node(`g${i}`, `s${i}`, H), cert(`s${i}`, `g${i}`, H))));
  // Same node written twice in one group: the later write wins, as in call order.
  await Promise.all([store.putNode(node('g0', 'first', H)), store.putNode(node('g0', 'second', H))]);
  assert.equal(store.commitStats.writes, n + 2);
  assert.ok(store.commitStats.batches < n / 2, `${store.commitStats.batches} synced batches for ${n + 2} writes`);
  await store.close();
  const reopened = await LevelStore.open(path);
  try {
    assert.equal((await reopened.listNodes()).length, n);
    for (let i = 0; i < n; i += 37) assert.equal((await reopened.getCert(`s${i}`))?.nodeId, `g${i}`);
    assert.equal((await reopened.getNode('g0'))?.serial, 'second');
  } finally {
    await reopened.close();
  }
});

test('node reads come from memory yet match the disk: sorted by id, reloaded on open, pruned tombstones gone', async () => {
  const store = await openStore('cache');
  for (const id of ['m', 'c', 'x', 'a']) await store.recordIssued(node(id, `0${id}`, H), cert(`0${id}`, id, H));
  await store.putNode(node('c', '0c', H, { removedAt: iso(1) }));
  assert.deepEqual((await store.listNodes()).map((n) => n.nodeId), ['a', 'c', 'm', 'x']);
  await store.prune(new Date(T0 + 2 * H));
  assert.equal(await store.getNode('c'), undefined, 'an expired tombstone is pruned from memory too');
  await closeStore(store);
  const again = await openStore('cache');
  assert.deepEqual((await again.listNodes()).map((n) => [n.nodeId, n.serial]), [['a', '0a'], ['m', '0m'], ['x', '0x']]);
});

test('a write that fails to become durable is not visible to readers', async () => {
  const store = await openStore('failed-write');
  await store.recordIssued(node('n', '01', H), cert('01', 'n', H));
  await closeStore(store); // the next batch cannot be written
  await assert.rejects(store.putNode(node('n', '01', H, { role: 'manager' })));
  assert.equal((await store.getNode('n'))?.role, 'worker');
});
