// The one contract every CaStore backend passes (ca/store/records.ts): test/unit/store-contract-level.test.ts
// runs it on the embedded level store, test/integration/store-contract-etcd.test.ts on a real etcd member.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HitlessError } from '../../shared/errors.js';
import type { CaStore, CertRecord, JoinTokenRecord, NodeRecord, OperatorRecord } from '../../ca/store/records.js';
import type { RotationRecord } from '../../ca/root-rotation.js';

export interface StoreFactory {
  /** A fresh, empty store (each case gets its own). */
  fresh(): Promise<CaStore>;
  /** Closes `store` and opens the same data again (durability). */
  reopen(store: CaStore): Promise<CaStore>;
}

const conflict = (err: unknown) => err instanceof HitlessError && err.code === 'STORE_CONFLICT' && /nothing was written/.test(err.message);

export function node(id: string, over: Partial<NodeRecord> = {}): NodeRecord {
  return {
    nodeId: id,
    role: 'worker',
    joinedAt: '2026-12-01T00:00:00.000Z',
    serial: `${id}-s1`,
    issuedAt: '2026-12-01T00:00:00.000Z',
    notAfter: '2026-12-01T06:00:00.000Z',
    issuerRoot: 'aa',
    lastSeen: '2026-12-01T00:00:00.000Z',
    spkiSha256: `k-${id}`,
    ...over,
  };
}

export function cert(n: NodeRecord): CertRecord {
  return { serial: n.serial, nodeId: n.nodeId, issuedAt: n.issuedAt, notAfter: n.notAfter, issuerRoot: n.issuerRoot };
}

function token(over: Partial<JoinTokenRecord> = {}): JoinTokenRecord {
  return {
    id: 'tok00001',
    role: 'worker',
    secretSha256: 'ff'.repeat(32),
    createdAt: '2026-12-01T00:00:00.000Z',
    expiresAt: '2026-12-02T00:00:00.000Z',
    maxUses: 2,
    usesLeft: 2,
    ...over,
  };
}

function rotation(id: string): RotationRecord {
  return {
    id,
    phase: 'rotating',
    startedAt: '2026-12-01T00:00:00.000Z',
    fromRootPem: 'A',
    fromFingerprint: 'fa',
    toRootPem: 'B',
    toFingerprint: 'fb',
    newKeySealed: { sealed: true },
    crossSignedPem: 'X',
    bundleVersion: 2,
    excluded: [],
  };
}

