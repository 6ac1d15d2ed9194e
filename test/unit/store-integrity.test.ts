// The store's integrity records on a real LevelDB store: the head follows every write (puts, overwrites,
// deletes, prune) so a reopened store matches it; a healthy store reopens with the same head; the digest is
// independent of order; damage found by checkStoreCopy is STORE_CORRUPT and leaves the store unchanged;
// a legacy store (no integrity records) is adopted; mustExist refuses a missing store instead of creating one.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Level } from 'level';
import { HitlessError } from '../../shared/errors.js';
import { LevelStore, type NodeRecord, type CertRecord } from '../../ca/store.js';
import { SetDigest, recordHash, HEAD_FILE } from '../../ca/store-integrity.js';

const base = await mkdtemp(join(tmpdir(), 'hl-unit-'));
after(() => rm(base, { recursive: true, force: true }));

const node = (id: string, serial: string, extra: Partial<NodeRecord> = {}): NodeRecord => ({
  nodeId: id, role: 'worker', joinedAt: '2026-01-01T00:00:00.000Z', serial, issuedAt: '2026-01-01T00:00:00.000Z',
  notAfter: '2026-01-01T06:00:00.000Z', issuerRoot: 'r', lastSeen: '2026-01-01T00:00:00.000Z', ...extra,
});
const cert = (serial: string, id: string, notAfter = '2026-01-01T06:00:00.000Z'): CertRecord => ({
  serial, nodeId: id, issuedAt: '2026-01-01T00:00:00.000Z', notAfter, issuerRoot: 'r',
});

async function treeHash(path: string): Promise<string> {
  const h = createHash('sha256');
  for (const name of (await readdir(path)).sort()) {
    const st = await stat(join(path, name));
    h.update(`${name}\0${st.mode}\0`).update(await readFile(join(path, name)));
  }
  return h.digest('hex');
}

function corrupt(re: RegExp) {
  return (err: unknown) => {
    assert.ok(err instanceof HitlessError, String(err));
    assert.equal(err.code, 'STORE_CORRUPT');
    assert.match(err.message, re);
    assert.match(err.hint ?? '', /restore .* from a backup/);
    return true;
  };
}

/** A store with a few records of every kind, closed. */
async function filledStore(name: string): Promise<string> {
  const path = join(base, name);
  const store = await LevelStore.open(path);
  await store.putJoinSecrets({ worker: 'w', manager: 'm' });
  for (const id of ['a', 'b', 'c']) await store.recordIssued(node(id, `1${id}`), cert(`1${id}`, id));
  await store.putNode(node('a', '1a', { removedAt: '2026-01-01T01:00:00.000Z' }));
  await store.putMetaBatch({ x: { v: 1 }, y: { v: 2 } });
  await store.putMetaBatch({ x: undefined });
  await store.prune(new Date('2026-01-02T00:00:00.000Z')); // drops a's tombstone and every certificate
  await store.recordIssued(node('d', '1d'), cert('1d', 'd', '2027-01-01T00:00:00.000Z'));
  await store.close();
  return path;
}

test('the digest is a set digest: order does not matter, removal undoes addition', () => {
  const [x, y, z] = ['x', 'y', 'z'].map((k) => recordHash('nodes', k, '{}'));
  const a = new SetDigest();
  [x, y, z].forEach((h) => a.add(h!));
  const b = new SetDigest();
  [z, x, y].forEach((h) => b.add(h!));
  assert.equal(a.hex(), b.hex());
  b.remove(z!);
  const c = new SetDigest();
  [x, y].forEach((h) => c.add(h!));
  assert.deepEqual([b.hex(), b.count], [c.hex(), c.count]);
  assert.notEqual(recordHash('nodes', 'k', '1').toString('hex'), recordHash('certs', 'k', '1').toString('hex'));
});

test('the head follows puts, overwrites, deletes and prune: the store reopens (mustExist) with the same head', async () => {
  const path = await filledStore('follows');
  const store = await LevelStore.open(path, { mustExist: true });
  try {
    assert.deepEqual((await store.listNodes()).map((n) => n.nodeId), ['b', 'c', 'd']);
    assert.equal(store.head.count, 3 + 1 + 1 + 1, 'three nodes, one certificate, tokens and y');
    const file = JSON.parse(await readFile(join(path, HEAD_FILE), 'utf8')) as { seq: number; digest: string };
    assert.deepEqual([file.seq, file.digest], [store.head.seq, store.head.digest]);
  } finally {
    await store.close();
  }
});

