// Attack suite, issue 8 item 3: "a leaked credential is worth less". Real `ca` and `agent` processes, real
// TLS and gRPC, a real store. One test per item; each asserts the refusal (status code and message), that the
// store did not change (`ca nodes`, `ca join-token list`), and that a legitimate node still joins and renews
// during and after.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import { generateKeyPairPem } from '../../shared/pki/keys.js';
import { createCsrDer } from '../../shared/pki/csr.js';
import { unaryCall } from '../../shared/grpc/call.js';
import { protos, type CaAdminServiceClient } from '../../proto/load.js';
import { parseJoinToken } from '../../shared/join-token.js';
import { CaClient, staticConnection } from '../../agent/ca-client.js';
import { tmpDir } from '../helpers/tmp.js';
import { startCa, type TestCa } from '../helpers/cluster.js';
import { runCli, spawnDaemon } from '../helpers/proc.js';
import { adminClient } from '../../ca/admin-client.js';
import { refused } from '../helpers/grpc-refusal.js';
import { fetchRoots, joinNode, renewNode } from '../helpers/node-identity.js';

let dir: Awaited<ReturnType<typeof tmpDir>>;
let ca: TestCa;
let roots: string[];

before(async () => {
  dir = await tmpDir();
  // Small bounds so that the tests reach them: 6 joins per token and 3 renewals per node per hour (slow refills: the tests never race them).
  ca = await startCa(dir.path, { serveArgs: ['--join-rate-per-token', '6/1h', '--renew-rate', '3/1h'] });
  roots = await fetchRoots(ca.address);
  socket = await adminClient(ca.stateDir);
});

after(async () => {
  socket?.close();
  await ca?.daemon.stop();
  await dir?.cleanup();
});

interface TokenJson { id: string; role: string; state: string; uses_left: number; max_uses: number }
const admin = (args: string[]) => runCli('ca', [...args, '--state-dir', ca.stateDir]);
let socket: CaAdminServiceClient;
/** What the store holds, as the operator sees it (over the admin socket, as `ca nodes` does): nodes and limited tokens. */
const storeView = async () => ({
  nodes: (await unaryCall<{ nodes: unknown[] }>((o, cb) => socket.ListNodes({}, o, cb))).nodes,
  tokens: (await unaryCall<{ tokens: TokenJson[] }>((o, cb) => socket.ListJoinTokens({}, o, cb))).tokens.map((t) => ({ ...t, role: t.role.replace('NODE_ROLE_', '').toLowerCase() })),
});

/** `ca join-token create` through the CLI (item 2) or, faster, straight over the admin socket. */
async function limitedToken(role: 'worker' | 'manager', ttlSeconds: number, uses: number, viaCli = false): Promise<{ token: string; id: string }> {
  if (viaCli) {
    const r = await admin(['join-token', 'create', role, '--ttl', `${ttlSeconds}s`, '--uses', String(uses), '--json']);
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout) as { token: string; id: string };
    return { token: j.token, id: j.id };
  }
  const res = await unaryCall<{ token: string; info: { id: string } | null }>((o, cb) =>
    socket.CreateJoinToken({ role: role === 'worker' ? 'NODE_ROLE_WORKER' : 'NODE_ROLE_MANAGER', ttl_seconds: ttlSeconds, max_uses: uses }, o, cb),
  );
  return { token: res.token, id: res.info!.id };
}

/** A legitimate node joins (with its own limited token) and renews, as the attack goes on around it. */
async function legitimateNodeJoinsAndRenews(): Promise<void> {
  const { token } = await limitedToken('worker', 300, 1);
  const node = await joinNode(ca.address, token, roots);
  const renewed = await renewNode(ca.address, node, roots);
  assert.equal(renewed.cert.node_id, node.cert.node_id);
}

function adminAs(identity: { keyPem: string; chainPem: string[] }): CaAdminServiceClient {
  const c = staticConnection(roots, identity);
  return new (protos().caAdmin.hitless.v1.CaAdminService)(ca.address, c.credentials, { ...c.options, 'grpc.use_local_subchannel_pool': 1 });
}

