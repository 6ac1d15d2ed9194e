// The promise, with real processes: a CA and three agents in a heartbeat ring on 10 s certificates.
//  - every agent renews at least 3 times while the heartbeat streams opened at the start stay the same
//    streams (stream starts 1, errors 0);
//  - a new connection sees the new serial at once; after the max connection age, peers' new connections see
//    it too, while the old streams continue on their old connections;
//  - a removed node's streams are ended by its peers and its calls refused.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { tmpDir } from '../helpers/tmp.js';
import { startCa, type TestCa } from '../helpers/cluster.js';
import { freePort, runCli, type LogEvent } from '../helpers/proc.js';
import { startAgent, type TestAgent } from '../helpers/agents.js';
import { fetchRoots, joinNode } from '../helpers/node-identity.js';
import { protos } from '../../proto/load.js';
import { joinPem } from '../../shared/pki/pem.js';
import { normalizeSerial } from '../../shared/pki/certs.js';
import { NODE_SERVER_NAME } from '../../agent/peer-link.js';

let dir: Awaited<ReturnType<typeof tmpDir>>;
let ca: TestCa;
let agents: TestAgent[] = [];

const RENEWALS = 3;

before(async () => {
  dir = await tmpDir();
  // This CA checks CSRs on its main thread (--csr-workers 0); the other suites run the default worker pool.
  ca = await startCa(dir.path, { nodeCertTtl: '10s', serveArgs: ['--csr-workers', '0'] });
  const ports = [await freePort(), await freePort(), await freePort()];
  agents = ports.map((port, i) =>
    startAgent(dir.path, `agent${i}`, { ca: ca.address, token: ca.init.tokens.worker, port, peers: [ports[(i + 1) % 3]!] }),
  );
  await Promise.all(agents.map((a) => a.daemon.waitFor('peer.stream_up', { timeoutMs: 30_000 })));
});

after(async () => {
  await Promise.all(agents.map((a) => a.daemon.stop()));
  await ca?.daemon.stop();
  await dir?.cleanup();
});

function assertStreamsIntact(statuses: Awaited<ReturnType<TestAgent['status']>>[]) {
  for (const s of statuses) {
    const [p] = s.peers;
    assert.ok(p, `${s.nodeId} has a peer`);
    assert.equal(p.streamStarts, 1, `${s.nodeId} → ${p.address}: stream starts`);
    assert.equal(p.streamErrors, 0, `${s.nodeId} → ${p.address}: stream errors (${p.lastError ?? ''})`);
    assert.ok(p.pongsReceived > 10, `${s.nodeId}: heartbeats flowing (${p.pongsReceived})`);
  }
}

/** WhoAmI over a brand-new connection; returns the serial of the server certificate that connection saw. */
async function serialOnNewConnection(port: number, identity: { keyPem: string; chainPem: string[] }, rootsPem: string[]): Promise<string> {
  const creds = grpc.credentials.createSsl(Buffer.from(joinPem(rootsPem)), Buffer.from(identity.keyPem), Buffer.from(joinPem(identity.chainPem)), {
    checkServerIdentity: () => undefined,
  });
  const client = new (protos().node.hitless.v1.NodeService)(`127.0.0.1:${port}`, creds, {
    'grpc.ssl_target_name_override': NODE_SERVER_NAME,
    'grpc.use_local_subchannel_pool': 1,
  });
  try {
    return await new Promise<string>((resolve, reject) => {
      const call = client.WhoAmI({}, { deadline: Date.now() + 5_000 }, (err) => {
        if (err) return reject(err);
        resolve(normalizeSerial(call.getAuthContext()?.sslPeerCertificate?.serialNumber ?? ''));
      });
    });
  } finally {
    client.close();
  }
}

test(`every agent renews ${RENEWALS} times; streams opened at start are never cut`, async () => {
  await Promise.all(agents.map((a) => a.daemon.waitFor('identity.renewed', { nth: RENEWALS, timeoutMs: 60_000 })));
  const statuses = await Promise.all(agents.map((a) => a.status()));
  assertStreamsIntact(statuses);
  for (const [i, s] of statuses.entries()) {
    const peerStatus = statuses[(i + 1) % 3]!;
    const [p] = s.peers;
    // The stream still rides the connection made with the peer's first certificate...
    assert.notEqual(p!.streamPeerSerial, peerStatus.serial, 'stream connection predates the renewals');
    // ...while probes, on connections made after the peer's GOAWAY, saw later certificates.
    const seen = agents[i]!.daemon.events.filter((e: LogEvent) => e.event === 'peer.serial_seen').map((e) => e.serial);
    assert.ok(new Set(seen).size >= RENEWALS, `probes saw ${new Set(seen).size} distinct serials of the peer`);
    assert.ok(s.renewals >= RENEWALS);
  }
});

test('a new connection sees the new serial at once', async () => {
  const roots = await fetchRoots(ca.address);
  const probe = await joinNode(ca.address, ca.init.tokens.worker, roots);
  const target = agents[0]!;
  const renewed = await target.daemon.waitFor('identity.renewed', { after: target.daemon.events.length, timeoutMs: 20_000 });
  const seen = await serialOnNewConnection(target.port, { keyPem: probe.keyPem, chainPem: probe.cert.chain_pem }, roots);
  const now = (await target.status()).serial;
  // The renewal we waited for, or one after it if another landed in between: never an older one.
  assert.ok(seen === renewed.serial || seen === now, `new connection saw ${seen}; renewed ${String(renewed.serial)}, current ${now}`);
});

test('a removed node loses its streams and its calls are refused', async () => {
  // Ring: agent0 → agent1 → agent2 → agent0. Remove agent2: agent0 ends agent2's stream.
  const victim = await agents[2]!.status();
  const host = agents[0]!;
  const mark = host.daemon.events.length;
  const r = await runCli('ca', ['remove-node', victim.nodeId, '--state-dir', ca.stateDir]);
  assert.equal(r.code, 0, r.stderr);
  const evicted = await host.daemon.waitFor('removed_nodes.updated', { after: mark, where: (e) => (e.removed as string[]).includes(victim.nodeId) });
  assert.equal(evicted.evictedStreams, 1);
  const v = agents[2]!.daemon;
  await v.waitFor('peer.stream_error', { where: (e) => /removed/.test(String(e.details)) });
  await v.waitFor('renewal.failed', { where: (e) => /was removed/.test(JSON.stringify(e.err)), timeoutMs: 20_000 });
  const victimStatus = await agents[2]!.status();
  assert.equal(victimStatus.peers[0]!.streamErrors, 1);
});