test('mustExist: a missing store is STORE_CORRUPT, and nothing is created', async () => {
  const path = join(base, 'missing');
  await assert.rejects(LevelStore.open(path, { mustExist: true }), corrupt(/the directory itself is missing/));
  await assert.rejects(stat(path));
});

test('damage is STORE_CORRUPT and the store is left byte-for-byte unchanged', async (t) => {
  const cases: [string, (path: string) => Promise<void>, RegExp][] = [
    ['CURRENT deleted', (p) => unlink(join(p, 'CURRENT')), /CURRENT is missing/],
    ['head file deleted', (p) => unlink(join(p, HEAD_FILE)), /hitless-head.json is missing/],
    ['head file garbage', (p) => writeFile(join(p, HEAD_FILE), 'garbage'), /hitless-head.json is unreadable/],
    ['head file ahead', async (p) => {
      const h = JSON.parse(await readFile(join(p, HEAD_FILE), 'utf8')) as { seq: number };
      await writeFile(join(p, HEAD_FILE), JSON.stringify({ ...h, seq: h.seq + 2 }));
    }, /the last 2 commit\(s\) are lost/],
    ['a record deleted behind its back', async (p) => {
      const db = new Level(p, { createIfMissing: false });
      await db.sublevel('nodes').del('b');
      await db.close();
    }, /1 record\(s\) missing/],
    ['an undecodable certificate record', async (p) => {
      const db = new Level<string, string>(p, { createIfMissing: false });
      await db.sublevel<string, string>('certs', { valueEncoding: 'utf8' }).put('1d', '\u0000\u00ff not json');
      await db.close();
    }, /record certs\/"1d" does not decode as JSON: "\\x00\\xff not json"/],
    ['a node record of the wrong shape', async (p) => {
      const db = new Level<string, string>(p, { createIfMissing: false });
      await db.sublevel<string, string>('nodes', { valueEncoding: 'utf8' }).put('b', JSON.stringify({ nodeId: 'other' }));
      await db.close();
    }, /record nodes\/"b" not a node record/],
  ];
  for (const [name, damage, re] of cases) {
    await t.test(name, async () => {
      const path = await filledStore(`damaged-${name.replace(/\W+/g, '-')}`);
      await damage(path);
      const before = await treeHash(path);
      await assert.rejects(LevelStore.open(path, { mustExist: true }), corrupt(re));
      assert.equal(await treeHash(path), before);
      assert.deepEqual((await readdir(base)).filter((f) => f.startsWith('.store-check-')), [], 'the copy is removed');
    });
  }
});

test('a store from before integrity records is adopted: its head is written once, then checked like any other', async () => {
  const path = join(base, 'legacy');
  const db = new Level<string, unknown>(path, { valueEncoding: 'json' });
  await db.sublevel<string, unknown>('meta', { valueEncoding: 'json' }).put('tokens', { worker: 'w', manager: 'm' });
  await db.sublevel<string, unknown>('nodes', { valueEncoding: 'json' }).put('a', node('a', '1a'));
  await db.close();
  const store = await LevelStore.open(path, { mustExist: true });
  assert.equal(store.head.count, 2);
  assert.deepEqual(await store.getJoinSecrets(), { worker: 'w', manager: 'm' });
  await store.close();
  await unlink(join(path, HEAD_FILE));
  await assert.rejects(LevelStore.open(path, { mustExist: true }), corrupt(/hitless-head.json is missing/));
});

test('copies left by a check that was killed are removed; a running check\'s copy is left alone', async () => {
  const path = await filledStore('stale-copies');
  const dead = join(base, '.store-check-999999999-dead');
  const running = join(base, `.store-check-${process.ppid}-live`);
  await mkdir(dead);
  await mkdir(running);
  const store = await LevelStore.open(path, { mustExist: true });
  await store.close();
  await assert.rejects(stat(dead), 'the dead check\'s copy is gone');
  assert.ok((await stat(running)).isDirectory(), 'a live process\'s copy stays');
  await rm(running, { recursive: true });
});