test('item 1: the join token is never in argv, and the --on-rotate child does not inherit it', async () => {
  // Its own CA with 10 s certificates, so the agent renews (and runs --on-rotate) within seconds.
  await mkdir(join(dir.path, 'short'));
  const own = await startCa(join(dir.path, 'short'), { nodeCertTtl: '10s' });
  const tokenFile = join(dir.path, 'token');
  await writeFile(tokenFile, own.init.tokens.worker + '\n', { mode: 0o600 });
  const agents: ReturnType<typeof spawnDaemon>[] = [];
  const cmdline = async (pid: number) => (await readFile(`/proc/${pid}/cmdline`, 'latin1')).split('\0').join(' ');
  const secret = parseJoinToken(own.init.tokens.worker).secret;
  try {
    // Refusal: --token and --token-file together is a usage error that quotes neither.
    const both = await runCli('agent', ['run', '--ca', own.address, '--token', own.init.tokens.worker, '--token-file', tokenFile, '--state-dir', join(dir.path, 'both')]);
    assert.equal(both.code, 2);
    assert.match(both.stderr, /--token and --token-file are mutually exclusive \(INVALID_ARGUMENT\)\nhint: /);
    assert.ok(!both.stderr.includes(secret));

    // --token-file: the token is nowhere in the command line.
    const fromFile = spawnDaemon('agent', ['run', '--ca', own.address, '--token-file', tokenFile, '--state-dir', join(dir.path, 'a1'), '--listen', '127.0.0.1:0']);
    agents.push(fromFile);
    assert.equal((await fromFile.waitFor('token.read')).source, 'file');
    await fromFile.waitFor('identity.ready');
    assert.ok(!(await cmdline(fromFile.child.pid!)).includes(secret));

    // HITLESS_JOIN_TOKEN: the --on-rotate child's environment has no token (it dumps its environment).
    const certOut = join(dir.path, 'a2-out');
    const fromEnv = spawnDaemon(
      'agent',
      ['run', '--ca', own.address, '--state-dir', join(dir.path, 'a2'), '--listen', '127.0.0.1:0', '--cert-out', certOut, '--on-rotate', 'env > "$HITLESS_CERT_DIR/child.env"'],
      { HITLESS_JOIN_TOKEN: own.init.tokens.worker },
    );
    agents.push(fromEnv);
    assert.equal((await fromEnv.waitFor('token.read')).source, 'env');
    await fromEnv.waitFor('on_rotate.exited', { timeoutMs: 30_000 });
    const childEnv = await readFile(join(certOut, 'child.env'), 'utf8');
    assert.match(childEnv, /^HITLESS_SERIAL=[0-9a-f]+$/m, 'the child did write its environment');
    assert.ok(!childEnv.includes('HITLESS_JOIN_TOKEN'), 'the variable reached the child');
    assert.ok(!childEnv.includes(secret), 'the token reached the child');
    assert.ok(!(await cmdline(fromEnv.child.pid!)).includes(secret));

    // --token still works, with a warning on stderr and in the log, and is scrubbed from the command line.
    const fromArgv = spawnDaemon('agent', ['run', '--ca', own.address, '--token', own.init.tokens.worker, '--state-dir', join(dir.path, 'a3'), '--listen', '127.0.0.1:0']);
    agents.push(fromArgv);
    await fromArgv.waitFor('token.argv_deprecated');
    assert.ok(fromArgv.output.some((l) => /^agent: warning: --token puts the join token in the process list/.test(l)));
    await fromArgv.waitFor('identity.ready');
    const scrubbed = await cmdline(fromArgv.child.pid!);
    assert.match(scrubbed, /--token <redacted>/);
    assert.ok(!scrubbed.includes(secret));
    // The agents renewed meanwhile: legitimate nodes join and renew with every token source.
    await fromFile.waitFor('identity.renewed', { timeoutMs: 30_000 });
  } finally {
    for (const a of agents) await a.stop();
    await own.daemon.stop();
  }
});

