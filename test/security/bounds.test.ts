// Attack suite, resource bounds of the CA port (issue 8, item 1): a real `ca serve` on 127.0.0.1, attacked
// with a raw HTTP/2 client (test/helpers/raw-grpc.ts) from 127.0.0.2 and up, so that the legitimate node on
// 127.0.0.1 is another source, as in the field. Each test asserts the refusal (status and message, the
// `limit.exceeded` report), that the store did not change (`ca nodes`), and that a legitimate node still
// joins and renews while the attack runs and after it.
//
// The CA runs with shortened timeouts (the flags are part of what is tested; the defaults are checked in
// test/unit/limits.test.ts), so that the file stays quick.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { status, type ClientReadableStream } from '@grpc/grpc-js';
import { generateKeyPairPem } from '../../shared/pki/keys.js';
import { createCsrDer } from '../../shared/pki/csr.js';
import { joinPem } from '../../shared/pki/pem.js';
import { CaClient, staticConnection } from '../../agent/ca-client.js';
import { tmpDir } from '../helpers/tmp.js';
import { startCa, type TestCa } from '../helpers/cluster.js';
import { startAgent, type TestAgent } from '../helpers/agents.js';
import { freePort, runJson } from '../helpers/proc.js';
import { fetchRoots, joinNode, renewNode, type TestNode } from '../helpers/node-identity.js';
import { rawSession, issueRequest, ISSUE_PATH, BUNDLE_PATH, type RawSession } from '../helpers/raw-grpc.js';

const PER_SOURCE = 20;
const MAX_CONNECTIONS = 120;
const STREAMS = 4;

let dir: Awaited<ReturnType<typeof tmpDir>>;
let ca: TestCa;
let roots: string[];
let port: number;
let agent: TestAgent;
const WHOAMI_PATH = '/hitless.v1.NodeService/WhoAmI';

interface NodeJson { node_id: string; serial: string }
const nodes = () => runJson<NodeJson[]>('ca', ['nodes', '--state-dir', ca.stateDir, '--json']);

/** A node joins and renews from 127.0.0.1 while (or after) the attack runs. */
async function legitimateNodeJoinsAndRenews(): Promise<TestNode> {
  const node = await joinNode(ca.address, ca.init.tokens.worker, roots);
  const renewed = await renewNode(ca.address, node, roots);
  assert.equal(renewed.cert.node_id, node.cert.node_id);
  return renewed;
}

/** The store as `ca nodes` sees it, minus the nodes this test's legitimate joins add. */
async function nodesExcept(extra: TestNode[]): Promise<NodeJson[]> {
  const ids = new Set(extra.map((n) => n.cert.node_id));
  return (await nodes()).filter((n) => !ids.has(n.node_id));
}

async function openFds(): Promise<number> {
  return (await readdir(`/proc/${ca.daemon.child.pid}/fd`)).length;
}

/** Opens `n` raw sessions from `localAddress`; those the CA closes at once resolve as `null`. */
async function sessions(n: number, localAddress: string): Promise<(RawSession | null)[]> {
  return Promise.all(Array.from({ length: n }, () => rawSession({ port, localAddress }).catch(() => null)));
}

before(async () => {
  dir = await tmpDir();
  ca = await startCa(dir.path, {
    serveArgs: [
      '--request-timeout', '2s',
      '--unauthenticated-timeout', '4s',
      '--max-connections-per-source', String(PER_SOURCE),
      '--max-connections', String(MAX_CONNECTIONS),
      '--max-streams-per-connection', String(STREAMS),
    ],
  });
  port = Number(ca.address.split(':')[1]);
  roots = await fetchRoots(ca.address);
  agent = startAgent(dir.path, 'a1', {
    ca: ca.address,
    token: ca.init.tokens.worker,
    port: await freePort(),
    extra: ['--unauthenticated-timeout', '4s', '--request-timeout', '1s', '--max-connections-per-source', '5'],
  });
  await agent.daemon.waitFor('agent.listening', { timeoutMs: 60_000 });
});

