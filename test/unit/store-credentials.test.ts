// Proves the store's credential records: limited join tokens and operators survive a reopen (they live in the
// integrity-checked meta sublevel), a join's token use is written in the join's own batch, expired tokens are
// pruned, and a credential record of the wrong shape makes the store refuse to open (STORE_CORRUPT).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HitlessError } from '../../shared/errors.js';
import { LevelStore, type JoinTokenRecord, type OperatorRecord } from '../../ca/store.js';

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});
async function fresh(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'hl-store-creds-'));
  dirs.push(d);
  return join(d, 'store');
}

const token = (over: Partial<JoinTokenRecord> = {}): JoinTokenRecord => ({
  id: 'abcd1234',
  role: 'worker',
  secretSha256: 'f'.repeat(64),
  createdAt: '2030-01-01T00:00:00.000Z',
  expiresAt: '2030-01-01T01:00:00.000Z',
  maxUses: 3,
  usesLeft: 3,
  ...over,
});
const operator: OperatorRecord = { name: 'alice', serial: '0a1b', createdAt: '2030-01-01T00:00:00.000Z', notAfter: '2030-02-01T00:00:00.000Z', issuerRoot: 'ab' };

test('join tokens and operators survive a reopen; a join spends its token use in the same batch', async () => {
  const path = await fresh();
  let store = await LevelStore.open(path);
  await store.putJoinToken(token());
  await store.putOperator(operator);
  const node = { nodeId: 'n1', role: 'worker' as const, joinedAt: 'x', serial: '01', issuedAt: 'x', notAfter: '2030-01-01T06:00:00.000Z', issuerRoot: 'ab', lastSeen: 'x' };
  const headBefore = store.head.seq;
  await store.recordIssued(node, { serial: '01', nodeId: 'n1', issuedAt: 'x', notAfter: node.notAfter, issuerRoot: 'ab' }, { joinToken: token({ usesLeft: 2 }) });
  assert.equal(store.head.seq, headBefore + 1, 'node, certificate and token use: one batch');
  assert.equal((await store.getJoinToken('abcd1234'))?.usesLeft, 2);
  await store.close();
  store = await LevelStore.open(path, { mustExist: true });
  try {
    assert.deepEqual(await store.listJoinTokens(), [token({ usesLeft: 2 })]);
    assert.deepEqual(await store.getOperator('alice'), operator);
    assert.equal((await store.getNode('n1'))?.serial, '01');
    // Pruning forgets tokens that expired before the cutoff, and only those.
    await store.putJoinToken(token({ id: 'later000', expiresAt: '2030-01-09T00:00:00.000Z' }));
    assert.equal(await store.pruneJoinTokens(new Date('2030-01-02T00:00:00.000Z')), 1);
    assert.deepEqual((await store.listJoinTokens()).map((t) => t.id), ['later000']);
  } finally {
    await store.close();
  }
});

test('a credential record of the wrong shape fails closed at open', async () => {
  const path = await fresh();
  const store = await LevelStore.open(path);
  await store.putMeta('jointoken:zzzz9999', { id: 'someone-else', usesLeft: 'many' });
  await store.close();
  await assert.rejects(LevelStore.open(path, { mustExist: true }), (err: unknown) => {
    assert.ok(err instanceof HitlessError && err.code === 'STORE_CORRUPT', String(err));
    assert.match(err.message, /record meta\/"jointoken:zzzz9999" is not a join token record/);
    return true;
  });
});
