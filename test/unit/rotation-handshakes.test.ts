// Every pair of node states a root rotation can put side by side, handshaking for real: a gRPC server and
// channel fed by MemoryCertificateProvider (as every agent's), TLS by Node/OpenSSL, and the node service's own
// per-call check (agent/peer-auth.ts) with the trust view an agent builds (bundle roots; the bundle's
// cross-sign and our own chain's tail as intermediates). It pins the semantics the rotation relies on —
// OpenSSL with a cross-signed intermediate, sent or not, against bundles {A}, {A, B} and {B} — and shows that
// no state pair the rotation lets coexist fails a handshake or a call (test/bench/HISTORY.md: figure 5's failures in
// the [leaf(B), X] step were the soak starving, not this).
//
// States (ca/root-rotation.ts): S0 idle on A; S1 bundle {A, B} distributed, still leaf(A); S2 re-issued under B,
// presenting [leaf(B), X]; S2a the same leaf on a node that renewed before it had {A, B} (agent/identity-keeper.ts
// accepts a certificate that verifies against its bundle through the X it came with, and keeps X in its trust
// view from its own chain); S3x finished (bundle {B}), not yet renewed, still presenting [leaf(B), X]; S3 renewed
// after the finish, [leaf(B)].
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import type { PeerCertificate } from 'node:tls';
import { MemoryCertificateProvider } from '../../shared/grpc/certificate-provider.js';
import { bindServer, shutdownServer } from '../../shared/grpc/server.js';
import { unaryCall } from '../../shared/grpc/call.js';
import { systemClock } from '../../shared/clock.js';
import { silentLogger } from '../../shared/log.js';
import { crossSignRoot } from '../../shared/pki/roots.js';
import { createSigner } from '../../ca/issuer.js';
import { NodeServiceRegistry, nodeServiceHandlers } from '../../agent/node-service.js';
import type { TrustView } from '../../agent/peer-auth.js';
import { NODE_SERVER_NAME } from '../../agent/peer-link.js';
import { protos, type NodeServiceClient } from '../../proto/load.js';
import type { WhoAmIResponse__Output } from '../../proto/generated/hitless/v1/WhoAmIResponse.js';
import { makeLeaf, makeRoot, type TestRoot } from '../helpers/unit-pki.js';

const CLUSTER = 'cluster-1';
type StateName = 'S0' | 'S1' | 'S2' | 'S2a' | 'S3x' | 'S3';
const STATES: StateName[] = ['S0', 'S1', 'S2', 'S2a', 'S3x', 'S3'];

interface Node {
  state: StateName;
  provider: MemoryCertificateProvider;
  trust: TrustView;
  serial: string;
  server?: grpc.Server;
  address?: string;
}

const checkServerIdentity = (_host: string, cert: PeerCertificate): Error | undefined =>
  ([] as string[]).concat(cert.subject?.O ?? []).includes(CLUSTER) ? undefined : new Error('not a node of this cluster');

async function rotationPki() {
  const at = new Date();
  const A = await makeRoot(at, { subject: 'CN=root A' });
  const B = await makeRoot(at, { subject: 'CN=root B' });
  const X = await crossSignRoot(B.certPem, A.certPem, A.keyPem);
  const BX: TestRoot = { ...B, signer: await createSigner(B.certPem, B.keyPem, [X]) };
  return { at, A, B, X, BX };
}

async function makeNode(state: StateName, nodeId: string, pki: Awaited<ReturnType<typeof rotationPki>>): Promise<Node> {
  const { at, A, B, X, BX } = pki;
  const issuer = state === 'S0' || state === 'S1' ? A : state === 'S3' ? B : BX;
  // S2a holds bundle {A} (version before the rotation's), like S0.
  const leaf = await makeLeaf(issuer, at, { nodeId, clusterId: CLUSTER });
  const bundle = state === 'S0' || state === 'S2a' ? { roots: [A.certPem], cross: [] } : state === 'S1' || state === 'S2' ? { roots: [A.certPem, B.certPem], cross: [X] } : { roots: [B.certPem], cross: [] };
  const provider = new MemoryCertificateProvider();
  provider.update({ chainPem: leaf.chainPem, keyPem: leaf.key.privateKeyPem, trustPem: bundle.roots });
  // As NodeAgent's trust view: the bundle's cross-sign and our own chain's tail.
  const trust: TrustView = { clusterId: CLUSTER, rootsPem: bundle.roots, crossSignedPem: [...new Set([...bundle.cross, ...leaf.chainPem.slice(1)])], removedNodeIds: new Set() };
  return { state, provider, trust, serial: leaf.info.serial };
}