after(async () => {
  await agent?.daemon.stop();
  await ca?.daemon.stop();
  await dir?.cleanup();
});

test('a 3 MB join token is refused as too large before it is read; a 10 KB one gets a short UNAUTHENTICATED; neither is echoed', async () => {
  const before = await nodes();
  const csr = await createCsrDer(generateKeyPairPem().privateKeyPem);
  const [, , digest, secret] = ca.init.tokens.worker.split('-');
  const peer = await rawSession({ port });
  try {
    const mark = ca.daemon.events.length;
    // The issue measured no status at all within 8 s; a prompt answer is one well inside that.
    const huge = await peer.call(ISSUE_PATH, issueRequest(`HTLS-${'9'.repeat(3_000_000)}-${digest}-${secret}`, csr), { waitMs: 8_000 }).status;
    assert.equal(huge.code, status.RESOURCE_EXHAUSTED, `status ${String(huge.code)}: ${huge.message}`);
    assert.match(huge.message, /^Received message larger than max \(3000\d{3} vs 16384\)$/);
    const report = await ca.daemon.waitFor('limit.exceeded', { after: mark, where: (e) => e.limit === 'max_message_size' });
    assert.equal(report.source, '127.0.0.2');
    assert.equal(report.method, ISSUE_PATH);

    peer.close();
    const second = await rawSession({ port });
    const long = await second.call(ISSUE_PATH, issueRequest(`HTLS-${'9'.repeat(10_000)}-${digest}-${secret}`, csr), { waitMs: 8_000 }).status;
    assert.equal(long.code, status.UNAUTHENTICATED, `status ${String(long.code)}: ${long.message}`);
    assert.equal(long.message, 'malformed join token: 10082 characters, a token has 83');
    const refused = await ca.daemon.waitFor('join.refused', { after: mark });
    assert.equal(refused.source, '127.0.0.2');
    assert.ok(ca.daemon.output.every((line) => line.length < 2048), 'no long line in the CA output');
    second.close();
  } finally {
    peer.close();
  }
  assert.deepEqual(await nodes(), before);
  await legitimateNodeJoinsAndRenews();
});

test('a call to an unknown method gets UNIMPLEMENTED quoting a short escaped prefix of its path, reported and counted; a 5,000-character path is not echoed', async () => {
  // grpc-js alone answers "The server does not implement the method <the whole :path>" (found by npm run fuzz).
  const before = await nodes();
  const peer = await rawSession({ port });
  try {
    const mark = ca.daemon.events.length;
    const long = `/x/${'y'.repeat(5000)}`;
    const huge = await peer.call(long, Buffer.alloc(5), { waitMs: 8_000 }).status;
    assert.equal(huge.code, status.UNIMPLEMENTED, `status ${String(huge.code)}: ${huge.message}`);
    assert.equal(huge.message, `method path too long: 5003 chars (at most 128): "/x/${'y'.repeat(61)}"… (5003 chars)`);
    const report = await ca.daemon.waitFor('limit.exceeded', { after: mark, where: (e) => e.limit === 'unknown_method' });
    assert.equal(report.reason, 'too_long');
    assert.equal(report.length, 5003);
    assert.ok(JSON.stringify(report).length < 600, 'the report quotes a prefix only');

    // A short unknown path with a character that needs escaping (a quote): quoted whole, escaped.
    const odd = await peer.call('/hitless.v1.NodeCaService/Nope"', Buffer.alloc(5), { waitMs: 8_000 }).status;
    assert.equal(odd.code, status.UNIMPLEMENTED, `status ${String(odd.code)}: ${odd.message}`);
    assert.equal(odd.message, 'unknown method "/hitless.v1.NodeCaService/Nope\\x22"');
    // The same call on a method the CA serves still works on this connection (the stand-in only covers misses).
    const bundle = await peer.call(BUNDLE_PATH, Buffer.alloc(0), { waitMs: 8_000 }).status;
    assert.equal(bundle.code, status.OK, `status ${String(bundle.code)}: ${bundle.message}`);
    assert.ok(ca.daemon.output.every((line) => line.length < 2048), 'no long line in the CA output');
  } finally {
    peer.close();
  }
  assert.deepEqual(await nodes(), before);
  await legitimateNodeJoinsAndRenews();
});

