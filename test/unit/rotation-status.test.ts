// The rotation status view (ca/rotation-status.ts), table-free: one fleet of node records in every state a
// rotation meets — old certificate, bundle not acknowledged, converged without a report, a report naming the old
// root, a clean report (own or shared by another replica, the newer winning), excluded, removed — and the view
// of it: who blocks, whom the finish waits for, the counts, idle without a record.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rotationStatus, evidenceOf } from '../../ca/rotation-status.js';
import type { NodeRecord } from '../../ca/store.js';
import type { RotationRecord } from '../../ca/root-rotation.js';
import { LiveEvidence } from '../../ca/live-evidence.js';

const A = 'a'.repeat(64);
const B = 'b'.repeat(64);
const T0 = '2030-01-01T00:00:00.000Z';
const record: RotationRecord = {
  id: 'rot-1', phase: 'rotating', startedAt: T0, fromRootPem: 'A', fromFingerprint: A, toRootPem: 'B', toFingerprint: B,
  newKeySealed: {}, crossSignedPem: 'X', bundleVersion: 5, excluded: ['excluded'], convergedAt: '2030-01-01T00:01:00.000Z',
};
const node = (nodeId: string, extra: Partial<NodeRecord> = {}): NodeRecord => ({
  nodeId, role: 'worker', joinedAt: T0, serial: `s-${nodeId}`, issuedAt: T0, notAfter: '2030-01-02T00:00:00.000Z', issuerRoot: B, lastSeen: T0, bundleVersion: 5, ...extra,
});
const at = (s: number) => new Date(Date.parse(T0) + s * 1000);

test('the view of a fleet mid-rotation: blocking, waiting for evidence, counts; idle without a record', () => {
  const evidence = new LiveEvidence();
  evidence.report('old-root', 5, [A, B], at(70));
  evidence.report('clean', 5, [B], at(70));
  evidence.report('stale-own', 5, [B], at(70)); // older than what another replica shared
  evidence.report('old-version', 4, [B], at(70));
  const records = [
    node('old-cert', { issuerRoot: A }),
    node('unacked', { bundleVersion: 4 }),
    node('no-report'),
    node('old-root'),
    node('clean'),
    node('stale-own', { liveEvidence: { bundleVersion: 5, issuerRoots: [A], at: at(80).toISOString() } }),
    node('shared-clean', { liveEvidence: { bundleVersion: 5, issuerRoots: [B], at: at(80).toISOString() } }),
    node('old-version'),
    node('excluded', { issuerRoot: A }),
    node('removed', { issuerRoot: A, removedAt: T0 }),
  ];
  const watching = new Set(['old-cert', 'no-report']);
  const inputs = { currentRootFingerprint: A, lastFinishedAt: undefined, isWatching: (id: string) => watching.has(id), evidence, maxConnectionAgeMs: 60_000 };
  const v = rotationStatus(records, record, inputs);
  assert.deepEqual(v.blocking, [
    { nodeId: 'old-cert', reason: 'old-certificate', lastSeen: T0, connected: true },
    { nodeId: 'unacked', reason: 'bundle-not-acknowledged', lastSeen: T0, connected: false },
  ]);
  assert.deepEqual(v.waitingFor.map((w) => [w.nodeId, w.reason, w.connected]), [
    ['old-cert', 'no-report', true],
    ['unacked', 'no-report', false],
    ['no-report', 'no-report', true],
    ['old-root', 'old-root-in-use', false],
    ['stale-own', 'old-root-in-use', false],
    ['old-version', 'no-report', false],
  ]);
  assert.equal(v.nodesTotal, 9);
  assert.equal(v.nodesReissued, 7); // old-cert and excluded still hold A-issued certificates
  assert.equal(v.bundlesAcknowledged, 8);
  assert.equal(v.finishesAt, '2030-01-01T00:02:30.000Z'); // converged + 1.5 x the connection age
  assert.deepEqual([v.phase, v.rotationId, v.fromRootFingerprint, v.toRootFingerprint, v.excluded], ['rotating', 'rot-1', A, B, ['excluded']]);

  const idle = rotationStatus(records, undefined, { ...inputs, lastFinishedAt: T0 });
  assert.deepEqual(idle, { phase: 'idle', nodesTotal: 9, nodesReissued: 9, bundlesAcknowledged: 9, blocking: [], waitingFor: [], excluded: [], currentRootFingerprint: A, lastFinishedAt: T0 });
});

test("a node's evidence is the newer of its own report and the one another replica shared", () => {
  const own = new LiveEvidence();
  own.report('n', 5, [B], at(10));
  const shared = (s: number) => node('n', { liveEvidence: { bundleVersion: 6, issuerRoots: [A], at: at(s).toISOString() } });
  assert.deepEqual(evidenceOf(shared(5), own)?.issuerRoots, [B]);
  assert.deepEqual(evidenceOf(shared(10), own)?.issuerRoots, [B], 'a tie keeps our own');
  assert.deepEqual(evidenceOf(shared(11), own)?.issuerRoots, [A]);
  assert.equal(evidenceOf(node('n'), undefined), undefined);
});
