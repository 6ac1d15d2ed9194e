// Admin commands from another machine: `ca <command> --ca HOST:PORT --operator-dir DIR` against a real
// `ca serve`, with an operator credential from `ca operator create`, run from a directory that holds no CA state
// (so the local admin socket cannot be what answers). The same commands over the local socket are the
// reference: both must see the same CA.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { tmpDir } from '../helpers/tmp.js';
import { startCa, type TestCa } from '../helpers/cluster.js';
import { runCli, type CliResult } from '../helpers/proc.js';
import { fetchRoots, joinNode } from '../helpers/node-identity.js';

let dir: Awaited<ReturnType<typeof tmpDir>>;
let ca: TestCa;
let operatorDir: string;
/** A state dir with nothing in it: if a command fell back to a local socket, it would fail there. */
let elsewhere: string;
let nodeId: string;

const local = (args: string[]) => runCli('ca', [...args, '--state-dir', ca.stateDir]);
const remote = (args: string[], opDir = operatorDir) => runCli('ca', [...args, '--state-dir', elsewhere, '--ca', ca.address, '--operator-dir', opDir]);
const ok = (r: CliResult) => {
  assert.equal(r.code, 0, `exit ${String(r.code)}: ${r.stderr}`);
  return r.stdout;
};

before(async () => {
  dir = await tmpDir();
  ca = await startCa(dir.path);
  operatorDir = join(dir.path, 'alice');
  ok(await local(['operator', 'create', 'alice', '--out', operatorDir]));
  elsewhere = await mkdtemp(join(tmpdir(), 'hitless-remote-'));
  nodeId = (await joinNode(ca.address, ca.init.tokens.worker, await fetchRoots(ca.address))).cert.node_id;
});

after(async () => {
  await ca?.daemon.stop();
  await dir?.cleanup();
});

test('every admin command runs remotely with an operator credential and sees what the local socket sees', async () => {
  const nodesRemote = JSON.parse(ok(await remote(['nodes', '--json']))) as { node_id: string }[];
  assert.deepEqual(nodesRemote.map((n) => n.node_id), [nodeId]);

  // join-token takes the target before its subcommand (its own options, like --state-dir).
  const created = JSON.parse(ok(await runCli('ca', ['join-token', '--state-dir', elsewhere, '--ca', ca.address, '--operator-dir', operatorDir, 'create', 'worker', '--uses', '2', '--json']))) as { id: string; token: string };
  assert.match(created.token, /^HTLS-/);
  const revoked = ok(await runCli('ca', ['join-token', '--state-dir', elsewhere, '--ca', ca.address, '--operator-dir', operatorDir, 'revoke', created.id]));
  assert.equal(revoked, `revoked join token ${created.id} (2 use(s) were left)\n`);
  assert.equal(ok(await remote(['join-token', 'worker', '--quiet'])).trim(), ca.init.tokens.worker);

  assert.match(ok(await remote(['rotate-root', '--status'])), /^no root rotation in progress; current root sha256:[0-9a-f]{64}$/m);
  assert.equal(ok(await remote(['remove-node', nodeId])), `removed node ${nodeId}\n`);
  const after = JSON.parse(ok(await local(['nodes', '--json']))) as { node_id: string }[];
  assert.deepEqual(after.filter((n) => n.node_id === nodeId), [], 'the local socket no longer lists the removed node');
});

test('remote admin refusals: a missing --operator-dir, a group-readable key or a revoked credential are refused with a hint', async () => {

  const noDir = await runCli('ca', ['nodes', '--state-dir', elsewhere, '--ca', ca.address]);
  assert.notEqual(noDir.code, 0);
  assert.match(noDir.stderr, /--ca needs an operator credential: give --operator-dir DIR[\s\S]*hint: make one on the CA host with 'ca operator create/);

  await chmod(join(operatorDir, 'operator.key'), 0o640);
  const wide = await remote(['nodes']);
  assert.notEqual(wide.code, 0);
  assert.match(wide.stderr, /operator key .*operator\.key is readable by group or others \(mode 0640\)[\s\S]*hint: chmod 600/);
  await chmod(join(operatorDir, 'operator.key'), 0o600);

  ok(await local(['operator', 'revoke', 'alice']));
  const revoked = await remote(['nodes']);
  assert.notEqual(revoked.code, 0);
  assert.match(revoked.stderr, /operator credential of "alice" was revoked at/);
});