test('300 connections from one address holding half-open IssueNodeCertificate calls: admitted up to the per-source bound, calls ended by the request deadline, connections closed; a node joins and renews meanwhile', async () => {
  const mark = ca.daemon.events.length;
  const before = await nodes();
  const fdsBefore = await openFds();
  // Each admitted connection sends its call's headers (only: the request body never comes) as soon as it is up.
  // The CA's unauthenticated timeout (4 s) runs from each accept; the request deadline (2 s) from the headers.
  // Sending them only after all 300 attempts settled left a loaded machine less than 2 s between the two, and
  // the connection timeout ended some calls first.
  const all = await Promise.all(
    Array.from({ length: 300 }, () => rawSession({ port, localAddress: '127.0.0.3' }).then((s) => ({ s, call: s.call(ISSUE_PATH, undefined) }), () => null)),
  );
  const opened = all.filter((x) => x !== null);
  const admitted = opened.map((x) => x.s);
  assert.ok(admitted.length <= PER_SOURCE, `${admitted.length} connections admitted from one address`);
  assert.ok(admitted.length > 0);
  const calls = opened.map((x) => x.call);
  const perSource = await ca.daemon.waitFor('limit.exceeded', { after: mark, where: (e) => e.limit === 'max_connections_per_source' });
  assert.equal(perSource.source, '127.0.0.3');
  assert.equal(perSource.max, PER_SOURCE);
  assert.ok((await openFds()) <= fdsBefore + PER_SOURCE + 8, 'CA file descriptors stay bounded');

  const during = await legitimateNodeJoinsAndRenews();

  for (const { status: s } of calls) {
    const res = await s;
    assert.equal(res.code, status.DEADLINE_EXCEEDED, `status ${String(res.code)} ${res.message}`);
    assert.equal(res.message, 'the request did not arrive completely within 2s');
  }
  await ca.daemon.waitFor('limit.exceeded', { after: mark, where: (e) => e.limit === 'request_timeout' && e.method === ISSUE_PATH });
  // Then the connections themselves go: none of them ever carried a node certificate.
  await Promise.all(admitted.map((s) => s.closed));
  await ca.daemon.waitFor('limit.exceeded', { after: mark, where: (e) => e.limit === 'unauthenticated_timeout' && e.source === '127.0.0.3' });

  assert.deepEqual(await nodesExcept([during]), before);
  await legitimateNodeJoinsAndRenews();
});

test('concurrent calls on one connection are bounded: the first past the limit is RESOURCE_EXHAUSTED', async () => {
  const mark = ca.daemon.events.length;
  const node = await legitimateNodeJoinsAndRenews();
  const before = await nodes();
  // With a node certificate, so the connection outlives the held calls (no unauthenticated timeout).
  const peer = await rawSession({ port, localAddress: '127.0.0.4', tls: { key: node.keyPem, cert: joinPem(node.cert.chain_pem) } });
  try {
    assert.equal(peer.session.remoteSettings.maxConcurrentStreams, STREAMS + 1, 'HTTP/2 advertises one above the limit (limits.ts)');
    const held = Array.from({ length: STREAMS }, () => peer.call(ISSUE_PATH, undefined));
    const excess = await peer.call(BUNDLE_PATH, new Uint8Array(0)).status;
    assert.equal(excess.code, status.RESOURCE_EXHAUSTED, `status ${String(excess.code)} ${excess.message}`);
    assert.equal(excess.message, `too many concurrent calls on this connection (limit ${STREAMS})`);
    const report = await ca.daemon.waitFor('limit.exceeded', { after: mark, where: (e) => e.limit === 'max_streams_per_connection' });
    assert.equal(report.source, '127.0.0.4');
    // Once the held calls end (request deadline), the connection takes calls again.
    await Promise.all(held.map((c) => c.status));
    const after = await peer.call(BUNDLE_PATH, new Uint8Array(0)).status;
    assert.equal(after.code, status.OK, after.message);
  } finally {
    peer.close();
  }
  assert.deepEqual(await nodes(), before);
  await legitimateNodeJoinsAndRenews();
});

