// AuditLog on real files: the chain continues across reopen, concurrent appends keep call order in one
// chain, and a damaged tail (torn or edited last line) fails closed at open, changing nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, readFile, writeFile } from 'node:fs/promises';
import { tmpDir } from '../helpers/tmp.js';
import { FakeClock } from '../helpers/unit-fake-clock.js';
import { AuditLog, auditPath, GENESIS_HASH } from '../../ca/audit.js';
import { verifyAudit } from '../../ca/audit-verify.js';

test('appends chain across reopen; concurrent appends keep their call order', async () => {
  const dir = await tmpDir();
  try {
    const clock = new FakeClock(new Date('2026-12-02T10:00:00Z'));
    const a = await AuditLog.open(dir.path, clock);
    assert.deepEqual(a.head, { seq: 0, hash: GENESIS_HASH });
    await Promise.all(Array.from({ length: 20 }, (_, i) => a.append('test.event', { kind: 'ca' }, { i })));
    await a.close();
    const b = await AuditLog.open(dir.path, clock);
    assert.equal(b.head.seq, 20);
    await b.append('test.after_reopen', { kind: 'operator', name: 'alice' });
    await b.close();
    const seen: number[] = [];
    const r = await verifyAudit(dir.path, (e) => e.event === 'test.event' && seen.push(e.details.i as number));
    assert.equal(r.ok, true);
    assert.equal(r.lines, 21);
    assert.deepEqual(seen, [...Array(20).keys()]);
  } finally {
    await dir.cleanup();
  }
});

test('a torn or edited last line fails closed at open and leaves the file as it was', async () => {
  const dir = await tmpDir();
  try {
    const clock = new FakeClock(new Date('2026-12-02T10:00:00Z'));
    const a = await AuditLog.open(dir.path, clock);
    await a.append('test.one', { kind: 'ca' });
    await a.close();
    const path = auditPath(dir.path);
    await appendFile(path, '{"seq":2,"time":"2026-12');
    const torn = await readFile(path, 'utf8');
    await assert.rejects(AuditLog.open(dir.path, clock), (e: Error & { code?: string; hint?: string }) => /last line is incomplete/.test(e.message) && !!e.hint);
    assert.equal(await readFile(path, 'utf8'), torn);

    await writeFile(path, torn.slice(0, torn.lastIndexOf('\n') + 1).replace('test.one', 'test.two'));
    await assert.rejects(AuditLog.open(dir.path, clock), /its last line: its content does not match its hash/);
  } finally {
    await dir.cleanup();
  }
});
