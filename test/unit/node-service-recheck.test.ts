// NodeServiceRegistry.recheck after a trust-bundle change: the streams whose certificate no longer chains to a
// trusted root are revoked (asked to refresh at once, ended after the grace), the others are left alone, and the
// pass does not hold the event loop for all streams at once: it yields before each further distinct certificate.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { NodeServiceRegistry, type ServedStream } from '../../agent/node-service.js';
import { StreamBound } from '../../shared/grpc/stream-bound.js';
import { pemToDer } from '../../shared/pki/pem.js';
import type { Logger } from '../../shared/log.js';
import type { TrustView } from '../../agent/peer-auth.js';
import { FAKE_CLOCK_EPOCH, FakeClock } from '../helpers/unit-fake-clock.js';
import { makeLeaf, makeRoot, type TestRoot } from '../helpers/unit-pki.js';

const CLUSTER = 'cluster-1';
let rootA: TestRoot;
let rootB: TestRoot;
let derA: Uint8Array;
let derB: Uint8Array;

before(async () => {
  rootA = await makeRoot(FAKE_CLOCK_EPOCH, { subject: 'CN=root A' });
  rootB = await makeRoot(FAKE_CLOCK_EPOCH, { subject: 'CN=root B' });
  derA = pemToDer((await makeLeaf(rootA, FAKE_CLOCK_EPOCH, { nodeId: 'node-a', clusterId: CLUSTER })).chainPem[0]!);
  derB = pemToDer((await makeLeaf(rootB, FAKE_CLOCK_EPOCH, { nodeId: 'node-b', clusterId: CLUSTER })).chainPem[0]!);
});

const warnings: string[] = [];
const log: Logger = { debug() {}, info() {}, warn: (event) => void warnings.push(event), error() {}, child: () => log };

/** `n` served streams of one peer certificate, each with its bound and what the bound asked for. */
function serve(registry: NodeServiceRegistry, clock: FakeClock, nodeId: string, der: Uint8Array, n: number) {
  const asked: boolean[] = [];
  for (let i = 0; i < n; i++) {
    const bound = new StreamBound({ clock, notAfter: new Date(FAKE_CLOCK_EPOCH.getTime() + 3_600_000), events: { refresh: () => (asked[i] = true), end: () => {} } });
    const stream: ServedStream = { nodeId, serial: `${nodeId}-serial`, der, bound };
    // The registry keys streams by their call; any distinct object serves.
    registry.add({} as never, stream);
  }
  return asked;
}

const trust = (rootsPem: string[]): TrustView => ({ clusterId: CLUSTER, rootsPem, crossSignedPem: [], removedNodeIds: new Set() });

test('recheck revokes exactly the streams whose root left the bundle (every stream of that peer), leaves the others', async () => {
  const clock = new FakeClock();
  const registry = new NodeServiceRegistry();
  const askedA = serve(registry, clock, 'node-a', derA, 3);
  const askedB = serve(registry, clock, 'node-b', derB, 2);
  warnings.length = 0;
  assert.equal(await registry.recheck(trust([rootA.certPem, rootB.certPem]), clock, log), 0, 'both roots trusted: nothing revoked');
  assert.deepEqual([askedA.filter(Boolean).length, askedB.filter(Boolean).length], [0, 0]);
  assert.equal(await registry.recheck(trust([rootB.certPem]), clock, log), 3);
  assert.deepEqual(askedA, [true, true, true], 'every stream of the peer under A is asked to refresh');
  assert.equal(askedB.filter(Boolean).length, 0, 'the peer under B is left alone');
  assert.deepEqual(warnings, ['heartbeat.stream_revoked', 'heartbeat.stream_revoked', 'heartbeat.stream_revoked']);
  for (const s of registry.streams()) s.bound.stop();
});

test('recheck yields to the event loop between distinct certificates instead of checking every stream in one task', async () => {
  const clock = new FakeClock();
  const registry = new NodeServiceRegistry();
  serve(registry, clock, 'node-a', derA, 3);
  serve(registry, clock, 'node-b', derB, 3);
  let finished = false;
  const pass = registry.recheck(trust([rootB.certPem]), clock, log).then((n) => ((finished = true), n));
  // Scheduled after the pass began: it runs before the pass ends only if the pass gave the loop a turn.
  await new Promise<void>((resolve) => setImmediate(resolve));
  assert.equal(finished, false, 'the pass held the loop until every stream was checked');
  assert.equal(await pass, 3);
  for (const s of registry.streams()) s.bound.stop();
});