export function storeContract(name: string, factory: StoreFactory): void {
  const open: CaStore[] = [];
  const fresh = async () => {
    const s = await factory.fresh();
    open.push(s);
    return s;
  };
  const reopen = async (s: CaStore) => {
    open.splice(open.indexOf(s), 1);
    const r = await factory.reopen(s);
    open.push(r);
    return r;
  };
  const cases: [string, () => Promise<void>][] = [
    ['nodes: issue, read, list in id order, tombstones listed, durable across a reopen', async () => {
      let s = await fresh();
      for (const id of ['n3', 'n1', 'n2']) await s.recordIssued(node(id), cert(node(id)), { expectNode: null });
      const removed = { ...node('n2'), removedAt: '2026-12-01T01:00:00.000Z' };
      await s.putNode(removed, node('n2'));
      s = await reopen(s);
      assert.deepEqual((await s.listNodes()).map((n) => n.nodeId), ['n1', 'n2', 'n3']);
      assert.deepEqual(await s.getNode('n2'), removed);
      assert.deepEqual(await s.getCert('n1-s1'), cert(node('n1')));
      assert.equal(await s.getNode('nope'), undefined);
      assert.equal(await s.getCert('nope'), undefined);
    }],
    ['nodes: a write on a record that moved meanwhile is refused and writes nothing (node, certificate or token)', async () => {
      const s = await fresh();
      const n1 = node('n1');
      await s.recordIssued(n1, cert(n1), { expectNode: null });
      // A second "join" under an existing id: refused.
      await assert.rejects(s.recordIssued(node('n1', { serial: 'other' }), cert(node('n1', { serial: 'other' })), { expectNode: null }), conflict);
      assert.equal(await s.getCert('other'), undefined);
      // A renewal decided on a record another writer changed: refused, and its token use is not spent.
      await s.putJoinToken(token(), null);
      const seen = { ...n1, lastSeen: '2026-12-01T00:30:00.000Z' };
      await s.putNode(seen, n1);
      const renewed = node('n1', { serial: 'n1-s2' });
      await assert.rejects(s.recordIssued(renewed, cert(renewed), { expectNode: n1, joinToken: token({ usesLeft: 1 }), expectJoinToken: token() }), conflict);
      assert.deepEqual(await s.getNode('n1'), seen);
      assert.equal(await s.getCert('n1-s2'), undefined);
      assert.equal((await s.getJoinToken('tok00001'))?.usesLeft, 2);
      // Decided on the current record: accepted. Unconditional writes always are.
      await s.recordIssued(renewed, cert(renewed), { expectNode: seen });
      assert.equal((await s.getNode('n1'))?.serial, 'n1-s2');
      await s.putNode({ ...renewed, lastSeen: 'later' });
      assert.equal((await s.getNode('n1'))?.lastSeen, 'later');
      await assert.rejects(s.putNode(node('n9'), node('n9')), conflict, 'expected a record that does not exist');
    }],
    ['nodes: of two concurrent writes decided on the same record, exactly one lands', async () => {
      const s = await fresh();
      const n1 = node('n1');
      await s.recordIssued(n1, cert(n1), { expectNode: null });
      const a = node('n1', { serial: 'a' });
      const b = node('n1', { serial: 'b' });
      const results = await Promise.allSettled([s.recordIssued(a, cert(a), { expectNode: n1 }), s.recordIssued(b, cert(b), { expectNode: n1 })]);
      assert.deepEqual(results.map((r) => r.status).sort(), ['fulfilled', 'rejected']);
      const lost = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
      assert.ok(conflict(lost.reason), String(lost.reason));
      const won = results[0]!.status === 'fulfilled' ? 'a' : 'b';
      assert.equal((await s.getNode('n1'))?.serial, won);
    }],
    ['the last use of a join token is spent once, whoever races for it', async () => {
      const s = await fresh();
      const t = token({ usesLeft: 1, maxUses: 1 });
      await s.putJoinToken(t, null);
      const spent = { ...t, usesLeft: 0 };
      const results = await Promise.allSettled(
        ['j1', 'j2'].map((id) => s.recordIssued(node(id), cert(node(id)), { expectNode: null, joinToken: spent, expectJoinToken: t })),
      );
      assert.deepEqual(results.map((r) => r.status).sort(), ['fulfilled', 'rejected']);
      assert.equal((await s.listNodes()).length, 1, 'one join landed');
      assert.deepEqual(await s.getJoinToken(t.id), spent);
    }],
    ['the newest and the previous certificate of a node stay readable after renewals', async () => {
      const s = await fresh();
      let prev = node('n1');
      await s.recordIssued(prev, cert(prev), { expectNode: null });
      for (let i = 2; i <= 4; i++) {
        const next = node('n1', { serial: `n1-s${i}`, fallbackSerial: prev.serial });
        await s.recordIssued(next, cert(next), { expectNode: prev });
        prev = next;
      }
      assert.equal((await s.getCert('n1-s4'))?.nodeId, 'n1');
      assert.equal((await s.getCert('n1-s3'))?.nodeId, 'n1');
    }],
    ['a renewal whose response was lost: the certificate the node still holds (its fallback) stays readable', async () => {
      const s = await fresh();
      const s1 = node('n1');
      await s.recordIssued(s1, cert(s1), { expectNode: null });
      // Renewed from s1 to s2, but the response was lost: the node still holds s1 and renews with it again.
      const s2 = node('n1', { serial: 'n1-s2', fallbackSerial: 'n1-s1' });
      await s.recordIssued(s2, cert(s2), { expectNode: s1 });
      const s3 = node('n1', { serial: 'n1-s3', fallbackSerial: 'n1-s1' });
      await s.recordIssued(s3, cert(s3), { expectNode: s2 });
      assert.equal((await s.getCert('n1-s3', 'n1'))?.nodeId, 'n1');
      assert.equal((await s.getCert('n1-s1', 'n1'))?.nodeId, 'n1', 'the fallback the node holds');
    }],
    ['prune: expired certificates and expired tombstones go; live nodes stay', async () => {
      let s = await fresh();
      const live = node('live', { notAfter: '2026-12-01T06:00:00.000Z' });
      const gone = node('gone', { notAfter: '2026-11-01T06:00:00.000Z' });
      const dead = node('dead', { notAfter: '2026-11-01T06:00:00.000Z' }); // not removed, long expired: its record stays
      for (const n of [live, gone, dead]) await s.recordIssued(n, cert(n), { expectNode: null });
      await s.putNode({ ...gone, removedAt: '2026-11-01T01:00:00.000Z' }, gone);
      const r = await s.prune(new Date('2026-11-15T00:00:00.000Z'));
      assert.deepEqual(r, { certs: 2, nodes: 1 });
      s = await reopen(s);
      assert.deepEqual((await s.listNodes()).map((n) => n.nodeId), ['dead', 'live']);
      assert.equal(await s.getCert(dead.serial), undefined);
      assert.ok(await s.getCert(live.serial));
      assert.deepEqual(await s.prune(new Date('2026-11-15T00:00:00.000Z')), { certs: 0, nodes: 0 }, 'idempotent');
    }],
    ['prune with a later certificate cutoff: expired certificates go, a removed node tombstone stays until its own cutoff', async () => {
      let s = await fresh();
      const live = node('live', { notAfter: '2026-12-01T06:00:00.000Z' });
      const gone = node('gone', { notAfter: '2026-11-10T06:00:00.000Z' });
      for (const n of [live, gone]) await s.recordIssued(n, cert(n), { expectNode: null });
      await s.putNode({ ...gone, removedAt: '2026-11-09T01:00:00.000Z' }, gone);
      // Tombstones expired before Nov 1 go (none); certificates expired before Nov 15 go (gone's).
      const r = await s.prune(new Date('2026-11-01T00:00:00.000Z'), new Date('2026-11-15T00:00:00.000Z'));
      assert.deepEqual(r, { certs: 1, nodes: 0 });
      s = await reopen(s);
      assert.deepEqual((await s.listNodes()).map((n) => n.nodeId), ['gone', 'live'], 'the tombstone stays');
      assert.equal(await s.getCert(gone.serial), undefined);
      assert.ok(await s.getCert(live.serial));
    }],
    ['join secrets, limited tokens and operators: round trip, conditional create and update, prune', async () => {
      let s = await fresh();
      assert.equal(await s.getJoinSecrets(), undefined);
      await s.putJoinSecrets({ worker: 'w', manager: 'm' });
      await s.putJoinToken(token({ id: 'tok00002', createdAt: '2026-12-01T00:00:01.000Z', expiresAt: '2026-11-01T00:00:00.000Z' }), null);
      await s.putJoinToken(token(), null);
      await assert.rejects(s.putJoinToken(token({ usesLeft: 9 }), null), conflict, 'create over an existing token');
      await s.putJoinToken(token({ revokedAt: 'now' }), token());
      const op: OperatorRecord = { name: 'alice', serial: '01', createdAt: 'x', notAfter: 'y', issuerRoot: 'aa' };
      await s.putOperator(op, null);
      await assert.rejects(s.putOperator({ ...op, serial: '02' }, null), conflict);
      await s.putOperator({ ...op, name: 'bob' }, null);
      s = await reopen(s);
      assert.deepEqual(await s.getJoinSecrets(), { worker: 'w', manager: 'm' });
      assert.deepEqual((await s.listJoinTokens()).map((t) => t.id), ['tok00001', 'tok00002'], 'by creation time');
      assert.equal((await s.getJoinToken('tok00001'))?.revokedAt, 'now');
      assert.deepEqual((await s.listOperators()).map((o) => o.name), ['alice', 'bob']);
      assert.equal((await s.getOperator('alice'))?.serial, '01');
      assert.equal(await s.pruneJoinTokens(new Date('2026-11-15T00:00:00.000Z')), 1);
      assert.deepEqual((await s.listJoinTokens()).map((t) => t.id), ['tok00001']);
    }],
    ['one key backs one live node: of two concurrent joins with one key exactly one wins; renewal moves the claim, removal frees it', async () => {
      let s = await fresh();
      const keyTaken = (holder: string) => (err: unknown) =>
        err instanceof HitlessError && err.code === 'ALREADY_EXISTS' && err.message.includes(`already backs node ${holder}`);
      const a = node('a', { spkiSha256: 'k1' });
      const b = node('b', { spkiSha256: 'k1' });
      const results = await Promise.allSettled([a, b].map((n) => s.recordIssued(n, cert(n), { expectNode: null })));
      assert.deepEqual(results.map((r) => r.status).sort(), ['fulfilled', 'rejected'], String(results.map((r) => (r as PromiseRejectedResult).reason)));
      const [winner, loser] = results[0]!.status === 'fulfilled' ? [a, b] : [b, a];
      assert.ok(keyTaken(winner.nodeId)((results.find((r) => r.status === 'rejected') as PromiseRejectedResult).reason));
      assert.equal(await s.getNode(loser.nodeId), undefined, 'the loser wrote nothing');
      assert.equal(await s.getCert(loser.serial), undefined);
      // A renewal with a new key frees the old one; the same node keeps renewing with its key.
      const renewed = { ...winner, serial: `${winner.nodeId}-s2`, spkiSha256: 'k2', fallbackSerial: winner.serial };
      await s.recordIssued(renewed, cert(renewed), { expectNode: winner });
      s = await reopen(s);
      await s.recordIssued(loser, cert(loser), { expectNode: null });
      const c = node('c', { spkiSha256: 'k2' });
      await assert.rejects(s.recordIssued(c, cert(c), { expectNode: null }), keyTaken(winner.nodeId));
      // Removal frees the key; so does expiry (c issues after the holder's certificate ran out).
      await s.putNode({ ...loser, removedAt: 'now' }, loser);
      const d = node('d', { spkiSha256: 'k1' });
      await s.recordIssued(d, cert(d), { expectNode: null });
      const late = node('c', { spkiSha256: 'k2', issuedAt: '2026-12-01T07:00:00.000Z', notAfter: '2026-12-01T13:00:00.000Z' });
      await s.recordIssued(late, cert(late), { expectNode: null });
      assert.equal((await s.getNode('c'))?.spkiSha256, 'k2');
    }],
    ['rotation state: typed, starts idle at version 1, one start wins, steps are conditional, finish clears it', async () => {
      let s = await fresh();
      assert.deepEqual(await s.getRotationState(), { rotation: undefined, bundleVersion: 1, retired: [], lastFinished: undefined });
      const r1 = rotation('r1');
      const results = await Promise.allSettled([
        s.updateRotationState({ rotation: r1, bundleVersion: 2 }, null),
        s.updateRotationState({ rotation: rotation('r2'), bundleVersion: 2 }, null),
      ]);
      assert.deepEqual(results.map((r) => r.status).sort(), ['fulfilled', 'rejected'], 'two replicas cannot both start a rotation');
      const started = (await s.getRotationState()).rotation!;
      assert.ok(started.id === 'r1' || started.id === 'r2');
      const converged = { ...started, convergedAt: '2026-12-01T01:00:00.000Z' };
      await s.updateRotationState({ rotation: converged }, started);
      await assert.rejects(s.updateRotationState({ rotation: { ...started, excluded: ['x'] } }, started), conflict, 'a step decided on a stale record');
      s = await reopen(s);
      assert.deepEqual((await s.getRotationState()).rotation, converged);
      const retired = [{ rootPem: 'A', crossSignedPem: 'X', until: '2026-12-02T00:00:00.000Z' }];
      await s.updateRotationState({ rotation: null, bundleVersion: 3, retired, lastFinished: { at: 'now', id: started.id, phase: 'rotating' } }, converged);
      assert.deepEqual(await s.getRotationState(), { rotation: undefined, bundleVersion: 3, retired, lastFinished: { at: 'now', id: started.id, phase: 'rotating' } });
    }],
  ];
  for (const [title, fn] of cases) {
    test(`${name}: ${title}`, async () => {
      try {
        await fn();
      } finally {
        for (const s of open.splice(0)) await s.close();
      }
    });
  }
}