async function serve(node: Node): Promise<void> {
  const server = new grpc.Server();
  server.addService(
    protos().node.hitless.v1.NodeService.service,
    nodeServiceHandlers({ trust: () => node.trust, self: () => ({ nodeId: 'server', role: 'worker', serial: node.serial, clusterId: CLUSTER }), clock: systemClock, log: silentLogger, registry: new NodeServiceRegistry() }),
  );
  node.server = server;
  node.address = `127.0.0.1:${await bindServer(server, '127.0.0.1:0', node.provider.serverCredentials(true))}`;
}

let probe = 0;
/** A WhoAmI over a new connection: 'ok' (with the serials both ends saw), 'tls' (no connection) or 'auth' (the call was refused). */
async function whoAmI(client: Node, server: Node): Promise<{ outcome: 'ok' | 'tls' | 'auth'; detail: string; callerSerial?: string; serverSerial?: string }> {
  const { NodeService } = protos().node.hitless.v1;
  const c = new NodeService(server.address!, client.provider.channelCredentials(checkServerIdentity), { 'grpc.ssl_target_name_override': NODE_SERVER_NAME, 'grpc.use_local_subchannel_pool': 1, 'test.probe': ++probe }) as NodeServiceClient;
  try {
    let call: grpc.ClientUnaryCall | undefined;
    const res = await unaryCall<WhoAmIResponse__Output>((o, cb) => (call = c.WhoAmI({}, o, cb)), 10_000);
    const cert = call?.getAuthContext()?.sslPeerCertificate;
    return { outcome: 'ok', detail: '', callerSerial: res.serial, serverSerial: cert?.serialNumber?.toLowerCase().replace(/^0+/, '') };
  } catch (err) {
    const e = err as { code?: string; message: string };
    return { outcome: /UNAVAILABLE/.test(e.code ?? '') || /No connection established|UNAVAILABLE/.test(e.message) ? 'tls' : 'auth', detail: e.message.slice(0, 160) };
  } finally {
    c.close();
  }
}

/**
 * Which states the rotation lets coexist: the bundle is distributed before any leaf(B) (S0 with S1), nodes
 * renew one by one (S1 with S2), a node whose acknowledgement the CA stopped waiting for renews too (S2a with
 * S1, S2), the finish waits until every live node holds leaf(B) and acknowledged {A, B} (S2 with S3x), and
 * nodes renew after it one by one (S3x/S2 with S3).
 */
const COEXIST = new Set(['S0|S1', 'S1|S2', 'S2|S3x', 'S2|S3', 'S3x|S3', 'S2a|S1', 'S2a|S2']);
const coexist = (a: StateName, b: StateName) => a === b || COEXIST.has(`${a}|${b}`) || COEXIST.has(`${b}|${a}`);

/**
 * The full table as Node 20/22 + OpenSSL 3 decide it, server state (rows) × client state (columns). Outside
 * the coexisting pairs: a node left on bundle {A} (S0) refuses the *call* of a [leaf(B), X] peer although TLS
 * accepted it through the X the peer sent — the per-call check only knows the intermediates of its own bundle
 * and chain (the CA's bundle distribution timed out for that node; it heals when its watch delivers {A, B}).
 * A node with bundle {B} and a leaf(A) peer, either way round, fails in TLS, as it must once A is dropped.
 */