test('a connection that never presents a node certificate is closed; one that does stays open', async () => {
  const mark = ca.daemon.events.length;
  const node = await legitimateNodeJoinsAndRenews();
  const anonymous = await rawSession({ port, localAddress: '127.0.0.5' });
  const authenticated = await rawSession({
    port,
    localAddress: '127.0.0.5',
    tls: { key: node.keyPem, cert: joinPem(node.cert.chain_pem), ca: joinPem(roots) },
  });
  try {
    // An idle TLS connection and one that made a call with a node certificate, from the same address.
    const ok = await authenticated.call(BUNDLE_PATH, new Uint8Array(0)).status;
    assert.equal(ok.code, status.OK, ok.message);
    await anonymous.closed;
    const report = await ca.daemon.waitFor('limit.exceeded', { after: mark, where: (e) => e.limit === 'unauthenticated_timeout' && e.source === '127.0.0.5' });
    assert.equal(report.calls, 0);
    assert.equal(authenticated.session.closed || authenticated.session.destroyed, false, 'the authenticated connection is still open');
    const again = await authenticated.call(BUNDLE_PATH, new Uint8Array(0)).status;
    assert.equal(again.code, status.OK, again.message);
  } finally {
    anonymous.close();
    authenticated.close();
  }
});

test('connections in total are bounded across sources; a node already connected keeps renewing, and new nodes join once the attack ends', async () => {
  const mark = ca.daemon.events.length;
  const node = await legitimateNodeJoinsAndRenews();
  // A node's long-lived connection, opened (and authenticated) before the attack.
  const { privateKeyPem } = generateKeyPairPem();
  const client = new CaClient(ca.address, staticConnection(roots, { keyPem: node.keyPem, chainPem: node.cert.chain_pem }));
  try {
    await client.getTrustBundle();
    const before = await nodes();
    const sources = ['127.0.0.10', '127.0.0.11', '127.0.0.12', '127.0.0.13', '127.0.0.14', '127.0.0.15', '127.0.0.16'];
    const all = (await Promise.all(sources.map((a) => sessions(PER_SOURCE, a)))).flat();
    const admitted = all.filter((s): s is RawSession => s !== null);
    assert.ok(admitted.length < MAX_CONNECTIONS, `${admitted.length} admitted`);
    const report = await ca.daemon.waitFor('limit.exceeded', { after: mark, where: (e) => e.limit === 'max_connections' });
    assert.equal(report.max, MAX_CONNECTIONS);
    // The connected node renews over its open connection while the port is full.
    const renewed = await client.renew(await createCsrDer(privateKeyPem));
    assert.equal(renewed.node_id, node.cert.node_id);
    await Promise.all(admitted.map((s) => s.closed));
    const others = (xs: NodeJson[]) => xs.filter((n) => n.node_id !== node.cert.node_id);
    assert.deepEqual(others(await nodes()), others(before));
  } finally {
    client.close();
  }
  await legitimateNodeJoinsAndRenews();
});

