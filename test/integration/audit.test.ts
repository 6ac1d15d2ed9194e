// The audit log of a real CA: admin actions over the socket, joins and root rotation steps are appended with
// who did them; `ca audit verify` accepts the untouched log and names the first bad line after an edit, a
// deletion or a reorder; an admin action acknowledged right before a SIGKILL is in the log after it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { tmpDir } from '../helpers/tmp.js';
import { startCa, type TestCa } from '../helpers/cluster.js';
import { freePort, runCli } from '../helpers/proc.js';
import { startAgent } from '../helpers/agents.js';
import type { AuditEntry } from '../../ca/audit.js';

let dir: Awaited<ReturnType<typeof tmpDir>>;
let ca: TestCa;

before(async () => {
  dir = await tmpDir();
  ca = await startCa(dir.path, { nodeCertTtl: '1h' });
});

after(async () => {
  await ca?.daemon.stop();
  await dir?.cleanup();
});

const entries = async (stateDir = ca.stateDir): Promise<AuditEntry[]> => {
  const r = await runCli('ca', ['audit', 'show', '--json', '--state-dir', stateDir]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.trim().split('\n').map((l) => JSON.parse(l) as AuditEntry);
};

test('init, start, a join, token rotation and a removal are in the log, with who did them', async () => {
  const agent = startAgent(dir.path, 'a0', { ca: ca.address, token: ca.init.tokens.worker, port: await freePort() });
  const joined = await agent.daemon.waitFor('identity.ready', { timeoutMs: 30_000 });
  await agent.daemon.stop();
  assert.equal((await runCli('ca', ['join-token', 'worker', '--rotate', '-q', '--state-dir', ca.stateDir])).code, 0);
  assert.equal((await runCli('ca', ['remove-node', String(joined.nodeId), '--state-dir', ca.stateDir])).code, 0);

  const log = await entries();
  const events = log.map((e) => e.event);
  assert.deepEqual(events.slice(0, 2), ['cluster.initialized', 'ca.started']);
  const joinEntry = log.find((e) => e.event === 'node.joined')!;
  assert.deepEqual(joinEntry.actor, { kind: 'node', nodeId: joined.nodeId });
  const rotated = log.find((e) => e.event === 'join_token.rotated')!;
  assert.deepEqual(rotated.actor, { kind: 'local', socketUid: process.getuid!() });
  assert.equal(rotated.details.worker, true);
  const removed = log.find((e) => e.event === 'node.removed')!;
  assert.equal(removed.details.nodeId, joined.nodeId);
  const raw = await readFile(join(ca.stateDir, 'audit.log'), 'utf8');
  assert.ok(!raw.includes(ca.init.tokens.worker.split('-').pop()!), 'no token secret in the log');
  const ok = await runCli('ca', ['audit', 'verify', '--state-dir', ca.stateDir]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, new RegExp(`^audit log OK: ${log.length} entries, head [0-9a-f]{64}\\n$`));
});

/** A copy of the real log, changed by `tamper`, in a directory of its own; returns verify's result. */
async function verifyTampered(name: string, tamper: (lines: string[]) => string[]) {
  const lines = (await readFile(join(ca.stateDir, 'audit.log'), 'utf8')).trimEnd().split('\n');
  assert.ok(lines.length >= 5, 'the log has enough lines to tamper with');
  const copy = join(dir.path, name);
  await mkdir(copy);
  await writeFile(join(copy, 'audit.log'), tamper([...lines]).join('\n') + '\n');
  return runCli('ca', ['audit', 'verify', '--state-dir', copy]);
}

test('ca audit verify names the first bad line of an edited, removed or reordered log', async () => {
  const edited = await verifyTampered('edited', (l) => {
    l[2] = l[2]!.replace(/"time":"[^"]+"/, '"time":"2020-01-01T00:00:00.000Z"');
    return l;
  });
  assert.equal(edited.code, 1);
  assert.match(edited.stderr, /broken at line 3: its content does not match its hash \(edited\)/);

  // Rewriting the hash too moves the break to the next line, whose prev no longer matches.
  const rehashed = await verifyTampered('rehashed', (l) => {
    const e = JSON.parse(l[1]!) as Record<string, unknown>;
    e.details = { listen: 'elsewhere' };
    delete e.hash;
    const body = JSON.stringify(e);
    l[1] = `${body.slice(0, -1)},"hash":"${createHash('sha256').update(body).digest('hex')}"}`;
    return l;
  });
  assert.equal(rehashed.code, 1);
  assert.match(rehashed.stderr, /broken at line 3: its prev hash does not match line 2/);

  const removed = await verifyTampered('removed', (l) => [...l.slice(0, 1), ...l.slice(2)]);
  assert.equal(removed.code, 1);
  assert.match(removed.stderr, /broken at line 2: its sequence number is 3, expected 2/);

  const reordered = await verifyTampered('reordered', (l) => [l[0]!, l[1]!, l[3]!, l[2]!, ...l.slice(4)]);
  assert.equal(reordered.code, 1);
  assert.match(reordered.stderr, /broken at line 3: its sequence number is 4, expected 3/);

  const untouched = await verifyTampered('copy', (l) => l);
  assert.equal(untouched.code, 0, untouched.stderr);
});

test('an admin action acknowledged right before a SIGKILL is in the log after a restart', async () => {
  for (let round = 0; round < 2; round++) {
    const r = await runCli('ca', ['join-token', 'manager', '--rotate', '-q', '--state-dir', ca.stateDir]);
    assert.equal(r.code, 0, r.stderr);
    await ca.daemon.stop('SIGKILL');
    const last = (await entries()).at(-1)!;
    assert.equal(last.event, 'join_token.rotated', `round ${round}: the acknowledged rotation is the last entry`);
    assert.equal(last.details.manager, true);
    await ca.restart();
  }
  const ok = await runCli('ca', ['audit', 'verify', '--state-dir', ca.stateDir]);
  assert.equal(ok.code, 0, ok.stderr);
});