const EXPECTED: Record<StateName, Record<StateName, 'ok' | 'tls' | 'auth'>> = {
  S0: { S0: 'ok', S1: 'ok', S2: 'auth', S2a: 'auth', S3x: 'tls', S3: 'tls' },
  S1: { S0: 'ok', S1: 'ok', S2: 'ok', S2a: 'ok', S3x: 'tls', S3: 'tls' },
  S2: { S0: 'ok', S1: 'ok', S2: 'ok', S2a: 'ok', S3x: 'ok', S3: 'ok' },
  S2a: { S0: 'ok', S1: 'ok', S2: 'ok', S2a: 'ok', S3x: 'ok', S3: 'tls' },
  S3x: { S0: 'tls', S1: 'tls', S2: 'ok', S2a: 'ok', S3x: 'ok', S3: 'ok' },
  S3: { S0: 'tls', S1: 'tls', S2: 'ok', S2a: 'tls', S3x: 'ok', S3: 'ok' },
};

test('root rotation: every pair of node states, real TLS + the per-call peer check; coexisting states always connect', async () => {
  const pki = await rotationPki();
  const nodes = new Map<StateName, Node>();
  for (const s of STATES) nodes.set(s, await makeNode(s, `node-${s}`, pki));
  try {
    for (const n of nodes.values()) await serve(n);
    const table: string[] = [];
    const mismatches: string[] = [];
    for (const s of STATES) {
      const row: string[] = [];
      for (const c of STATES) {
        const r = await whoAmI(nodes.get(c)!, nodes.get(s)!);
        row.push(r.outcome.padEnd(4));
        if (r.outcome !== EXPECTED[s][c]) mismatches.push(`server ${s} <- client ${c}: ${r.outcome} (want ${EXPECTED[s][c]}) ${r.detail}`);
        if (coexist(s, c)) {
          assert.equal(r.outcome, 'ok', `server ${s} <- client ${c} coexist in a rotation and must connect: ${r.detail}`);
          assert.equal(r.callerSerial, nodes.get(c)!.serial);
          assert.equal(r.serverSerial, nodes.get(s)!.serial);
        }
      }
      table.push(`server ${s.padEnd(3)} | ${row.join(' ')}`);
    }
    assert.deepEqual(mismatches, [], `table (clients ${STATES.join(' ')}):\n${table.join('\n')}`);
  } finally {
    for (const n of nodes.values()) if (n.server) await shutdownServer(n.server, 1_000);
  }
});

test('root rotation: a provider update is in force for the very next handshake (no window between bundle and leaf)', async () => {
  const pki = await rotationPki();
  const server = await makeNode('S1', 'node-server', pki);
  const peerS1 = await makeNode('S1', 'node-peer-1', pki);
  const peerS2 = await makeNode('S2', 'node-peer-2', pki);
  try {
    await serve(server);
    assert.equal((await whoAmI(peerS1, server)).outcome, 'ok');
    // S1 → S2 as IdentityKeeper#install (agent/identity-keeper.ts) does it: one update (identity [leaf(B), X], bundle {A, B}); a handshake
    // begun right after it, by peers of either neighbouring state, sees the new leaf.
    const next = await makeNode('S2', 'node-server', pki);
    server.provider.update(next.provider.current!);
    server.serial = next.serial;
    server.trust = next.trust;
    for (const peer of [peerS1, peerS2]) {
      const r = await whoAmI(peer, server);
      assert.equal(r.outcome, 'ok', `${peer.state} -> server just moved to S2: ${r.detail}`);
      assert.equal(r.serverSerial, next.serial);
    }
    // S2 → S3 (finish, then renewal) in one update: the bundle drops A and the chain drops X together.
    const last = await makeNode('S3', 'node-server', pki);
    server.provider.update(last.provider.current!);
    [server.serial, server.trust] = [last.serial, last.trust];
    const r = await whoAmI(peerS2, server);
    assert.equal(r.outcome, 'ok', r.detail);
    assert.equal(r.serverSerial, last.serial);
    assert.equal((await whoAmI(peerS1, server)).outcome, 'tls', 'a leaf(A) peer is refused once A is dropped');
  } finally {
    if (server.server) await shutdownServer(server.server, 1_000);
  }
});