test("a node's second WatchTrustBundle stream replaces its first", async () => {
  const mark = ca.daemon.events.length;
  const node = await legitimateNodeJoinsAndRenews();
  const client = new CaClient(ca.address, staticConnection(roots, { keyPem: node.keyPem, chainPem: node.cert.chain_pem }));
  const watch = () => {
    const call = client.raw.WatchTrustBundle({ known_version: '0' });
    const first = new Promise<void>((resolve) => call.once('data', () => resolve()));
    const ended = new Promise<{ code: number; details: string }>((resolve) => call.on('error', (e: { code: number; details: string }) => resolve(e)));
    return { call, first, ended };
  };
  let streams: { call: ClientReadableStream<unknown> }[] = [];
  try {
    const one = watch();
    streams.push(one);
    await one.first;
    const two = watch();
    streams.push(two);
    await two.first;
    const ended = await one.ended;
    assert.equal(ended.code, status.RESOURCE_EXHAUSTED);
    assert.equal(ended.details, `replaced by a newer WatchTrustBundle stream of node ${node.cert.node_id} (one per node)`);
    const report = await ca.daemon.waitFor('watch.replaced', { after: mark });
    assert.equal(report.nodeId, node.cert.node_id);
    // The newest stream still gets events: a renewal request would come on it; here, it is simply alive.
    assert.equal(two.call.destroyed, false);
  } finally {
    for (const s of streams) s.call.cancel();
    streams = [];
    client.close();
  }
  await legitimateNodeJoinsAndRenews();
});

test("the agent's node port: connections per source bounded, connections without a node certificate closed, oversized and half-open calls ended; a node's calls still answered", async () => {
  const mark = agent.daemon.events.length;
  const node = await legitimateNodeJoinsAndRenews();
  const tls = { key: node.keyPem, cert: joinPem(node.cert.chain_pem) };
  const all = await Promise.all(Array.from({ length: 30 }, () => rawSession({ port: agent.port, localAddress: '127.0.0.20' }).catch(() => null)));
  const admitted = all.filter((s): s is RawSession => s !== null);
  assert.ok(admitted.length <= 5, `${admitted.length} admitted`);
  const perSource = await agent.daemon.waitFor('limit.exceeded', { after: mark, where: (e) => e.limit === 'max_connections_per_source' });
  assert.equal(perSource.port, 'node');
  assert.equal(perSource.source, '127.0.0.20');
  const peer = await rawSession({ port: agent.port, localAddress: '127.0.0.21', tls });
  try {
    const huge = await peer.call(WHOAMI_PATH, new Uint8Array(8192)).status;
    assert.equal(huge.code, status.RESOURCE_EXHAUSTED, huge.message);
    assert.equal(huge.message, 'Received message larger than max (8192 vs 4096)');
    await agent.daemon.waitFor('limit.exceeded', { after: mark, where: (e) => e.limit === 'max_message_size' && e.method === WHOAMI_PATH });
    const halfOpen = await peer.call(WHOAMI_PATH, undefined).status;
    assert.equal(halfOpen.code, status.DEADLINE_EXCEEDED, halfOpen.message);
    assert.equal(halfOpen.message, 'the request did not arrive completely within 1s');
    // The unauthenticated ones are closed; this one, which carried a node certificate, still answers.
    await Promise.all(admitted.map((s) => s.closed));
    await agent.daemon.waitFor('limit.exceeded', { after: mark, where: (e) => e.limit === 'unauthenticated_timeout' && e.source === '127.0.0.20' });
    const ok = await peer.call(WHOAMI_PATH, new Uint8Array(0)).status;
    assert.equal(ok.code, status.OK, ok.message);
    // An unknown method on the node port: the same short answer as on the CA port, reported as port=node.
    const unknown = await peer.call(`/hitless.v1.NodeService/${'z'.repeat(300)}`, new Uint8Array(0)).status;
    assert.equal(unknown.code, status.UNIMPLEMENTED, unknown.message);
    assert.match(unknown.message, /^method path too long: 324 chars \(at most 128\): "\/hitless\.v1\.NodeService\/z{40}"… \(324 chars\)$/);
    const report = await agent.daemon.waitFor('limit.exceeded', { after: mark, where: (e) => e.limit === 'unknown_method' });
    assert.equal(report.port, 'node');
  } finally {
    peer.close();
  }
  assert.equal(agent.daemon.child.exitCode, null, 'the agent kept running');
});
