// The etcd store's in-memory copy against a watch that lags behind this replica's own writes (it reconnects to
// another member when one dies, and then delivers what it had missed). Seen in test/ha/failover.test.ts: the new
// leader deleted rotation/current when it finished the rotation, then its watch delivered an older put of that
// key and the record came back — the replica's trust went back to the rotation's two-root bundle.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IKeyValue } from 'etcd3';
import { EtcdMirror } from '../../ca/store/etcd-mirror.js';

const P = '/hitless-test/';
const kv = (key: string, value: unknown, mod: number): IKeyValue =>
  ({ key: Buffer.from(P + key), value: Buffer.from(JSON.stringify(value)), mod_revision: String(mod), create_revision: '1', version: '1', lease: '0' }) as IKeyValue;

function mirror(): { m: EtcdMirror; changes: string[] } {
  const m = new EtcdMirror(P, undefined);
  m.replace(new Map(), 1);
  const changes: string[] = [];
  m.subscribe((c) => changes.push(`${c.kind}/${c.id}`));
  return { m, changes };
}

test('a put older than our own delete, delivered late by the watch, does not bring the record back', () => {
  const { m, changes } = mirror();
  m.apply(kv('rotation/current', { v: 2 }, 5), false);
  assert.deepEqual(m.get('rotation/current'), { v: 2 });
  m.deletedAt(P + 'rotation/current', 9); // our finish, committed at revision 9 while the watch was at 5
  assert.equal(m.get('rotation/current'), undefined);
  changes.length = 0;
  m.apply(kv('rotation/current', { v: 2, phase: 'converged' }, 7), false); // missed while disconnected
  assert.equal(m.get('rotation/current'), undefined, 'a put at 7 must not undo our delete at 9');
  m.apply(kv('rotation/current', null, 9), true); // the watch reaches our delete
  assert.equal(m.get('rotation/current'), undefined);
  assert.deepEqual(changes, [], 'nothing newer than what the replica holds: no change reported');
  m.apply(kv('rotation/current', { v: 4 }, 12), false); // a later rotation is a real change
  assert.deepEqual(m.get('rotation/current'), { v: 4 });
  assert.deepEqual(changes, ['rotation/current']);
});

test('a delete older than our own newer write, delivered late, does not remove it', () => {
  const { m } = mirror();
  m.set(P + 'keys/abc', { raw: '{"n":"x"}', value: { n: 'x' }, mod: 12 }); // our write at 12
  m.apply(kv('keys/abc', null, 10), true); // a delete at 10 the watch had not delivered yet
  assert.deepEqual(m.get('keys/abc'), { n: 'x' });
});

test('once the watch has passed our delete, the key takes new writes; a reload keeps a delete newer than its snapshot', () => {
  const { m } = mirror();
  m.deletedAt(P + 'nodes/n1', 20);
  m.apply(kv('nodes/other', { a: 1 }, 21), false); // the watch is past 20
  m.apply(kv('nodes/n1', { back: true }, 22), false);
  assert.deepEqual(m.get('nodes/n1'), { back: true });
  m.deletedAt(P + 'nodes/n1', 30);
  m.replace(new Map([[P + 'nodes/n1', { raw: '{"old":1}', value: { old: 1 }, mod: 22 }]]), 25); // a snapshot at 25
  assert.equal(m.get('nodes/n1'), undefined, 'our delete at 30 is newer than the snapshot');
});

test('a reload reports the records that changed in the gap: the watch missed them, subscribers must not', () => {
  const { m } = mirror();
  const entry = (value: unknown, mod: number) => ({ raw: JSON.stringify(value), value, mod });
  m.replace(new Map([[P + 'nodes/kept', entry({ k: 1 }, 3)], [P + 'nodes/removed', entry({ r: 1 }, 4)], [P + 'tokens/gone', entry({ t: 1 }, 5)]]), 5);
  const changed = m.replace(new Map([[P + 'nodes/kept', entry({ k: 1 }, 3)], [P + 'nodes/removed', entry({ r: 1, removedAt: 'x' }, 9)], [P + 'nodes/new', entry({ n: 1 }, 8)]]), 10);
  assert.deepEqual(changed.sort(), [P + 'nodes/new', P + 'nodes/removed', P + 'tokens/gone']);
});