test('item 2: an expiring, use-limited token stops after its uses, its expiry or its revocation; the CA stores only its hash', async () => {
  const used = await limitedToken('worker', 600, 2, true);
  const n1 = await joinNode(ca.address, used.token, roots);
  await joinNode(ca.address, used.token, roots);
  let view = await storeView();
  assert.deepEqual(view.tokens.find((t) => t.id === used.id), { ...view.tokens.find((t) => t.id === used.id), role: 'worker', state: 'used-up', uses_left: 0, max_uses: 2 });
  await refused(joinNode(ca.address, used.token, roots), status.UNAUTHENTICATED, /join token no longer works: join token \w+ has been used 2 times/);
  assert.deepEqual(await storeView(), view);

  const expiring = await limitedToken('worker', 1, 5);
  const listed = (await storeView()).tokens as (TokenJson & { expires_at: string })[];
  const expiresAt = Date.parse(listed.find((t) => t.id === expiring.id)!.expires_at);
  // Expiry is wall-clock time in a real process: wait until that instant has passed (the unit test drives it with a FakeClock).
  await new Promise((r) => setTimeout(r, Math.max(0, expiresAt - Date.now() + 100)));
  view = await storeView();
  await refused(joinNode(ca.address, expiring.token, roots), status.UNAUTHENTICATED, /join token no longer works: join token \w+ expired at/);
  assert.deepEqual(await storeView(), view);

  const revoked = await limitedToken('manager', 600, 5);
  const r = await admin(['join-token', 'revoke', revoked.id]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`revoked join token ${revoked.id} \\(5 use\\(s\\) were left\\)`));
  view = await storeView();
  await refused(joinNode(ca.address, revoked.token, roots), status.UNAUTHENTICATED, /join token no longer works: join token \w+ was revoked at/);
  assert.deepEqual(await storeView(), view);

  // Listed without secrets; stored without secrets (the raw LevelDB files hold the ids, never the secrets).
  const table = (await admin(['join-token', 'list'])).stdout;
  assert.match(table, /^ID +ROLE +STATE +USES LEFT +EXPIRES +CREATED$/m);
  const raw = Buffer.concat(await Promise.all((await readdir(ca.init.paths.store)).map((f) => readFile(join(ca.init.paths.store, f)).catch(() => Buffer.alloc(0))))).toString('latin1');
  for (const t of [used, expiring, revoked]) {
    const secret = parseJoinToken(t.token).secret.slice(8);
    assert.ok(table.includes(t.id) && !table.includes(secret));
    assert.ok(raw.includes(t.id), 'the store files were readable (the id is there)');
    assert.ok(!raw.includes(secret), 'a limited token secret is stored in clear');
  }
  // A node that joined with a limited token renews like any other; new nodes still join.
  await renewNode(ca.address, n1, roots);
  await legitimateNodeJoinsAndRenews();
});

