// The root-rotation state machine as pure functions: every allowed transition, every refused one (with code
// ROTATION_STATE), when a node blocks completion, when the rotation may finish, and the trust each phase implies.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HitlessError } from '../../shared/errors.js';
import { blockingReason, readyToFinish, rotationTrust, transition, type RotationAction, type RotationRecord } from '../../ca/root-rotation.js';

const T0 = new Date('2030-01-01T00:00:00Z');
const start: RotationAction = {
  type: 'start', id: 'r1', at: T0, fromRootPem: 'A', fromFingerprint: 'fa', toRootPem: 'B', toFingerprint: 'fb',
  newKeySealed: { sealed: true }, crossSignedPem: 'X', bundleVersion: 2,
};
const rotating = transition(undefined, start);

test('start from idle → rotating toward the new root', () => {
  assert.equal(rotating.phase, 'rotating');
  assert.equal(rotating.toFingerprint, 'fb');
  assert.equal(rotating.fromFingerprint, 'fa');
  assert.equal(rotating.startedAt, T0.toISOString());
  assert.deepEqual(rotating.excluded, []);
  assert.equal(rotating.convergedAt, undefined);
});

const refused: [string, RotationRecord | undefined, RotationAction][] = [
  ['start while rotating', rotating, start],
  ['start toward the current root', undefined, { ...start, toFingerprint: 'fa' } as RotationAction],
  ['abort while idle', undefined, { type: 'abort' }],
  ['abort while aborting', transition(rotating, { type: 'abort' }), { type: 'abort' }],
  ['force while idle', undefined, { type: 'force', exclude: ['n1'] }],
  ['converged while idle', undefined, { type: 'converged', at: T0 }],
  ['diverged while idle', undefined, { type: 'diverged' }],
];
for (const [name, state, action] of refused) {
  test(`refused: ${name}`, () => {
    assert.throws(() => transition(state, action), (e: unknown) => e instanceof HitlessError && e.code === 'ROTATION_STATE');
  });
}

test('abort flips the target back to the original root and clears convergence', () => {
  const converged = transition(rotating, { type: 'converged', at: T0 });
  const aborting = transition(converged, { type: 'abort' });
  assert.equal(aborting.phase, 'aborting');
  assert.equal(aborting.toFingerprint, 'fa');
  assert.equal(aborting.fromFingerprint, 'fb');
  assert.equal(aborting.toRootPem, 'A');
  assert.equal(aborting.convergedAt, undefined);
  assert.equal(aborting.crossSignedPem, 'X');
});

test('force accumulates excluded nodes without duplicates', () => {
  const once = transition(rotating, { type: 'force', exclude: ['n1', 'n2'] });
  const twice = transition(once, { type: 'force', exclude: ['n2', 'n3'] });
  assert.deepEqual(twice.excluded, ['n1', 'n2', 'n3']);
});

test('converged keeps the first instant; diverged clears it', () => {
  const c1 = transition(rotating, { type: 'converged', at: T0 });
  const c2 = transition(c1, { type: 'converged', at: new Date(T0.getTime() + 5000) });
  assert.equal(c2.convergedAt, T0.toISOString());
  assert.equal(transition(c2, { type: 'diverged' }).convergedAt, undefined);
});

const node = (o: Partial<Parameters<typeof blockingReason>[0]>) => ({ nodeId: 'n1', issuerRoot: 'fb', bundleVersion: 2, lastSeen: T0.toISOString(), ...o });
const blockTable: [string, Parameters<typeof blockingReason>[0], RotationRecord, string | undefined][] = [
  ['converged node', node({}), rotating, undefined],
  ['old certificate', node({ issuerRoot: 'fa' }), rotating, 'old-certificate'],
  ['new certificate, old bundle', node({ bundleVersion: 1 }), rotating, 'bundle-not-acknowledged'],
  ['no acknowledgement recorded', node({ bundleVersion: undefined }), rotating, 'bundle-not-acknowledged'],
  ['removed node never blocks', node({ issuerRoot: 'fa', removedAt: T0.toISOString() }), rotating, undefined],
  ['excluded node never blocks', node({ issuerRoot: 'fa' }), transition(rotating, { type: 'force', exclude: ['n1'] }), undefined],
  ['while aborting, a new-root certificate blocks', node({}), transition(rotating, { type: 'abort' }), 'old-certificate'],
];
for (const [name, n, r, want] of blockTable) {
  test(`blockingReason: ${name}`, () => assert.equal(blockingReason(n, r), want));
}

test('readyToFinish waits 1.5 max connection ages after convergence (grpc-js jitters the age by ±10 %)', () => {
  assert.equal(readyToFinish(rotating, new Date(T0.getTime() + 60_000), 1000), false);
  const c = transition(rotating, { type: 'converged', at: T0 });
  assert.equal(readyToFinish(c, new Date(T0.getTime() + 1100), 1000), false, 'not at the jittered maximum age');
  assert.equal(readyToFinish(c, new Date(T0.getTime() + 1499), 1000), false);
  assert.equal(readyToFinish(c, new Date(T0.getTime() + 1500), 1000), true);
});

test('rotationTrust: both roots in every phase; cross-sign sent only while moving to the new root', () => {
  assert.deepEqual(rotationTrust(rotating), { rootsPem: ['A', 'B'], crossSignedPem: ['X'], chainTail: 'cross-signed' });
  assert.deepEqual(rotationTrust(transition(rotating, { type: 'abort' })), { rootsPem: ['A', 'B'], crossSignedPem: ['X'], chainTail: 'none' });
});