test('item 3: admin over the CA port needs an operator credential; a manager has none; revocation is immediate', async () => {
  const manager = await joinNode(ca.address, ca.init.tokens.manager, roots);
  const before = await storeView();
  const asManager = adminAs({ keyPem: manager.keyPem, chainPem: manager.cert.chain_pem });
  await refused(unaryCall((o, cb) => asManager.GetJoinTokens({}, o, cb)), status.PERMISSION_DENIED, /manager certificate: node certificates \(worker or manager\) carry no admin rights; .*ca operator create <name>/);
  await refused(unaryCall((o, cb) => asManager.RemoveNode({ node_id: manager.cert.node_id }, o, cb)), status.PERMISSION_DENIED, /needs an operator credential/);
  await refused(unaryCall((o, cb) => asManager.StartRootRotation({}, o, cb)).finally(() => asManager.close()), status.PERMISSION_DENIED, /needs an operator credential/);
  assert.deepEqual(await storeView(), before);

  const out = join(dir.path, 'alice');
  const created = await admin(['operator', 'create', 'alice', '--out', out]);
  assert.equal(created.code, 0, created.stderr);
  assert.equal((await stat(join(out, 'operator.key'))).mode & 0o777, 0o600);
  const alice = { keyPem: await readFile(join(out, 'operator.key'), 'utf8'), chainPem: [await readFile(join(out, 'operator.crt'), 'utf8')] };
  const asAlice = adminAs(alice);
  const listed = await unaryCall<{ nodes: { node_id: string }[] }>((o, cb) => asAlice.ListNodes({}, o, cb));
  assert.ok(listed.nodes.some((n) => n.node_id === manager.cert.node_id));
  // Operators are managed on the CA host only.
  const csr = await createCsrDer(generateKeyPairPem().privateKeyPem);
  await refused(unaryCall((o, cb) => asAlice.CreateOperator({ name: 'mallory', csr_der: Buffer.from(csr) }, o, cb)), status.PERMISSION_DENIED, /CreateOperator needs the CA host's local admin socket/);
  // An operator credential is not a node: it cannot renew.
  const asNode = new CaClient(ca.address, staticConnection(roots, alice));
  await refused(asNode.renew(csr).finally(() => asNode.close()), status.UNAUTHENTICATED, /not a node certificate/);
  assert.match((await admin(['operator', 'list'])).stdout, /^alice +active +[0-9a-f]+/m);
  await legitimateNodeJoinsAndRenews();

  const revoked = await admin(['operator', 'revoke', 'alice']);
  assert.equal(revoked.code, 0, revoked.stderr);
  const afterRevoke = await storeView();
  // The same connection: every call is checked again.
  await refused(unaryCall((o, cb) => asAlice.ListNodes({}, o, cb)).finally(() => asAlice.close()), status.PERMISSION_DENIED, /operator credential of "alice" was revoked at .*needs an operator credential/);
  assert.deepEqual(await storeView(), afterRevoke);
  assert.match((await admin(['operator', 'list'])).stdout, /^alice +revoked/m);
  // The local socket is unchanged: the CA host's operator still administers.
  assert.equal((await admin(['nodes'])).code, 0);
  await legitimateNodeJoinsAndRenews();
});

test('item 4: only the newest certificate renews (the previous one until the newest is seen); renewals are throttled', async () => {
  const { token } = await limitedToken('worker', 300, 1);
  const a = await joinNode(ca.address, token, roots);
  await renewNode(ca.address, a, roots); // b: its response is "lost", the node keeps a
  const c = await renewNode(ca.address, a, roots); // a still works: the newest (b) was never seen
  const d = await renewNode(ca.address, c, roots); // c is the newest and is seen: a is superseded now
  const before = await storeView();
  const alarmsBefore = ca.daemon.events.filter((e) => e.event === 'node.superseded_cert_used').length;
  await refused(renewNode(ca.address, a, roots), status.PERMISSION_DENIED, /certificate [0-9a-f]+ of node \w+ was superseded by a newer certificate; only the node's newest certificate is accepted/);
  const alarm = await ca.daemon.waitFor('node.superseded_cert_used', { nth: alarmsBefore + 1 });
  assert.equal(alarm.level, 'error');
  assert.equal(alarm.serial, a.cert.serial);
  assert.equal(alarm.newestSerial, d.cert.serial);
  assert.deepEqual(await storeView(), before);

  // Three renewals (b, c, d) used this node's 3 per hour: the fourth is RESOURCE_EXHAUSTED with a retry hint.
  await refused(renewNode(ca.address, d, roots), status.RESOURCE_EXHAUSTED, /too many renewals for this node \(limit renewals_per_node\); retry in \d+s/);
  const limit = await ca.daemon.waitFor('limit.exceeded', { where: (e) => e.limit === 'renewals_per_node' });
  assert.equal(limit.nodeId, a.cert.node_id);
  assert.deepEqual(await storeView(), before);
  await legitimateNodeJoinsAndRenews();
});

test('item 5: one public key backs one live node (100 joins with one CSR make 1 node); joins per token are rate-limited', async () => {
  const many = await limitedToken('worker', 300, 200);
  const { privateKeyPem } = generateKeyPairPem();
  const csr = await createCsrDer(privateKeyPem);
  const before = await storeView();
  const client = new CaClient(ca.address, staticConnection(roots));
  const results: PromiseSettledResult<unknown>[] = [];
  try {
    // 10 rounds of 10 concurrent calls (the CA port allows 16 concurrent calls per connection).
    for (let round = 0; round < 10; round++) results.push(...(await Promise.allSettled(Array.from({ length: 10 }, () => client.issue(many.token, csr)))));
  } finally {
    client.close();
  }
  const ok = results.filter((r) => r.status === 'fulfilled');
  assert.equal(ok.length, 1);
  for (const r of results) if (r.status === 'rejected') await refused(Promise.reject(r.reason), status.ALREADY_EXISTS, /this public key already backs a live node of this cluster; each node needs its own key/);
  const after = await storeView();
  assert.equal(after.nodes.length, before.nodes.length + 1);
  assert.equal(after.tokens.find((t) => t.id === many.id)?.uses_left, 199, 'refused joins spent no use');

  // Five more joins with fresh keys fill this token's 6 per hour; the seventh is RESOURCE_EXHAUSTED.
  for (let i = 0; i < 5; i++) await joinNode(ca.address, many.token, roots);
  const full = await storeView();
  await refused(joinNode(ca.address, many.token, roots), status.RESOURCE_EXHAUSTED, /too many joins with this token \(limit joins_per_token\); retry in \d+s/);
  await ca.daemon.waitFor('limit.exceeded', { where: (e) => e.limit === 'joins_per_token' && e.tokenId === many.id });
  assert.deepEqual(await storeView(), full);
  // Other tokens have their own budget: legitimate nodes keep joining and renewing.
  await legitimateNodeJoinsAndRenews();
});
